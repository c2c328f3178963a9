package secretstest_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/flexhook/flexhook/internal/secrets/secretstest"
)

// Point the real SDK client at the fake, rotate a secret, and check that the
// code under test read it only once.
func Example() {
	fake := secretstest.New()
	fake.Put("flexhook/twilio", `{"api_key_sid":"SK…","api_key_secret":"…"}`)
	ts := httptest.NewServer(fake)
	defer ts.Close()

	client := secretsmanager.NewFromConfig(aws.Config{
		Region:      "us-east-1",
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
	}, func(o *secretsmanager.Options) { o.BaseEndpoint = aws.String(ts.URL) })

	out, err := client.GetSecretValue(context.Background(), &secretsmanager.GetSecretValueInput{
		SecretId: aws.String("flexhook/twilio"),
	})
	if err != nil {
		fmt.Println("error:", err)
		return
	}
	fmt.Println(aws.ToString(out.Name), out.VersionStages)
	fmt.Println("calls:", fake.Count(secretstest.OpGetSecretValue))
	// Output:
	// flexhook/twilio [AWSCURRENT]
	// calls: 1
}
