// Package bench measures flexhook the way `make bench` reports it: what one
// event costs in the handler (Go benchmarks, run with `go test -bench`), how
// long the built bootstrap takes to start and to answer under the AWS Lambda
// Runtime Interface Emulator, and what it uses (binary size, peak RSS,
// upstream calls and connections), each against a target.
//
// Everything runs on loopback: the function reaches Secrets Manager and
// Twilio fakes (internal/secrets/secretstest, internal/flex/flextest) through
// AWS_ENDPOINT_URL_SECRETS_MANAGER and TWILIO_API_BASE_URL, as in the
// end-to-end tests. Timings are measured, never asserted: the package's
// tests run a small smoke configuration and check that every figure is
// produced, not how large it is.
//
// Where each number comes from:
//
//   - Init: the first event's REPORT Duration minus the handler's own
//     Latency (aws-lambda-rie starts the bootstrap inside the first
//     invocation, so its "Init Duration" covers only registration). It
//     includes the function's cold start work: configuration, AWS SDK setup
//     and the first secret fetch from the fake.
//   - Cold start wall time: from launching the emulator to the first
//     response, as seen by the client.
//   - Warm latency: the client's round trip through the emulator, and the
//     REPORT line's Duration.
//   - Own overhead: the function's own Latency minus its FlexLatency, both
//     from its EMF metric line: the time the handler spent in flexhook's
//     code, excluding the wait for the Twilio calls (the twilio-go client's
//     own work is in FlexLatency too).
//   - Peak RSS: VmHWM of the function process from /proc after all events.
//   - Connections: connections the fakes accepted from one container, by
//     their http.Server ConnState hook.
//
// The AWS docs behind the figures: Lambda's REPORT line and Init Duration
// (https://docs.aws.amazon.com/lambda/latest/dg/monitoring-cloudwatchlogs.html),
// Embedded Metric Format
// (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html).
package bench
