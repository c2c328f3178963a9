package flex

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/sid"
)

// The classes of Twilio's answers callers branch on; an *Error matches the
// one of its HTTP status (see Error.Is). Test with errors.Is.
var (
	// ErrNotFound: Twilio answered 404, the channel or task does not exist
	// (Interaction Channels are deleted 180 days after they go inactive).
	ErrNotFound = errors.New("not found")
	// ErrUnauthorized: Twilio refused the credentials, even after a refresh.
	ErrUnauthorized = errors.New("twilio rejected the credentials")
	// ErrForbidden: Twilio accepted the credentials but refused the call
	// (403): the API key lacks the permission.
	ErrForbidden = errors.New("twilio refused the credentials' permission")
)

// ErrInvalidSID: a SID did not have the expected form; no call was made.
var ErrInvalidSID = errors.New("invalid SID")

// sidCheck asks that value, called name in errors, be a SID with prefix.
type sidCheck struct{ name, prefix, value string }

// checkSIDs reports ErrInvalidSID, naming the first bad one, unless every
// check holds.
func checkSIDs(checks ...sidCheck) error {
	for _, c := range checks {
		if !sid.Valid(c.prefix, c.value) {
			return fmt.Errorf("%w: %s must be %s followed by 32 hex digits", ErrInvalidSID, c.name, c.prefix)
		}
	}
	return nil
}

// Error describes a failed Twilio call after retries.
type Error struct {
	Op         string        // what was attempted, e.g. "close channel UO…"
	Status     int           // HTTP status; 0 when no response was received
	Code       int           // Twilio error code; 0 when the body had none
	Message    string        // Twilio's message, with credentials scrubbed
	RetryAfter time.Duration // the server's Retry-After, 0 when absent
	Attempts   int           // HTTP attempts made
	Err        error         // the underlying error
	retryable  bool
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Op)
	b.WriteString(": ")
	switch {
	case e.Status != 0 && e.Code != 0:
		fmt.Fprintf(&b, "twilio %d (code %d): %s", e.Status, e.Code, e.Message)
	case e.Status != 0:
		fmt.Fprintf(&b, "twilio %d", e.Status)
		if e.Err != nil {
			fmt.Fprintf(&b, ": %v", e.Err)
		}
	default:
		fmt.Fprintf(&b, "%v", e.Err)
	}
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " (after %d attempts)", e.Attempts)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is reports ErrNotFound for 404s, ErrUnauthorized for 401s and
// ErrForbidden for 403s.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrNotFound:
		return e.Status == 404
	case ErrUnauthorized:
		return e.Status == 401
	case ErrForbidden:
		return e.Status == 403
	}
	return false
}

// RetryableError reports whether the same call may succeed later: Twilio
// rate limits (429), server errors (5xx), request timeouts (408) and
// too-early answers (425), responses whose body was not
// Twilio's error JSON (a proxy's page), and network failures or timeouts.
func (e *Error) RetryableError() bool { return e.retryable }

// scrub removes secret from s, so a Twilio or proxy message that echoes a
// credential cannot carry it into logs, and caps the length of s.
func scrub(s string, secrets ...string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "REDACTED")
		}
	}
	const max = 300
	if len(s) > max {
		s = s[:max] + "…"
	}
	return s
}
