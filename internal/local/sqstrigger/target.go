package sqstrigger

import (
	"context"
	"fmt"
	"reflect"
	"time"

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"

	"github.com/flexhook/flexhook/internal/local/emulator"
)

// FunctionError is a failed invocation: the function returned an error,
// panicked, crashed or timed out.
type FunctionError struct {
	Type    string // e.g. "errorString", "Runtime.ExitError", "Sandbox.Timedout"
	Message string
}

func (e *FunctionError) Error() string {
	return fmt.Sprintf("function error %s: %s", e.Type, e.Message)
}

// Emulator invokes a function running under the Lambda Runtime Interface
// Emulator. An invocation the emulator reports as failed is a
// *FunctionError; one it could not answer (the instance was closed or
// crashed) is the emulator's error.
type Emulator struct {
	Instance *emulator.Instance
}

// Invoke sends payload to the function.
func (e Emulator) Invoke(ctx context.Context, payload []byte) ([]byte, error) {
	res, err := e.Instance.Invoke(ctx, payload)
	if err != nil {
		return nil, err
	}
	if res.Failed() {
		return nil, &FunctionError{Type: res.ErrorType, Message: res.ErrorMessage}
	}
	return res.Payload, nil
}

// DefaultLocalTimeout is the deadline of a Local invocation when
// Local.Timeout is zero: Lambda's default function timeout.
const DefaultLocalTimeout = 3 * time.Second

// Local invokes a handler in this process the way Lambda would: with a
// lambdacontext carrying a fresh request id and the function ARN, and a
// deadline of Timeout. A panic is a *FunctionError, as the Lambda runtime
// reports it.
type Local struct {
	// Handler is the function, for example lambda.NewHandler(h.Handle).
	Handler lambda.Handler
	// Timeout is the function timeout (default DefaultLocalTimeout).
	Timeout time.Duration
	// FunctionARN is the InvokedFunctionArn of the context (optional).
	FunctionARN string
}

// Invoke calls the handler with payload.
func (l Local) Invoke(ctx context.Context, payload []byte) (out []byte, err error) {
	timeout := l.Timeout
	if timeout <= 0 {
		timeout = DefaultLocalTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	ctx = lambdacontext.NewContext(ctx, &lambdacontext.LambdaContext{AwsRequestID: emulator.NewRequestID(), InvokedFunctionArn: l.FunctionARN})
	defer func() {
		if p := recover(); p != nil {
			out, err = nil, &FunctionError{Type: "Runtime.Panic", Message: fmt.Sprint(p)}
		}
	}()
	out, err = l.Handler.Invoke(ctx, payload)
	if err != nil {
		return nil, &FunctionError{Type: errorType(err), Message: err.Error()}
	}
	return out, nil
}

// errorType names an error's type as the Lambda runtime for Go does in the
// errorType of its error document: "errorString" for errors.New.
func errorType(err error) string {
	t := reflect.TypeOf(err)
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t.Name()
}
