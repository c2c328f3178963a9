package redrive

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/local/sqsreceive"
	"github.com/flexhook/flexhook/internal/queue"
)

const (
	dlqURL   = "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close-dlq.fifo"
	closeURL = "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close.fifo"
)

var t0 = time.Date(2026, 5, 6, 7, 0, 0, 0, time.UTC)

func sidOf(prefix string, n int) string { return fmt.Sprintf("%s%032x", prefix, n) }

func jobFor(n int) channelclose.Job {
	return channelclose.Job{Source: "taskrouter", EventType: "task.completed", WorkspaceSID: sidOf("WS", 1), TaskSID: sidOf("WT", n),
		InteractionSID: sidOf("KD", n), ChannelSID: sidOf("UO", n), Status: "closed", Routing: true, Guard: true}
}

// dlqMessage is a dead-letter message for job n accepted at t0+n minutes.
func dlqMessage(t *testing.T, n int) sqsreceive.Message {
	t.Helper()
	b, err := closejob.NewMessage(fmt.Sprintf("tr:token:%d", n), jobFor(n), t0.Add(time.Duration(n)*time.Minute)).Encode()
	if err != nil {
		t.Fatal(err)
	}
	return sqsreceive.Message{ID: fmt.Sprintf("m%d", n), ReceiptHandle: fmt.Sprintf("rh%d", n), Body: b,
		Attributes: map[string]string{queue.AttrReceiveCount: "5", queue.AttrSentTimestamp: "1778050800000"}}
}

// fakeSQS serves scripted receives from the DLQ and records the rest.
type fakeSQS struct {
	batches   [][]sqsreceive.Message
	receives  []sqsreceive.ReceiveOptions
	sends     []queue.Outgoing
	deletes   []string
	released  []string
	sendErr   error
	deleteErr error
}

func (f *fakeSQS) Receive(_ context.Context, url string, o sqsreceive.ReceiveOptions) ([]sqsreceive.Message, error) {
	if url != dlqURL {
		return nil, fmt.Errorf("receive from %s", url)
	}
	f.receives = append(f.receives, o)
	if len(f.batches) == 0 {
		return nil, nil
	}
	b := f.batches[0]
	f.batches = f.batches[1:]
	return b, nil
}

func (f *fakeSQS) Send(_ context.Context, url string, m queue.Outgoing) (string, error) {
	if url != closeURL {
		return "", fmt.Errorf("send to %s", url)
	}
	if f.sendErr != nil {
		return "", f.sendErr
	}
	f.sends = append(f.sends, m)
	return fmt.Sprintf("new%d", len(f.sends)), nil
}

func (f *fakeSQS) Delete(_ context.Context, url, rh string) error {
	if f.deleteErr != nil {
		return f.deleteErr
	}
	f.deletes = append(f.deletes, url+" "+rh)
	return nil
}

func (f *fakeSQS) ChangeVisibility(_ context.Context, url, rh string, d time.Duration) error {
	f.released = append(f.released, fmt.Sprintf("%s %v", rh, d))
	return nil
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		name string
		f    Filter
		ok   bool
	}{
		{"zero", Filter{}, true},
		{"channel", Filter{SID: sidOf("UO", 1)}, true},
		{"interaction", Filter{SID: sidOf("KD", 1)}, true},
		{"task", Filter{SID: sidOf("WT", 1)}, true},
		{"workspace is not selectable", Filter{SID: sidOf("WS", 1)}, false},
		{"garbage", Filter{SID: "UO123"}, false},
		{"window", Filter{Since: t0, Until: t0.Add(time.Hour)}, true},
		{"empty window", Filter{Since: t0, Until: t0}, false},
		{"reversed window", Filter{Since: t0.Add(time.Hour), Until: t0}, false},
	}
	for _, tt := range tests {
		err := tt.f.Validate()
		if (err == nil) != tt.ok || (err != nil && !errors.Is(err, ErrBadFilter)) {
			t.Errorf("%s: Validate(%+v) = %v, want ok %v", tt.name, tt.f, err, tt.ok)
		}
	}
}

