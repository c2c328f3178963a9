// Package config reads flexhook's configuration from environment variables.
//
// Configuration is parsed once, at cold start, into a Config. A missing or
// invalid value is reported as an *Error naming the variable, so a broken
// deployment fails fast with a message an operator can act on. Nothing under
// internal/ other than this package reads the environment, and this package
// reads it only through the getenv function it is given.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/sid"
)

// Names of the environment variables flexhook reads. They are a public
// interface: deployments and template.yaml depend on them.
const (
	EnvSecretID         = "TWILIO_SECRET_ID"
	EnvPublicBaseURL    = "PUBLIC_BASE_URL"
	EnvCloseStatus      = "CLOSE_STATUS"
	EnvCloseTasks       = "CLOSE_TASKS"
	EnvCloseEvents      = "TASKROUTER_CLOSE_EVENTS"
	EnvWorkspaceSID     = "TASKROUTER_WORKSPACE_SID"
	EnvMaxEventAge      = "TASKROUTER_MAX_EVENT_AGE"
	EnvSecretCacheTTL   = "SECRET_CACHE_TTL"
	EnvTwilioAPIBaseURL = "TWILIO_API_BASE_URL"
	EnvLogLevel         = "LOG_LEVEL"
	EnvCloseQueueURL    = "CLOSE_QUEUE_URL"
	EnvIdempotencyTable = "IDEMPOTENCY_TABLE"
	EnvDryRun           = "DRY_RUN"
	EnvSweepLookback    = "SWEEP_LOOKBACK"
	EnvWorkerRetryBase  = "WORKER_RETRY_BASE"
	EnvCRMSources       = "CRM_SOURCES"
	EnvRecheckAfter     = "RECHECK_AFTER"
	EnvRecheckLimit     = "RECHECK_LIMIT"
)

// Channel statuses a close may set.
const (
	StatusClosed   = "closed"
	StatusInactive = "inactive"
)

// What happens to the channel's tasks on close (CLOSE_TASKS).
const (
	TasksComplete = "complete" // send Routing={"status":"closed"}: tasks are completed
	TasksWrapup   = "wrapup"   // omit Routing with Status=closed: tasks go to wrapping
)

// DefaultCloseEvents are the TaskRouter events that close a channel unless
// TASKROUTER_CLOSE_EVENTS says otherwise: Twilio's terminal events against
// orphaned conversations, and the deletion of a task that was still live.
// task.completed is opt-in: a Flex agent ends a chat by closing its channel
// (so it is normally closed already), and Park and Leave complete the task
// of a conversation that must stay open.
var DefaultCloseEvents = []string{
	"task.canceled", "workflow.timeout", "task.deleted", "task.system-deleted",
}

// CloseEventTypes are the event types TASKROUTER_CLOSE_EVENTS may list: the
// ones the close decision (taskrouter.DecisionRows) knows.
var CloseEventTypes = []string{
	"task.canceled", "task.completed", "task.deleted", "task.system-deleted", "workflow.timeout",
}

// Defaults for optional durations.
const (
	DefaultMaxEventAge    = 15 * time.Minute
	DefaultSecretCacheTTL = 5 * time.Minute
	DefaultSweepLookback  = 2 * time.Hour
	// MaxSweepLookback is the retention of TaskRouter's Events resource.
	MaxSweepLookback    = 30 * 24 * time.Hour
	DefaultRecheckAfter = 60 * time.Second
	DefaultRecheckLimit = 3
	// MaxRecheckLimit keeps rechecks well inside the close queue's
	// maxReceiveCount (template.yaml), so rechecks alone never send a job
	// to the dead-letter queue.
	MaxRecheckLimit = 10
)

// Common is the configuration every function shares: how to reach Twilio
// and the idempotency store, and how to log.
type Common struct {
	// SecretID names the Secrets Manager secret holding Twilio credentials.
	SecretID string
	// SecretCacheTTL is how long fetched credentials are reused.
	SecretCacheTTL time.Duration
	// TwilioAPIBaseURL, when set, receives every Twilio REST request
	// (scheme://host[:port], no path). It exists for local runs and tests.
	TwilioAPIBaseURL string
	// IdempotencyTable is the DynamoDB table of the idempotency store;
	// empty means no persistent store.
	IdempotencyTable string
	// DryRun decides and logs without calling Flex.
	DryRun bool
	// LogLevel is the minimum level logged.
	LogLevel slog.Level
}

