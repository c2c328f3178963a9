// Package sqstest runs a local Amazon SQS for tests and local runs: goaws
// (https://github.com/Admiral-Piett/goaws) at the version pinned by the
// module's `tool` directive, which speaks the SQS JSON protocol the AWS SDK
// for Go v2 uses
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-json-faqs.html).
//
// Start writes a goaws configuration with flexhook's queues — a FIFO close
// queue and its FIFO dead-letter queue, linked by a RedrivePolicy
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/sqs-dead-letter-queues.html),
// and the same pair as standard queues, plus a probe queue with a random name
// that tells this instance from any other server on the port — launches
// goaws on a free port, waits until it answers as this instance, and Close
// kills its process group. New does the same for a test and stops it at
// cleanup. NewClient returns a real *sqs.Client for the server.
//
// What goaws v0.5.4 does, read in its source (app/gosqs, app/models) and
// checked by this package's tests:
//
//   - ReceiveMessage honours MaxNumberOfMessages, WaitTimeSeconds and
//     VisibilityTimeout, and returns the system attributes SenderId,
//     SentTimestamp, ApproximateFirstReceiveTimestamp and
//     ApproximateReceiveCount only, whatever is asked for: no MessageGroupId,
//     MessageDeduplicationId or SequenceNumber. ApproximateReceiveCount is
//     always "1" (goaws never counts receives in it), and SentTimestamp is the
//     time of the receive, not of the send.
//   - A message whose visibility timeout expires becomes visible again on
//     goaws's one-second housekeeping tick, which also counts the receive
//     toward maxReceiveCount: after maxReceiveCount expiries the message
//     moves to the dead-letter queue. Deleting a message stops this. So
//     timings have a granularity of one second.
//   - ChangeMessageVisibility with a positive timeout moves the expiry.
//     With 0 it makes the message visible at once but leaves its FIFO group
//     locked, so no message of that group is delivered again: use at least
//     one second.
//   - FIFO queues hold back the other messages of a group while one is in
//     flight, and return at most one message per group per receive. The
//     group lock is one slot per queue: locking group B releases group A, so
//     with several groups in flight at once ordering within a group is not
//     guaranteed. Tests of ordering use one group.
//   - Deduplication ids are honoured (EnableDuplicates, set here) for five
//     minutes, but deleting a message forgets its id, so a message sent again
//     after the first was consumed is accepted, unlike SQS.
//   - Errors come back in the JSON protocol with the query protocol's codes
//     (AWS.SimpleQueueService.NonExistentQueue, …MessageNotInFlight), which
//     the SDK reports as the API error code. DeleteMessage with an unknown
//     receipt handle answers 404 with the code
//     AWS.SimpleQueueService.QueueExists where SQS says ReceiptHandleIsInvalid.
//   - GetQueueAttributes ApproximateNumberOfMessages counts every message,
//     in flight or not; ApproximateNumberOfMessagesNotVisible the in-flight
//     ones.
//   - goaws listens on all interfaces (0.0.0.0), not only loopback; it has
//     no option to change that. Clients here use 127.0.0.1.
//   - It logs message bodies at info level; Start runs it at error level.
package sqstest
