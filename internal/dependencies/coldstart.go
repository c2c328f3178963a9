// Package dependencies builds, once per Lambda container, the long-lived
// dependencies every flexhook function shares: the AWS SDK configuration,
// the Secrets Manager cache of Twilio credentials, and the Twilio REST client
// with its keep-alive transport. It is the only state that survives between
// invocations, and it lives in the values returned here, not in package
// variables.
package dependencies

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"

	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/retry"
	"github.com/flexhook/flexhook/internal/secrets"
	"github.com/flexhook/flexhook/internal/tracing"
)

// TwilioOptions configure NewTwilio.
type TwilioOptions struct {
	SecretID       string        // TWILIO_SECRET_ID
	SecretCacheTTL time.Duration // SECRET_CACHE_TTL
	APIBaseURL     string        // TWILIO_API_BASE_URL, for local runs
	Logger         *slog.Logger
	// AWS is the SDK configuration; nil loads the default chain
	// (environment, which is what Lambda provides).
	AWS *aws.Config
	// Flex overrides the Twilio client's options (tests).
	Flex flex.Options
	// Tracer records the Twilio and Secrets Manager calls as X-Ray
	// subsegments; nil records nothing.
	Tracer *tracing.Tracer
}

// Twilio bundles the credential cache and the REST client built on it.
type Twilio struct {
	Secrets *secrets.Cache
	API     *flex.Client
}

// NewTwilio builds the Secrets Manager client, the credential cache and the
// Twilio client, then fetches the secret once so the first request does not
// wait for it. A failed fetch here is logged, not fatal: a cold start never
// crashes on a Secrets Manager hiccup, and requests try again.
func NewTwilio(ctx context.Context, o TwilioOptions) (*Twilio, error) {
	cfg := o.AWS
	if cfg == nil {
		c, err := awsconfig.LoadDefaultConfig(ctx)
		if err != nil {
			return nil, fmt.Errorf("load AWS configuration: %w", err)
		}
		cfg = &c
	}
	if o.Tracer != nil {
		c := cfg.Copy()
		base := c.HTTPClient
		if base == nil {
			base = awshttp.NewBuildableClient()
		}
		c.HTTPClient = o.Tracer.AWSClient(base, "Secrets Manager")
		cfg = &c
	}
	cache := secrets.NewCache(secretsmanager.NewFromConfig(*cfg), o.SecretID, secrets.Options{TTL: o.SecretCacheTTL})
	fo := o.Flex
	fo.BaseURL = o.APIBaseURL
	if o.Tracer != nil {
		if fo.Transport == nil {
			fo.Transport = flex.NewTransport()
		}
		fo.Transport = o.Tracer.Transport(fo.Transport)
	}
	api, err := flex.New(credentials{cache}, fo)
	if err != nil {
		return nil, err
	}
	t := &Twilio{Secrets: cache, API: api}
	t.warm(ctx, o.Logger)
	return t, nil
}

// warmBudget bounds the cold-start secret fetch, retries included, well
// inside Lambda's 10 s init limit.
const warmBudget = 3 * time.Second

// warm fetches the secret at cold start, retrying transient failures
// within warmBudget.
func (t *Twilio) warm(ctx context.Context, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, warmBudget)
	defer cancel()
	backoff := retry.Backoff{Base: 100 * time.Millisecond}
	for attempt := 1; ; attempt++ {
		_, err := t.Secrets.Get(ctx)
		if err == nil {
			return
		}
		retryable := retry.Retryable(err) && ctx.Err() == nil
		if log != nil {
			log.WarnContext(ctx, "cold start: secret not loaded; requests will retry", "error", err.Error(), "retrying", retryable)
		}
		if !retryable {
			return
		}
		if retry.Sleep(ctx, backoff.Delay(attempt, 0)) != nil {
			return
		}
	}
}

// credentials adapts the secret cache to the Twilio client.
type credentials struct{ c *secrets.Cache }

func (s credentials) Credentials(ctx context.Context) (flex.Credentials, error) {
	t, err := s.c.Get(ctx)
	if err != nil {
		return flex.Credentials{}, err
	}
	user, pass := t.RESTCredentials()
	return flex.Credentials{AccountSID: t.AccountSID, Username: user, Password: pass}, nil
}

func (s credentials) Refresh(ctx context.Context) (bool, error) {
	_, changed, err := s.c.Refresh(ctx)
	return changed, err
}
