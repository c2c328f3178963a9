// Package queue is flexhook's adapter over Amazon SQS, the queue of close
// jobs in durable mode: the webhook enqueues a delivery.Message, the worker
// Lambda consumes it through an SQS event source mapping and delays a
// message it will retry. Receiving and deleting, which no Lambda does, live
// in internal/local/sqsreceive (the local event source mapping and the
// redrive tool).
//
// The queue is FIFO when its URL ends in ".fifo" (SQS's own naming rule,
// https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/FIFO-queues.html).
// A FIFO send carries MessageGroupId = the job's channel SID, so the jobs of
// one Interaction Channel are consumed one at a time and in order, and
// MessageDeduplicationId = delivery.DedupID(key), so a duplicate enqueued
// within SQS's five-minute deduplication interval is dropped by SQS itself
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagededuplicationid-property.html).
// A standard queue gets neither; the idempotency store then does all the
// deduplication.
//
// The operations used:
//
//   - SendMessage: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html
//   - ChangeMessageVisibility: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ChangeMessageVisibility.html
//
// Every failure is an *Error. Errors never contain a message body: bodies
// carry SIDs and are not for logs.
package queue
