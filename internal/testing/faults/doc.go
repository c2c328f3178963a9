// Package faults is flexhook's fault-injection suite: its tests run the
// real webhook and worker binaries under the AWS Lambda Runtime Interface
// Emulator, on loopback only, against goaws (SQS, internal/queue/sqstest), dynalite
// (DynamoDB, internal/idempotency/dynamotest), the Twilio simulator (internal/flex/flextest)
// and the Secrets Manager stand-in (internal/secrets/secretstest), and check what
// durable mode promises (docs/durable.md): no accepted event is lost, no
// channel is closed twice, no channel is closed while another task uses it.
//
// The scenarios: Twilio 429 with Retry-After, 5xx bursts, a persistent 500
// that ends in the dead-letter queue (and its redrive), a worker killed in
// the middle of a batch, SQS duplicate delivery, the same webhook event
// three times, a Secrets Manager outage at cold start, DynamoDB throttling,
// clock skew; and a replay of thousands of events with duplicates and
// injected Twilio failures, whose figures the suite prints.
//
// This package provides what the tests need and the services cannot do
// themselves:
//
//   - Throttle, a DynamoDB endpoint in front of dynalite that answers a share
//     of requests with DynamoDB's throttling errors
//     (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Programming.Errors.html),
//     which the AWS SDK retries;
//   - FlakyTwilio, the Twilio simulator with failures injected on a share of
//     requests (flextest faults), which also orders every request and every
//     change of the simulated world on one timeline, so that a close made
//     while another task of the channel was live can be found (LiveCloses);
//   - NewPlan, the replay: channels with their tasks' lifecycles
//     (https://www.twilio.com/docs/taskrouter/api/event/reference), the
//     TaskRouter events they produce, interleaved, with duplicates, and what
//     each channel must end as;
//   - Figures, the replay's figures as a table.
package faults
