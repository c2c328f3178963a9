package crm

import (
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Sign returns the Standard Webhooks headers a sender holding secret would
// attach to body: webhook-id, webhook-timestamp (ts in unix seconds) and a
// webhook-signature with one v1 entry. It is the test signer that goes with
// Verify, used by tests, sample-event generation and the developer CLI; to
// simulate a sender rotating keys, join several Secret.Signature values
// with spaces.
//
// It returns an error wrapping ErrBadConfig when secret does not parse
// (see ParseSecret), id is not 1-256 visible ASCII characters, or ts is
// before 1970 or past the 18-digit timestamps Verify reads.
func Sign(secret, id string, ts time.Time, body []byte) (http.Header, error) {
	s, err := ParseSecret(secret)
	if err != nil {
		return nil, err
	}
	if !validID(id) {
		return nil, fmt.Errorf("%w: webhook id must be 1-%d visible ASCII characters", ErrBadConfig, maxIDLen)
	}
	if sec := ts.Unix(); sec < 0 || sec > maxUnix {
		return nil, fmt.Errorf("%w: timestamp %v is not 0-%d unix seconds", ErrBadConfig, ts, int64(maxUnix))
	}
	return http.Header{
		HeaderID:        {id},
		HeaderTimestamp: {strconv.FormatInt(ts.Unix(), 10)},
		HeaderSignature: {s.Signature(id, ts, body)},
	}, nil
}
