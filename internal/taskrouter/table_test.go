package taskrouter

import (
	"slices"
	"testing"

	"github.com/flexhook/flexhook/internal/config"
)

// TestDecideTable checks Decide on every close event and every status
// against the rules of issue 9, written out here independently of the
// table.
func TestDecideTable(t *testing.T) {
	r := Rules{CloseEvents: CloseEventTypes()}
	base, _ := Parse(validForm())
	statuses := []string{"", "pending", "reserved", "assigned", "wrapping", "canceled", "completed", "bogus"}
	for _, typ := range CloseEventTypes() {
		for _, st := range statuses {
			var wantClose bool
			var wantReason string
			switch {
			case typ == "task.canceled" || typ == "workflow.timeout":
				wantClose = st == "canceled"
			case typ == "task.completed":
				wantClose = st == "completed"
			default: // deletions
				wantClose = slices.Contains([]string{"pending", "reserved", "assigned", "wrapping"}, st)
				if st == "canceled" || st == "completed" {
					wantReason = ReasonTaskAlreadyEnded
				}
			}
			switch {
			case wantClose:
				wantReason = ReasonCloseEvent
			case st == "":
				wantReason = ReasonStatusMissing
			case wantReason == "":
				wantReason = ReasonStatusMismatch
			}
			ev := base
			ev.Type, ev.AssignmentStatus = typ, st
			d, err := r.Decide(ev)
			if err != nil || d.Close != wantClose || d.Reason != wantReason {
				t.Errorf("Decide(%s, status %q) = close %v reason %q (%v); want close %v reason %q", typ, st, d.Close, d.Reason, err, wantClose, wantReason)
			}
			if !d.Row.Matches(typ, st) || d.Row.Close != d.Close {
				t.Errorf("Decide(%s, status %q).Row = %+v, does not match the event", typ, st, d.Row)
			}
			if d.Close && (d.Channel != Channel{kd, uo}) {
				t.Errorf("Decide(%s, %q) channel = %v", typ, st, d.Channel)
			}
		}
	}
}

func TestDecideNoRule(t *testing.T) {
	ev, _ := Parse(validForm())
	ev.Type = "task.wrapup"
	d, err := Rules{CloseEvents: []string{"task.wrapup"}}.Decide(ev)
	if err != nil || d.Close || d.Reason != ReasonNoRule {
		t.Errorf("Decide(task.wrapup configured) = %+v, %v; want ignore %s", d, err, ReasonNoRule)
	}
}

// TestDecisionRowsTotal checks that every known event ends in a catch-all
// row and that DecisionRows returns a copy.
func TestDecisionRowsTotal(t *testing.T) {
	rows := DecisionRows()
	last := rows[len(rows)-1]
	if last.Statuses != nil || last.Close {
		t.Fatalf("last row = %+v, want an ignore row for any status", last)
	}
	for _, e := range CloseEventTypes() {
		if !last.Matches(e, "anything") {
			t.Errorf("last row does not cover %s", e)
		}
	}
	rows[0].Events[0] = "mutated"
	if DecisionRows()[0].Events[0] == "mutated" {
		t.Errorf("DecisionRows shares its slices with the table")
	}
}

// TestCloseEventTypesMatchConfig keeps TASKROUTER_CLOSE_EVENTS's allowed
// list and default equal to what the decision table knows.
func TestCloseEventTypesMatchConfig(t *testing.T) {
	got, want := slices.Sorted(slices.Values(config.CloseEventTypes)), slices.Sorted(slices.Values(CloseEventTypes()))
	if !slices.Equal(got, want) {
		t.Errorf("config.CloseEventTypes = %v, want the table's %v", got, want)
	}
	for _, e := range config.DefaultCloseEvents {
		if !slices.Contains(want, e) {
			t.Errorf("default close event %s is not in the table", e)
		}
	}
}
