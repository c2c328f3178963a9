package flex

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"

	"github.com/flexhook/flexhook/internal/sid"
)

// Channel statuses (Interaction Channel resource).
const (
	StatusActive   = "active"
	StatusClosed   = "closed"
	StatusInactive = "inactive"
	// StatusFailed: the interaction's creation failed (its task is
	// canceled); there is nothing to close.
	StatusFailed = "failed"
)

// ChannelRef names an Interaction Channel.
type ChannelRef struct {
	InteractionSID string // KD…
	ChannelSID     string // UO…
}

// Validate reports ErrInvalidSID unless both SIDs are well formed.
func (r ChannelRef) Validate() error {
	return checkSIDs(sidCheck{"interaction_sid", sid.Interaction, r.InteractionSID}, sidCheck{"channel_sid", sid.Channel, r.ChannelSID})
}

// Channel is the part of an Interaction Channel flexhook reads.
type Channel struct {
	InteractionSID string
	SID            string
	Type           string
	Status         string // setup, active, failed, closed, inactive, …
}

// CloseResult describes a successful close.
type CloseResult struct {
	// Status is the channel's status after the call.
	Status string
	// AlreadyClosed is true when Twilio refused the update because the
	// channel was already closed or inactive: the close is idempotent.
	AlreadyClosed bool
	// Attempts counts every HTTP request made, the fetch included.
	Attempts int
}

// ErrNotClosed: Twilio refused the close and the channel is still open.
var ErrNotClosed = errors.New("channel is still open")

// routingClosed is the only Routing value Twilio allows; it completes the
// channel's tasks. It marshals to {"status":"closed"}.
type routingClosed struct {
	Status string `json:"status"`
}

// CloseChannel sets the channel's status to closed or inactive, sending
// Routing={"status":"closed"} when routing is true (Twilio requires it with
// inactive, so it is always sent then).
//
// Closing is idempotent: when Twilio refuses the update with a 4xx other than
// 401, 404 or 429, the channel is fetched and a channel already closed, or
// already in the status asked, counts as success (AlreadyClosed); an
// inactive channel refused a close is ErrNotClosed. A missing channel is ErrNotFound.
// Other failures are *Error; see Error.RetryableError.
func (c *Client) CloseChannel(ctx context.Context, ch ChannelRef, status string, routing bool) (CloseResult, error) {
	if err := ch.Validate(); err != nil {
		return CloseResult{}, err
	}
	if status != StatusClosed && status != StatusInactive {
		return CloseResult{}, fmt.Errorf("close channel %s: status %q is neither closed nor inactive", ch.ChannelSID, status)
	}
	p := (&flexv1.UpdateInteractionChannelParams{}).SetStatus(status)
	if routing || status == StatusInactive {
		p.SetRouting(routingClosed{Status: "closed"})
	}
	var got *flexv1.FlexV1InteractionChannel
	attempts, err := c.do(ctx, "close channel "+ch.ChannelSID, func(s services) (err error) {
		got, err = s.flex.UpdateInteractionChannel(ch.InteractionSID, ch.ChannelSID, p)
		return err
	})
	if err == nil {
		st := status
		if got != nil && got.Status != nil {
			st = *got.Status
		}
		return CloseResult{Status: st, Attempts: attempts}, nil
	}
	var fe *Error
	if !errors.As(err, &fe) {
		return CloseResult{Attempts: attempts}, err
	}
	switch {
	case fe.Status/100 == 2:
		// Twilio accepted the update but the body did not decode.
		return CloseResult{Status: status, Attempts: attempts}, nil
	case fe.Status >= 400 && fe.Status < 500 && !fe.retryable &&
		fe.Status != http.StatusUnauthorized && fe.Status != http.StatusNotFound:
		// Maybe a repeat close of a channel that is already done: look.
		cur, n, ferr := c.fetchChannel(ctx, ch)
		attempts += n
		var fetchErr *Error
		switch {
		case ferr == nil:
		case errors.Is(ferr, ErrNotFound) || (errors.As(ferr, &fetchErr) && fetchErr.retryable):
			// Gone, or unknown for now: the fetch's own class decides, so
			// a refused repeat close on a busy Twilio is retried rather
			// than recorded as a failure.
			return CloseResult{Attempts: attempts}, ferr
		default:
			return CloseResult{Attempts: attempts}, fmt.Errorf("%w (and fetching it failed: %v)", err, ferr)
		}
		// Done already: closed (which also ends an inactive ask), or the
		// very status asked. An inactive channel when closed was asked is
		// not done: the close was refused.
		if cur.Status == StatusClosed || cur.Status == status {
			return CloseResult{Status: cur.Status, AlreadyClosed: true, Attempts: attempts}, nil
		}
		fe.Err = fmt.Errorf("%w: status %s: %v", ErrNotClosed, cur.Status, fe.Err)
		return CloseResult{Attempts: attempts}, fe
	}
	return CloseResult{Attempts: attempts}, err
}

// FetchChannelCounted reads an Interaction Channel and returns the number of
// HTTP attempts made, so callers can count the look as an upstream call.
func (c *Client) FetchChannelCounted(ctx context.Context, ch ChannelRef) (Channel, int, error) {
	if err := ch.Validate(); err != nil {
		return Channel{}, 0, err
	}
	return c.fetchChannel(ctx, ch)
}

func (c *Client) fetchChannel(ctx context.Context, ch ChannelRef) (Channel, int, error) {
	var got *flexv1.FlexV1InteractionChannel
	attempts, err := c.do(ctx, "fetch channel "+ch.ChannelSID, func(s services) (err error) {
		got, err = s.flex.FetchInteractionChannel(ch.InteractionSID, ch.ChannelSID)
		return err
	})
	if err != nil {
		return Channel{}, attempts, err
	}
	return Channel{
		InteractionSID: deref(got.InteractionSid, ch.InteractionSID),
		SID:            deref(got.Sid, ch.ChannelSID),
		Type:           deref(got.Type, ""),
		Status:         deref(got.Status, ""),
	}, attempts, nil
}

func deref(p *string, def string) string {
	if p == nil {
		return def
	}
	return *p
}
