package preview

import (
	"fmt"
	"strings"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// DecisionTable renders, as a Markdown table, when a channel is closed:
// event × task status × channel status → action and outcome. It is built
// from the code's own tables — taskrouter.DecisionRows (the event and the
// task's status) and channelclose.ChannelRules (the channel's status) — so the
// README, which embeds it, cannot drift from the code (see the README test).
func DecisionTable() string {
	var b strings.Builder
	b.WriteString("| Event | Task status (`TaskAssignmentStatus`) | Channel status | Action | Outcome |\n")
	b.WriteString("|---|---|---|---|---|\n")
	row := func(cells ...string) { b.WriteString("| " + strings.Join(cells, " | ") + " |\n") }
	row("a type not in `"+config.EnvCloseEvents+"`", "any", "—", "ignore", outcome("ignored", taskrouter.ReasonNotConfigured))
	row("an event without a `TaskSid`", "—", "—", "ignore", outcome("ignored", taskrouter.ReasonNotTask))
	for _, r := range taskrouter.DecisionRows() {
		events, status := codes(r.Events), statusCell(r.Statuses)
		if !r.Close {
			row(events, status, "—", "ignore", outcome("ignored", r.Reason))
			continue
		}
		row(events, status, "any; the task has no Interaction Channel", "ignore", outcome("ignored", taskrouter.ReasonNotFlex))
		channelRows(row, events, status, false)
	}
	channelRows(row, "CRM close naming the channel", "—", true)
	channelRows(row, "CRM close naming a task (`task_sid`)", "—", true)
	return b.String()
}

// channelRows adds the look-before-closing rows of one kind of close.
func channelRows(row func(...string), events, status string, crm bool) {
	guard := !crm || strings.Contains(events, "task_sid")
	for _, c := range channelclose.ChannelRules() {
		if c.CRM != crm {
			continue
		}
		ch := channelCell(c)
		if !c.Update {
			row(events, status, ch, "no update", outcome(string(c.Outcome), ""))
			continue
		}
		if guard {
			row(events, status, ch, "live-task guard, then update", "`closed`; `skipped_live_task` when another task of the channel is live")
		} else {
			row(events, status, ch, "update", "`closed`")
		}
	}
	row(events, status, "missing (404)", "no update", outcome(string(channelclose.NotFound), ""))
}

func channelCell(c channelclose.ChannelRule) string {
	s := "any other"
	if c.Statuses != nil {
		s = codes(c.Statuses)
	}
	if c.Asked != "" {
		s += fmt.Sprintf(" (asked `%s`)", c.Asked)
	}
	return s
}

func statusCell(statuses []string) string {
	switch {
	case statuses == nil:
		return "any other"
	case len(statuses) == 1 && statuses[0] == "":
		return "missing"
	}
	return codes(statuses)
}

func codes(vs []string) string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = "`" + v + "`"
	}
	return strings.Join(out, ", ")
}

func outcome(o, reason string) string {
	if reason == "" {
		return "`" + o + "`"
	}
	return fmt.Sprintf("`%s` (`%s`)", o, reason)
}

// RowText describes a decision-table row on one line, for explain's report.
func RowText(r taskrouter.Row) string {
	return fmt.Sprintf("%s × task %s → %s (%s)", strings.Join(r.Events, ", "), strings.ReplaceAll(statusCell(r.Statuses), "`", ""), r.Action(), r.Reason)
}
