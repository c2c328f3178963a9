// Package redrive moves close jobs from the dead-letter queue back to the
// close queue, for `flexhook redrive`, after the cause of their failures
// (a Twilio outage, a revoked credential) has been fixed.
//
// A message reaches the dead-letter queue after maxReceiveCount failed
// deliveries (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html).
// Its body is unchanged, so it still carries its idempotency key: a moved
// message goes through the same delivery.Processor as any other, and a job
// that meanwhile succeeded (an earlier redrive, the orphan sweeper) replays
// its recorded outcome instead of closing again.
//
// List is the dry run: it receives the dead-letter queue's messages,
// decodes them (key, channel, task, when the webhook accepted the event,
// receive count, message id), marks those the Filter selects, and gives
// them all back. Move does the same and moves the selected ones: it sends
// each body to the close queue — on a FIFO queue with the job's channel as
// message group and delivery.DedupID(key + ":redrive:" + message id) as
// deduplication id, which differs from the original's (so SQS's five-minute
// deduplication window does not swallow the redrive) yet stays the same
// if the same message is moved twice (so an interrupted redrive run again
// within five minutes does not enqueue it twice) — and then deletes it from
// the dead-letter queue.
//
// SQS has no way to read a queue without receiving its messages: while a
// run examines them they are invisible (Options.Hold), and the ones not
// moved are made visible again at the end. On a FIFO
// dead-letter queue, SQS delivers a message group's messages only once the
// earlier ones are deleted or visible again, so a List shows the first
// messages of each group (up to ten), and a Move that skips a message keeps
// the rest of its group back for that run.
//
// SQS's own redrive, `aws sqs start-message-move-task --source-arn <dlq arn>`
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_StartMessageMoveTask.html),
// moves every message back to its source queue without filtering; it is the
// alternative when everything should go back.
package redrive
