package sqsreceive

import (
	"context"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flexhook/flexhook/internal/queue"
)

const uo = "UO0123456789abcdef0123456789abcdef"

// fakeSQS records receive requests; the other calls are not made here.
type fakeSQS struct {
	api
	recv []*sqs.ReceiveMessageInput
}

func (f *fakeSQS) ReceiveMessage(_ context.Context, in *sqs.ReceiveMessageInput, _ ...func(*sqs.Options)) (*sqs.ReceiveMessageOutput, error) {
	f.recv = append(f.recv, in)
	return &sqs.ReceiveMessageOutput{}, nil
}

func TestReceiveRequest(t *testing.T) {
	tests := []struct {
		name                string
		o                   ReceiveOptions
		max, wait, visiblty int32
	}{
		{"defaults", ReceiveOptions{}, 1, 0, 0},
		{"batch capped at 10", ReceiveOptions{Max: 50, Wait: time.Minute, Visibility: 90 * time.Second}, 10, 20, 90},
		{"short poll", ReceiveOptions{Max: 5, Wait: 1500 * time.Millisecond}, 5, 2, 0},
	}
	for _, tt := range tests {
		f := &fakeSQS{}
		if _, err := New(f).Receive(context.Background(), "https://h/1/q", tt.o); err != nil {
			t.Fatal(err)
		}
		in := f.recv[0]
		if in.MaxNumberOfMessages != tt.max || in.WaitTimeSeconds != tt.wait || in.VisibilityTimeout != tt.visiblty {
			t.Errorf("%s: Receive(%+v) asked max %d wait %d visibility %d, want %d %d %d", tt.name, tt.o,
				in.MaxNumberOfMessages, in.WaitTimeSeconds, in.VisibilityTimeout, tt.max, tt.wait, tt.visiblty)
		}
		if len(in.MessageSystemAttributeNames) != 1 || in.MessageSystemAttributeNames[0] != "All" || len(in.MessageAttributeNames) != 1 {
			t.Errorf("%s: Receive did not ask for all attributes: %+v", tt.name, in)
		}
	}
}

func TestMessageAttributes(t *testing.T) {
	m := Message{Attributes: map[string]string{
		queue.AttrReceiveCount: "3", queue.AttrSentTimestamp: "1767323045000", queue.AttrMessageGroupID: uo,
	}}
	if m.ReceiveCount() != 3 || !m.SentAt().Equal(time.UnixMilli(1767323045000)) || m.GroupID() != uo {
		t.Errorf("Message helpers = %d %v %q", m.ReceiveCount(), m.SentAt(), m.GroupID())
	}
	var empty Message
	if empty.ReceiveCount() != 0 || !empty.SentAt().IsZero() || empty.GroupID() != "" {
		t.Errorf("helpers of a message without attributes = %d %v %q, want zero values", empty.ReceiveCount(), empty.SentAt(), empty.GroupID())
	}
}
