// Package sqstrigger emulates the AWS Lambda event source mapping for Amazon SQS,
// the poller that feeds a queue to a function in AWS
// (https://docs.aws.amazon.com/lambda/latest/dg/with-sqs.html), so that
// tests and local runs drive the worker Lambda exactly as AWS does.
//
// A Mapping polls its queue with ReceiveMessage (all attributes, up to the
// batch size), turns the messages into an events.SQSEvent shaped like
// Lambda's (messageId, receiptHandle, body, md5OfBody, attributes,
// messageAttributes, eventSource "aws:sqs", eventSourceARN, awsRegion),
// invokes a Target with it, and then acts on the answer as a mapping with
// FunctionResponseTypes = ReportBatchItemFailures does
// (https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html#services-sqs-batchfailurereporting):
//
//   - the batch succeeded, and every message is deleted, when the function
//     returns an empty or null response, an empty or null batchItemFailures;
//   - the messages named by batchItemFailures[].itemIdentifier failed and
//     stay in the queue (they come back after their visibility timeout);
//     the others are deleted;
//   - the whole batch failed, and nothing is deleted, when the function
//     returns invalid JSON, an empty or missing itemIdentifier, or one that
//     names no message of the batch, and when the invocation itself fails:
//     a handler error, a panic, a crash or a timeout.
//
// Like the real mapping it never changes a message's visibility itself; the
// function may (the worker does, to back off).
//
// Targets: Emulator invokes the function's real bootstrap under the Lambda
// Runtime Interface Emulator (internal/local/emulator); Local invokes a handler in
// this process with a Lambda context and deadline.
//
// Everything is bounded: each receive waits at most Options.Wait, each
// invocation at most Options.InvokeTimeout, and Run stops when its context
// ends.
package sqstrigger
