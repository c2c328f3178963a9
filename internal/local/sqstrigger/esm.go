package sqstrigger

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/flexhook/flexhook/internal/local/sqsreceive"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/retry"
)

// sqsClient is what a Mapping needs from SQS (*sqsreceive.Client).
type sqsClient interface {
	Receive(ctx context.Context, queueURL string, o sqsreceive.ReceiveOptions) ([]sqsreceive.Message, error)
	Delete(ctx context.Context, queueURL, receiptHandle string) error
}

// Target is a function the mapping invokes with an SQS event. It returns the
// function's response payload, or an error when the invocation failed
// (handler error, panic, crash, timeout) or could not be made.
type Target interface {
	Invoke(ctx context.Context, payload []byte) ([]byte, error)
}

// Defaults of Options.
const (
	DefaultBatchSize     = 10
	DefaultWait          = time.Second
	DefaultInvokeTimeout = time.Minute
	DefaultRegion        = "us-east-1"
	// errorBackoff is how long Run waits after a failed poll.
	errorBackoff = time.Second
	// idleDelay is how long Run waits after an empty poll that did not
	// wait on its own (Wait 0).
	idleDelay = 100 * time.Millisecond
)

// EventSource is the eventSource of every record.
const EventSource = "aws:sqs"

// Options tune a Mapping.
type Options struct {
	// BatchSize is the most messages per invocation, 1 to 10 (default 10).
	BatchSize int
	// Wait is the long-polling wait of each ReceiveMessage, up to 20 s
	// (default 1 s; AWS's pollers wait 20 s). Negative means no wait.
	Wait time.Duration
	// InvokeTimeout bounds one invocation (default 1 min). An invocation
	// that outlasts it counts as failed.
	InvokeTimeout time.Duration
	// Region is the records' awsRegion (default us-east-1).
	Region string
	// QueueARN is the records' eventSourceARN (default: built from the queue
	// URL and Region).
	QueueARN string
	// Logger, when set, receives a line per failed invocation or SQS call.
	Logger *slog.Logger
}

// Mapping is one event source mapping: a queue feeding a function. Its
// methods must not be called concurrently.
type Mapping struct {
	sqs    sqsClient
	url    string
	target Target
	o      Options
}

// New returns a Mapping from the queue at queueURL to target. It fails when
// Options.QueueARN is empty and queueURL is not a queue URL.
func New(client sqsClient, queueURL string, target Target, o Options) (*Mapping, error) {
	if o.BatchSize <= 0 {
		o.BatchSize = DefaultBatchSize
	}
	o.BatchSize = min(o.BatchSize, sqsreceive.MaxBatch)
	switch {
	case o.Wait == 0:
		o.Wait = DefaultWait
	case o.Wait < 0:
		o.Wait = 0
	}
	if o.InvokeTimeout <= 0 {
		o.InvokeTimeout = DefaultInvokeTimeout
	}
	o.Region = cmp.Or(o.Region, DefaultRegion)
	if o.QueueARN == "" {
		arn, err := arnFromURL(queueURL, o.Region)
		if err != nil {
			return nil, fmt.Errorf("esm: %w", err)
		}
		o.QueueARN = arn
	}
	return &Mapping{sqs: client, url: queueURL, target: target, o: o}, nil
}

// Stats count what polls did.
type Stats struct {
	Polls          int // ReceiveMessage calls
	Received       int // messages received
	Invocations    int // function invocations
	FunctionErrors int // invocations that failed or whose response failed the whole batch
	Deleted        int // messages deleted after success
	Failed         int // messages left in the queue to be retried
}

func (s *Stats) add(o Stats) {
	s.Polls += o.Polls
	s.Received += o.Received
	s.Invocations += o.Invocations
	s.FunctionErrors += o.FunctionErrors
	s.Deleted += o.Deleted
	s.Failed += o.Failed
}

// Poll runs one round: receive a batch, invoke the function if the batch
// is not empty, delete the messages that succeeded. A failed invocation is
// not an error of Poll — it is counted in Stats.FunctionErrors and the
// batch stays in the queue, as in AWS. Poll returns an error when a receive
// or a delete fails.
func (m *Mapping) Poll(ctx context.Context) (Stats, error) {
	st := Stats{Polls: 1}
	msgs, err := m.sqs.Receive(ctx, m.url, sqsreceive.ReceiveOptions{Max: m.o.BatchSize, Wait: m.o.Wait})
	if err != nil {
		return st, fmt.Errorf("esm: poll: %w", err)
	}
	if len(msgs) == 0 {
		return st, nil
	}
	st.Received, st.Invocations = len(msgs), 1
	failed, err := m.invoke(ctx, msgs)
	if err != nil {
		st.FunctionErrors, st.Failed = 1, len(msgs)
		m.logf(ctx, "invocation failed; the batch stays in the queue", "messages", len(msgs), "error", err.Error())
		return st, nil
	}
	var errs []error
	for _, msg := range msgs {
		if failed[msg.ID] {
			st.Failed++
			continue
		}
		if err := m.sqs.Delete(ctx, m.url, msg.ReceiptHandle); err != nil {
			errs = append(errs, err)
			continue
		}
		st.Deleted++
	}
	if err := errors.Join(errs...); err != nil {
		return st, fmt.Errorf("esm: delete processed messages: %w", err)
	}
	return st, nil
}

