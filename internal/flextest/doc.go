// Package flextest is an in-process fake of the parts of the Twilio Flex
// Interactions and TaskRouter REST APIs that flexhook uses. It answers like
// Twilio: the same status codes, the same error JSON
// ({"code","message","more_info","status"}), the Content-Type and
// Twilio-Request-Id headers, and JSON bodies in the shapes twilio-go decodes.
//
// A *Server is an http.Handler. Tests serve it with httptest.NewServer and
// reach it from the real twilio-go client through a Transport, which rewrites
// the scheme and host of every request (twilio-go has no base URL setter).
// `make run` serves it on loopback with Listen. Benchmarks and
// fault-injection suites use Inject to make it answer 429, 5xx or an HTML
// page, or to answer late.
//
// Endpoints served:
//
//	POST /v1/Interactions/{KD}/Channels/{UO}  update (close) an interaction channel
//	GET  /v1/Interactions/{KD}/Channels/{UO}  fetch an interaction channel
//	GET  /v1/Workspaces/{WS}/Tasks            list tasks (filters, EvaluateTaskAttributes, paging)
//	GET  /v1/Workspaces/{WS}/Tasks/{WT}       fetch a task
//
// Any other path answers 404 with code 20404; another method on one of these
// paths answers 405 with code 20004. Every request needs HTTP Basic
// credentials from Options.Credentials, or it answers 401 with code 20003.
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
//   - TaskRouter expression syntax: https://www.twilio.com/docs/taskrouter/expression-syntax
//   - Paging: https://www.twilio.com/docs/usage/twilios-response#pagination
//   - Error codes: https://www.twilio.com/docs/api/errors (20001, 20003, 20004, 20404, 20429, 45358, 45359)
//   - Flex Conversations task attributes: https://www.twilio.com/docs/flex/developer/conversations/interactions-api/interactions
package flextest