// Shared returns the part of a function's configuration every function
// shares; Webhook, Worker and Sweeper have it through Common.
func (c Common) Shared() Common { return c }

// Webhook is the configuration of the webhook function.
type Webhook struct {
	Common
	// PublicBaseURL is the external base URL Twilio signs, without a
	// trailing slash; empty means "rebuild it from the API Gateway event".
	PublicBaseURL string
	// CloseStatus is StatusClosed or StatusInactive.
	CloseStatus string
	// CloseTasks is TasksComplete or TasksWrapup.
	CloseTasks string
	// CloseEvents is the set of TaskRouter event types that close a channel.
	CloseEvents []string
	// WorkspaceSID is the TaskRouter workspace used for CRM task_sid
	// look-ups; empty disables them.
	WorkspaceSID string
	// MaxEventAge is how old a TaskRouter event may be and still be acted on.
	MaxEventAge time.Duration
	// CloseQueueURL, when set, switches the webhook to durable mode: close
	// jobs are sent to this SQS queue (FIFO when it ends in .fifo) and run
	// by the worker.
	CloseQueueURL string
	// CRMSources are the named CRM sources served at POST /crm/{name}
	// (CRM_SOURCES); their secrets live in the Twilio secret.
	CRMSources []crm.Source
}

// Worker is the configuration of the queue worker.
type Worker struct {
	Common
	// RetryBase is the first retry delay of a failed job; the n-th
	// delivery waits RetryBase·2^(n-1) (zero: the worker's default).
	RetryBase time.Duration
	// RecheckAfter is how long a close skipped because another task was
	// live waits before it is checked again.
	RecheckAfter time.Duration
	// RecheckLimit is how many times a skipped close is checked again
	// before the skip is recorded as final (0: never).
	RecheckLimit int
}

// Sweeper is the configuration of the orphan sweeper.
type Sweeper struct {
	Common
	// WorkspaceSID is the TaskRouter workspace swept (required).
	WorkspaceSID string
	// Lookback is how far back terminal tasks are examined.
	Lookback time.Duration
	// CloseStatus and CloseTasks apply to the closes it makes.
	CloseStatus, CloseTasks string
	// CloseEvents are the webhook's close events: the sweeper closes only
	// what a delivered event would have closed.
	CloseEvents []string
}

// Routing is Webhook.Routing for the sweeper's settings.
func (c Sweeper) Routing(status string) bool {
	return status == StatusInactive || c.CloseTasks == TasksComplete
}

// Routing reports whether a close must send Routing={"status":"closed"}:
// always with inactive (Twilio requires it), and with closed unless tasks
// should go to wrap-up.
func (c Webhook) Routing(status string) bool {
	return status == StatusInactive || c.CloseTasks == TasksComplete
}

// Error reports an invalid or missing environment variable.
type Error struct {
	Var    string // the variable's name
	Reason string
}

func (e *Error) Error() string { return fmt.Sprintf("config: %s %s", e.Var, e.Reason) }

// LoadWebhook parses the webhook function's configuration. All problems are
// reported, joined, each as an *Error.
func LoadWebhook(getenv func(string) string) (Webhook, error) {
	p := parser{getenv: getenv}
	c := Webhook{
		Common:        p.common(),
		PublicBaseURL: p.baseURL(EnvPublicBaseURL, true),
		CloseStatus:   p.oneOf(EnvCloseStatus, StatusClosed, StatusClosed, StatusInactive),
		CloseTasks:    p.oneOf(EnvCloseTasks, TasksComplete, TasksComplete, TasksWrapup),
		CloseEvents:   p.eventList(EnvCloseEvents, DefaultCloseEvents),
		WorkspaceSID:  p.sid(EnvWorkspaceSID, sid.Workspace),
		MaxEventAge:   p.duration(EnvMaxEventAge, DefaultMaxEventAge),
		CloseQueueURL: p.queueURL(EnvCloseQueueURL),
		CRMSources:    p.crmSources(EnvCRMSources),
	}
	return c, errors.Join(p.errs...)
}

