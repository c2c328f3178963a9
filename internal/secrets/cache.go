package secrets

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/smithy-go"
)

// ErrUnavailable wraps failures to fetch the secret that may succeed later
// (throttling, network, Secrets Manager 5xx). Errors that wrap it report
// RetryableError() == true.
var ErrUnavailable = errors.New("secret unavailable")

// getter is the one Secrets Manager call the cache makes; the SDK's
// *secretsmanager.Client satisfies it.
type getter interface {
	GetSecretValue(ctx context.Context, in *secretsmanager.GetSecretValueInput, optFns ...func(*secretsmanager.Options)) (*secretsmanager.GetSecretValueOutput, error)
}

// fetchMargin is kept free before the caller's deadline when fetching.
const fetchMargin = 300 * time.Millisecond

// Options tune a Cache. Zero values take the defaults.
type Options struct {
	// TTL is how long a fetched secret is served without asking again
	// (default 5 minutes).
	TTL time.Duration
	// MinRefreshInterval is the least time between two refreshes forced by
	// Refresh (default 1 minute).
	MinRefreshInterval time.Duration
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Cache serves the parsed secret, fetching it at most once per TTL. It is
// safe for concurrent use; concurrent callers share one fetch.
type Cache struct {
	client getter
	id     string
	ttl    time.Duration
	minGap time.Duration
	now    func() time.Time

	mu        sync.Mutex
	cur       *Twilio
	fetchedAt time.Time
	forcedAt  time.Time // last Refresh that reached Secrets Manager
	fetches   int
}

// NewCache returns a Cache of the secret secretID (a name or an ARN).
func NewCache(client getter, secretID string, opts Options) *Cache {
	c := &Cache{client: client, id: secretID, ttl: opts.TTL, minGap: opts.MinRefreshInterval, now: opts.Now}
	if c.ttl <= 0 {
		c.ttl = 5 * time.Minute
	}
	if c.minGap <= 0 {
		c.minGap = time.Minute
	}
	if c.now == nil {
		c.now = time.Now
	}
	return c
}

// Get returns the secret, fetching it when none is cached or the cached copy
// is older than the TTL. When a refetch fails but a copy is cached, the copy
// is returned: serving slightly stale credentials beats refusing work, and
// the next call tries again. Errors are *FetchError or *FormatError.
func (c *Cache) Get(ctx context.Context) (*Twilio, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && c.now().Sub(c.fetchedAt) < c.ttl {
		return c.cur, nil
	}
	t, err := c.fetch(ctx)
	if err != nil {
		if c.cur != nil {
			return c.cur, nil
		}
		return nil, err
	}
	return t, nil
}

// Refresh refetches the secret after its current values were rejected (a
// Twilio 401, a signature that does not verify). To bound the calls an
// attacker can cause, it reaches Secrets Manager at most once per
// MinRefreshInterval; otherwise it returns the cached secret. changed reports
// whether the returned secret is a different version from the one cached
// before the call, that is whether retrying with it is worthwhile.
func (c *Cache) Refresh(ctx context.Context) (t *Twilio, changed bool, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	prev := c.cur
	if prev != nil && !c.forcedAt.IsZero() && c.now().Sub(c.forcedAt) < c.minGap {
		return prev, false, nil
	}
	c.forcedAt = c.now()
	t, err = c.fetch(ctx)
	if err != nil {
		if prev != nil {
			return prev, false, err
		}
		return nil, false, err
	}
	return t, prev == nil || !sameSecret(prev, t), nil
}

// Fetches reports how many times the cache has called Secrets Manager.
func (c *Cache) Fetches() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fetches
}

// fetch calls Secrets Manager and, on success, replaces the cached secret.
// c.mu is held.
func (c *Cache) fetch(ctx context.Context) (*Twilio, error) {
	c.fetches++
	if d, ok := ctx.Deadline(); ok {
		// Leave the caller time to answer: a slow Secrets Manager must
		// not hold the invocation past its deadline.
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, d.Add(-fetchMargin))
		defer cancel()
	}
	out, err := c.client.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: &c.id})
	if err != nil {
		return nil, classify(c.id, err)
	}
	if out.SecretString == nil {
		return nil, &FormatError{Reason: "has no SecretString (binary secrets are not supported)"}
	}
	t, err := Parse([]byte(*out.SecretString))
	if err != nil {
		return nil, err
	}
	if out.VersionId != nil {
		t.VersionID = *out.VersionId
	}
	c.cur, c.fetchedAt = t, c.now()
	return t, nil
}

// sameSecret reports whether a and b hold the same credentials.
func sameSecret(a, b *Twilio) bool {
	if a.VersionID != "" && a.VersionID == b.VersionID {
		return true
	}
	eq := func(x, y []Value) bool { return slices.EqualFunc(x, y, Value.Equal) }
	return a.AccountSID == b.AccountSID && eq(a.AuthTokens, b.AuthTokens) &&
		a.APIKeySID == b.APIKeySID && a.APIKeySecret.Equal(b.APIKeySecret) &&
		eq(a.CRMWebhookSecrets, b.CRMWebhookSecrets) && eq(a.CRMAPITokens, b.CRMAPITokens) &&
		maps.EqualFunc(a.CRMSources, b.CRMSources, eq)
}

// FetchError is a failed GetSecretValue call.
type FetchError struct {
	SecretID string
	Code     string // the AWS error code, e.g. ResourceNotFoundException; empty for network errors
	Err      error
}

func (e *FetchError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("get secret %s: %s", e.SecretID, e.Code)
	}
	return fmt.Sprintf("get secret %s: %v", e.SecretID, e.Err)
}

func (e *FetchError) Unwrap() error { return e.Err }

// RetryableError reports whether the fetch may succeed if tried again:
// everything except errors that need an operator (missing secret, denied
// access, undecryptable secret, bad request).
func (e *FetchError) RetryableError() bool {
	switch e.Code {
	case "ResourceNotFoundException", "AccessDeniedException", "DecryptionFailure",
		"InvalidRequestException", "InvalidParameterException", "UnrecognizedClientException",
		"InvalidSignatureException", "ExpiredTokenException":
		return false
	}
	return !errors.Is(e.Err, context.Canceled)
}

// Is makes errors.Is(err, ErrUnavailable) true for retryable fetch errors.
func (e *FetchError) Is(target error) bool { return target == ErrUnavailable && e.RetryableError() }

func classify(id string, err error) error {
	fe := &FetchError{SecretID: id, Err: err}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		fe.Code = ae.ErrorCode()
	}
	return fe
}
