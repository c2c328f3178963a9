package crm

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Delivery is what a source's authentication looks at: the request as
// the sender made it.
type Delivery struct {
	// Method is the HTTP method, upper-case.
	Method string
	// PublicURL is the URL the sender called, query included.
	PublicURL string
	// RawQuery is the query string without '?'.
	RawQuery string
	// Header holds the headers under canonical keys.
	Header http.Header
	// Body is the raw body.
	Body []byte
}

// SourceAuth authenticates the deliveries of one source with its current
// secrets. Build it with NewSourceAuth once per secret version; it is
// immutable and safe for concurrent use.
type SourceAuth struct {
	scheme Scheme
	std    *Verifier // standard-webhooks and bearer
	keys   []string  // zendesk and hubspot-v3 secrets, basic user:password, salesforce tokens
}

// NewSourceAuth checks secrets (the source's entries of crm_sources in the
// Twilio secret) against what s.Scheme needs: at least one, except for
// salesforce-outbound, whose URL token is optional; whsec_ keys for
// standard-webhooks, RFC 6750 tokens for bearer, "user:password" with a
// password of at least MinTokenLen characters for basic. Errors wrap
// ErrBadConfig and never quote a secret.
func NewSourceAuth(s *Source, secrets []string) (*SourceAuth, error) {
	var keys []string
	for _, k := range secrets {
		if k = strings.TrimSpace(k); k != "" {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 && s.Scheme.NeedsSecret() {
		return nil, fmt.Errorf("%w: scheme %s needs at least one secret", ErrBadConfig, s.Scheme)
	}
	a := &SourceAuth{scheme: s.Scheme, keys: keys}
	var err error
	switch s.Scheme {
	case SchemeStandardWebhooks:
		a.std, err = NewVerifier(Config{Secrets: keys})
	case SchemeBearer:
		a.std, err = NewVerifier(Config{Tokens: keys})
	case SchemeBasic:
		for i, k := range keys {
			user, password, ok := strings.Cut(k, ":")
			if !ok || user == "" {
				return nil, fmt.Errorf("secret %d: %w: basic credentials are \"user:password\"", i, ErrBadConfig)
			}
			if len(password) < MinTokenLen {
				return nil, fmt.Errorf("secret %d: %w: the password of basic credentials \"user:password\" needs at least %d characters", i, ErrBadConfig, MinTokenLen)
			}
		}
	case SchemeSalesforceOutbound:
		for i, k := range keys {
			if len(k) < MinTokenLen || url.QueryEscape(k) != k {
				return nil, fmt.Errorf("secret %d: %w: a URL token needs at least %d characters that need no escaping in a URL", i, ErrBadConfig, MinTokenLen)
			}
		}
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Verify authenticates d at now. For salesforce-outbound it checks only
// the URL token (when one is configured); the caller then checks the
// message's OrganizationId with VerifyOrgID. Errors wrap the package's
// authentication sentinels: ErrNotSigned, ErrMalformedHeader,
// ErrTimestamp, ErrBadSignature or ErrBadToken.
func (a *SourceAuth) Verify(d Delivery, now time.Time) error {
	switch a.scheme {
	case SchemeStandardWebhooks:
		if len(d.Header[HeaderSignature]) == 0 {
			return ErrNotSigned // a bearer header is no credential here
		}
		return a.std.Verify(d.Header, d.Body, now)
	case SchemeBearer:
		if len(d.Header["Authorization"]) == 0 {
			return ErrNotSigned
		}
		h := http.Header{"Authorization": d.Header["Authorization"]}
		return a.std.Verify(h, d.Body, now)
	case SchemeBasic:
		return VerifyBasic(d.Header, a.keys)
	case SchemeZendesk:
		return VerifyZendesk(d.Header, d.Body, a.keys, now, 0)
	case SchemeHubSpotV3:
		return VerifyHubSpotV3(d.Method, d.PublicURL, d.Header, d.Body, a.keys, now, 0)
	case SchemeSalesforceOutbound:
		if len(a.keys) == 0 {
			return nil
		}
		q, err := url.ParseQuery(d.RawQuery)
		if err != nil || len(q[TokenParam]) > 1 {
			return fmt.Errorf("%w: query string unreadable or token repeated", ErrMalformedHeader)
		}
		return VerifyToken(q.Get(TokenParam), a.keys)
	}
	return fmt.Errorf("%w: unknown scheme", ErrBadConfig)
}

// SignDelivery returns the headers and URL a sender of scheme would use to
// deliver body to publicURL at now, authenticated with secret: the test
// signer that goes with SourceAuth.Verify, for tests, sample events and
// the developer CLI. id is the delivery id where the scheme carries one
// (webhook-id, X-Zendesk-Webhook-Invocation-Id). For salesforce-outbound
// a non-empty secret is added to the URL as ?token=. Errors wrap
// ErrBadConfig.
func SignDelivery(scheme Scheme, secret, method, publicURL, id string, body []byte, now time.Time) (http.Header, string, error) {
	h := http.Header{}
	switch scheme {
	case SchemeStandardWebhooks:
		sh, err := Sign(secret, id, now, body)
		if err != nil {
			return nil, "", err
		}
		h = sh
	case SchemeBearer:
		h.Set("Authorization", "Bearer "+secret)
	case SchemeBasic:
		h.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(secret)))
	case SchemeZendesk:
		ts := now.UTC().Format(time.RFC3339)
		h.Set(HeaderZendeskTimestamp, ts)
		h.Set(HeaderZendeskSignature, ZendeskSignature(secret, ts, body))
		if id != "" {
			h.Set(HeaderZendeskInvocation, id)
		}
	case SchemeHubSpotV3:
		ts := strconv.FormatInt(now.UnixMilli(), 10)
		h.Set(HeaderHubSpotTimestamp, ts)
		h.Set(HeaderHubSpotSignature, HubSpotSignature(secret, method, HubSpotURI(publicURL), body, ts))
	case SchemeSalesforceOutbound:
		if secret != "" {
			u, err := url.Parse(publicURL)
			if err != nil {
				return nil, "", fmt.Errorf("%w: %v", ErrBadConfig, err)
			}
			q := u.Query()
			q.Set(TokenParam, secret)
			u.RawQuery = q.Encode()
			publicURL = u.String()
		}
	default:
		return nil, "", fmt.Errorf("%w: unknown scheme %q", ErrBadConfig, scheme)
	}
	return h, publicURL, nil
}
