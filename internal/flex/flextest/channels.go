package flextest

import (
	"encoding/json"
	"net/http"
)

// msgInvalidStatus is the message of Flex error 45359 for a status the
// channel cannot move to.
const msgInvalidStatus = "Failed to close Channel. Invalid status parameter."

// channelJSON is the Interaction Channel resource as Twilio answers it.
type channelJSON struct {
	SID            string            `json:"sid"`
	InteractionSID string            `json:"interaction_sid"`
	Type           string            `json:"type"`
	Status         string            `json:"status"`
	ErrorCode      *int              `json:"error_code"`
	ErrorMessage   *string           `json:"error_message"`
	URL            string            `json:"url"`
	Links          map[string]string `json:"links"`
}

func (s *Server) channelJSON(c *Channel) channelJSON {
	u := flexURL + "/v1/Interactions/" + c.InteractionSID + "/Channels/" + c.SID
	j := channelJSON{
		SID:            c.SID,
		InteractionSID: c.InteractionSID,
		Type:           c.Type,
		Status:         c.Status,
		ErrorMessage:   optional(c.ErrorMessage),
		URL:            u,
		Links: map[string]string{
			"invites":      u + "/Invites",
			"transfers":    u + "/Transfers",
			"participants": u + "/Participants",
		},
	}
	if c.ErrorCode != 0 {
		j.ErrorCode = &c.ErrorCode
	}
	return j
}

// serveChannel answers GET /v1/Interactions/{KD}/Channels/{UO} (fetch)
// and POST (update).
func (s *Server) serveChannel(r *http.Request, ids []string) *response {
	c, ok := s.channels[channelKey(ids[0], ids[1])]
	if !ok {
		return notFound(r.URL.Path)
	}
	if r.Method == http.MethodGet {
		return jsonResponse(http.StatusOK, s.channelJSON(c))
	}
	form := r.PostForm

	status := form.Get("Status")
	switch status {
	case "":
		return twilioError(http.StatusBadRequest, 45358, "Failed to close Channel. Missing status parameter.")
	case ChannelClosed, ChannelInactive:
	default:
		return twilioError(http.StatusBadRequest, 45359, msgInvalidStatus)
	}
	_, hasRouting := form["Routing"]
	if hasRouting && !routingClosed(form.Get("Routing")) {
		return twilioError(http.StatusBadRequest, 20001, "Invalid Routing parameter")
	}
	if status == ChannelInactive && !hasRouting {
		return twilioError(http.StatusBadRequest, 20001,
			"Routing status is required when the channel status is set to inactive")
	}

	switch {
	case c.Status == ChannelClosed || (c.Status == ChannelInactive && status == ChannelInactive):
		if s.o.RepeatClose == RepeatCloseError {
			return twilioError(http.StatusBadRequest, 45359,
				"Failed to close Channel. Channel "+c.SID+" is already "+c.Status+".")
		}
		return jsonResponse(http.StatusOK, s.channelJSON(c))
	case !canMove(c.Status, status):
		return twilioError(http.StatusBadRequest, 45359, msgInvalidStatus)
	}

	c.Status = status
	s.closeCounts[c.SID]++
	s.closeTasks(c.SID, status, hasRouting)
	return jsonResponse(http.StatusOK, s.channelJSON(c))
}

// canMove reports whether a channel may move from status from to status to
// through the update endpoint.
func canMove(from, to string) bool {
	switch from {
	case ChannelSetup, ChannelActive, ChannelTransfer:
		return true
	case ChannelInactive, ChannelPause:
		return to == ChannelClosed
	}
	return false
}

// routingClosed reports whether v is the JSON object {"status":"closed"},
// whatever its whitespace.
func routingClosed(v string) bool {
	var m map[string]any
	if err := json.Unmarshal([]byte(v), &m); err != nil || len(m) != 1 {
		return false
	}
	return m["status"] == "closed"
}

// closeTasks applies the documented effect of closing channel uo on its
// live tasks: with Routing {"status":"closed"} they are completed, without
// it reserved and assigned tasks go to wrapping. Pending tasks, which no
// agent holds, are canceled in both cases. s.mu must be held.
func (s *Server) closeTasks(uo, status string, routingClosed bool) {
	reason := "Flex interaction channel " + status
	for _, t := range s.byChannel[uo] {
		if !liveTask(t.AssignmentStatus) {
			continue
		}
		switch {
		case t.AssignmentStatus == TaskPending:
			s.setTaskStatus(t, TaskCanceled, reason)
		case routingClosed:
			s.setTaskStatus(t, TaskCompleted, reason)
		case t.AssignmentStatus != TaskWrapping:
			s.setTaskStatus(t, TaskWrapping, "")
		}
	}
}
