package sqstrigger

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"

	"github.com/flexhook/flexhook/internal/queue"

	"github.com/flexhook/flexhook/internal/local/sqsreceive"
	"github.com/flexhook/flexhook/internal/queue/sqstest"
)

// The mapping against goaws, with an in-process function that fails one
// message the first time it sees it: the others are deleted at once, the
// failed one comes back after its visibility timeout and is then deleted.
func TestMappingAgainstGoaws(t *testing.T) {
	if testing.Short() {
		t.Skip("starts goaws")
	}
	srv := sqstest.New(t, sqstest.Options{VisibilityTimeout: time.Second, MaxReceiveCount: 5})
	c := sqsreceive.New(srv.Client())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, b := range []string{"ok-1", "fail-once", "ok-2"} {
		// One group per message: goaws returns one message per group per receive.
		if _, err := c.Send(ctx, srv.QueueURL(), queue.Outgoing{Body: b, GroupID: "g-" + b, DedupID: b}); err != nil {
			t.Fatal(err)
		}
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var arns []string
	h := func(ctx context.Context, ev events.SQSEvent) (events.SQSEventResponse, error) {
		mu.Lock()
		defer mu.Unlock()
		var resp events.SQSEventResponse
		for _, r := range ev.Records {
			seen[r.Body]++
			arns = append(arns, r.EventSourceARN)
			if r.Body == "fail-once" && seen[r.Body] == 1 {
				resp.BatchItemFailures = append(resp.BatchItemFailures, events.SQSBatchItemFailure{ItemIdentifier: r.MessageId})
			}
		}
		return resp, nil
	}
	m, err := New(c, srv.QueueURL(), Local{Handler: lambda.NewHandler(h)}, Options{QueueARN: sqstest.ARN(srv.QueueURL())})
	if err != nil {
		t.Fatal(err)
	}
	var total Stats
	for round := 0; round < 30; round++ {
		st, err := m.Poll(ctx)
		if err != nil {
			t.Fatalf("Poll: %v", err)
		}
		total.add(st)
		if n, _ := srv.Counts(ctx, srv.QueueURL()); n.Total == 0 {
			break
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["ok-1"] != 1 || seen["ok-2"] != 1 || seen["fail-once"] != 2 {
		t.Errorf("deliveries = %v, want ok-1 and ok-2 once, fail-once twice", seen)
	}
	if total.Deleted != 3 || total.Failed != 1 {
		t.Errorf("stats = %+v, want 3 deleted and 1 failed", total)
	}
	for _, a := range arns {
		if a != "arn:aws:sqs:us-east-1:000000000000:flexhook-close.fifo" {
			t.Errorf("eventSourceARN = %s", a)
		}
	}
	if n, _ := srv.Counts(ctx, srv.DLQURL()); n.Total != 0 {
		t.Errorf("DLQ holds %d messages, want 0", n.Total)
	}
}
