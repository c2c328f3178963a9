// Package worker is the queue worker Lambda of durable mode: it consumes
// close jobs (delivery.Message bodies) from the SQS close queue through an
// event source mapping with ReportBatchItemFailures
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting)
// and runs each through the same delivery.Processor and closer as the
// webhook's sync mode, so both modes close under the same rules: one close
// per idempotency key, the live-task guard, Twilio's idempotent close.
//
// Handle answers a batch with the records that must be retried, and never
// with an error (that would fail, and redeliver, the whole batch). Per
// record:
//
//   - a body that is not a close job (delivery.ErrBadMessage) is logged and
//     acknowledged: a poison message must not loop until the dead-letter
//     queue;
//   - success, or a duplicate whose outcome the idempotency store replays,
//     is acknowledged;
//   - a permanent failure (*delivery.PermanentError, recorded in the store by
//     the Processor) and a key reused for a different job
//     (delivery.ErrPayloadMismatch) are logged and acknowledged;
//   - delivery.ErrInProgress (another invocation holds the key) is retried
//     after a short delay;
//   - any other failure (Twilio 429/5xx, an unreachable store) is retried
//     with a delay growing with the message's ApproximateReceiveCount,
//     base·2^(n-1) up to a cap, set with ChangeMessageVisibility
//     (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-visibility-timeout.html),
//     best effort. After the queue's maxReceiveCount receives SQS moves the
//     message to the dead-letter queue.
//
// On a FIFO queue, once a record of a message group is to be retried, the
// later records of that group in the batch are returned as failures without
// being processed, so the group's order holds
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html).
// The group is the record's MessageGroupId attribute or, when the queue is
// FIFO but the attribute is missing (local SQS servers such as goaws omit
// it), the job's channel SID, which is the group the sender uses.
//
// Records not yet started when less than Options.Reserve remains before the
// invocation's deadline are returned as failures without being processed.
//
// Each record produces one log line (message "job") and one EMF metrics
// record (route "sqs").
package worker
