package webhook

import (
	"context"
	"fmt"
	"mime"
	"net/url"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/closejob"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/secrets"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// taskRouter handles POST /taskrouter: authenticate, parse, decide, and
// close the channel unless another live task still uses it. Every handled or
// deliberately ignored event is answered 204, as TaskRouter expects.
func (h *Handler) taskRouter(ctx context.Context, req *gateway.Request, rec *record) (gateway.Response, error) {
	form, err := readTaskRouterBody(req)
	if err != nil {
		return gateway.Response{}, err
	}
	sec, err := h.verifyTaskRouter(ctx, req, form)
	if err != nil {
		return gateway.Response{}, err
	}
	ev, err := taskrouter.Parse(form)
	if err != nil {
		return gateway.Response{}, err
	}
	rec.eventType, rec.taskSID = ev.Type, ev.TaskSID
	if err := ev.CheckAccount(sec.AccountSID); err != nil {
		return gateway.Response{}, err
	}
	if err := ev.CheckAge(h.now(), h.cfg.MaxEventAge); err != nil {
		return gateway.Response{}, err
	}
	d, err := h.rules.Decide(ev)
	if err != nil {
		return gateway.Response{}, err
	}
	if !d.Close {
		rec.outcome, rec.reason = outcomeIgnored, d.Reason
		return noContent(), nil
	}
	rec.interaction, rec.channel = d.Channel.InteractionSID, d.Channel.ChannelSID
	job := taskRouterJob(h.cfg, ev, d)
	var key string
	if h.keyed() {
		key = closejob.TaskRouterKey(ev.Type, ev.TaskSID)
	}
	res, queued, err := h.dispatch(ctx, key, job, rec)
	if err != nil {
		return gateway.Response{}, err
	}
	if !queued {
		rec.outcome, rec.liveTask = string(res.Outcome), res.LiveTaskSID
	}
	// A channel that no longer exists cannot be closed, and telling
	// TaskRouter otherwise achieves nothing: log it and acknowledge.
	return noContent(), nil
}

// taskRouterJob is the close job for an event the rules decided to close:
// the configured status and routing, with the live-task guard on.
func taskRouterJob(cfg config.Webhook, ev taskrouter.Event, d taskrouter.Decision) channelclose.Job {
	return channelclose.Job{
		Source:         "taskrouter",
		EventType:      ev.Type,
		WorkspaceSID:   ev.WorkspaceSID,
		TaskSID:        ev.TaskSID,
		InteractionSID: d.Channel.InteractionSID,
		ChannelSID:     d.Channel.ChannelSID,
		Status:         cfg.CloseStatus,
		Routing:        cfg.Routing(cfg.CloseStatus),
		Guard:          true,
	}
}

// readTaskRouterBody parses the body by its content type: a form, or JSON
// for webhooks signed with bodySHA256.
func readTaskRouterBody(req *gateway.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil {
		return nil, fmt.Errorf("%w: send application/x-www-form-urlencoded", errMediaType)
	}
	switch mt {
	case "application/x-www-form-urlencoded":
		return taskrouter.ParseForm(req.Body)
	case "application/json":
		q, _ := url.ParseQuery(req.RawQuery)
		if q.Get("bodySHA256") == "" {
			return nil, fmt.Errorf("%w: JSON is accepted only with a bodySHA256 query parameter", errMediaType)
		}
		return taskrouter.ParseJSON(req.Body)
	}
	return nil, fmt.Errorf("%w: send application/x-www-form-urlencoded", errMediaType)
}

// verifyTaskRouter checks X-Twilio-Signature with every current auth token.
// A mismatch may mean the token was rotated since the secret was cached, so
// the secret is refreshed (at most once a minute, see secrets.Cache.Refresh)
// and the check repeated once.
func (h *Handler) verifyTaskRouter(ctx context.Context, req *gateway.Request, form url.Values) (*secrets.Twilio, error) {
	sigs := req.Header.Values(taskrouter.SignatureHeader)
	switch {
	case len(sigs) == 0 || sigs[0] == "":
		return nil, taskrouter.ErrNotSigned
	case len(sigs) > 1:
		return nil, fmt.Errorf("%w: repeated %s header", taskrouter.ErrBadSignature, taskrouter.SignatureHeader)
	}
	return h.verifyFresh(ctx, func(s *secrets.Twilio) error {
		return taskrouter.Verify(req.PublicURL, form, req.Body, sigs[0], reveal(s.AuthTokens)...)
	}, taskrouter.ErrBadSignature)
}

func reveal(vs []secrets.Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Reveal()
	}
	return out
}
