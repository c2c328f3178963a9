package faults

import (
	"cmp"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Figures are what a replay did and what it must show: the figures the
// suite prints.
type Figures struct {
	Events      int // events sent, duplicates included
	Duplicates  int // sends repeating an earlier event
	CloseEvents int // unique close events: the close jobs the webhook queues

	Channels  int
	ByKind    map[Kind]int
	MustClose int // channels that must end closed

	Answers map[int]int    // the webhook's answers, by HTTP status
	Webhook map[string]int // the webhook's summary lines, by outcome ("closed (replayed)": answered from the table)
	Resent  int            // first deliveries answered 503 and sent again

	TwilioRequests int
	Injected       map[string]int // injected Twilio failures, by name
	Refusals       int            // Twilio 400s of the refused channels

	Jobs        map[string]int // the worker's job lines, by outcome
	Replayed    int            // job lines replaying a recorded outcome
	Invocations int            // worker invocations (batches of up to 10 records)
	Messages    int            // distinct queue messages the worker received
	Queued      int            // deliveries the webhook queued (outcome queued)

	CloseEffects    int // Flex close effects: channels moved to closed, summed
	ClosedTwice     int // channels with more than one close effect
	LiveCloses      int // closes made while another task of the channel was live
	Lost            int // close events neither done, failed for good with a reason, nor in the DLQ
	FailedPermanent int // close events recorded failed_permanent with a reason
	DeadLetters     int // close jobs in the dead-letter queue
	WrongState      int // channels not in the state their story must end in

	Send, Drain time.Duration // sending every event; then draining the queue
}

// Check is one figure that must hold.
type Check struct {
	Name      string
	Want, Got int
}

// OK reports whether the check holds.
func (c Check) OK() bool { return c.Want == c.Got }

// Checks returns the figures that must hold.
func (f Figures) Checks() []Check {
	return []Check{
		{"Flex close effects == channels that must close", f.MustClose, f.CloseEffects},
		{"channels closed more than once", 0, f.ClosedTwice},
		{"closes while another task of the channel was live", 0, f.LiveCloses},
		{"lost close events (neither done, failed with a reason, nor in the DLQ)", 0, f.Lost},
		{"channels not in the state their story ends in", 0, f.WrongState},
	}
}

// OK reports whether every check holds.
func (f Figures) OK() bool {
	return !slices.ContainsFunc(f.Checks(), func(c Check) bool { return !c.OK() })
}

// WriteTable writes the figures, then the checks, as aligned text.
func (f Figures) WriteTable(w io.Writer) error {
	pct := func(n, of int) string {
		if of == 0 {
			return ""
		}
		return strconv.FormatFloat(100*float64(n)/float64(of), 'f', 1, 64) + " %"
	}
	injected := total(f.Injected)
	round := func(d time.Duration) string { return d.Round(100 * time.Millisecond).String() }
	rows := [][3]string{
		{"events sent through the webhook", strconv.Itoa(f.Events), ""},
		{"  duplicates (an event sent again)", strconv.Itoa(f.Duplicates), pct(f.Duplicates, f.Events)},
		{"  unique events", strconv.Itoa(f.Events - f.Duplicates), ""},
		{"  unique close events (close jobs)", strconv.Itoa(f.CloseEvents), ""},
		{"webhook answers", strconv.Itoa(total(f.Answers)), countsOf(f.Answers, "%d ×%d")},
		{"  first deliveries answered 503 and sent again", strconv.Itoa(f.Resent), ""},
		{"  webhook outcomes", strconv.Itoa(total(f.Webhook)), countsByName(f.Webhook)},
		{"  queued, then dropped by SQS FIFO deduplication", strconv.Itoa(f.Queued - f.Messages), "queued " + strconv.Itoa(f.Queued) + ", messages the worker received " + strconv.Itoa(f.Messages)},
		{"channels", strconv.Itoa(f.Channels), countsOf(f.ByKind, "%v %d")},
		{"  that must end closed", strconv.Itoa(f.MustClose), ""},
		{"Twilio requests (worker)", strconv.Itoa(f.TwilioRequests), ""},
		{"  injected failures", strconv.Itoa(injected), pct(injected, f.TwilioRequests) + ": " + countsByName(f.Injected)},
		{"  refusals (400) of the refused channels", strconv.Itoa(f.Refusals), ""},
		{"worker invocations", strconv.Itoa(f.Invocations), ""},
		{"worker job lines", strconv.Itoa(total(f.Jobs)), countsByName(f.Jobs)},
		{"  replaying a recorded outcome", strconv.Itoa(f.Replayed), ""},
		{"close events failed for good, with a reason", strconv.Itoa(f.FailedPermanent), ""},
		{"close jobs in the dead-letter queue", strconv.Itoa(f.DeadLetters), ""},
		{"time", round(f.Send + f.Drain), "sending " + round(f.Send) + ", then draining the queue " + round(f.Drain)},
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%6s  %s\n", r[0], r[1], r[2])
	}
	fmt.Fprintf(tw, "CHECK\t%6s  %6s\n", "WANT", "GOT")
	for _, c := range f.Checks() {
		mark := "ok"
		if !c.OK() {
			mark = "FAILED"
		}
		fmt.Fprintf(tw, "%s\t%6d  %6d  %s\n", c.Name, c.Want, c.Got, mark)
	}
	return tw.Flush()
}

// countsOf renders m in key order, each entry as format renders its key
// and count, or "none".
func countsOf[K cmp.Ordered](m map[K]int, format string) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf(format, k, m[k]))
	}
	return strings.Join(parts, ", ")
}

func countsByName(m map[string]int) string { return countsOf(m, "%s %d") }
