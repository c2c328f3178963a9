package sqstrigger

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs/types"

	"github.com/flexhook/flexhook/internal/local/sqsreceive"
)

const queueURL = "https://sqs.eu-west-1.amazonaws.com/123456789012/flexhook-close.fifo"

// fakeQueue hands out batches and records deletes.
type fakeQueue struct {
	mu         sync.Mutex
	batches    [][]sqsreceive.Message
	receives   []sqsreceive.ReceiveOptions
	deleted    []string
	receiveErr error
	deleteErr  error
}

func (f *fakeQueue) Receive(_ context.Context, url string, o sqsreceive.ReceiveOptions) ([]sqsreceive.Message, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.receives = append(f.receives, o)
	if f.receiveErr != nil {
		return nil, f.receiveErr
	}
	if len(f.batches) == 0 {
		return nil, nil
	}
	b := f.batches[0]
	f.batches = f.batches[1:]
	return b, nil
}

func (f *fakeQueue) Delete(_ context.Context, url, rh string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.deleteErr != nil {
		return f.deleteErr
	}
	f.deleted = append(f.deleted, rh)
	return nil
}

func msgs(ids ...string) []sqsreceive.Message {
	var out []sqsreceive.Message
	for _, id := range ids {
		out = append(out, sqsreceive.Message{ID: id, ReceiptHandle: "rh-" + id, Body: "body-" + id, MD5OfBody: "md5",
			Attributes: map[string]string{"ApproximateReceiveCount": "1"}})
	}
	return out
}

// targetFunc is a Target made of a function.
type targetFunc func(ctx context.Context, payload []byte) ([]byte, error)

func (f targetFunc) Invoke(ctx context.Context, p []byte) ([]byte, error) { return f(ctx, p) }

func answer(s string) Target {
	return targetFunc(func(context.Context, []byte) ([]byte, error) { return []byte(s), nil })
}

func TestPollOutcomes(t *testing.T) {
	tests := []struct {
		name        string
		target      Target
		wantDeleted []string
		wantFailed  int
		wantFnErr   int
	}{
		{"null response", answer("null"), []string{"rh-a", "rh-b", "rh-c"}, 0, 0},
		{"empty response", answer(""), []string{"rh-a", "rh-b", "rh-c"}, 0, 0},
		{"empty object", answer("{}"), []string{"rh-a", "rh-b", "rh-c"}, 0, 0},
		{"null failures", answer(`{"batchItemFailures":null}`), []string{"rh-a", "rh-b", "rh-c"}, 0, 0},
		{"empty failures", answer(`{"batchItemFailures":[]}`), []string{"rh-a", "rh-b", "rh-c"}, 0, 0},
		{"partial failure", answer(`{"batchItemFailures":[{"itemIdentifier":"b"}]}`), []string{"rh-a", "rh-c"}, 1, 0},
		{"all failed by list", answer(`{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"b"},{"itemIdentifier":"c"}]}`), nil, 3, 0},
		{"unknown identifier fails the batch", answer(`{"batchItemFailures":[{"itemIdentifier":"zz"}]}`), nil, 3, 1},
		{"empty identifier fails the batch", answer(`{"batchItemFailures":[{"itemIdentifier":""}]}`), nil, 3, 1},
		{"missing identifier fails the batch", answer(`{"batchItemFailures":[{"id":"a"}]}`), nil, 3, 1},
		{"null item fails the batch", answer(`{"batchItemFailures":[null]}`), nil, 3, 1},
		{"invalid JSON fails the batch", answer(`{"batchItemFailures":`), nil, 3, 1},
		{"function error fails the batch", targetFunc(func(context.Context, []byte) ([]byte, error) {
			return nil, &FunctionError{Type: "errorString", Message: "boom"}
		}), nil, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			q := &fakeQueue{batches: [][]sqsreceive.Message{msgs("a", "b", "c")}}
			m, err := New(q, queueURL, tt.target, Options{})
			if err != nil {
				t.Fatal(err)
			}
			st, err := m.Poll(context.Background())
			if err != nil {
				t.Fatalf("Poll() error = %v", err)
			}
			want := Stats{Polls: 1, Received: 3, Invocations: 1, FunctionErrors: tt.wantFnErr, Deleted: len(tt.wantDeleted), Failed: tt.wantFailed}
			if st != want {
				t.Errorf("Poll() = %+v, want %+v", st, want)
			}
			if !slices.Equal(q.deleted, tt.wantDeleted) {
				t.Errorf("deleted %v, want %v", q.deleted, tt.wantDeleted)
			}
		})
	}
}

