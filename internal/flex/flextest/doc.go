// Package flextest is an in-process fake of the parts of the Twilio Flex
// Interactions and TaskRouter REST APIs that flexhook uses. It answers like
// Twilio: the same status codes, the same error JSON
// ({"code","message","more_info","status"}), the Content-Type and
// Twilio-Request-Id headers, and JSON bodies in the shapes twilio-go decodes.
//
// A *Server is an http.Handler. Tests serve it with httptest.NewServer and
// reach it from the real twilio-go client through a Transport, which rewrites
// the scheme and host of every request (twilio-go has no base URL setter).
// `make run` serves it on loopback (internal/local/stack). Benchmarks and
// fault-injection suites use Inject to make it answer 429, 5xx or an HTML
// page, or to answer late.
//
// Endpoints served:
//
//	POST /v1/Interactions/{KD}/Channels/{UO}  update (close) an interaction channel
//	GET  /v1/Interactions/{KD}/Channels/{UO}  fetch an interaction channel
//	GET  /v1/Workspaces/{WS}/Tasks            list tasks (filters, EvaluateTaskAttributes, paging)
//	GET  /v1/Workspaces/{WS}/Tasks/{WT}       fetch a task
//	GET  /v1/Workspaces/{WS}/Events           list events (EventType, TaskSid, Sid, StartDate,
//	                                          EndDate, Minutes; PageSize; PageToken paging)
//
// Any other path answers 404 with code 20404; another method on one of these
// paths answers 405 with code 20004. Every request needs HTTP Basic
// credentials from Options.Credentials, or it answers 401 with code 20003.
//
// # Flex behaviour: flows, events, retention
//
// The simulator behaves like Flex where flexhook's decisions depend on it.
// Server.Flows(ws) returns the flows of a workspace; each changes channel
// and task state the way Flex does and emits the TaskRouter
// events Flex would emit, both as entries of the Events resource and as
// signed callbacks (form POST, X-Twilio-Signature made with the account's
// auth token, the fields of a Workspace EventCallbackUrl callback) to the
// URL given to SetEventCallbackURL (signed with the auth token of
// Options.AccountSID in Options.Credentials), sent before the flow returns. Callbacks
// are sent one at a time: a receiver must not call a Flows method (which
// waits for its own callbacks) while handling one.
//
// Each Flows method documents its effects; ExampleFlows plays one
// conversation.
//
// A channel closed through the API moves its tasks (completed with
// Routing, else wrapping; pending ones canceled) and emits their events;
// SetTaskStatus emits the event of the new status. The callbacks of an API
// close are sent in the background, after its answer; Callbacks lists what
// was sent and how the receiver answered.
//
// The clock is Options.Now, moved by SetNow and Advance. An ended
// (canceled or completed) task is deleted five minutes after it ended,
// emitting task.system-deleted dated then, so FetchTask answers 404 and the
// task list omits it; a task seeded ended by AddTask ended at its
// DateUpdated. Events are kept 30 days. AddEvent
// seeds history without a callback.
//
// Where Twilio's behaviour is not documented (closing an already closed
// channel, the exact effect of Status=inactive on tasks) the fake makes a
// documented choice, and Options lets tests pick the alternative.
//
// The Twilio documents it implements:
//
//   - Interaction Channels: https://www.twilio.com/docs/flex/developer/conversations/interactions-api/channels-subresource
//   - Update an Interaction Channel: https://www.twilio.com/docs/flex/developer/conversations/interactions-api/channels-subresource#update-an-interaction-channel
//   - TaskRouter Task resource: https://www.twilio.com/docs/taskrouter/api/task
//   - TaskRouter Event resource and callbacks: https://www.twilio.com/docs/taskrouter/api/event,
//     https://www.twilio.com/docs/taskrouter/api/event/reference
//   - Lifecycle of a Task (retention): https://www.twilio.com/docs/taskrouter/lifecycle-task-state
//   - Park an Interaction: https://www.twilio.com/docs/flex/developer/conversations/park-an-interaction
//   - Flex Conversations best practices: https://www.twilio.com/docs/flex/developer/conversations/best-practices
//   - TaskRouter expression syntax: https://www.twilio.com/docs/taskrouter/expression-syntax
//   - Paging: https://www.twilio.com/docs/usage/twilios-response#pagination
//   - Error codes: https://www.twilio.com/docs/api/errors (20001, 20003, 20004, 20404, 20429, 45358, 45359)
//   - Flex Conversations task attributes: https://www.twilio.com/docs/flex/developer/conversations/interactions-api/interactions
package flextest
