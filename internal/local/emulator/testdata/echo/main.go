// Command echo is a tiny Lambda function for the emulator package's tests.
// The event selects a behaviour; by default the function returns the event's
// "echo" value, the environment variables named in "env" and facts about its
// process and Lambda context.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
)

// event is what the tests send.
type event struct {
	Echo   json.RawMessage `json:"echo,omitempty"`
	Env    []string        `json:"env,omitempty"`
	Error  string          `json:"error,omitempty"`
	Panic  string          `json:"panic,omitempty"`
	Exit   int             `json:"exit,omitempty"`
	Block  bool            `json:"block,omitempty"`
	Stdout string          `json:"stdout,omitempty"`
}

// reply is what the function returns on success.
type reply struct {
	Echo         json.RawMessage   `json:"echo,omitempty"`
	Env          map[string]string `json:"env"`
	PID          int               `json:"pid"`
	RequestID    string            `json:"request_id"`
	FunctionName string            `json:"function_name"`
	HasDeadline  bool              `json:"has_deadline"`
}

func handle(ctx context.Context, e event) (reply, error) {
	if e.Stdout != "" {
		fmt.Println(e.Stdout)
	}
	switch {
	case e.Error != "":
		return reply{}, errors.New(e.Error)
	case e.Panic != "":
		panic(e.Panic)
	case e.Exit != 0:
		os.Exit(e.Exit)
	case e.Block:
		// Hang like a stuck downstream call; the emulator kills the process
		// at the function timeout.
		time.Sleep(time.Hour)
	}
	r := reply{Echo: e.Echo, Env: map[string]string{}, PID: os.Getpid(), FunctionName: lambdacontext.FunctionName}
	if lc, ok := lambdacontext.FromContext(ctx); ok {
		r.RequestID = lc.AwsRequestID
	}
	_, r.HasDeadline = ctx.Deadline()
	for _, k := range e.Env {
		if v, ok := os.LookupEnv(k); ok {
			r.Env[k] = v
		}
	}
	return r, nil
}

func main() {
	lambda.Start(handle)
}
