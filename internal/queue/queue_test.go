package queue

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sqs"
	"github.com/aws/smithy-go"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
)

const (
	kd = "KD0123456789abcdef0123456789abcdef"
	uo = "UO0123456789abcdef0123456789abcdef"
	wt = "WT0123456789abcdef0123456789abcdef"
)

func message(key string) closejob.Message {
	job := channelclose.Job{Source: "taskrouter", EventType: "task.completed", TaskSID: wt,
		InteractionSID: kd, ChannelSID: uo, Status: "closed", Routing: true}
	return closejob.NewMessage(key, job, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}

// fakeSQS records requests and answers with err when set.
type fakeSQS struct {
	mu      sync.Mutex
	sends   []*sqs.SendMessageInput
	recv    []*sqs.ReceiveMessageInput
	vis     []*sqs.ChangeMessageVisibilityInput
	deletes []*sqs.DeleteMessageInput
	err     error
	out     *sqs.ReceiveMessageOutput
}

func (f *fakeSQS) SendMessage(_ context.Context, in *sqs.SendMessageInput, _ ...func(*sqs.Options)) (*sqs.SendMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sends = append(f.sends, in)
	if f.err != nil {
		return nil, f.err
	}
	return &sqs.SendMessageOutput{MessageId: aws.String("id-1")}, nil
}

func (f *fakeSQS) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.recv = append(f.recv, in)
	if f.err != nil {
		return nil, f.err
	}
	if f.out == nil {
		return &sqs.ReceiveMessageOutput{}, nil
	}
	return f.out, nil
}

func (f *fakeSQS) DeleteMessage(_ context.Context, in *sqs.DeleteMessageInput, _ ...func(*sqs.Options)) (*sqs.DeleteMessageOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.deletes = append(f.deletes, in)
	return &sqs.DeleteMessageOutput{}, f.err
}

func (f *fakeSQS) ChangeMessageVisibility(_ context.Context, in *sqs.ChangeMessageVisibilityInput, _ ...func(*sqs.Options)) (*sqs.ChangeMessageVisibilityOutput, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.vis = append(f.vis, in)
	return &sqs.ChangeMessageVisibilityOutput{}, f.err
}

func TestEnqueue(t *testing.T) {
	m := message("tr:token:abc")
	tests := []struct {
		name               string
		url                string
		wantGroup, wantDup string
	}{
		{"fifo queue gets group and dedup id", "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close.fifo", uo, closejob.DedupID("tr:token:abc")},
		{"standard queue gets neither", "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSQS{}
			s := NewSender(f, tt.url)
			if err := s.Enqueue(context.Background(), m); err != nil {
				t.Fatalf("Enqueue() = %v", err)
			}
			if len(f.sends) != 1 {
				t.Fatalf("Enqueue() sent %d messages, want 1", len(f.sends))
			}
			in := f.sends[0]
			if got := aws.ToString(in.QueueUrl); got != tt.url {
				t.Errorf("QueueUrl = %s, want %s", got, tt.url)
			}
			if got := aws.ToString(in.MessageGroupId); got != tt.wantGroup {
				t.Errorf("MessageGroupId = %q, want %q", got, tt.wantGroup)
			}
			if got := aws.ToString(in.MessageDeduplicationId); got != tt.wantDup {
				t.Errorf("MessageDeduplicationId = %q, want %q", got, tt.wantDup)
			}
			got, err := closejob.DecodeMessage(aws.ToString(in.MessageBody))
			if err != nil || got.Key != m.Key || got.Job != m.Job || !got.ReceivedAt.Equal(m.ReceivedAt) {
				t.Errorf("body decodes to %+v, %v; want %+v", got, err, m)
			}
		})
	}
}

