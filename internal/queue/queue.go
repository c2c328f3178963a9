package queue

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/flexhook/flexhook/internal/closejob"
)

// MaxVisibility is the longest visibility timeout SQS accepts.
const MaxVisibility = 12 * time.Hour

// Names of the system attributes SQS returns with a message, as they appear
// in Message.Attributes and in a Lambda SQS event.
const (
	AttrReceiveCount   = "ApproximateReceiveCount"
	AttrSentTimestamp  = "SentTimestamp"
	AttrMessageGroupID = "MessageGroupId"
)

// Client performs SQS operations on any queue, named by its URL. It is safe
// for concurrent use.
type Client struct {
	api api
}

// api is the part of the SQS client this package calls (*sqs.Client).
type api interface {
	SendMessage(ctx context.Context, in *sqs.SendMessageInput, optFns ...func(*sqs.Options)) (*sqs.SendMessageOutput, error)
	ChangeMessageVisibility(ctx context.Context, in *sqs.ChangeMessageVisibilityInput, optFns ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error)
}

// New returns a Client calling SQS through api, normally a *sqs.Client built
// from the function's AWS configuration (its retryer retries throttling and
// 5xx answers).
func New(api api) *Client { return &Client{api: api} }

// IsFIFO reports whether queueURL names a FIFO queue: its name ends in
// ".fifo".
func IsFIFO(queueURL string) bool { return strings.HasSuffix(queueURL, ".fifo") }

// Outgoing is a message to send.
type Outgoing struct {
	// Body is the message body.
	Body string
	// GroupID and DedupID are the MessageGroupId and MessageDeduplicationId
	// of a send to a FIFO queue. They are not sent to a standard queue.
	GroupID, DedupID string
}

// Send sends m to the queue at queueURL and returns the message id SQS
// assigned. Errors are *Error.
func (c *Client) Send(ctx context.Context, queueURL string, m Outgoing) (string, error) {
	in := &sqs.SendMessageInput{QueueUrl: aws.String(queueURL), MessageBody: aws.String(m.Body)}
	if IsFIFO(queueURL) {
		if m.GroupID == "" {
			return "", newError("send", queueURL, ErrNoGroup, false)
		}
		in.MessageGroupId = aws.String(m.GroupID)
		if m.DedupID != "" {
			in.MessageDeduplicationId = aws.String(m.DedupID)
		}
	}
	out, err := c.api.SendMessage(ctx, in)
	if err != nil {
		return "", Classify("send", queueURL, err)
	}
	return aws.ToString(out.MessageId), nil
}

// ErrNoGroup: a send to a FIFO queue without a message group id.
var ErrNoGroup = errors.New("a FIFO queue needs a message group id")

// ChangeVisibility makes the received message with receiptHandle invisible
// for d from now (whole seconds, rounded up, at most MaxVisibility): it will
// be delivered again after d unless it is deleted first. Errors are *Error.
func (c *Client) ChangeVisibility(ctx context.Context, queueURL, receiptHandle string, d time.Duration) error {
	_, err := c.api.ChangeMessageVisibility(ctx, &sqs.ChangeMessageVisibilityInput{
		QueueUrl:          aws.String(queueURL),
		ReceiptHandle:     aws.String(receiptHandle),
		VisibilityTimeout: Seconds(min(max(d, 0), MaxVisibility)),
	})
	if err != nil {
		return Classify("change visibility", queueURL, err)
	}
	return nil
}

// Sender enqueues close jobs on one queue for the webhook in durable mode.
// It is safe for concurrent use.
type Sender struct {
	c   *Client
	url string
}

// NewSender returns a Sender to the queue at queueURL.
func NewSender(api api, queueURL string) *Sender { return &Sender{c: New(api), url: queueURL} }

// Enqueue sends m as a close job. On a FIFO queue its message group is the
// job's channel SID and its deduplication id closejob.DedupID(m.Key).
// Every failure is an *Error whose RetryableError is true: the caller cannot
// tell a lost request from a refused one, and the event must not be dropped,
// so the webhook answers 503 and the sender tries again.
func (s *Sender) Enqueue(ctx context.Context, m closejob.Message) error {
	body, err := m.Encode()
	if err != nil {
		return newError("enqueue", s.url, err, true)
	}
	_, err = s.c.Send(ctx, s.url, Outgoing{Body: body, GroupID: m.Job.ChannelSID, DedupID: closejob.DedupID(m.Key)})
	if err != nil {
		var qe *Error
		if errors.As(err, &qe) {
			qe.Op, qe.retryable = "enqueue", true
			return qe
		}
		return newError("enqueue", s.url, err, true)
	}
	return nil
}

