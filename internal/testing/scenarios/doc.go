// Package scenarios plays the Flex Conversations flows of the Twilio
// simulator (internal/flex/flextest: agent ends chat, Leave, Park, customer
// message, transfer, declined invite, workflow timeout, task deletion,
// retention, failed channel) against the built function binaries under the
// Lambda emulator, in both delivery modes: sync (the webhook closes inline)
// and queue (webhook → SQS FIFO → worker, with the idempotency table and
// rechecks). The simulator sends its signed TaskRouter callbacks through the
// local API gateway (internal/local/stack), as Twilio would to the
// Workspace's EventCallbackUrl. Each scenario asserts the channel's final
// status and the exact Twilio calls made about it, from the simulator's
// request log. A last scenario runs the sweeper binary over a simulated day
// whose close events the webhook never received.
//
// The package holds tests only; `go test -short` skips them.
//
// Flex behaviour played: https://www.twilio.com/docs/flex/developer/conversations/best-practices,
// https://www.twilio.com/docs/flex/developer/conversations/park-an-interaction,
// https://www.twilio.com/docs/taskrouter/lifecycle-task-state.
package scenarios
