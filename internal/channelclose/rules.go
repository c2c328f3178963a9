package channelclose

import (
	"slices"

	"github.com/flexhook/flexhook/internal/flex"
)

// ChannelRule is one line of the look-before-closing table: for a job of
// these sources finding the channel in one of these statuses, send the
// update or stop with Outcome.
type ChannelRule struct {
	// CRM is true for the rows of CRM jobs, false for automatic closes
	// (TaskRouter, sweeper, and jobs without a source).
	CRM bool
	// Statuses are the channel statuses the row applies to; nil matches
	// any status not matched by an earlier row.
	Statuses []string
	// Asked limits the row to jobs asking for this status (closed or
	// inactive); empty matches either.
	Asked string
	// Update is true when the update is sent (after the live-task guard,
	// when the job has one): the outcome is then closed, or
	// skipped_live_task, already_closed, not_found from the steps after.
	Update bool
	// Outcome is the result when Update is false.
	Outcome Outcome
}

// channelRules is the table ChannelRules copies. It is never modified.
var channelRules = [...]ChannelRule{
	// An automatic close acts only on an active channel: an inactive one
	// is waiting for the customer on purpose (Flex's Leave).
	{Statuses: []string{flex.StatusActive}, Update: true},
	{Statuses: []string{flex.StatusClosed, flex.StatusInactive}, Outcome: AlreadyClosed},
	{Statuses: []string{flex.StatusFailed}, Outcome: NotClosable},
	{Outcome: SkippedChannelState},
	// A CRM means it: it also closes an inactive channel, unless it asks
	// for inactive again.
	{CRM: true, Statuses: []string{flex.StatusActive}, Update: true},
	{CRM: true, Statuses: []string{flex.StatusInactive}, Asked: flex.StatusInactive, Outcome: AlreadyClosed},
	{CRM: true, Statuses: []string{flex.StatusInactive}, Asked: flex.StatusClosed, Update: true},
	{CRM: true, Statuses: []string{flex.StatusClosed}, Outcome: AlreadyClosed},
	{CRM: true, Statuses: []string{flex.StatusFailed}, Outcome: NotClosable},
	{CRM: true, Outcome: SkippedChannelState},
}

// ChannelRules returns the look-before-closing table in the order Close
// reads it (the first matching row of the job's kind decides).
func ChannelRules() []ChannelRule {
	out := make([]ChannelRule, len(channelRules))
	for i, r := range channelRules {
		r.Statuses = slices.Clone(r.Statuses)
		out[i] = r
	}
	return out
}

// ChannelRuleFor returns the row deciding a job from source that asks for
// status asked and finds the channel in status current.
func ChannelRuleFor(source, current, asked string) ChannelRule {
	crm := source == SourceCRM
	for _, r := range channelRules {
		if r.CRM == crm && (r.Statuses == nil || slices.Contains(r.Statuses, current)) && (r.Asked == "" || r.Asked == asked) {
			return r
		}
	}
	// Unreachable: each kind ends in a catch-all row.
	return ChannelRule{CRM: crm, Outcome: SkippedChannelState}
}