// LoadWorker parses the queue worker's configuration.
func LoadWorker(getenv func(string) string) (Worker, error) {
	p := parser{getenv: getenv}
	c := Worker{
		Common:       p.common(),
		RetryBase:    p.duration(EnvWorkerRetryBase, 0),
		RecheckAfter: p.duration(EnvRecheckAfter, DefaultRecheckAfter),
		RecheckLimit: p.integer(EnvRecheckLimit, DefaultRecheckLimit, 0, MaxRecheckLimit),
	}
	if c.RetryBase != 0 && (c.RetryBase < time.Second || c.RetryBase > 12*time.Hour) {
		p.fail(EnvWorkerRetryBase, "must be between 1s and 12h, not %s", c.RetryBase)
	}
	// SQS visibility timeouts are whole seconds, at most 12 hours.
	if c.RecheckAfter < time.Second || c.RecheckAfter > 12*time.Hour {
		p.fail(EnvRecheckAfter, "must be between 1s and 12h, not %s", c.RecheckAfter)
		c.RecheckAfter = DefaultRecheckAfter
	}
	return c, errors.Join(p.errs...)
}

// LoadSweeper parses the orphan sweeper's configuration.
func LoadSweeper(getenv func(string) string) (Sweeper, error) {
	p := parser{getenv: getenv}
	c := Sweeper{
		Common:       p.common(),
		WorkspaceSID: p.sid(EnvWorkspaceSID, sid.Workspace),
		Lookback:     p.duration(EnvSweepLookback, DefaultSweepLookback),
		CloseStatus:  p.oneOf(EnvCloseStatus, StatusClosed, StatusClosed, StatusInactive),
		CloseTasks:   p.oneOf(EnvCloseTasks, TasksComplete, TasksComplete, TasksWrapup),
		CloseEvents:  p.eventList(EnvCloseEvents, DefaultCloseEvents),
	}
	if c.WorkspaceSID == "" && p.get(EnvWorkspaceSID) == "" {
		p.fail(EnvWorkspaceSID, "is required by the sweeper")
	}
	if c.Lookback > MaxSweepLookback {
		p.fail(EnvSweepLookback, "must be at most 720h (30 days, the retention of TaskRouter's Events resource), not %s", c.Lookback)
		c.Lookback = MaxSweepLookback
	}
	return c, errors.Join(p.errs...)
}

func (p *parser) common() Common {
	return Common{
		SecretID:         p.required(EnvSecretID),
		SecretCacheTTL:   p.duration(EnvSecretCacheTTL, DefaultSecretCacheTTL),
		TwilioAPIBaseURL: p.baseURL(EnvTwilioAPIBaseURL, false),
		IdempotencyTable: p.tableName(EnvIdempotencyTable),
		DryRun:           p.boolean(EnvDryRun),
		LogLevel:         p.logLevel(EnvLogLevel),
	}
}

// queueURL accepts an SQS queue URL: http(s), a host, a path naming the
// queue, nothing else.
func (p *parser) queueURL(name string) string {
	v := p.get(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		p.fail(name, "must be an SQS queue URL such as https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close.fifo")
		return ""
	}
	return v
}

// tableName accepts a DynamoDB table name or ARN.
func (p *parser) tableName(name string) string {
	v := p.get(name)
	if v == "" {
		return ""
	}
	n := v
	if strings.HasPrefix(v, "arn:") {
		_, n, _ = strings.Cut(v, ":table/")
	}
	ok := len(n) >= 3 && len(n) <= 255 && strings.Trim(n, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.") == ""
	if !ok {
		p.fail(name, "must be a DynamoDB table name (3-255 of a-z A-Z 0-9 _ - .) or table ARN")
		return ""
	}
	return v
}

// crmSources parses the CRM source definitions, one error per problem,
// each naming the source and the field.
func (p *parser) crmSources(name string) []crm.Source {
	srcs, err := crm.ParseSources(p.getenv(name))
	if err != nil {
		for _, e := range unjoin(err) {
			p.fail(name, "%v", e)
		}
		return nil
	}
	return srcs
}

// unjoin returns the errors joined in err, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func (p *parser) boolean(name string) bool {
	return word(p, name, map[string]bool{"": false, "false": false, "0": false, "no": false, "true": true, "1": true, "yes": true},
		"must be true or false, not %q")
}

