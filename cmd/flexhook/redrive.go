package main

import (
	"cmp"
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/flexhook/flexhook/cmd/flexhook/redrive"
	"github.com/flexhook/flexhook/internal/dependencies"
	"github.com/flexhook/flexhook/internal/local/sqsreceive"
	"github.com/flexhook/flexhook/internal/queue"
)

const redriveDescription = `
Lists the close jobs waiting in the dead-letter queue and, with --move, sends
the selected ones back to the close queue, where the worker runs them through
the same idempotency store as any other job: a job that meanwhile succeeded
replays its recorded outcome instead of closing again.

Without --move nothing moves: it is the dry run, which prints one line per
message (id, when the webhook accepted the event, receives, channel, task,
idempotency key, whether the filter selects it). Run it first, then the same
command with --move.

Filters: --sid selects the jobs of a channel (UO…), an interaction (KD…) or a
task (WT…); --since and --until select by when the webhook accepted the
event (--since inclusive, --until exclusive), each an RFC 3339 time or a Go
duration meaning that long ago (2h, 30m). No filter selects every close job.

SQS shows messages only by receiving them: while a run examines them they are
invisible to other readers (up to --hold), and the ones not moved are made
visible again at the end. On a FIFO dead-letter queue a run sees the first
messages of each message group only.

AWS settings come from the environment and shared configuration, as for the
functions and the AWS CLI: AWS_REGION, credentials, and AWS_ENDPOINT_URL_SQS
for a local SQS such as the goaws of flexhook run.

SQS's own redrive moves every message back without a filter or a dry run:
aws sqs start-message-move-task --source-arn <dead-letter queue ARN>.

Exit codes: 0 when every selected job moved (or on a dry run), 1 when a move
failed, 2 for usage errors and SQS errors.`

// redriveCommand implements `flexhook redrive`.
func redriveCommand(ctx context.Context, std *stdio, args []string) int {
	fs := newFlagSet("redrive", "flexhook redrive --dlq URL --queue URL [--sid UO…|KD…|WT…] [--since T] [--until T] [--move] [--max N]", redriveDescription)
	dlq := fs.String("dlq", "", "`URL` of the dead-letter queue (required)")
	closeQueue := fs.String("queue", "", "`URL` of the close queue the jobs go back to (required)")
	sid := fs.String("sid", "", "select the jobs of this channel (UO…), interaction (KD…) or task (WT…) `SID`")
	since := fs.String("since", "", "select jobs accepted at or after this `time` (RFC 3339, or a duration ago such as 2h)")
	until := fs.String("until", "", "select jobs accepted before this `time` (RFC 3339, or a duration ago)")
	move := fs.Bool("move", false, "move the selected jobs (without it: dry run, nothing moves)")
	maxN := fs.Int("max", redrive.DefaultMax, "examine at most `N` dead-letter messages")
	hold := fs.Duration("hold", redrive.DefaultHold, "how long examined messages stay invisible, at least the length of the run")
	timeout := fs.Duration("timeout", 10*time.Minute, "give up after this `duration`")
	if code, ok := fs.parseNone(std, args); !ok {
		return code
	}
	now := time.Now()
	f, err := redriveFilter(*sid, *since, *until, now)
	if err != nil {
		return fs.fail(std, err, exitUsage)
	}
	switch {
	case *dlq == "" || *closeQueue == "":
		return fs.fail(std, usageError("--dlq and --queue are required"), exitUsage)
	case *dlq == *closeQueue:
		return fs.fail(std, usageError("--dlq and --queue name the same queue"), exitUsage)
	case queue.IsFIFO(*dlq) != queue.IsFIFO(*closeQueue):
		return fs.fail(std, usageError("--dlq and --queue must both be FIFO queues (.fifo) or both standard"), exitUsage)
	case *maxN < 1:
		return fs.fail(std, usageError("--max must be at least 1"), exitUsage)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	awsCfg, err := dependencies.LoadAWS(ctx)
	if err != nil {
		return fs.fail(std, fmt.Errorf("AWS configuration: %w", err), exitUsage)
	}
	r := redrive.New(sqsreceive.New(sqs.NewFromConfig(awsCfg)), *dlq, *closeQueue, redrive.Options{Max: *maxN, Hold: *hold})
	run, verb := r.List, "Dry run (nothing moves)"
	if *move {
		run, verb = r.Move, "Moving"
	}
	fmt.Fprintf(std.stdout, "%s: %s → %s, filter %s\n", verb, queue.Name(*dlq), queue.Name(*closeQueue), describeFilter(f))
	rep, err := run(ctx, f)
	if err := cmp.Or(err, rep.WriteTable(std.stdout)); err != nil {
		return fs.fail(std, err, exitUsage)
	}
	if !*move && rep.Selected > 0 {
		fmt.Fprintf(std.stdout, "Run again with --move to move the %d selected job(s).\n", rep.Selected)
	}
	if rep.Failed > 0 {
		return exitFailure
	}
	return exitOK
}

// redriveFilter builds and checks the filter the flags describe.
func redriveFilter(sid, since, until string, now time.Time) (redrive.Filter, error) {
	f := redrive.Filter{SID: strings.TrimSpace(sid)}
	var err error
	if f.Since, err = parseWhen("--since", since, now); err != nil {
		return f, err
	}
	if f.Until, err = parseWhen("--until", until, now); err != nil {
		return f, err
	}
	if err := f.Validate(); err != nil {
		return f, usageError("%v", err)
	}
	return f, nil
}

// parseWhen reads a time flag: empty (no bound), an RFC 3339 time, or a Go
// duration meaning that long before now.
func parseWhen(name, v string, now time.Time) (time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, v); err == nil {
		return t, nil
	}
	d, err := time.ParseDuration(strings.TrimPrefix(v, "-"))
	if err != nil || d <= 0 {
		return time.Time{}, usageError("%s %q: want an RFC 3339 time such as 2026-05-06T07:00:00Z or a duration ago such as 2h", name, v)
	}
	return now.Add(-d), nil
}

// describeFilter renders a filter for the heading line.
func describeFilter(f redrive.Filter) string {
	var parts []string
	if f.SID != "" {
		parts = append(parts, "SID="+f.SID)
	}
	if !f.Since.IsZero() {
		parts = append(parts, "since "+f.Since.UTC().Format(time.RFC3339))
	}
	if !f.Until.IsZero() {
		parts = append(parts, "until "+f.Until.UTC().Format(time.RFC3339))
	}
	if len(parts) == 0 {
		return "none (every close job)"
	}
	return strings.Join(parts, ", ")
}
