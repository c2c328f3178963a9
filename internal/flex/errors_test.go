package flex

import (
	"errors"
	"testing"
)

func TestErrorIsClass(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   error
	}{
		{404, ErrNotFound},
		{401, ErrUnauthorized},
		{403, ErrForbidden},
	} {
		for _, target := range []error{ErrNotFound, ErrUnauthorized, ErrForbidden} {
			err := error(&Error{Op: "close channel", Status: tc.status})
			if got := errors.Is(err, target); got != (target == tc.want) {
				t.Errorf("errors.Is(twilio %d, %v) = %v, want %v", tc.status, target, got, !got)
			}
		}
	}
}