// The event is shaped like Lambda's.
func TestEvent(t *testing.T) {
	in := []sqsreceive.Message{{
		ID: "059f36b4-87a3-44ab-83d2-661975830a7d", ReceiptHandle: "AQEBwJnKyrHigUMZj6rYigCgxlaS3SLy0a",
		Body: `{"v":1}`, MD5OfBody: "e4e68fb7bd0e697a0ae8f1bb342846b3",
		Attributes: map[string]string{
			"ApproximateReceiveCount": "1", "SentTimestamp": "1545082649183", "SenderId": "AIDAIENQZJOLO23YVJ4VO",
			"ApproximateFirstReceiveTimestamp": "1545082649185", "MessageGroupId": "UO1", "MessageDeduplicationId": "d1",
		},
		MessageAttributes: map[string]types.MessageAttributeValue{
			"trace": {DataType: aws.String("String"), StringValue: aws.String("abc")},
		},
		MD5OfMessageAttributes: "582c92c5c5b6ac403040a4f3ab3115c9",
	}}
	ev := Event(in, "arn:aws:sqs:us-east-2:123456789012:my-queue.fifo", "us-east-2")
	b, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string][]map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	r := got["Records"][0]
	for k, want := range map[string]any{
		"messageId": in[0].ID, "receiptHandle": in[0].ReceiptHandle, "body": `{"v":1}`,
		"md5OfBody": in[0].MD5OfBody, "md5OfMessageAttributes": in[0].MD5OfMessageAttributes,
		"eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-2:123456789012:my-queue.fifo", "awsRegion": "us-east-2",
	} {
		if r[k] != want {
			t.Errorf("record %s = %v, want %v", k, r[k], want)
		}
	}
	attrs := r["attributes"].(map[string]any)
	if attrs["MessageGroupId"] != "UO1" || attrs["ApproximateReceiveCount"] != "1" || len(attrs) != 6 {
		t.Errorf("record attributes = %v, want the six received", attrs)
	}
	ma := r["messageAttributes"].(map[string]any)["trace"].(map[string]any)
	if ma["stringValue"] != "abc" || ma["dataType"] != "String" || ma["stringListValues"] == nil || ma["binaryListValues"] == nil {
		t.Errorf("message attribute = %v, want Lambda's shape", ma)
	}
	// The records decode back into the aws-lambda-go type the worker takes.
	var back events.SQSEvent
	if err := json.Unmarshal(b, &back); err != nil || len(back.Records) != 1 || back.Records[0].Attributes["MessageDeduplicationId"] != "d1" {
		t.Errorf("event does not round-trip: %+v, %v", back, err)
	}
	// No attributes: empty objects, as Lambda sends.
	b, _ = json.Marshal(Event(msgs("x"), "arn:aws:sqs:us-east-2:1:q", "us-east-2"))
	var bare map[string][]map[string]any
	_ = json.Unmarshal(b, &bare)
	if m, ok := bare["Records"][0]["messageAttributes"].(map[string]any); !ok || len(m) != 0 {
		t.Errorf("messageAttributes of a message without any = %v, want {}", bare["Records"][0]["messageAttributes"])
	}
}

