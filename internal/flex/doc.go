// Package flex is flexhook's adapter over twilio-go for the few Twilio REST
// calls it makes:
//
//   - update an Interaction Channel's status (the close itself),
//     https://www.twilio.com/docs/flex/developer/conversations/interactions-api/channels-subresource
//   - fetch an Interaction Channel,
//   - list the live TaskRouter tasks of a channel and fetch one task,
//     https://www.twilio.com/docs/taskrouter/api/task
//   - walk the workspace Events resource (30 days of events, after tasks
//     themselves are deleted), https://www.twilio.com/docs/taskrouter/api/event
//
// It uses twilio-go's client, rest/flex/v1 and rest/taskrouter/v1 packages
// (not the root twilio package, which compiles every Twilio product) and adds
// what twilio-go v1.31 lacks: a context per call bounded by the Lambda
// deadline, retries with exponential backoff and jitter that honour
// Retry-After (read in our own http.RoundTripper, as twilio-go hides response
// headers on errors), a credential refresh on 401, a host and path allowlist,
// and one error type whose RetryableError method classifies every failure
// once.
//
// SIDs are validated before any call: no unvalidated string is ever placed in
// a URL path.
package flex