func TestFilterMatch(t *testing.T) {
	e := decode(dlqMessage(t, 2)) // accepted at t0+2m
	tests := []struct {
		name string
		f    Filter
		want bool
	}{
		{"zero selects every job", Filter{}, true},
		{"channel", Filter{SID: sidOf("UO", 2)}, true},
		{"interaction", Filter{SID: sidOf("KD", 2)}, true},
		{"task", Filter{SID: sidOf("WT", 2)}, true},
		{"other channel", Filter{SID: sidOf("UO", 3)}, false},
		{"since before", Filter{Since: t0}, true},
		{"since at (inclusive)", Filter{Since: t0.Add(2 * time.Minute)}, true},
		{"since after", Filter{Since: t0.Add(3 * time.Minute)}, false},
		{"until after", Filter{Until: t0.Add(3 * time.Minute)}, true},
		{"until at (exclusive)", Filter{Until: t0.Add(2 * time.Minute)}, false},
		{"sid and window", Filter{SID: sidOf("UO", 2), Since: t0, Until: t0.Add(time.Hour)}, true},
	}
	for _, tt := range tests {
		if got := tt.f.Match(e); got != tt.want {
			t.Errorf("%s: %+v.Match(job 2) = %v, want %v", tt.name, tt.f, got, tt.want)
		}
	}
	if (Filter{}).Match(decode(sqsreceive.Message{ID: "x", Body: "junk"})) {
		t.Errorf("the zero filter selected a message that is not a close job")
	}
}

func TestList(t *testing.T) {
	f := &fakeSQS{batches: [][]sqsreceive.Message{{dlqMessage(t, 1), dlqMessage(t, 2)}, {{ID: "junk", ReceiptHandle: "rhj", Body: "junk"}}}}
	rep, err := New(f, dlqURL, closeURL, Options{}).List(context.Background(), Filter{SID: sidOf("UO", 2)})
	if err != nil {
		t.Fatalf("List() = %v", err)
	}
	if len(rep.Entries) != 3 || rep.Selected != 1 || rep.Moved != 0 || rep.Incomplete {
		t.Fatalf("List() report = %+v", rep)
	}
	e := rep.Entries[1]
	want := Entry{MessageID: "m2", Key: "tr:token:2", Source: "taskrouter", EventType: "task.completed",
		InteractionSID: sidOf("KD", 2), ChannelSID: sidOf("UO", 2), TaskSID: sidOf("WT", 2),
		ReceivedAt: t0.Add(2 * time.Minute), SentAt: time.UnixMilli(1778050800000).UTC(), ReceiveCount: 5, Selected: true}
	if e != want {
		t.Errorf("entry = %+v\nwant    %+v", e, want)
	}
	if !errors.Is(rep.Entries[2].Err, closejob.ErrBadMessage) {
		t.Errorf("junk entry error = %v, want ErrBadMessage", rep.Entries[2].Err)
	}
	if len(f.sends) != 0 || len(f.deletes) != 0 {
		t.Errorf("a dry run sent %v and deleted %v", f.sends, f.deletes)
	}
	if want := []string{"rh1 1s", "rh2 1s", "rhj 1s"}; !slices.Equal(f.released, want) {
		t.Errorf("released %v, want %v", f.released, want)
	}
	if o := f.receives[0]; o.Max != 10 || o.Visibility != DefaultHold || o.Wait != DefaultWait {
		t.Errorf("receive options %+v", o)
	}
}

func TestMove(t *testing.T) {
	f := &fakeSQS{batches: [][]sqsreceive.Message{{dlqMessage(t, 1), dlqMessage(t, 2), dlqMessage(t, 3)}}}
	rep, err := New(f, dlqURL, closeURL, Options{}).Move(context.Background(), Filter{Since: t0.Add(2 * time.Minute)})
	if err != nil {
		t.Fatalf("Move() = %v", err)
	}
	if rep.Selected != 2 || rep.Moved != 2 || rep.Failed != 0 {
		t.Errorf("Move() report = %+v, want 2 selected and moved", rep)
	}
	if len(f.sends) != 2 {
		t.Fatalf("sent %d messages, want 2", len(f.sends))
	}
	for i, n := range []int{2, 3} {
		m := dlqMessage(t, n)
		want := queue.Outgoing{Body: m.Body, GroupID: sidOf("UO", n), DedupID: closejob.DedupID(fmt.Sprintf("tr:token:%d:redrive:m%d", n, n))}
		if f.sends[i] != want {
			t.Errorf("send %d = %+v, want %+v", i, f.sends[i], want)
		}
		if f.sends[i].DedupID == closejob.DedupID(fmt.Sprintf("tr:token:%d", n)) {
			t.Errorf("redrive reuses the original deduplication id")
		}
	}
	if want := []string{dlqURL + " rh2", dlqURL + " rh3"}; !slices.Equal(f.deletes, want) {
		t.Errorf("deleted %v, want %v", f.deletes, want)
	}
	if want := []string{"rh1 1s"}; !slices.Equal(f.released, want) {
		t.Errorf("released %v, want %v", f.released, want)
	}
	if rep.Entries[1].NewMessageID != "new1" || !rep.Entries[1].Moved {
		t.Errorf("entry 2 = %+v, want moved as new1", rep.Entries[1])
	}
}