func TestNewDefaults(t *testing.T) {
	q := &fakeQueue{}
	m, err := New(q, queueURL, answer(""), Options{Region: "eu-west-1"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Poll(context.Background()); err != nil {
		t.Fatal(err)
	}
	if q.receives[0] != (sqsreceive.ReceiveOptions{Max: 10, Wait: time.Second}) {
		t.Errorf("receive options = %+v, want batch 10, wait 1s", q.receives[0])
	}
	if m.o.QueueARN != "arn:aws:sqs:eu-west-1:123456789012:flexhook-close.fifo" {
		t.Errorf("default ARN = %s", m.o.QueueARN)
	}
	m, _ = New(q, queueURL, answer(""), Options{BatchSize: 50, Wait: -1})
	if m.o.BatchSize != 10 || m.o.Wait != 0 {
		t.Errorf("BatchSize 50, Wait -1 became %d, %v; want 10, 0", m.o.BatchSize, m.o.Wait)
	}
	if _, err := New(q, "not-a-url", answer(""), Options{}); err == nil {
		t.Errorf("New with a bad queue URL and no ARN succeeded")
	}
	if _, err := New(q, "not-a-url", answer(""), Options{QueueARN: "arn:aws:sqs:us-east-1:1:q"}); err != nil {
		t.Errorf("New with an explicit ARN: %v", err)
	}
}

func TestPollErrors(t *testing.T) {
	boom := errors.New("boom")
	q := &fakeQueue{receiveErr: boom}
	m, _ := New(q, queueURL, answer(""), Options{})
	if _, err := m.Poll(context.Background()); !errors.Is(err, boom) {
		t.Errorf("Poll() with a failing receive = %v, want it wrapped", err)
	}
	q = &fakeQueue{batches: [][]sqsreceive.Message{msgs("a")}, deleteErr: boom}
	m, _ = New(q, queueURL, answer(""), Options{})
	st, err := m.Poll(context.Background())
	if !errors.Is(err, boom) || st.Deleted != 0 {
		t.Errorf("Poll() with a failing delete = %+v, %v; want the error and nothing deleted", st, err)
	}
}

func TestRunStopsWithContext(t *testing.T) {
	q := &fakeQueue{batches: [][]sqsreceive.Message{msgs("a")}}
	ctx, cancel := context.WithCancel(context.Background())
	target := targetFunc(func(context.Context, []byte) ([]byte, error) {
		cancel() // stop after the first batch
		return nil, nil
	})
	m, _ := New(q, queueURL, target, Options{Wait: -1})
	done := make(chan Stats, 1)
	go func() { done <- m.Run(ctx) }()
	select {
	case st := <-done:
		if st.Invocations != 1 || st.Deleted != 1 {
			t.Errorf("Run() = %+v, want one invocation and one delete", st)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return after its context was canceled")
	}
}

func TestInvokeTimeout(t *testing.T) {
	q := &fakeQueue{batches: [][]sqsreceive.Message{msgs("a")}}
	target := targetFunc(func(ctx context.Context, _ []byte) ([]byte, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	})
	m, _ := New(q, queueURL, target, Options{InvokeTimeout: 10 * time.Millisecond})
	st, err := m.Poll(context.Background())
	if err != nil || st.FunctionErrors != 1 || st.Failed != 1 || len(q.deleted) != 0 {
		t.Errorf("Poll() with a hung function = %+v, %v; want the batch failed and kept", st, err)
	}
}

func TestLocal(t *testing.T) {
	var gotID string
	var gotDeadline bool
	h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		lc, _ := lambdacontext.FromContext(ctx)
		gotID = lc.AwsRequestID
		_, gotDeadline = ctx.Deadline()
		switch ev.Records[0].Body {
		case "panic":
			panic("kaboom")
		case "error":
			return events.SQSEventResponse{}, errors.New("handler failed")
		}
		return events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{{ItemIdentifier: ev.Records[0].MessageId}}}, nil
	}
	l := Local{Handler: lambda.NewHandler(h)}
	payload := func(body string) []byte {
		b, _ := json.Marshal(events.SQSEvent{Records: []events.SQSMessage{{MessageId: "m1", Body: body}}})
		return b
	}
	out, err := l.Invoke(context.Background(), payload("ok"))
	if err != nil || string(out) != `{"batchItemFailures":[{"itemIdentifier":"m1"}]}` {
		t.Errorf("Invoke(ok) = %s, %v", out, err)
	}
	if len(gotID) != 36 || !gotDeadline {
		t.Errorf("handler context: request id %q, deadline %v; want a UUID and a deadline", gotID, gotDeadline)
	}
	var fe *FunctionError
	if _, err := l.Invoke(context.Background(), payload("error")); !errors.As(err, &fe) || fe.Type != "errorString" {
		t.Errorf("Invoke(error) = %v, want a *FunctionError of type errorString", err)
	}
	if _, err := l.Invoke(context.Background(), payload("panic")); !errors.As(err, &fe) || fe.Type != "Runtime.Panic" {
		t.Errorf("Invoke(panic) = %v, want a *FunctionError of type Runtime.Panic", err)
	}
}

func TestFailuresDuplicateIdentifier(t *testing.T) {
	resp := `{"batchItemFailures":[{"itemIdentifier":"a"},{"itemIdentifier":"a"}]}`
	got, err := Failures([]byte(resp), msgs("a", "b"))
	if err != nil || len(got) != 1 || !got["a"] {
		t.Errorf("Failures(%s) = %v, %v; want {a}", resp, got, err)
	}
}
