package webhook

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/retry"
	"github.com/flexhook/flexhook/internal/secrets"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// Outcomes, as logged and counted. channelclose.Outcome values are used as they
// are; these are the edge's own.
const (
	outcomeIgnored         = "ignored"
	outcomeRejectedAuth    = "rejected_auth"
	outcomeInvalid         = "invalid"
	outcomeFailedTransient = "failed_transient"
	outcomeFailedPermanent = "failed_permanent"
	outcomeQueued          = "queued"
	outcomeDuplicate       = "duplicate"
)

// Errors of the edge itself.
var (
	errUnknownRoute = errors.New("no such route")
	errMethod       = errors.New("method not allowed")
	errMediaType    = errors.New("unsupported content type")
)

// defaultRetryAfter is suggested with a 503 when Twilio gave no Retry-After.
const defaultRetryAfter = 5 * time.Second

// respondError is the one table that maps error classes to HTTP. Messages
// are safe for the caller: they name fields and classes, never secrets or
// internal addresses. route selects the auth status (TaskRouter signature
// failures are 403, CRM authentication failures 401) and the answer to a
// duplicate still in progress (TaskRouter 503, CRM 409).
//
// Outcomes that are not errors are answered by the routes themselves:
// TaskRouter always 204 (closed, already_closed, not_closable,
// skipped_channel_state, skipped_live_task, not_found, ignored, queued);
// CRM 200 with the outcome JSON (404 for not_found, 202 for queued).
func respondError(route string, err error) (gateway.Response, string) {
	var (
		fieldErr  *taskrouter.FieldError
		formatErr *secrets.FormatError
		flexErr   *flex.Error
		unknown   *unknownTaskError
	)
	switch {
	case errors.Is(err, gateway.ErrBodyTooLarge):
		return errorResponse(http.StatusRequestEntityTooLarge, "request body is larger than 256 KiB"), outcomeInvalid
	case errors.Is(err, gateway.ErrBadBase64):
		return errorResponse(http.StatusBadRequest, "request body is not valid base64"), outcomeInvalid
	case errors.Is(err, gateway.ErrMalformedEvent):
		return errorResponse(http.StatusBadRequest, "not an API Gateway or Function URL event"), outcomeInvalid
	case errors.Is(err, errUnknownRoute):
		return errorResponse(http.StatusNotFound, "no such route; use POST /taskrouter or POST /crm"), outcomeInvalid
	case errors.Is(err, errMethod):
		return errorResponse(http.StatusMethodNotAllowed, "method not allowed; use POST"), outcomeInvalid
	case errors.Is(err, errMediaType):
		return errorResponse(http.StatusUnsupportedMediaType, err.Error()), outcomeInvalid
	case errors.As(err, &fieldErr):
		return errorResponse(http.StatusBadRequest, fieldErr.Error()), outcomeInvalid
	case errors.Is(err, taskrouter.ErrNotSigned), errors.Is(err, taskrouter.ErrBadSignature),
		errors.Is(err, taskrouter.ErrWrongAccount), errors.Is(err, taskrouter.ErrTooOld):
		return errorResponse(http.StatusForbidden, authMessage(err)), outcomeRejectedAuth
	case isCRMAuth(err):
		r := errorResponse(http.StatusUnauthorized, authMessage(err))
		r.Header["WWW-Authenticate"] = `Bearer realm="flexhook"`
		return r, outcomeRejectedAuth
	case isCRMInvalid(err):
		return crmInvalidResponse(err), outcomeInvalid
	case errors.Is(err, closejob.ErrInProgress) && route == RouteTaskRouter:
		// TaskRouter never retries a 4xx, and the first copy may still
		// fail: only a 5xx keeps the event alive (with #rp=5xx).
		r := errorResponse(http.StatusServiceUnavailable, "the same event is being processed; retry later")
		r.Header["Retry-After"] = strconv.Itoa(int(defaultRetryAfter / time.Second))
		return r, outcomeDuplicate
	case errors.Is(err, closejob.ErrInProgress):
		r := errorResponse(http.StatusConflict, "the same event is being processed; retry later")
		r.Header["Retry-After"] = strconv.Itoa(int(defaultRetryAfter / time.Second))
		return r, outcomeDuplicate
	case errors.Is(err, closejob.ErrPayloadMismatch):
		return errorResponse(http.StatusUnprocessableEntity, "this idempotency key was used for a different close"), outcomeInvalid
	case errors.As(err, new(*recordedFailure)):
		return errorResponse(http.StatusBadGateway, "Twilio refused this close earlier; not retried"), outcomeFailedPermanent
	case errors.As(err, &unknown):
		return errorResponse(http.StatusNotFound, unknown.Error()), string(channelclose.NotFound)
	case errors.Is(err, flex.ErrNotFound):
		return errorResponse(http.StatusNotFound, "not found in Twilio"), string(channelclose.NotFound)
	case errors.Is(err, flex.ErrInvalidSID):
		return errorResponse(http.StatusUnprocessableEntity, err.Error()), outcomeInvalid
	case errors.As(err, &formatErr):
		return errorResponse(http.StatusInternalServerError, "the credentials secret is misconfigured"), outcomeFailedPermanent
	case retry.Retryable(err):
		after := defaultRetryAfter
		if errors.As(err, &flexErr) && flexErr.RetryAfter > after {
			after = flexErr.RetryAfter
		}
		r := errorResponse(http.StatusServiceUnavailable, "temporarily unable to reach Twilio or AWS; retry later")
		r.Header["Retry-After"] = strconv.Itoa(int((after + time.Second - 1) / time.Second))
		return r, outcomeFailedTransient
	case errors.Is(err, flex.ErrUnauthorized):
		return errorResponse(http.StatusBadGateway, "Twilio rejected flexhook's credentials"), outcomeFailedPermanent
	case errors.As(err, &flexErr):
		return errorResponse(http.StatusBadGateway, "Twilio refused the request"+codeSuffix(flexErr)), outcomeFailedPermanent
	}
	return errorResponse(http.StatusInternalServerError, "internal error"), outcomeFailedPermanent
}

