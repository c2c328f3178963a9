package webhook

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/taskrouter"
	"github.com/flexhook/flexhook/internal/testing/hostile"
)

// hostileRow is one hostile request and the status it must get.
type hostileRow struct {
	name    string
	payload []byte
	status  int
}

// rawV2 is a payload 2.0 event written by hand, for shapes NewHTTPEvent
// never produces (bad base64, odd headers).
func rawV2(method, path string, headers map[string]string, body string, b64 bool) []byte {
	return rawV2Domain(publicHost, method, path, headers, body, b64)
}

// rawV2Domain is rawV2 with requestContext.domainName set to domain.
func rawV2Domain(domain, method, path string, headers map[string]string, body string, b64 bool) []byte {
	ev := map[string]any{
		"version": "2.0", "rawPath": path, "rawQueryString": "",
		"headers": headers, "body": body, "isBase64Encoded": b64,
		"requestContext": map[string]any{"domainName": domain, "requestId": "req-raw",
			"http": map[string]any{"method": method, "path": path, "sourceIp": "203.0.113.9"}},
	}
	b, err := json.Marshal(ev)
	if err != nil {
		panic(err)
	}
	return b
}

// hostileRows is the hostile table: at least 50 requests, each with the
// 4xx it must get (or 204 for an event that is safe to ignore), none of
// which may reach Twilio. Rows marked "signed" carry a valid signature or
// token, so they prove validation and not only authentication.
func hostileRows(e *edge) []hostileRow {
	good := func() url.Values { return e.form("task.canceled", e.task) }
	with := func(k, v string) url.Values {
		f := good()
		f.Set(k, v)
		return f
	}
	without := func(k string) url.Values {
		f := good()
		f.Del(k)
		return f
	}
	attrs := func(kd, uo string) string {
		b, _ := json.Marshal(map[string]string{"flexInteractionSid": kd, "flexInteractionChannelSid": uo, "customerName": "Ada"})
		return string(b)
	}
	goodBody := good().Encode()
	goodSig := taskrouter.Sign(authToken, taskRouterURL, good())
	formHeader := func(sigs ...string) http.Header {
		h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
		if len(sigs) > 0 {
			h[taskrouter.SignatureHeader] = sigs
		}
		return h
	}
	trEvent := func(h http.Header, body string) []byte {
		return e.event(http.MethodPost, taskRouterURL, h, []byte(body))
	}
	rest := func(u string, h http.Header, body string) []byte {
		ev, err := gatewaytest.NewRESTEvent(http.MethodPost, u, h, []byte(body), gatewaytest.EventOptions{Time: e.clock.Now()})
		if err != nil {
			e.tb.Fatal(err)
		}
		return ev
	}
	closeJSON := func(kd, uo string) string {
		b, _ := json.Marshal(map[string]string{"interaction_sid": kd, "channel_sid": uo})
		return string(b)
	}
	goodCRM := closeJSON(edgeKD, edgeUO)
	crmAt := func(ts time.Time) http.Header {
		h, err := crm.Sign(crmSecret, "msg_hostile", ts, []byte(goodCRM))
		if err != nil {
			e.tb.Fatal(err)
		}
		h.Set("Content-Type", "application/json")
		return h
	}
	jsonHeader := func(kv ...string) http.Header {
		h := http.Header{"Content-Type": {"application/json"}}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Add(kv[i], kv[i+1])
		}
		return h
	}
	bodySHA := func(body string) string {
		s := sha256.Sum256([]byte(body))
		return hex.EncodeToString(s[:])
	}
	jsonEvent := `{"EventType":"task.canceled","AccountSid":"` + acct + `","WorkspaceSid":"` + ws + `","TaskSid":"` + edgeWT + `","TaskAttributes":"{\"flexInteractionSid\":\"` + edgeKD + `\",\"flexInteractionChannelSid\":\"` + edgeUO + `\"}"}`
	jsonURL := taskRouterURL + "?bodySHA256=" + bodySHA(jsonEvent)

	rows := []hostileRow{
		// Size limits: refused before any parsing or authentication.
		{"7 MB form body", trEvent(formHeader(goodSig), string(hostile.Body(7<<20))), 413},
		{"7 MB CRM body", e.event(http.MethodPost, crmURL, jsonHeader(), hostile.Body(7<<20)), 413},
		{"body one byte over the cap", trEvent(formHeader(goodSig), string(hostile.Body(MaxBody+1))), 413},
		{"base64 body over the cap, never decoded", rawV2("POST", "/taskrouter", map[string]string{"content-type": "application/x-www-form-urlencoded"}, strings.Repeat("QUFB", MaxBody/3+1), true), 413},

		// Event shape and encoding.
		{"malformed base64 with isBase64Encoded", rawV2("POST", "/taskrouter", map[string]string{"content-type": "application/x-www-form-urlencoded", "x-twilio-signature": goodSig}, "%%%not base64", true), 400},
		{"base64 with a NUL inside", rawV2("POST", "/taskrouter", map[string]string{"content-type": "application/x-www-form-urlencoded"}, "QUFB\x00QUFB", true), 400},
		{"payload not JSON", []byte("EventType=task.canceled&AccountSid=" + acct), 400},
		{"payload JSON array", []byte(`[{"version":"2.0"}]`), 400},
		{"payload null", []byte(`null`), 400},
		{"payload deeply nested", []byte(hostile.Nested(100000)), 400},
		{"unknown payload version", []byte(`{"version":"3.0","rawPath":"/taskrouter","requestContext":{"http":{"method":"POST"}}}`), 400},
		{"relative rawPath", rawV2("POST", "taskrouter", map[string]string{}, "", false), 400},

		// Routes and methods.
		{"GET /taskrouter", e.event(http.MethodGet, taskRouterURL, formHeader(goodSig), nil), 405},
		{"PUT /taskrouter signed", e.event(http.MethodPut, taskRouterURL, formHeader(goodSig), []byte(goodBody)), 405},
		{"DELETE /crm", e.event(http.MethodDelete, crmURL, jsonHeader("Authorization", "Bearer "+crmToken), []byte(goodCRM)), 405},
		{"lower-case method", rawV2("post", "/admin", map[string]string{}, "", false), 404},
		{"unknown route", e.event(http.MethodPost, "https://"+publicHost+"/admin", formHeader(goodSig), []byte(goodBody)), 404},
		{"dot segments to a route", e.event(http.MethodPost, "https://"+publicHost+"/x/../taskrouter", formHeader(goodSig), []byte(goodBody)), 404},
		{"encoded slash in the route", e.event(http.MethodPost, "https://"+publicHost+"/task%2Frouter", formHeader(goodSig), []byte(goodBody)), 404},
		{"route in another case", e.event(http.MethodPost, "https://"+publicHost+"/TaskRouter", formHeader(goodSig), []byte(goodBody)), 404},
		{"trailing slash", e.event(http.MethodPost, taskRouterURL+"/", formHeader(goodSig), []byte(goodBody)), 404},

		// Content types.
		{"JSON on the form route", trEvent(http.Header{"Content-Type": {"application/json"}, taskrouter.SignatureHeader: {goodSig}}, `{"EventType":"task.canceled"}`), 415},
		{"form on the JSON route", e.event(http.MethodPost, crmURL, http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "Authorization": {"Bearer " + crmToken}}, []byte("channel_sid="+edgeUO)), 415},
		{"no content type", trEvent(http.Header{taskrouter.SignatureHeader: {goodSig}}, goodBody), 415},
		{"multipart", trEvent(http.Header{"Content-Type": {"multipart/form-data; boundary=x"}, taskrouter.SignatureHeader: {goodSig}}, goodBody), 415},
		{"header injection in content type", trEvent(http.Header{"Content-Type": {"application/x-www-form-urlencoded\r\nX-Evil: 1"}, taskrouter.SignatureHeader: {goodSig}}, goodBody), 415},

		// Form encoding: refused before the signature is checked.
		{"invalid UTF-8", trEvent(formHeader(goodSig), goodBody+"&Note=%ff%fe"), 400},
		{"raw invalid UTF-8", trEvent(formHeader(goodSig), goodBody+"&Note=\xff"), 400},
		{"NUL byte in a value", trEvent(formHeader(goodSig), goodBody+"&Note=a%00b"), 400},
		{"NUL byte in a key", trEvent(formHeader(goodSig), goodBody+"&No%00te=1"), 400},
		{"duplicate form key", trEvent(formHeader(goodSig), goodBody+"&EventType=task.completed"), 400},
		{"duplicate TaskSid", trEvent(formHeader(goodSig), goodBody+"&TaskSid="+edgeWT), 400},
		{"bad percent escape", trEvent(formHeader(goodSig), goodBody+"&Note=%zz"), 400},
		{"semicolon separator", trEvent(formHeader(goodSig), goodBody+";EventType=task.completed"), 400},

		// Authentication.
		{"empty body, no signature", trEvent(formHeader(), ""), 403},
		{"empty body, signed over nothing", trEvent(formHeader(taskrouter.Sign(authToken, taskRouterURL, nil)), ""), 400},
		{"missing signature", trEvent(formHeader(), goodBody), 403},
		{"empty signature", trEvent(formHeader(""), goodBody), 403},
		{"garbage signature", trEvent(formHeader("AAAAAAAAAAAAAAAAAAAAAAAAAAA="), goodBody), 403},
		{"signature with CRLF", trEvent(formHeader(goodSig+"\r\nX-Evil: 1"), goodBody), 403},
		{"repeated signature header (REST)", rest("https://"+publicHost+"/prod/taskrouter", formHeader(goodSig, goodSig), goodBody), 403},
		{"comma-joined signatures (HTTP API)", trEvent(formHeader(goodSig+","+goodSig), goodBody), 403},
		{"signed by another token", e.signed(good(), "tokenATTACKER000000000"), 403},
		{"signed for another URL", e.event(http.MethodPost, taskRouterURL+"?x=1", formHeader(goodSig), []byte(goodBody)), 403},
		{"forwarded proto downgraded", e.event(http.MethodPost, "http://"+publicHost+"/taskrouter", formHeader(goodSig), []byte(goodBody)), 403},
		{"host header injection", rawV2Domain("", "POST", "/taskrouter", map[string]string{"host": publicHost + "/taskrouter?", "content-type": "application/x-www-form-urlencoded", "x-twilio-signature": goodSig}, goodBody, false), 403},
		{"host header of another site", rawV2("POST", "/taskrouter", map[string]string{"host": "evil.example", "content-type": "application/x-www-form-urlencoded",
			"x-twilio-signature": taskrouter.Sign(authToken, "https://evil.example/taskrouter", good())}, goodBody, false), 403},
		{"tampered TaskSid", trEvent(formHeader(goodSig), with("TaskSid", "WT00000000000000000000000000000e02").Encode()), 403},
		{"JSON body without bodySHA256", trEvent(http.Header{"Content-Type": {"application/json"}, taskrouter.SignatureHeader: {taskrouter.Sign(authToken, taskRouterURL, nil)}}, jsonEvent), 415},
		{"JSON body, hash of another body", e.event(http.MethodPost, jsonURL, http.Header{"Content-Type": {"application/json"}, taskrouter.SignatureHeader: {taskrouter.Sign(authToken, jsonURL, nil)}}, []byte(strings.Replace(jsonEvent, "task.canceled", "task.completed", 1))), 403},
		{"other account, signed", e.signed(with("AccountSid", "AC"+strings.Repeat("f", 32)), authToken), 403},
		{"replayed event, signed", e.signed(with("TimestampMs", strconvUnixMilli(e.clock.Now().Add(-16*time.Minute))), authToken), 403},
		{"old Timestamp without TimestampMs, signed", e.signed(func() url.Values {
			f := without("TimestampMs")
			f.Set("Timestamp", strconvUnix(e.clock.Now().Add(-time.Hour)))
			return f
		}(), authToken), 403},
		{"event from the future, signed", e.signed(with("TimestampMs", strconvUnixMilli(e.clock.Now().Add(time.Hour))), authToken), 403},

		// Signed, hostile content: validation, not authentication.
		{"TimestampMs huge number, signed", e.signed(with("TimestampMs", "99999999999999999999999999"), authToken), 400},
		{"TimestampMs negative, signed", e.signed(with("TimestampMs", "-1"), authToken), 400},
		{"TimestampMs float, signed", e.signed(with("TimestampMs", "1e12"), authToken), 400},
		{"EventType with CRLF, signed", e.signed(with("EventType", "task.canceled\r\nX: y"), authToken), 400},
		{"EventType too long, signed", e.signed(with("EventType", "task."+strings.Repeat("a", 100)), authToken), 400},
		{"WorkspaceSid traversal, signed", e.signed(with("WorkspaceSid", "WS/../../Workspaces/WS1"), authToken), 400},
		{"close event without WorkspaceSid, signed", e.signed(without("WorkspaceSid"), authToken), 400},
		{"TaskAttributes nested 33 deep, signed", e.signed(with("TaskAttributes", hostile.NestedObject("a", 33)), authToken), 400},
		{"TaskAttributes nested 20000 deep, signed", e.signed(with("TaskAttributes", hostile.Nested(20000)), authToken), 400},
		{"TaskAttributes not an object, signed", e.signed(with("TaskAttributes", `"flexInteractionChannelSid"`), authToken), 400},
		{"TaskAttributes huge number SID, signed", e.signed(with("TaskAttributes", `{"flexInteractionSid":`+hostile.HugeNumber+`,"flexInteractionChannelSid":"`+edgeUO+`"}`), authToken), 400},
		{"TaskAttributes channel SID swapped, signed", e.signed(with("TaskAttributes", attrs(edgeUO, edgeKD)), authToken), 400},

		// Ignorable events: 204 and nothing else.
		{"event type not configured, signed", e.signed(e.form("task.created", e.task), authToken), 204},
		{"voice task, signed", e.signed(with("TaskAttributes", `{"call_sid":"CA1","from":"+15551230000"}`), authToken), 204},
		{"worker event without a task, signed", e.signed(func() url.Values {
			f := without("TaskSid")
			f.Set("EventType", "worker.activity.update")
			return f
		}(), authToken), 204},
		{"channel keys in another case, signed", e.signed(with("TaskAttributes", `{"FLEXINTERACTIONSID":"`+edgeKD+`","FLEXINTERACTIONCHANNELSID":"`+edgeUO+`"}`), authToken), 204},

		// CRM authentication.
		{"CRM unsigned", e.event(http.MethodPost, crmURL, jsonHeader(), []byte(goodCRM)), 401},
		{"CRM empty body unsigned", e.event(http.MethodPost, crmURL, jsonHeader(), nil), 401},
		{"CRM wrong bearer", e.event(http.MethodPost, crmURL, jsonHeader("Authorization", "Bearer "+strings.Repeat("x", 24)), []byte(goodCRM)), 401},
		{"CRM basic auth", e.event(http.MethodPost, crmURL, jsonHeader("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("a:"+crmToken))), []byte(goodCRM)), 401},
		{"CRM repeated Authorization (REST)", rest("https://"+publicHost+"/prod/crm", jsonHeader("Authorization", "Bearer "+crmToken, "Authorization", "Bearer "+crmToken), goodCRM), 401},
		{"CRM stale timestamp", e.event(http.MethodPost, crmURL, crmAt(e.clock.Now().Add(-6*time.Minute)), []byte(goodCRM)), 401},
		{"CRM future timestamp", e.event(http.MethodPost, crmURL, crmAt(e.clock.Now().Add(6*time.Minute)), []byte(goodCRM)), 401},
		{"CRM huge timestamp", e.event(http.MethodPost, crmURL, func() http.Header {
			h := crmAt(e.clock.Now())
			h.Set(crm.HeaderTimestamp, "99999999999999999999999")
			return h
		}(), []byte(goodCRM)), 401},
		{"CRM signature over another body", e.event(http.MethodPost, crmURL, crmAt(e.clock.Now()), []byte(closeJSON(edgeKD, "UO00000000000000000000000000000e02"))), 401},

		// CRM, signed, hostile content.
		{"CRM deeply nested, signed", e.signedCRM(hostile.NestedObject("x", 33)), 400},
		{"CRM invalid UTF-8, signed", func() []byte {
			body := `{"interaction_sid":"` + edgeKD + "\xff" + `"}`
			h := e.crmHeader(body)
			hm := map[string]string{}
			for k := range h {
				hm[strings.ToLower(k)] = h.Get(k)
			}
			return rawV2("POST", "/crm", hm, base64.StdEncoding.EncodeToString([]byte(body)), true)
		}(), 400},
		{"CRM empty body, signed", e.signedCRM(""), 400},
		{"CRM trailing data, signed", e.signedCRM(goodCRM + `{}`), 400},
		{"CRM huge number, signed", e.signedCRM(`{"interaction_sid":` + hostile.HugeNumber + `,"channel_sid":"` + edgeUO + `"}`), 422},
		{"CRM duplicate key, signed", e.signedCRM(`{"interaction_sid":"` + edgeKD + `","channel_sid":"` + edgeUO + `","channel_sid":"UO00000000000000000000000000000e02"}`), 422},
		{"CRM NUL in SID, signed", e.signedCRM(`{"interaction_sid":"` + edgeKD + `","channel_sid":"UO00000000000000000000000000000e0\u0000"}`), 422},
		{"CRM status deleted, signed", e.signedCRM(`{"interaction_sid":"` + edgeKD + `","channel_sid":"` + edgeUO + `","status":"deleted"}`), 422},
		{"CRM task_sid traversal, signed", e.signedCRM(`{"task_sid":"WT/../../Workspaces"}`), 422},
		{"CRM both forms, signed", e.signedCRM(`{"interaction_sid":"` + edgeKD + `","channel_sid":"` + edgeUO + `","task_sid":"` + edgeWT + `"}`), 422},
	}
	// CRM sources, one block per scheme (crmsource_test.go).
	rows = append(rows, crmSourceHostileRows(e)...)
	// Every hostile stand-in for each SID a request can name.
	for _, v := range hostile.SIDs(edgeWT) {
		status := 400
		if v.Value == "" {
			status = 204 // an empty TaskSid is no task: nothing to close
		}
		rows = append(rows, hostileRow{"TaskSid " + v.Name + ", signed", e.signed(with("TaskSid", v.Value), authToken), status})
	}
	for _, v := range hostile.SIDs(acct) {
		rows = append(rows, hostileRow{"AccountSid " + v.Name + ", signed", e.signed(with("AccountSid", v.Value), authToken), 400})
	}
	for _, v := range hostile.SIDs(edgeUO) {
		rows = append(rows, hostileRow{"attribute channel SID " + v.Name + ", signed", e.signed(with("TaskAttributes", attrs(edgeKD, v.Value)), authToken), 400})
		rows = append(rows, hostileRow{"CRM channel_sid " + v.Name + ", signed", e.signedCRM(closeJSON(edgeKD, v.Value)), 422})
	}
	for _, v := range hostile.SIDs(edgeKD) {
		rows = append(rows, hostileRow{"attribute interaction SID " + v.Name + ", signed", e.signed(with("TaskAttributes", attrs(v.Value, edgeUO)), authToken), 400})
		rows = append(rows, hostileRow{"CRM interaction_sid " + v.Name + ", signed", e.signedCRM(closeJSON(v.Value, edgeUO)), 422})
	}
	return rows
}

// TestHostileRequests sends every row of the hostile table through the
// real handler. Each must get its status with a JSON error (or an empty
// 204), make no Twilio call, not panic, and leave the handler working: a
// valid signed request right after it still closes a channel.
func TestHostileRequests(t *testing.T) {
	e := newEdge(t, nil)
	rows := hostileRows(e)
	if len(rows) < 50 {
		t.Fatalf("the hostile table has %d rows, want at least 50", len(rows))
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			before := len(e.fake.Requests())
			r := e.invoke(context.Background(), row.payload)
			if r.Status != row.status {
				t.Errorf("status = %d %s, want %d", r.Status, r.Body, row.status)
			}
			switch {
			case r.Status == http.StatusNoContent && len(r.Body) != 0:
				t.Errorf("204 with body %q", r.Body)
			case r.Status != http.StatusNoContent && !strings.HasPrefix(string(r.Body), `{"error":"`):
				t.Errorf("body = %q, want a JSON error", r.Body)
			}
			if calls := e.fake.Requests()[before:]; len(calls) != 0 {
				t.Errorf("made %d Twilio calls, first %s %s; want none", len(calls), calls[0].Method, calls[0].Path)
			}
			if strings.Contains(e.logs.String(), `"message":"panic"`) {
				t.Fatalf("the handler panicked:\n%s", e.logs)
			}
			// The next valid request still works.
			ch, task := e.newChannel(flextest.TaskCanceled)
			if r := e.invoke(context.Background(), e.signed(e.form("task.canceled", task), authToken)); r.Status != http.StatusNoContent || e.status(ch) != flextest.ChannelClosed {
				t.Errorf("valid request after it = %d %s, channel %s; want 204 and closed", r.Status, r.Body, e.status(ch))
			}
		})
	}
	if got := e.status(e.ch); got != flextest.ChannelActive {
		t.Errorf("the channel every hostile row named is %s, want active", got)
	}
	if n := e.fake.CloseCount(e.ch.SID); n != 0 {
		t.Errorf("the channel every hostile row named was closed %d times", n)
	}
}