// Seconds converts d to whole seconds, rounding up, as SQS takes durations.
func Seconds(d time.Duration) int32 {
	if d <= 0 {
		return 0
	}
	s := math.Ceil(d.Seconds())
	return int32(min(s, math.MaxInt32))
}

// Error is a failed SQS operation.
type Error struct {
	Op    string // enqueue, send, receive, delete or change visibility
	Queue string // the queue's name (the last segment of its URL)
	Code  string // the SQS error code when SQS answered, e.g. "AWS.SimpleQueueService.NonExistentQueue"
	Err   error  // the SDK's error

	retryable bool
}

func newError(op, queueURL string, err error, retryable bool) *Error {
	return &Error{Op: op, Queue: Name(queueURL), Err: err, retryable: retryable}
}

func (e *Error) Error() string { return fmt.Sprintf("sqs %s %s: %v", e.Op, e.Queue, e.Err) }

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }

// RetryableError reports whether the operation may succeed later. An enqueue
// is always retryable (see Sender.Enqueue). Other operations are retryable
// unless SQS refused them for a reason time cannot fix: a missing queue,
// an invalid parameter or receipt handle, a message no longer in flight,
// denied access.
func (e *Error) RetryableError() bool { return e.retryable }

// permanentCodes are SQS error codes no retry can fix. SQS reports some
// under both the JSON protocol's short names and the query protocol's
// AWS.SimpleQueueService.* names.
var permanentCodes = map[string]bool{
	"QueueDoesNotExist":                            true,
	"AWS.SimpleQueueService.NonExistentQueue":      true,
	"InvalidParameterValue":                        true,
	"AWS.SimpleQueueService.InvalidParameterValue": true,
	"InvalidAddress":                               true,
	"InvalidSecurity":                              true,
	"AccessDenied":                                 true,
	"AccessDeniedException":                        true,
	"ReceiptHandleIsInvalid":                       true,
	"MessageNotInflight":                           true,
	"AWS.SimpleQueueService.MessageNotInflight":    true,
	"AWS.SimpleQueueService.MessageNotInFlight":    true,
	"InvalidMessageContents":                       true,
	"UnsupportedOperation":                         true,
	"ValidationException":                          true,
	"MissingParameter":                             true,
}

// Classify wraps an SDK error from op on the queue at queueURL as an *Error
// whose RetryableError is decided here, by SQS error code.
func Classify(op, queueURL string, err error) *Error {
	e := newError(op, queueURL, err, true)
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code = ae.ErrorCode()
		e.retryable = !permanentCodes[e.Code]
	}
	return e
}

// Name returns the queue name of a queue URL: its last path segment.
func Name(queueURL string) string {
	u, err := url.Parse(queueURL)
	if err != nil {
		return queueURL
	}
	p := strings.TrimRight(u.Path, "/")
	return p[strings.LastIndexByte(p, '/')+1:]
}

// ErrBadARN: a string that is not an SQS queue ARN.
var ErrBadARN = errors.New("not an SQS queue ARN")

// URLFromARN returns the queue URL of an SQS queue ARN
// (arn:partition:sqs:region:account:name), as SQS builds it, e.g.
// https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close.fifo. The
// worker uses it to name the queue of an event's record from the record's
// eventSourceARN. The SDK sends requests to the endpoint of its own
// configuration (AWS_ENDPOINT_URL_SQS locally), not to this URL's host.
func URLFromARN(arn string) (string, error) {
	parts := strings.Split(arn, ":")
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "sqs" || parts[1] == "" || parts[3] == "" || parts[4] == "" || parts[5] == "" {
		return "", fmt.Errorf("%w: %q", ErrBadARN, arn)
	}
	domain := "amazonaws.com"
	if parts[1] == "aws-cn" {
		domain = "amazonaws.com.cn"
	}
	return "https://sqs." + parts[3] + "." + domain + "/" + parts[4] + "/" + parts[5], nil
}
