// Package stack runs flexhook on one machine, with no AWS account, no
// Twilio account and no Docker, exactly as it runs in AWS: it is what
// `flexhook run` and `make run` start.
//
// Start builds functions/webhook as the real bootstrap binary (for this
// machine's architecture) and runs it under the AWS Lambda Runtime Interface
// Emulator (internal/local/emulator), the runtime API `sam local invoke` uses
// (https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html). Around it:
//
//   - a Secrets Manager stand-in (internal/secrets/secretstest) serving the local
//     secret, reached through AWS_ENDPOINT_URL_SECRETS_MANAGER
//     (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html);
//   - the Flex Interactions and TaskRouter simulator (internal/flex/flextest),
//     seeded with the sample channels of internal/local/samples and two playground
//     channels, reached through TWILIO_API_BASE_URL; or, in RealTwilio mode,
//     the real Twilio API with credentials from the environment;
//   - the local API gateway (internal/local/apigateway) on 127.0.0.1:3000, which turns
//     curl requests into API Gateway HTTP API events.
//
// The function has no local mode: it is configured through the same
// environment variables as in template.yaml, pointed at loopback.
//
// With Options.Durable (what `make run` starts) the webhook runs in durable
// mode: CLOSE_QUEUE_URL names a FIFO close queue in a local SQS
// (internal/queue/sqstest, the pinned goaws Go tool), and the worker function,
// built from functions/worker, runs under a second emulator fed by the SQS
// event source mapping emulator (internal/local/sqstrigger) with
// ReportBatchItemFailures, as in AWS
// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html). When npm ci
// has installed dynalite, a local DynamoDB table is the idempotency store
// (IDEMPOTENCY_TABLE); without it durable mode runs without a table and the
// banner says so, so that only Go is needed. Each function reaches the
// Twilio simulator on a port of its own, so the calls of the webhook and of
// the worker are told apart. Outage plays a Flex outage: events are queued
// while Twilio answers 503 and drain when it recovers.
//
// Demo plays DemoSteps through the gateway: TaskRouter events and a CRM
// callback, signed afresh for the gateway's URL, and Flex flows (Leave,
// Park, a transfer) played on the simulator, whose signed event callbacks
// reach the gateway as TaskRouter's would. What each step did is
// observed, never assumed: the HTTP status from the gateway, the decision
// from the function's own summary log line (matched by Lambda request id) —
// in durable mode the webhook's "queued" and then the worker's job log line
// for the channel —, the Twilio calls from the simulator's request log, and
// the channel's status from the simulator before and after. Each step's expected outcome is
// part of the script, and the Report says which steps differ.
package stack
