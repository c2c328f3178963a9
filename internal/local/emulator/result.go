package emulator

import (
	"bytes"
	"encoding/json"
	"net/http"
	"regexp"
	"time"
)

// Values of Result.FunctionError, as Lambda's Invoke API puts them in the
// X-Amz-Function-Error header.
const (
	// Unhandled marks an invocation that failed: the handler returned an
	// error, panicked, exited or timed out.
	Unhandled = "Unhandled"
)

// ErrorTypeTimeout is the Result.ErrorType of an invocation that ran past the
// function timeout, as Lambda reports it.
const ErrorTypeTimeout = "Sandbox.Timedout"

// Result is the outcome of one invocation that the emulator answered.
type Result struct {
	// Payload is the response body: the handler's JSON result, or the error
	// document or text describing a failure.
	Payload []byte

	// StatusCode is the emulator's HTTP status: 200, or 502 when the
	// function process crashed or exited.
	StatusCode int

	// FunctionError is empty on success and Unhandled when the invocation
	// failed, like Lambda's X-Amz-Function-Error header. If the emulator
	// sends that header its value is used as is.
	FunctionError string

	// ErrorType and ErrorMessage describe a failure: the errorType and
	// errorMessage of the error document (for example "errorString" for a
	// Go error, "Runtime.ExitError" for an exit), or ErrorTypeTimeout and the
	// emulator's text for a timeout.
	ErrorType    string
	ErrorMessage string

	// RequestID is the invocation's request id, which the function sees as
	// its AWS request id and the emulator prints in its START, END and REPORT
	// log lines.
	RequestID string

	// Duration is the wall-clock time from sending the invocation to
	// receiving the whole answer, including the function's start on a cold
	// invocation.
	Duration time.Duration
}

// Failed reports whether the invocation failed.
func (r Result) Failed() bool { return r.FunctionError != "" }

// timedOut matches the emulator's answer to an invocation that timed out.
var timedOut = regexp.MustCompile(`^Task timed out after [0-9]+(\.[0-9]+)? seconds$`)

// errorDocument is the JSON body Lambda runtimes post to report a failure.
type errorDocument struct {
	ErrorMessage *string         `json:"errorMessage"`
	ErrorType    string          `json:"errorType"`
	StackTrace   json.RawMessage `json:"stackTrace"`
}

// classify fills in the failure fields of r from an answer with a status the
// emulator uses for function outcomes (200 or 502).
func classify(r *Result, header http.Header) {
	doc, isDoc := parseErrorDocument(r.Payload)
	switch {
	case header.Get("X-Amz-Function-Error") != "":
		r.FunctionError = header.Get("X-Amz-Function-Error")
	case isDoc, r.StatusCode != http.StatusOK:
		r.FunctionError = Unhandled
	case timedOut.Match(bytes.TrimSpace(r.Payload)):
		r.FunctionError = Unhandled
		r.ErrorType = ErrorTypeTimeout
		r.ErrorMessage = string(bytes.TrimSpace(r.Payload))
		return
	default:
		return
	}
	if isDoc {
		r.ErrorType = doc.ErrorType
		r.ErrorMessage = *doc.ErrorMessage
	} else {
		r.ErrorMessage = string(bytes.TrimSpace(r.Payload))
	}
}

// parseErrorDocument reports whether b is a Lambda error document: a JSON
// object with a string errorMessage and no members other than errorMessage,
// errorType and stackTrace. A handler whose successful result has exactly
// that shape is indistinguishable from a failure, because the emulator does
// not send X-Amz-Function-Error.
func parseErrorDocument(b []byte) (errorDocument, bool) {
	var members map[string]json.RawMessage
	if json.Unmarshal(b, &members) != nil {
		return errorDocument{}, false
	}
	for k := range members {
		if k != "errorMessage" && k != "errorType" && k != "stackTrace" {
			return errorDocument{}, false
		}
	}
	var doc errorDocument
	if json.Unmarshal(b, &doc) != nil || doc.ErrorMessage == nil {
		return errorDocument{}, false
	}
	return doc, true
}
