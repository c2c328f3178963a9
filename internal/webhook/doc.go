// Package webhook is the edge of the webhook Lambda: it turns an API Gateway
// (REST or HTTP API) or Function URL event into a routed request, runs the
// TaskRouter or CRM route, and turns the result — or the error — into the
// HTTP response. It is the only place where errors become HTTP statuses
// (see respondError) and the only place that logs a request, once, in one
// summary line.
//
// Routes:
//
//	POST /taskrouter  TaskRouter Workspace EventCallbackUrl
//	                  (https://www.twilio.com/docs/taskrouter/api/event/reference)
//	POST /crm         CRM "conversation done" callback
package webhook
