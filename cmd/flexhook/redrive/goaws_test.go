package redrive

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/local/sqsreceive"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/queue/sqstest"
)

// eventually polls cond every 50 ms until it holds, failing t after limit.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, limit)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Redrive against goaws: jobs that exhausted their receives wait in the
// FIFO dead-letter queue; a dry run lists them and moves nothing; a move
// selects one by channel and puts it back on the close queue, where the
// original deduplication id would have swallowed it.
func TestRedriveAgainstGoaws(t *testing.T) {
	if testing.Short() {
		t.Skip("starts goaws")
	}
	srv := sqstest.New(t, sqstest.Options{VisibilityTimeout: time.Second, MaxReceiveCount: 1})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	c := sqsreceive.New(srv.Client())
	sender := queue.NewSender(srv.Client(), srv.QueueURL())
	counts := func(url string) sqstest.Counts {
		n, err := srv.Counts(ctx, url)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}

	var msgs []closejob.Message
	for n := 1; n <= 3; n++ {
		m := closejob.NewMessage(fmt.Sprintf("tr:token:%d", n), jobFor(n), t0.Add(time.Duration(n)*time.Minute))
		if err := sender.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	// Each job fails its only delivery: received, never deleted.
	got, err := c.Receive(ctx, srv.QueueURL(), sqsreceive.ReceiveOptions{Max: 10})
	if err != nil || len(got) != 3 {
		t.Fatalf("receive = %d, %v; want the 3 jobs (one per group)", len(got), err)
	}
	eventually(t, 15*time.Second, "jobs in the dead-letter queue", func() bool { return counts(srv.DLQURL()).Total == 3 })

	// Sending a job again as the webhook would (same deduplication id)
	// within five minutes is dropped: this is why redrive uses another.
	if err := sender.Enqueue(ctx, msgs[1]); err != nil {
		t.Fatal(err)
	}
	if n := counts(srv.QueueURL()); n.Total != 0 {
		t.Fatalf("close queue holds %d messages after a resend with the original id, want 0 (deduplicated)", n.Total)
	}

	r := New(c, srv.DLQURL(), srv.QueueURL(), Options{Wait: time.Second})
	f := Filter{SID: msgs[1].Job.ChannelSID}
	rep, err := r.List(ctx, f)
	if err != nil {
		t.Fatalf("List() = %v", err)
	}
	if len(rep.Entries) != 3 || rep.Selected != 1 || rep.Moved != 0 {
		t.Fatalf("List() = %+v, want 3 entries, 1 selected, none moved", rep)
	}
	for i, e := range rep.Entries {
		if e.Key == "" || e.ChannelSID == "" || e.ReceivedAt.IsZero() || e.ReceiveCount < 1 || e.MessageID == "" {
			t.Errorf("entry %d lacks decoded fields: %+v", i, e)
		}
	}
	if n := counts(srv.DLQURL()); n.Total != 3 {
		t.Errorf("DLQ holds %d after the dry run, want 3", n.Total)
	}
	eventually(t, 10*time.Second, "dry run's messages visible again", func() bool { return counts(srv.DLQURL()).InFlight == 0 })

	rep, err = r.Move(ctx, f)
	if err != nil {
		t.Fatalf("Move() = %v", err)
	}
	if rep.Selected != 1 || rep.Moved != 1 || rep.Failed != 0 {
		t.Fatalf("Move() = %+v, want one moved", rep)
	}
	if n := counts(srv.DLQURL()); n.Total != 2 {
		t.Errorf("DLQ holds %d after moving one, want 2", n.Total)
	}
	back, err := c.Receive(ctx, srv.QueueURL(), sqsreceive.ReceiveOptions{Max: 10})
	if err != nil || len(back) != 1 {
		t.Fatalf("close queue receive = %d, %v; want the moved job", len(back), err)
	}
	if m, err := closejob.DecodeMessage(back[0].Body); err != nil || m.Key != msgs[1].Key || m.Job != msgs[1].Job {
		t.Errorf("moved message decodes to %+v, %v; want job %s unchanged", m, err, msgs[1].Key)
	}
	if err := c.Delete(ctx, srv.QueueURL(), back[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}

	// Everything else, with the zero filter.
	eventually(t, 10*time.Second, "unselected messages visible again", func() bool { return counts(srv.DLQURL()).InFlight == 0 })
	rep, err = r.Move(ctx, Filter{})
	if err != nil || rep.Moved != 2 {
		t.Fatalf("Move(all) = %+v, %v; want 2 moved", rep, err)
	}
	if n := counts(srv.DLQURL()); n.Total != 0 {
		t.Errorf("DLQ holds %d after moving all, want 0", n.Total)
	}
	if n := counts(srv.QueueURL()); n.Total != 2 {
		t.Errorf("close queue holds %d, want the 2 moved jobs", n.Total)
	}
}
