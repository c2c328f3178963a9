package redrive

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/local/sqsreceive"
	"github.com/flexhook/flexhook/internal/queue"
	"github.com/flexhook/flexhook/internal/sid"
)

// sqsClient is what redrive needs from SQS (*sqsreceive.Client).
type sqsClient interface {
	Receive(ctx context.Context, queueURL string, o sqsreceive.ReceiveOptions) ([]sqsreceive.Message, error)
	Send(ctx context.Context, queueURL string, m queue.Outgoing) (string, error)
	Delete(ctx context.Context, queueURL, receiptHandle string) error
	ChangeVisibility(ctx context.Context, queueURL, receiptHandle string, d time.Duration) error
}

// Defaults of Options.
const (
	DefaultMax  = 1000
	DefaultHold = 5 * time.Minute
	DefaultWait = 2 * time.Second
)

const (
	// release is the visibility timeout given back to the examined
	// messages that were not moved. SQS accepts 0 (visible at once); goaws
	// mishandles 0 on FIFO queues, hence one second.
	release = time.Second
	// releaseTimeout bounds giving the examined messages back.
	releaseTimeout = 30 * time.Second
)

// Options tune a Redriver. Zero values take the defaults.
type Options struct {
	// Max is the most dead-letter messages one run examines (default 1000).
	Max int
	// Hold is how long examined messages stay invisible, at least the
	// length of a run (default 5 min). A message seen again because its
	// hold ran out ends the run.
	Hold time.Duration
	// Wait is the long-polling wait of each receive (default 2 s): long
	// enough that messages released by a dry run just before are seen.
	Wait time.Duration
}

// Redriver moves messages from a dead-letter queue to a close queue.
type Redriver struct {
	sqs    sqsClient
	dlq    string
	target string
	o      Options
}

// New returns a Redriver from the dead-letter queue at dlqURL to the close
// queue at queueURL.
func New(c sqsClient, dlqURL, queueURL string, o Options) *Redriver {
	if o.Max <= 0 {
		o.Max = DefaultMax
	}
	if o.Hold <= 0 {
		o.Hold = DefaultHold
	}
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	return &Redriver{sqs: c, dlq: dlqURL, target: queueURL, o: o}
}

// Filter selects dead-letter messages. The zero Filter selects every close
// job.
type Filter struct {
	// SID, when set, selects the jobs of a channel (UO…), an interaction
	// (KD…) or a task (WT…).
	SID string
	// Since and Until, when set, select the jobs the webhook accepted at
	// or after Since and before Until.
	Since, Until time.Time
}

// ErrBadFilter: a Filter that cannot select anything meaningful.
var ErrBadFilter = errors.New("invalid redrive filter")

// Validate checks the filter: a SID of a channel, interaction or task, and
// a window that is not empty.
func (f Filter) Validate() error {
	if f.SID != "" && !sid.Valid(sid.Channel, f.SID) && !sid.Valid(sid.Interaction, f.SID) && !sid.Valid(sid.Task, f.SID) {
		return fmt.Errorf("%w: %q is not a channel (UO), interaction (KD) or task (WT) SID", ErrBadFilter, f.SID)
	}
	if !f.Since.IsZero() && !f.Until.IsZero() && !f.Since.Before(f.Until) {
		return fmt.Errorf("%w: since %s is not before until %s", ErrBadFilter, f.Since.Format(time.RFC3339), f.Until.Format(time.RFC3339))
	}
	return nil
}

// Match reports whether the filter selects e. A message that is not a
// close job is never selected.
func (f Filter) Match(e Entry) bool {
	if e.Key == "" {
		return false
	}
	if f.SID != "" && f.SID != e.ChannelSID && f.SID != e.InteractionSID && f.SID != e.TaskSID {
		return false
	}
	if !f.Since.IsZero() && e.ReceivedAt.Before(f.Since) {
		return false
	}
	if !f.Until.IsZero() && !e.ReceivedAt.Before(f.Until) {
		return false
	}
	return true
}

// Entry is one dead-letter message, decoded.
type Entry struct {
	MessageID      string
	Key            string // idempotency key
	Source         string // taskrouter, crm or sweeper
	EventType      string
	InteractionSID string
	ChannelSID     string
	TaskSID        string
	ReceivedAt     time.Time // when the webhook accepted the event
	SentAt         time.Time // when SQS accepted the message, as SQS reports it
	ReceiveCount   int       // SQS's ApproximateReceiveCount

	// Selected reports that the Filter selected the message.
	Selected bool
	// Moved reports that the message was sent to the close queue, as
	// NewMessageID.
	Moved        bool
	NewMessageID string
	// Err is why the message is not a close job (closejob.ErrBadMessage),
	// or why moving it failed.
	Err error
}

// Report is the result of a run.
type Report struct {
	Entries  []Entry // the examined messages, in the order received
	Selected int     // entries the filter selected
	Moved    int     // entries moved to the close queue
	Failed   int     // selected entries whose move failed
	// Incomplete is set when the run stopped before the queue looked
	// empty: Options.Max was reached or a hold ran out.
	Incomplete bool
}

// List examines the dead-letter queue without moving anything: the dry run.
func (r *Redriver) List(ctx context.Context, f Filter) (Report, error) {
	return r.run(ctx, f, false)
}

