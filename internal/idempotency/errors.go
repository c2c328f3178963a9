package idempotency

import (
	"errors"
	"fmt"

	"github.com/aws/smithy-go"
)

// Error is a store failure that is not one of the sentinel conditions: the
// DynamoDB call failed, a stored item was malformed, or the context ended.
// RetryableError tells whether the same call may succeed later.
type Error struct {
	Op   string // the store method: "begin", "complete", "release" or "get"
	Key  string // the idempotency key
	Code string // the AWS error code when DynamoDB answered, e.g. "ThrottlingException"
	Err  error  // the underlying error
	// retryable is the classification made once, in classify.
	retryable bool
}

func (e *Error) Error() string {
	return fmt.Sprintf("idempotency %s %q: %v", e.Op, e.Key, e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// RetryableError reports whether the call may succeed if tried again later:
// DynamoDB throttling (ProvisionedThroughputExceededException,
// ThrottlingException, RequestLimitExceeded), server errors
// (InternalServerError, any 5xx), write conflicts, network failures and
// timeouts, and a canceled or expired context. A missing table
// (ResourceNotFoundException), denied access, a ValidationException or a
// malformed stored item is permanent: retrying cannot help until someone
// fixes the deployment or the data.
func (e *Error) RetryableError() bool { return e.retryable }

// retryableCode reports whether the DynamoDB error code names a failure
// that may pass on a later try. See
// https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html
func retryableCode(code string) bool {
	switch code {
	case "ProvisionedThroughputExceededException",
		"ThrottlingException",
		"RequestLimitExceeded",
		"InternalServerError",
		"ServiceUnavailable",
		"TransactionConflictException",
		"ReplicatedWriteConflictException":
		return true
	}
	return false
}

// classify wraps err, returned by a DynamoDB call, in an *Error that knows
// whether it is retryable. It is called once per failure, after the
// semantic conditions (ConditionalCheckFailedException) were handled.
func classify(op, key string, err error) error {
	e := &Error{Op: op, Key: key, Err: err}
	var api smithy.APIError
	var badParams smithy.InvalidParamsError
	var status interface{ HTTPStatusCode() int }
	switch {
	case errors.As(err, &api):
		e.Code = api.ErrorCode()
		e.retryable = retryableCode(e.Code) ||
			api.ErrorFault() == smithy.FaultServer ||
			(errors.As(err, &status) && status.HTTPStatusCode() >= 500)
	case errors.As(err, &badParams):
		// The SDK refused the input before sending it.
		e.retryable = false
	case errors.As(err, &status) && status.HTTPStatusCode() != 0:
		// An HTTP response the SDK could not decode as an AWS error, such
		// as a proxy's error page.
		e.retryable = status.HTTPStatusCode() >= 500 || status.HTTPStatusCode() == 429
	default:
		// No response (the SDK reports status 0): connection refused or
		// reset, DNS, timeouts, a canceled context, credentials that
		// could not be fetched.
		e.retryable = true
	}
	return e
}

// malformed reports a stored item that does not decode as a Record; it is
// permanent.
func malformed(op, key string, err error) error {
	return &Error{Op: op, Key: key, Err: fmt.Errorf("malformed item: %w", err)}
}

// ContextError reports that ctx ended before a store call; a later call
// with a live context may succeed.
func ContextError(op, key string, err error) error {
	return &Error{Op: op, Key: key, Err: err, retryable: true}
}
