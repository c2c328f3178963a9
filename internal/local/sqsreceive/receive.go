// Package sqsreceive receives and deletes SQS messages: what the local event
// source mapping of `flexhook run` does for the worker, and what `flexhook
// redrive` does on a dead-letter queue. A Lambda never receives (its event
// source mapping does), so none of this is in package queue, whose Client
// this one extends.
//
//   - ReceiveMessage: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_ReceiveMessage.html
//   - DeleteMessage: https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_DeleteMessage.html
package sqsreceive

import (
	"context"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flexhook/flexhook/internal/queue"
)

// api is the part of the SQS client this package calls (*sqs.Client).
type api interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ReceiveMessage(ctx context.Context, in *sqs.ReceiveMessageInput, optFns ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error)
	DeleteMessage(ctx context.Context, in *sqs.DeleteMessageInput, optFns ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// Limits SQS puts on a receive.
const (
	// MaxBatch is the most messages one ReceiveMessage returns.
	MaxBatch = 10
	// MaxWait is the longest long-polling wait of one ReceiveMessage.
	MaxWait = 20 * time.Second
)

// Client is a queue.Client (Send, ChangeVisibility) that also receives and
// deletes. It is safe for concurrent use.
type Client struct {
	*queue.Client
	sqs api
}

// New returns a Client calling SQS through api, normally a *sqs.Client.
func New(api api) *Client { return &Client{Client: queue.New(api), sqs: api} }

// ReceiveOptions tune Receive.
type ReceiveOptions struct {
	// Max is the most messages returned, 1 to MaxBatch (default 1).
	Max int
	// Wait is how long SQS may hold the call open waiting for a message
	// (long polling), in whole seconds up to MaxWait. Zero asks SQS not to
	// wait beyond the queue's own ReceiveMessageWaitTimeSeconds.
	Wait time.Duration
	// Visibility, when positive, overrides the queue's visibility timeout
	// for the received messages (whole seconds, rounded up).
	Visibility time.Duration
}

// Message is a received message.
type Message struct {
	ID            string
	ReceiptHandle string
	Body          string
	MD5OfBody     string
	// Attributes holds the system attributes SQS returned, such as
	// ApproximateReceiveCount and, on a FIFO queue, MessageGroupId.
	Attributes map[string]string
	// MessageAttributes and MD5OfMessageAttributes are the sender's
	// custom attributes, as SQS returned them.
	MessageAttributes      map[string]types.MessageAttributeValue
	MD5OfMessageAttributes string
}

// ReceiveCount is the message's ApproximateReceiveCount, or 0 when SQS did
// not report it.
func (m Message) ReceiveCount() int {
	n, err := strconv.Atoi(m.Attributes[queue.AttrReceiveCount])
	if err != nil || n < 0 {
		return 0
	}
	return n
}

// SentAt is when SQS accepted the message (SentTimestamp), or the zero time.
func (m Message) SentAt() time.Time {
	ms, err := strconv.ParseInt(m.Attributes[queue.AttrSentTimestamp], 10, 64)
	if err != nil {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

// GroupID is the message's MessageGroupId, empty on a standard queue.
func (m Message) GroupID() string { return m.Attributes[queue.AttrMessageGroupID] }

// Receive receives up to o.Max messages from the queue at queueURL, with all
// their system and custom attributes. An empty result is not an error.
// Errors are *Error.
func (c *Client) Receive(ctx context.Context, queueURL string, o ReceiveOptions) ([]Message, error) {
	in := &sqs.ReceiveMessageInput{
		QueueUrl:                    aws.String(queueURL),
		MaxNumberOfMessages:         int32(min(max(o.Max, 1), MaxBatch)),
		WaitTimeSeconds:             queue.Seconds(min(o.Wait, MaxWait)),
		MessageSystemAttributeNames: []types.MessageSystemAttributeName{types.MessageSystemAttributeNameAll},
		MessageAttributeNames:       []string{"All"},
	}
	if o.Visibility > 0 {
		in.VisibilityTimeout = queue.Seconds(min(o.Visibility, queue.MaxVisibility))
	}
	out, err := c.sqs.ReceiveMessage(ctx, in)
	if err != nil {
		return nil, queue.Classify("receive", queueURL, err)
	}
	msgs := make([]Message, 0, len(out.Messages))
	for _, m := range out.Messages {
		msgs = append(msgs, Message{
			ID:                     aws.ToString(m.MessageId),
			ReceiptHandle:          aws.ToString(m.ReceiptHandle),
			Body:                   aws.ToString(m.Body),
			MD5OfBody:              aws.ToString(m.MD5OfBody),
			Attributes:             m.Attributes,
			MessageAttributes:      m.MessageAttributes,
			MD5OfMessageAttributes: aws.ToString(m.MD5OfMessageAttributes),
		})
	}
	return msgs, nil
}

// Delete deletes the received message with receiptHandle from the queue at
// queueURL. Errors are *Error.
func (c *Client) Delete(ctx context.Context, queueURL, receiptHandle string) error {
	_, err := c.sqs.DeleteMessage(ctx, &sqs.DeleteMessageInput{QueueUrl: aws.String(queueURL), ReceiptHandle: aws.String(receiptHandle)})
	if err != nil {
		return queue.Classify("delete", queueURL, err)
	}
	return nil
}
