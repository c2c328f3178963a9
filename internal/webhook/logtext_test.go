package webhook

import (
	"context"
	"strings"
	"testing"
)

// A CRM that puts a customer's data in a SID field gets a 422 quoting an
// excerpt of it, to find its bug; the log line names the field and the
// rule only.
func TestCRMValueExcerptStaysOutOfLogs(t *testing.T) {
	e := newEdge(t, nil)
	r := e.invoke(context.Background(), e.signedCRM(`{"interaction_sid":"KDAda Lovelace, 12 St James's Square","channel_sid":"`+edgeUO+`"}`))
	if r.Status != 422 || !strings.Contains(string(r.Body), `KDAda Lovel`) {
		t.Errorf("response = %d %s, want 422 quoting the start of the value", r.Status, r.Body)
	}
	logs := e.logs.String()
	if strings.Contains(logs, "Ada Lovel") || !strings.Contains(logs, `"error":"crm: interaction_sid: must be a Flex Interaction SID`) {
		t.Errorf("log = %s, want the field and reason without the value", logs)
	}
}
