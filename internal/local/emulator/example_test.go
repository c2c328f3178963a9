package emulator_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"github.com/flexhook/flexhook/internal/local/emulator"
)

// Build a function, run it under the emulator and invoke it once.
func Example() {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "lambda-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	bootstrap, err := emulator.Build(ctx, "./functions/webhook", dir)
	if err != nil {
		log.Fatal(err)
	}
	in, err := emulator.Start(ctx, emulator.Options{
		Bootstrap: bootstrap,
		Env:       []string{"AWS_ENDPOINT_URL_SECRETS_MANAGER=http://127.0.0.1:4566"},
		Timeout:   10 * time.Second,
		Stdout:    os.Stdout,
		Stderr:    os.Stderr,
	})
	if err != nil {
		log.Fatal(err)
	}
	defer in.Close()

	res, err := in.Invoke(ctx, []byte(`{"version":"2.0","rawPath":"/"}`))
	if err != nil {
		log.Fatal(err)
	}
	if res.Failed() {
		fmt.Printf("%s: %s\n", res.ErrorType, res.ErrorMessage)
		return
	}
	fmt.Printf("%s in %v\n", res.Payload, res.Duration)
}