// Move moves the messages f selects to the close queue, then deletes them
// from the dead-letter queue. The Report says what happened to each
// message; the error is for a failed receive, an invalid filter or a
// context that ended. Moving a message twice within five minutes (a run
// repeated after an interruption between send and delete) enqueues it once
// on a FIFO queue; any other duplicate is absorbed by the idempotency
// store.
func (r *Redriver) Move(ctx context.Context, f Filter) (Report, error) {
	return r.run(ctx, f, true)
}

func (r *Redriver) run(ctx context.Context, f Filter, move bool) (rep Report, err error) {
	if err := f.Validate(); err != nil {
		return Report{}, err
	}
	var held []sqsreceive.Message
	defer func() {
		if rerr := r.release(context.WithoutCancel(ctx), held); rerr != nil {
			err = errors.Join(err, rerr)
		}
	}()
	seen := map[string]bool{}
	for {
		if len(seen) >= r.o.Max {
			rep.Incomplete = true
			return rep, nil
		}
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		msgs, err := r.sqs.Receive(ctx, r.dlq, sqsreceive.ReceiveOptions{Max: min(sqsreceive.MaxBatch, r.o.Max-len(seen)), Wait: r.o.Wait, Visibility: r.o.Hold})
		if err != nil {
			return rep, fmt.Errorf("redrive: read the dead-letter queue: %w", err)
		}
		if len(msgs) == 0 {
			return rep, nil
		}
		fresh := 0
		for _, m := range msgs {
			if seen[m.ID] {
				// Its hold ran out during the run; give it back again.
				held = append(held, m)
				continue
			}
			seen[m.ID], fresh = true, fresh+1
			e := decode(m)
			e.Selected = f.Match(e)
			if e.Selected {
				rep.Selected++
			}
			if move && e.Selected {
				r.move(ctx, m, &e)
				if e.Moved {
					rep.Moved++
				}
				if e.Err != nil {
					rep.Failed++
				}
			}
			if !e.Moved || e.Err != nil {
				held = append(held, m) // still in the dead-letter queue
			}
			rep.Entries = append(rep.Entries, e)
		}
		if fresh == 0 {
			rep.Incomplete = true
			return rep, nil
		}
	}
}

// move sends m to the close queue and deletes it from the dead-letter
// queue, recording the outcome in e.
func (r *Redriver) move(ctx context.Context, m sqsreceive.Message, e *Entry) {
	id, err := r.sqs.Send(ctx, r.target, queue.Outgoing{
		Body:    m.Body,
		GroupID: e.ChannelSID,
		DedupID: closejob.DedupID(e.Key + ":redrive:" + m.ID),
	})
	if err != nil {
		e.Err = fmt.Errorf("send to the close queue: %w", err)
		return
	}
	e.Moved, e.NewMessageID = true, id
	if err := r.sqs.Delete(ctx, r.dlq, m.ReceiptHandle); err != nil {
		// Moved, but still in the dead-letter queue: moving it again is
		// harmless (deduplicated by SQS or by the idempotency store).
		e.Err = fmt.Errorf("delete from the dead-letter queue: %w", err)
	}
}

// release makes the examined messages that were not moved visible again.
func (r *Redriver) release(ctx context.Context, msgs []sqsreceive.Message) error {
	if len(msgs) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, releaseTimeout)
	defer cancel()
	var errs []error
	for _, m := range msgs {
		if err := r.sqs.ChangeVisibility(ctx, r.dlq, m.ReceiptHandle, release); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("redrive: give examined messages back (they reappear after %v anyway): %w", r.o.Hold, err)
	}
	return nil
}

// decode describes a dead-letter message.
func decode(m sqsreceive.Message) Entry {
	e := Entry{MessageID: m.ID, SentAt: m.SentAt(), ReceiveCount: m.ReceiveCount()}
	msg, err := closejob.DecodeMessage(m.Body)
	if err != nil {
		e.Err = err
		return e
	}
	e.Key, e.ReceivedAt = msg.Key, msg.ReceivedAt
	e.Source, e.EventType, e.TaskSID = msg.Job.Source, msg.Job.EventType, msg.Job.TaskSID
	e.InteractionSID, e.ChannelSID = msg.Job.InteractionSID, msg.Job.ChannelSID
	return e
}

// WriteTable writes the report as a table, one line per message, for a
// terminal.
func (rep Report) WriteTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "MESSAGE ID\tRECEIVED AT\tRECEIVES\tCHANNEL\tTASK\tKEY\tSELECTED\tRESULT")
	for _, e := range rep.Entries {
		at := "-"
		if !e.ReceivedAt.IsZero() {
			at = e.ReceivedAt.UTC().Format(time.RFC3339)
		}
		result := ""
		switch {
		case e.Moved && e.Err != nil:
			result = "moved, not deleted: " + e.Err.Error()
		case e.Moved:
			result = "moved as " + e.NewMessageID
		case e.Err != nil:
			result = e.Err.Error()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.MessageID, at, strconv.Itoa(e.ReceiveCount),
			cmp.Or(e.ChannelSID, "-"), cmp.Or(e.TaskSID, "-"), cmp.Or(e.Key, "-"), yesNo(e.Selected), result)
	}
	fmt.Fprintf(tw, "%d examined, %d selected, %d moved, %d failed", len(rep.Entries), rep.Selected, rep.Moved, rep.Failed)
	if rep.Incomplete {
		fmt.Fprint(tw, " (incomplete: more messages may remain)")
	}
	fmt.Fprintln(tw)
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
