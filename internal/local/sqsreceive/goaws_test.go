package sqsreceive

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/queue/sqstest"
)

// The queue adapter and this package against a real SQS implementation
// (goaws), through the real SDK client.
func TestAgainstGoaws(t *testing.T) {
	if testing.Short() {
		t.Skip("starts goaws")
	}
	srv := sqstest.New(t, sqstest.Options{VisibilityTimeout: time.Second, MaxReceiveCount: 5})
	ctx := context.Background()
	c := New(srv.Client())

	t.Run("enqueue, receive, delete", func(t *testing.T) {
		m := message("tr:token:one")
		if err := queue.NewSender(srv.Client(), srv.QueueURL()).Enqueue(ctx, m); err != nil {
			t.Fatalf("Enqueue() = %v", err)
		}
		msgs, err := c.Receive(ctx, srv.QueueURL(), ReceiveOptions{Max: 10, Wait: time.Second})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("Receive() = %d messages, %v; want 1", len(msgs), err)
		}
		got, err := closejob.DecodeMessage(msgs[0].Body)
		if err != nil || got.Key != m.Key {
			t.Errorf("received body decodes to %+v, %v", got, err)
		}
		if msgs[0].ReceiveCount() != 1 || msgs[0].SentAt().IsZero() || msgs[0].ID == "" || msgs[0].ReceiptHandle == "" {
			t.Errorf("received message %+v lacks its id, receipt handle or attributes", msgs[0])
		}
		if err := c.Delete(ctx, srv.QueueURL(), msgs[0].ReceiptHandle); err != nil {
			t.Fatalf("Delete() = %v", err)
		}
		if n, _ := srv.Counts(ctx, srv.QueueURL()); n.Total != 0 {
			t.Errorf("queue holds %+v after Delete", n)
		}
	})

	t.Run("FIFO deduplication by key", func(t *testing.T) {
		s := queue.NewSender(srv.Client(), srv.QueueURL())
		for range 2 {
			if err := s.Enqueue(ctx, message("tr:token:dup")); err != nil {
				t.Fatal(err)
			}
		}
		if n, _ := srv.Counts(ctx, srv.QueueURL()); n.Total != 1 {
			t.Errorf("two enqueues of one key left %d messages, want 1", n.Total)
		}
		msgs, _ := c.Receive(ctx, srv.QueueURL(), ReceiveOptions{Max: 10})
		for _, m := range msgs {
			_ = c.Delete(ctx, srv.QueueURL(), m.ReceiptHandle)
		}
	})

	t.Run("standard queue", func(t *testing.T) {
		if err := queue.NewSender(srv.Client(), srv.StandardQueueURL()).Enqueue(ctx, message("tr:token:std")); err != nil {
			t.Fatalf("Enqueue(standard) = %v", err)
		}
		msgs, err := c.Receive(ctx, srv.StandardQueueURL(), ReceiveOptions{Max: 10})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("Receive(standard) = %d, %v", len(msgs), err)
		}
		_ = c.Delete(ctx, srv.StandardQueueURL(), msgs[0].ReceiptHandle)
	})

	t.Run("change visibility brings a message back", func(t *testing.T) {
		if err := queue.NewSender(srv.Client(), srv.QueueURL()).Enqueue(ctx, message("tr:token:vis")); err != nil {
			t.Fatal(err)
		}
		msgs, err := c.Receive(ctx, srv.QueueURL(), ReceiveOptions{Max: 1, Visibility: time.Hour})
		if err != nil || len(msgs) != 1 {
			t.Fatalf("Receive = %d, %v", len(msgs), err)
		}
		if err := c.ChangeVisibility(ctx, srv.QueueURL(), msgs[0].ReceiptHandle, time.Second); err != nil {
			t.Fatalf("ChangeVisibility() = %v", err)
		}
		var again []Message
		for i := 0; i < 40 && len(again) == 0; i++ {
			again, err = c.Receive(ctx, srv.QueueURL(), ReceiveOptions{Max: 1, Wait: time.Second})
			if err != nil {
				t.Fatal(err)
			}
		}
		if len(again) != 1 || again[0].ID != msgs[0].ID {
			t.Fatalf("message not redelivered after ChangeVisibility(1s)")
		}
		_ = c.Delete(ctx, srv.QueueURL(), again[0].ReceiptHandle)
	})

	t.Run("errors", func(t *testing.T) {
		err := queue.NewSender(srv.Client(), srv.URL("missing.fifo")).Enqueue(ctx, message("k"))
		var qe *queue.Error
		if !errors.As(err, &qe) || !qe.RetryableError() || qe.Code != "AWS.SimpleQueueService.NonExistentQueue" {
			t.Errorf("Enqueue to a missing queue = %v, want a retryable *Error with the SQS code", err)
		}
		err = c.ChangeVisibility(ctx, srv.QueueURL(), "bogus", time.Second)
		if !errors.As(err, &qe) || qe.RetryableError() {
			t.Errorf("ChangeVisibility(bogus) = %v, want a permanent *Error", err)
		}
	})
}

func message(key string) closejob.Message {
	job := channelclose.Job{Source: "taskrouter", EventType: "task.completed", TaskSID: "WT0123456789abcdef0123456789abcdef",
		InteractionSID: "KD0123456789abcdef0123456789abcdef", ChannelSID: uo, Status: "closed", Routing: true}
	return closejob.NewMessage(key, job, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
}
