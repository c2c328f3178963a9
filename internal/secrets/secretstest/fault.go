package secretstest

import (
	"cmp"
	"net/http"
	"strings"
)

// Error codes Secrets Manager sends that tests commonly inject. Any other
// code may be injected as well.
const (
	CodeThrottling   = "ThrottlingException"
	CodeAccessDenied = "AccessDeniedException"
	CodeInternal     = "InternalServiceError"
	CodeDecryption   = "DecryptionFailure"
	CodeNotFound     = "ResourceNotFoundException"
)

// Fault describes how the Server misbehaves on the next matching calls.
type Fault struct {
	// Type is the error code sent as "__type", for example
	// CodeThrottling. The HTTP status is the one AWS uses: 500 for
	// InternalServiceError, 503 for ServiceUnavailable and 400 for
	// everything else, throttling included. Empty means the call does not
	// fail.
	Type string

	// Message replaces the message Secrets Manager sends with Type.
	Message string

	// Times is how many matching calls the fault affects. Zero or less means
	// every matching call until ClearFaults.
	Times int

	// Operation limits the fault to one operation such as
	// OpGetSecretValue. Empty matches every operation.
	Operation string
}

// Inject queues f. A call takes the oldest queued fault that matches its
// operation; faults queued after it wait until it is used up. Unsigned calls
// and calls to operations the Server does not implement take no fault.
func (s *Server) Inject(f Fault) {
	f.Operation = strings.TrimPrefix(f.Operation, targetPrefix)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults drops every queued fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// apiError returns the answer f gives to a call to op.
func (f *Fault) apiError(op string) *apiError {
	e := &apiError{status: http.StatusBadRequest, typ: f.Type, message: cmp.Or(f.Message, defaultMessage(f.Type, op))}
	switch f.Type {
	case CodeInternal:
		e.status = http.StatusInternalServerError
	case "ServiceUnavailable", "ServiceUnavailableException":
		e.status = http.StatusServiceUnavailable
	}
	return e
}

// defaultMessage returns the message Secrets Manager sends with an error code.
func defaultMessage(typ, op string) string {
	switch typ {
	case CodeThrottling:
		return "Rate exceeded"
	case CodeAccessDenied:
		return "User: arn:aws:sts::" + AccountID + ":assumed-role/flexhook/flexhook is not authorized to perform: secretsmanager:" +
			op + " because no identity-based policy allows the secretsmanager:" + op + " action"
	case CodeInternal:
		return "An error occurred on the server side."
	case CodeDecryption:
		return "Secrets Manager can't decrypt the protected secret text using the provided KMS key."
	case CodeNotFound:
		return "Secrets Manager can't find the specified secret."
	default:
		return typ
	}
}