// invoke calls the target with msgs and returns the ids of the messages
// that failed, or an error when the whole batch failed.
func (m *Mapping) invoke(ctx context.Context, msgs []sqsreceive.Message) (map[string]bool, error) {
	payload, err := json.Marshal(Event(msgs, m.o.QueueARN, m.o.Region))
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	ictx, cancel := context.WithTimeout(ctx, m.o.InvokeTimeout)
	defer cancel()
	out, err := m.target.Invoke(ictx, payload)
	if err != nil {
		return nil, err
	}
	return Failures(out, msgs)
}

// ErrBadResponse: a function response that fails the whole batch.
var ErrBadResponse = errors.New("esm: invalid batch item failures response")

// Failures interprets a function's response to a batch of msgs as Lambda
// does with ReportBatchItemFailures: the ids of the failed messages, or
// ErrBadResponse when the response fails the whole batch.
func Failures(response []byte, msgs []sqsreceive.Message) (map[string]bool, error) {
	failed := map[string]bool{}
	if len(response) == 0 {
		return failed, nil
	}
	var raw *struct {
		Failures []*struct {
			ID *string `json:"itemIdentifier"`
		} `json:"batchItemFailures"`
	}
	if err := json.Unmarshal(response, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadResponse, err)
	}
	if raw == nil {
		return failed, nil
	}
	ids := make(map[string]bool, len(msgs))
	for _, msg := range msgs {
		ids[msg.ID] = true
	}
	for _, f := range raw.Failures {
		switch {
		case f == nil || f.ID == nil || *f.ID == "":
			return nil, fmt.Errorf("%w: an item failure without itemIdentifier", ErrBadResponse)
		case !ids[*f.ID]:
			return nil, fmt.Errorf("%w: itemIdentifier %q is not in the batch", ErrBadResponse, *f.ID)
		}
		failed[*f.ID] = true
	}
	return failed, nil
}

// Run polls until ctx ends and returns the sum of the rounds' Stats. A
// failed poll is logged and retried after a second.
func (m *Mapping) Run(ctx context.Context) Stats {
	var total Stats
	for ctx.Err() == nil {
		st, err := m.Poll(ctx)
		total.add(st)
		var pause time.Duration
		switch {
		case ctx.Err() != nil:
			return total
		case err != nil:
			m.logf(ctx, "poll failed", "error", err.Error())
			pause = errorBackoff
		case st.Received == 0 && m.o.Wait == 0:
			pause = idleDelay
		}
		if pause > 0 && retry.Sleep(ctx, pause) != nil {
			return total
		}
	}
	return total
}

func (m *Mapping) logf(ctx context.Context, msg string, args ...any) {
	if m.o.Logger != nil {
		m.o.Logger.WarnContext(ctx, "esm: "+msg, append([]any{"queue", queue.Name(m.url)}, args...)...)
	}
}

// Event builds the event Lambda sends for msgs received from the queue
// queueARN in region.
func Event(msgs []sqsreceive.Message, queueARN, region string) events.SQSEvent {
	ev := events.SQSEvent{Records: make([]events.SQSMessage, 0, len(msgs))}
	for _, msg := range msgs {
		attrs := make(map[string]string, len(msg.Attributes))
		maps.Copy(attrs, msg.Attributes)
		mattrs := make(map[string]events.SQSMessageAttribute, len(msg.MessageAttributes))
		for k, v := range msg.MessageAttributes {
			a := events.SQSMessageAttribute{
				StringValue:      v.StringValue,
				BinaryValue:      v.BinaryValue,
				StringListValues: v.StringListValues,
				BinaryListValues: v.BinaryListValues,
			}
			if v.DataType != nil {
				a.DataType = *v.DataType
			}
			if a.StringListValues == nil {
				a.StringListValues = []string{}
			}
			if a.BinaryListValues == nil {
				a.BinaryListValues = [][]byte{}
			}
			mattrs[k] = a
		}
		ev.Records = append(ev.Records, events.SQSMessage{
			MessageId:              msg.ID,
			ReceiptHandle:          msg.ReceiptHandle,
			Body:                   msg.Body,
			Md5OfBody:              msg.MD5OfBody,
			Md5OfMessageAttributes: msg.MD5OfMessageAttributes,
			Attributes:             attrs,
			MessageAttributes:      mattrs,
			EventSourceARN:         queueARN,
			EventSource:            EventSource,
			AWSRegion:              region,
		})
	}
	return ev
}