// parser collects every configuration problem rather than stopping at the
// first, so one failed deploy shows all of them.
type parser struct {
	getenv func(string) string
	errs   []error
}

func (p *parser) fail(name, format string, args ...any) {
	p.errs = append(p.errs, &Error{Var: name, Reason: fmt.Sprintf(format, args...)})
}

func (p *parser) get(name string) string { return strings.TrimSpace(p.getenv(name)) }

func (p *parser) required(name string) string {
	v := p.get(name)
	if v == "" {
		p.fail(name, "is required")
	}
	return v
}

func (p *parser) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(p.get(name))
	if v == "" {
		return def
	}
	if !slices.Contains(allowed, v) {
		p.fail(name, "must be one of %s, not %q", strings.Join(allowed, ", "), v)
		return def
	}
	return v
}

func (p *parser) sid(name, prefix string) string {
	v := p.get(name)
	if v != "" && !sid.Valid(prefix, v) {
		p.fail(name, "must be a %s SID (%s followed by 32 hex digits)", prefix, prefix)
		return ""
	}
	return v
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	v := p.get(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		p.fail(name, "must be a positive Go duration such as 15m, not %q", v)
		return def
	}
	return d
}

// baseURL parses an absolute http(s) URL. With path false the URL may not
// carry a path (it names a server); with path true a base path is allowed.
// Query strings and fragments are never allowed: they would be signed.
func (p *parser) baseURL(name string, path bool) string {
	v := p.get(name)
	if v == "" {
		return ""
	}
	u, err := url.Parse(v)
	switch {
	case err != nil:
		p.fail(name, "is not a URL: %v", err)
	case u.Scheme != "https" && u.Scheme != "http":
		p.fail(name, "must start with https:// or http://")
	case u.Host == "" || u.User != nil:
		p.fail(name, "must name a host and no user")
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(v, "?#"):
		p.fail(name, "must not have a query string or fragment")
	case !path && strings.Trim(u.Path, "/") != "":
		p.fail(name, "must be scheme://host[:port] without a path")
	default:
		if !path {
			return u.Scheme + "://" + u.Host
		}
		return strings.TrimRight(v, "/")
	}
	return ""
}

func (p *parser) eventList(name string, def []string) []string {
	v := p.get(name)
	if v == "" {
		return slices.Clone(def)
	}
	var out []string
	for _, e := range strings.Split(v, ",") {
		e = strings.TrimSpace(e)
		if e == "" {
			continue
		}
		if !validEventType(e) {
			p.fail(name, "has an invalid event type %q", e)
			continue
		}
		if !slices.Contains(CloseEventTypes, e) {
			p.fail(name, "lists %q; allowed: %s", e, strings.Join(CloseEventTypes, ", "))
			continue
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	if len(out) == 0 {
		p.fail(name, "lists no event types")
		return slices.Clone(def)
	}
	return out
}

// validEventType accepts TaskRouter event type names such as
// "task.system-deleted" or "task-queue.timeout".
func validEventType(e string) bool {
	dot := strings.IndexByte(e, '.')
	return dot > 0 && dot < len(e)-1 && strings.Trim(e, "abcdefghijklmnopqrstuvwxyz-._") == ""
}

// integer parses a decimal integer in [lo, hi].
func (p *parser) integer(name string, def, lo, hi int) int {
	v := p.get(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		p.fail(name, "must be a whole number from %d to %d, not %q", lo, hi, v)
		return def
	}
	return n
}

func (p *parser) logLevel(name string) slog.Level {
	return word(p, name, map[string]slog.Level{"": slog.LevelInfo, "info": slog.LevelInfo, "debug": slog.LevelDebug,
		"warn": slog.LevelWarn, "warning": slog.LevelWarn, "error": slog.LevelError}, "must be debug, info, warn or error, not %q")
}

// word reads a case-insensitive word of name from values (which maps ""
// to the default), failing with format (given the word) for any other.
func word[T any](p *parser, name string, values map[string]T, format string) T {
	v := strings.ToLower(p.get(name))
	t, ok := values[v]
	if !ok {
		p.fail(name, format, v)
		return values[""]
	}
	return t
}