// Every enqueue failure is retryable, carries the operation and queue, and
// never the body.
func TestEnqueueErrorsAreRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"network", errors.New("dial tcp 127.0.0.1:1: connection refused"), ""},
		{"throttled", &smithy.GenericAPIError{Code: "RequestThrottled", Message: "slow down"}, "RequestThrottled"},
		{"missing queue", &smithy.GenericAPIError{Code: "AWS.SimpleQueueService.NonExistentQueue", Message: "no queue"}, "AWS.SimpleQueueService.NonExistentQueue"},
		{"access denied", &smithy.GenericAPIError{Code: "AccessDenied", Message: "no"}, "AccessDenied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &fakeSQS{err: tt.err}
			err := NewSender(f, "https://sqs.us-east-1.amazonaws.com/1/q.fifo").Enqueue(context.Background(), message("k"))
			var qe *Error
			if !errors.As(err, &qe) {
				t.Fatalf("Enqueue() error = %v, want *Error", err)
			}
			if !qe.RetryableError() || qe.Op != "enqueue" || qe.Queue != "q.fifo" || qe.Code != tt.code || !errors.Is(err, tt.err) {
				t.Errorf("Enqueue() error = %+v, want retryable enqueue error on q.fifo with code %q wrapping %v", qe, tt.code, tt.err)
			}
			if strings.Contains(err.Error(), uo) || strings.Contains(err.Error(), `"key"`) {
				t.Errorf("error %q contains the message body", err)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"network error", errors.New("connection reset"), true},
		{"throttling", &smithy.GenericAPIError{Code: "ThrottlingException"}, true},
		{"server error", &smithy.GenericAPIError{Code: "InternalError"}, true},
		{"missing queue (json)", &smithy.GenericAPIError{Code: "QueueDoesNotExist"}, false},
		{"missing queue (query)", &smithy.GenericAPIError{Code: "AWS.SimpleQueueService.NonExistentQueue"}, false},
		{"receipt handle", &smithy.GenericAPIError{Code: "ReceiptHandleIsInvalid"}, false},
		{"not in flight", &smithy.GenericAPIError{Code: "AWS.SimpleQueueService.MessageNotInFlight"}, false},
		{"denied", &smithy.GenericAPIError{Code: "AccessDenied"}, false},
	}
	for _, tt := range tests {
		if got := Classify("receive", "https://h/1/q", tt.err).RetryableError(); got != tt.want {
			t.Errorf("Classify(%s).RetryableError() = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestSendToFIFONeedsGroup(t *testing.T) {
	f := &fakeSQS{}
	_, err := New(f).Send(context.Background(), "https://h/1/q.fifo", Outgoing{Body: "x"})
	if !errors.Is(err, ErrNoGroup) || len(f.sends) != 0 {
		t.Errorf("Send(no group) = %v after %d sends, want ErrNoGroup and no send", err, len(f.sends))
	}
	var qe *Error
	if errors.As(err, &qe) && qe.RetryableError() {
		t.Errorf("Send(no group) error is retryable; retrying cannot add a group")
	}
	// A standard queue drops the FIFO fields.
	if _, err := New(f).Send(context.Background(), "https://h/1/q", Outgoing{Body: "x", GroupID: "g", DedupID: "d"}); err != nil {
		t.Fatal(err)
	}
	if in := f.sends[0]; in.MessageGroupId != nil || in.MessageDeduplicationId != nil {
		t.Errorf("Send to a standard queue sent group %v and dedup id %v", aws.ToString(in.MessageGroupId), aws.ToString(in.MessageDeduplicationId))
	}
}

func TestChangeVisibilityRounding(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want int32
	}{
		{0, 0},
		{-time.Second, 0},
		{time.Millisecond, 1},
		{1500 * time.Millisecond, 2},
		{10 * time.Second, 10},
		{13 * time.Hour, 43200},
	}
	for _, tt := range tests {
		f := &fakeSQS{}
		if err := New(f).ChangeVisibility(context.Background(), "https://h/1/q", "rh", tt.d); err != nil {
			t.Fatal(err)
		}
		if got := f.vis[0].VisibilityTimeout; got != tt.want || aws.ToString(f.vis[0].ReceiptHandle) != "rh" {
			t.Errorf("ChangeVisibility(%v) sent %d s, want %d", tt.d, got, tt.want)
		}
	}
}

func TestURLFromARN(t *testing.T) {
	tests := []struct {
		arn, want string
		wantErr   bool
	}{
		{arn: "arn:aws:sqs:us-east-1:123456789012:flexhook-close.fifo", want: "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close.fifo"},
		{arn: "arn:aws-cn:sqs:cn-north-1:123456789012:q", want: "https://sqs.cn-north-1.amazonaws.com.cn/123456789012/q"},
		{arn: "arn:aws:sns:us-east-1:123456789012:topic", wantErr: true},
		{arn: "arn:aws:sqs:us-east-1:123456789012", wantErr: true},
		{arn: "arn:aws:sqs::123456789012:q", wantErr: true},
		{arn: "", wantErr: true},
	}
	for _, tt := range tests {
		got, err := URLFromARN(tt.arn)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("URLFromARN(%q) = %q, %v; want %q (error %v)", tt.arn, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrBadARN) {
			t.Errorf("URLFromARN(%q) error %v is not ErrBadARN", tt.arn, err)
		}
	}
}

func TestName(t *testing.T) {
	for in, want := range map[string]string{
		"https://sqs.us-east-1.amazonaws.com/1/flexhook-close.fifo": "flexhook-close.fifo",
		"http://127.0.0.1:4100/000000000000/q/":                     "q",
		"q":                                                         "q",
	} {
		if got := Name(in); got != want {
			t.Errorf("Name(%q) = %q, want %q", in, got, want)
		}
	}
}