func TestMoveFailures(t *testing.T) {
	boom := errors.New("boom")
	// A failed send leaves the message in the dead-letter queue.
	f := &fakeSQS{batches: [][]sqsreceive.Message{{dlqMessage(t, 1)}}, sendErr: boom}
	rep, err := New(f, dlqURL, closeURL, Options{}).Move(context.Background(), Filter{})
	if err != nil || rep.Moved != 0 || rep.Failed != 1 || !errors.Is(rep.Entries[0].Err, boom) || len(f.deletes) != 0 {
		t.Errorf("Move() with failing sends = %+v, %v; deleted %v", rep, err, f.deletes)
	}
	if !slices.Equal(f.released, []string{"rh1 1s"}) {
		t.Errorf("released %v, want the message given back", f.released)
	}
	// A failed delete: moved, reported, given back.
	f = &fakeSQS{batches: [][]sqsreceive.Message{{dlqMessage(t, 1)}}, deleteErr: boom}
	rep, _ = New(f, dlqURL, closeURL, Options{}).Move(context.Background(), Filter{})
	if e := rep.Entries[0]; !e.Moved || !errors.Is(e.Err, boom) || rep.Failed != 1 || rep.Moved != 1 {
		t.Errorf("Move() with failing deletes = %+v", rep)
	}
	if !slices.Equal(f.released, []string{"rh1 1s"}) {
		t.Errorf("released %v, want the undeleted message given back", f.released)
	}
	// An invalid filter does nothing.
	f = &fakeSQS{batches: [][]sqsreceive.Message{{dlqMessage(t, 1)}}}
	if _, err := New(f, dlqURL, closeURL, Options{}).Move(context.Background(), Filter{SID: "bogus"}); !errors.Is(err, ErrBadFilter) || len(f.receives) != 0 {
		t.Errorf("Move(bad filter) = %v after %d receives", err, len(f.receives))
	}
}

func TestRunBounds(t *testing.T) {
	// Max stops the run.
	f := &fakeSQS{batches: [][]sqsreceive.Message{{dlqMessage(t, 1), dlqMessage(t, 2)}, {dlqMessage(t, 3)}}}
	rep, err := New(f, dlqURL, closeURL, Options{Max: 2}).List(context.Background(), Filter{})
	if err != nil || len(rep.Entries) != 2 || !rep.Incomplete || f.receives[0].Max != 2 {
		t.Errorf("List(Max 2) = %d entries, incomplete %v, %v; first receive %+v", len(rep.Entries), rep.Incomplete, err, f.receives[0])
	}
	// Messages seen again (their hold ran out) end the run.
	again := dlqMessage(t, 1)
	again.ReceiptHandle = "rh1-again"
	f = &fakeSQS{batches: [][]sqsreceive.Message{{dlqMessage(t, 1)}, {again}, {dlqMessage(t, 2)}}}
	rep, err = New(f, dlqURL, closeURL, Options{}).List(context.Background(), Filter{})
	if err != nil || len(rep.Entries) != 1 || !rep.Incomplete {
		t.Errorf("List() over a repeating queue = %d entries, incomplete %v, %v", len(rep.Entries), rep.Incomplete, err)
	}
	if !slices.Equal(f.released, []string{"rh1 1s", "rh1-again 1s"}) {
		t.Errorf("released %v, want both receipts", f.released)
	}
	// A canceled context stops before receiving.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	f = &fakeSQS{batches: [][]sqsreceive.Message{{dlqMessage(t, 1)}}}
	if _, err := New(f, dlqURL, closeURL, Options{}).List(ctx, Filter{}); !errors.Is(err, context.Canceled) {
		t.Errorf("List(canceled) = %v", err)
	}
}

func TestWriteTable(t *testing.T) {
	f := &fakeSQS{batches: [][]sqsreceive.Message{{dlqMessage(t, 1), {ID: "junk", ReceiptHandle: "rhj", Body: "junk"}}}}
	rep, _ := New(f, dlqURL, closeURL, Options{}).Move(context.Background(), Filter{})
	var b bytes.Buffer
	if err := rep.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"MESSAGE ID", "m1", sidOf("UO", 1), "2026-05-06T07:01:00Z", "moved as new1", "junk", "malformed close message", "2 examined, 1 selected, 1 moved, 0 failed"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}
