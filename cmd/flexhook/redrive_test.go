package main

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/local/sqsreceive"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/queue/sqstest"
)

func TestRedriveUsage(t *testing.T) {
	const (
		dlq = "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close-dlq.fifo"
		q   = "https://sqs.us-east-1.amazonaws.com/123456789012/flexhook-close.fifo"
	)
	tests := []struct {
		name       string
		args       []string
		wantStderr string
	}{
		{name: "no queues", args: nil, wantStderr: "--dlq and --queue are required"},
		{name: "no close queue", args: []string{"--dlq", dlq}, wantStderr: "--dlq and --queue are required"},
		{name: "same queue", args: []string{"--dlq", q, "--queue", q}, wantStderr: "same queue"},
		{name: "FIFO and standard", args: []string{"--dlq", dlq, "--queue", strings.TrimSuffix(q, ".fifo")}, wantStderr: "both be FIFO"},
		{name: "bad SID", args: []string{"--dlq", dlq, "--queue", q, "--sid", "AC00000000000000000000000000000001"}, wantStderr: "not a channel (UO), interaction (KD) or task (WT) SID"},
		{name: "bad time", args: []string{"--dlq", dlq, "--queue", q, "--since", "last tuesday"}, wantStderr: "--since"},
		{name: "empty window", args: []string{"--dlq", dlq, "--queue", q, "--since", "1h", "--until", "2h"}, wantStderr: "is not before until"},
		{name: "bad max", args: []string{"--dlq", dlq, "--queue", q, "--max", "0"}, wantStderr: "--max"},
		{name: "argument", args: []string{"--dlq", dlq, "--queue", q, "extra"}, wantStderr: `unexpected argument "extra"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, stderr := cli(t, "", nil, append([]string{"redrive"}, tt.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tt.wantStderr) {
				t.Errorf("flexhook redrive %q exited %d, stderr %q; want %d mentioning %q", tt.args, code, stderr, exitUsage, tt.wantStderr)
			}
		})
	}
}

func TestParseWhen(t *testing.T) {
	now := time.Date(2026, 5, 6, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in      string
		want    time.Time
		wantErr bool
	}{
		{in: "", want: time.Time{}},
		{in: "2026-05-06T07:00:00Z", want: time.Date(2026, 5, 6, 7, 0, 0, 0, time.UTC)},
		{in: "2h", want: now.Add(-2 * time.Hour)},
		{in: "-30m", want: now.Add(-30 * time.Minute)},
		{in: "0s", wantErr: true},
		{in: "yesterday", wantErr: true},
	}
	for _, tt := range tests {
		got, err := parseWhen("--since", tt.in, now)
		if (err != nil) != tt.wantErr || !got.Equal(tt.want) {
			t.Errorf("parseWhen(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

// redrive against goaws: three jobs wait in the FIFO dead-letter queue; the
// dry run lists them, selects one by channel and moves nothing; --move puts
// it back on the close queue, body unchanged.
func TestRedriveAgainstGoaws(t *testing.T) {
	if testing.Short() {
		t.Skip("starts goaws")
	}
	srv := sqstest.New(t, sqstest.Options{VisibilityTimeout: time.Second, MaxReceiveCount: 1})
	localAWS(t, map[string]string{"AWS_ENDPOINT_URL_SQS": srv.Endpoint()})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	sender := queue.NewSender(srv.Client(), srv.QueueURL())
	at := time.Date(2026, 5, 6, 7, 0, 0, 0, time.UTC)
	var msgs []closejob.Message
	for n := 1; n <= 3; n++ {
		j := channelclose.Job{Source: "taskrouter", EventType: "task.completed", WorkspaceSID: fmt.Sprintf("WS%032x", 1), TaskSID: fmt.Sprintf("WT%032x", n),
			InteractionSID: fmt.Sprintf("KD%032x", n), ChannelSID: fmt.Sprintf("UO%032x", n), Status: "closed", Routing: true, Guard: true}
		m := closejob.NewMessage(fmt.Sprintf("tr:token:cli-%d", n), j, at.Add(time.Duration(n)*time.Minute))
		if err := sender.Enqueue(ctx, m); err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, m)
	}
	// Each job fails its only delivery: received and never deleted, it
	// moves to the dead-letter queue when its visibility ends.
	c := sqsreceive.New(srv.Client())
	if got, err := c.Receive(ctx, srv.QueueURL(), sqsreceive.ReceiveOptions{Max: 10}); err != nil || len(got) != 3 {
		t.Fatalf("receive = %d, %v; want the 3 jobs", len(got), err)
	}
	for limit := time.Now().Add(15 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n, err := srv.Counts(ctx, srv.DLQURL())
		if err == nil && n.Total == 3 {
			break
		}
		if time.Now().After(limit) {
			t.Fatalf("jobs not in the dead-letter queue: %+v, %v", n, err)
		}
	}

	base := []string{"redrive", "--dlq", srv.DLQURL(), "--queue", srv.QueueURL(), "--sid", msgs[1].Job.ChannelSID}
	code, stdout, stderr := cli(t, "", nil, base...)
	if code != exitOK {
		t.Fatalf("dry run exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	for _, want := range []string{"Dry run (nothing moves): flexhook-close-dlq.fifo → flexhook-close.fifo, filter SID=" + msgs[1].Job.ChannelSID,
		"3 examined, 1 selected, 0 moved, 0 failed", "Run again with --move to move the 1 selected job(s)."} {
		if !strings.Contains(stdout, want) {
			t.Errorf("dry run output lacks %q:\n%s", want, stdout)
		}
	}
	for _, m := range msgs {
		line := lineWith(stdout, m.Key)
		wantSel := map[bool]string{true: "yes", false: "no"}[m.Key == msgs[1].Key]
		if line == "" || !strings.Contains(line, m.Job.ChannelSID) || !strings.Contains(line, " "+wantSel) {
			t.Errorf("dry run line for %s = %q, want its channel and selected %s", m.Key, line, wantSel)
		}
	}
	if n, _ := srv.Counts(ctx, srv.QueueURL()); n.Total != 0 {
		t.Errorf("the dry run put %d messages on the close queue", n.Total)
	}

	code, stdout, stderr = cli(t, "", nil, append(base, "--move")...)
	if code != exitOK || !strings.Contains(stdout, "1 moved, 0 failed") || !strings.Contains(lineWith(stdout, msgs[1].Key), "moved as ") {
		t.Fatalf("--move exited %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	got, err := c.Receive(ctx, srv.QueueURL(), sqsreceive.ReceiveOptions{Max: 10, Wait: time.Second})
	if err != nil || len(got) != 1 {
		t.Fatalf("close queue after --move: %d messages, %v; want 1", len(got), err)
	}
	if m, err := closejob.DecodeMessage(got[0].Body); err != nil || m.Key != msgs[1].Key || !m.ReceivedAt.Equal(msgs[1].ReceivedAt) {
		t.Errorf("moved message decodes to %+v, %v; want the job %s unchanged", m, err, msgs[1].Key)
	}
	// Consumed, as the worker would: otherwise it comes back and, with
	// maxReceiveCount 1, returns to the dead-letter queue.
	if err := c.Delete(ctx, srv.QueueURL(), got[0].ReceiptHandle); err != nil {
		t.Fatal(err)
	}
	if n, _ := srv.Counts(ctx, srv.DLQURL()); n.Total != 2 {
		t.Errorf("dead-letter queue holds %d messages after the move, want 2", n.Total)
	}

	// A time window selects by when the webhook accepted the event.
	code, stdout, _ = cli(t, "", nil, "redrive", "--dlq", srv.DLQURL(), "--queue", srv.QueueURL(),
		"--since", "2026-05-06T07:03:00Z", "--until", "2026-05-06T08:00:00Z")
	if code != exitOK || !strings.Contains(stdout, "2 examined, 1 selected") || !strings.Contains(lineWith(stdout, msgs[2].Key), " yes") {
		t.Errorf("window dry run exited %d:\n%s", code, stdout)
	}
}

// lineWith returns the first line of s containing sub, or "".
func lineWith(s, sub string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, sub) {
			return l
		}
	}
	return ""
}
