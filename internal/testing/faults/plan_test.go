package faults

import (
	"bytes"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

func testPlan(events int, seed uint64) Plan {
	return NewPlan(PlanOptions{Events: events, DuplicateShare: 0.3, Seed: seed,
		Account: "AC00000000000000000000000000000001", Workspace: "WS00000000000000000000000000000001"})
}

func TestNewPlanIsDeterministic(t *testing.T) {
	a, b := testPlan(3000, 9), testPlan(3000, 9)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("NewPlan twice with the same options gave different plans")
	}
	if c := testPlan(3000, 10); reflect.DeepEqual(a.Events, c.Events) {
		t.Errorf("NewPlan with another seed gave the same events")
	}
}

func TestNewPlanShape(t *testing.T) {
	for _, n := range []int{200, 2000, 10000} {
		p := testPlan(n, 1)
		if len(p.Sends) != n {
			t.Errorf("NewPlan(%d): %d sends", n, len(p.Sends))
		}
		// The last channel's story may run a few events past the unique
		// events asked for, which leaves that many fewer duplicates.
		if d, want := p.Duplicates(), int(0.3*float64(n)); d > want || d < want-len(story(Transferred)) {
			t.Errorf("NewPlan(%d): %d duplicates, want %d, or a story's length less", n, d, want)
		}
		kinds := map[Kind]int{}
		for _, c := range p.Channels {
			kinds[c.Kind]++
		}
		if kinds[Refused] < minRare || kinds[Throttled] < minRare || kinds[Transferred] == 0 || kinds[InTransfer] == 0 {
			t.Errorf("NewPlan(%d): kinds %v, want every story, at least %d refused and throttled", n, kinds, minRare)
		}

		// Every unique event is sent first as an original, every duplicate
		// after its original.
		sent := make([]bool, len(p.Events))
		for i, s := range p.Sends {
			switch {
			case !s.Duplicate && sent[s.Event]:
				t.Fatalf("NewPlan(%d): send %d repeats event %d as an original", n, i, s.Event)
			case s.Duplicate && !sent[s.Event]:
				t.Fatalf("NewPlan(%d): send %d duplicates event %d before it was sent", n, i, s.Event)
			}
			sent[s.Event] = true
		}

		// Each channel's events follow its story, in order; close events
		// are what the webhook's rules close on, and each has its own key.
		keys := map[string]bool{}
		next := make([]int, len(p.Channels))
		rules := taskrouter.Rules{CloseEvents: CloseEvents()}
		for _, e := range p.Events {
			st := story(p.Channels[e.Channel].Kind)
			want := st[next[e.Channel]]
			next[e.Channel]++
			if e.Type != want.typ || e.Task != want.task || e.Status != want.status {
				t.Fatalf("NewPlan(%d): channel %d event %+v, want %+v", n, e.Channel, e, want)
			}
			ev, err := taskrouter.Parse(p.Form(e))
			if err != nil {
				t.Fatalf("NewPlan(%d): the form of %+v does not parse: %v", n, e, err)
			}
			d, err := rules.Decide(ev)
			if err != nil || d.Close != e.Closes || (d.Close && d.Channel.ChannelSID != p.Channels[e.Channel].ChannelSID) {
				t.Fatalf("NewPlan(%d): %+v decides %+v, %v; want close %v", n, e, d, err, e.Closes)
			}
			if e.Closes {
				if keys[p.Key(e)] {
					t.Fatalf("NewPlan(%d): key %s twice", n, p.Key(e))
				}
				keys[p.Key(e)] = true
			}
		}
		for i, c := range p.Channels {
			if next[i] != len(story(c.Kind)) {
				t.Errorf("NewPlan(%d): channel %d has %d of its %d events", n, i, next[i], len(story(c.Kind)))
			}
		}
	}
}

func TestStories(t *testing.T) {
	live := func(status string) bool {
		return !slices.Contains([]string{flextest.TaskCompleted, flextest.TaskCanceled}, status)
	}
	for _, k := range Kinds() {
		// Replay a story's statuses: the channel must end closed exactly
		// when every task has ended.
		status := map[int]string{}
		for _, s := range story(k) {
			status[s.task] = s.status
		}
		anyLive := false
		for _, s := range status {
			anyLive = anyLive || live(s)
		}
		if k.MustClose() == anyLive && k != Refused && k != Throttled {
			t.Errorf("story %s ends with tasks %v but MustClose is %v", k, status, k.MustClose())
		}
	}
}

func TestFiguresTable(t *testing.T) {
	f := Figures{Events: 10, Duplicates: 3, CloseEvents: 2, Channels: 2, MustClose: 2, CloseEffects: 2,
		ByKind: map[Kind]int{Handled: 2}, Answers: map[int]int{204: 10}, Jobs: map[string]int{"closed": 2}}
	var b bytes.Buffer
	if err := f.WriteTable(&b); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"duplicates (an event sent again)", "30.0 %", "204 ×10", "handled 2", "closed 2", "Flex close effects == channels that must close", "ok"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("table lacks %q:\n%s", want, b.String())
		}
	}
	if !f.OK() || strings.Contains(b.String(), "FAILED") {
		t.Errorf("figures with every check holding: OK %v\n%s", f.OK(), b.String())
	}
	f.Lost, f.CloseEffects = 1, 1
	b.Reset()
	f.WriteTable(&b)
	if f.OK() || strings.Count(b.String(), "FAILED") != 2 {
		t.Errorf("figures with a lost event and a missing close: OK %v\n%s", f.OK(), b.String())
	}
}