func codeSuffix(e *flex.Error) string {
	if e.Code == 0 {
		return ""
	}
	return " (Twilio error " + strconv.Itoa(e.Code) + ")"
}

// authMessage says what failed without helping a forger more than needed.
func authMessage(err error) string {
	for _, m := range [...]struct {
		err error
		msg string
	}{
		{taskrouter.ErrNotSigned, "missing X-Twilio-Signature"},
		{taskrouter.ErrBadSignature, "invalid X-Twilio-Signature"},
		{taskrouter.ErrWrongAccount, "event is for another Twilio account"},
		{taskrouter.ErrTooOld, "event is outside the replay window"},
		{crm.ErrNotSigned, "missing webhook-signature or Authorization: Bearer"},
		{crm.ErrTimestamp, "webhook-timestamp is outside the allowed window"},
		{crm.ErrMalformedHeader, "malformed authentication headers"},
	} {
		if errors.Is(err, m.err) {
			return m.msg
		}
	}
	return "invalid signature or token"
}

// Response helpers. Every response is JSON and never cached.

func baseHeader() map[string]string {
	return map[string]string{
		"Content-Type":           "application/json",
		"Cache-Control":          "no-store",
		"X-Content-Type-Options": "nosniff",
	}
}

func errorResponse(status int, msg string) gateway.Response {
	return jsonResponse(status, struct {
		Error string `json:"error"`
	}{msg})
}

func jsonResponse(status int, v any) gateway.Response {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	return gateway.Response{Status: status, Header: baseHeader(), Body: b}
}

// noContent is TaskRouter's expected answer: 204 with a JSON content type.
func noContent() gateway.Response {
	return gateway.Response{Status: http.StatusNoContent, Header: baseHeader()}
}
