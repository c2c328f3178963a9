package webhook

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/idempotency"
	"github.com/flexhook/flexhook/internal/idempotency/idempotencytest"
	"github.com/flexhook/flexhook/internal/secrets"
	"github.com/flexhook/flexhook/internal/testing/hostile"
)

// testCRMSources declares one source per scheme, as CRM_SOURCES.
const testCRMSources = `[
 {"name":"zendesk","scheme":"zendesk",
  "map":{"interaction_sid":"/flex/interaction_sid","channel_sid":"/flex/channel_sid","status":"closed"},
  "when":{"pointer":"/ticket/status","equals":["solved","closed"]}},
 {"name":"hubspot","scheme":"hubspot-v3",
  "map":{"interaction_sid":"/properties/flex_interaction_sid","channel_sid":"/properties/flex_channel_sid","task_sid":"/properties/flex_task_sid"},
  "id":"/callbackId"},
 {"name":"salesforce","scheme":"salesforce-outbound","org_id":"00D5g000004ABCdEAF",
  "map":{"interaction_sid":"Flex_Interaction_SID__c","channel_sid":"Flex_Channel_SID__c"},
  "when":{"field":"Status","equals":"Closed"}},
 {"name":"legacy","scheme":"basic","map":{"interaction_sid":"/kd","channel_sid":"/uo","status":"/status"}},
 {"name":"stdhooks","scheme":"standard-webhooks","map":{"interaction_sid":"/kd","channel_sid":"/uo"}},
 {"name":"tokened","scheme":"bearer","map":{"task_sid":"/task"}}
]`

// Test secrets of the sources; their values are searched for in the logs.
const (
	zendeskSecret    = "zdSIGNINGsecret-0123456789abcdef"
	hubspotSecret    = "hsCLIENTsecret-0123456789abcdef"
	salesforceToken  = "sfURLtoken0123456789abcdef"
	basicCredentials = "zendesk:basicPASSWORD0123456789"
	orgID            = "00D5g000004ABCdEAF"
)

func testSourceSecrets() map[string][]secrets.Value {
	v := func(s ...string) []secrets.Value {
		out := make([]secrets.Value, len(s))
		for i := range s {
			out[i] = secrets.NewValue(s[i])
		}
		return out
	}
	return map[string][]secrets.Value{
		"zendesk":    v("zdOLDsecret-retired-0000000000", zendeskSecret),
		"hubspot":    v(hubspotSecret),
		"salesforce": v(salesforceToken),
		"legacy":     v(basicCredentials),
		"stdhooks":   v(crmSecret),
		"tokened":    v(crmToken),
	}
}

// sourceFixture is a fixture with the test sources configured.
func sourceFixture(t *testing.T) *fixture {
	f := newFixture(t, map[string]string{config.EnvCRMSources: testCRMSources, config.EnvWorkspaceSID: ws})
	f.secrets.cur.CRMSources = testSourceSecrets()
	return f
}

// sourceEvent is an HTTP API event delivering body to /crm/{name} as the
// source's scheme would, with secret, at the clock's time.
func (f *fixture) sourceEvent(name string, scheme crm.Scheme, secret, contentType, body string, at time.Time) []byte {
	f.t.Helper()
	u := "https://" + publicHost + "/crm/" + name
	h, u, err := crm.SignDelivery(scheme, secret, http.MethodPost, u, "delivery-1", []byte(body), at)
	if err != nil {
		f.t.Fatal(err)
	}
	h.Set("Content-Type", contentType)
	return f.event(http.MethodPost, u, h, []byte(body))
}

func zendeskBody(ch flextest.Channel, status string) string {
	return `{"ticket":{"id":"35436","status":"` + status + `"},"flex":{"interaction_sid":"` + ch.InteractionSID + `","channel_sid":"` + ch.SID + `"}}`
}

func TestCRMSourceZendeskClosesOnce(t *testing.T) {
	f := sourceFixture(t)
	f.withOptions(Options{}, idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now}))
	ch, _ := f.channel("assigned")
	ev := f.sourceEvent("zendesk", crm.SchemeZendesk, zendeskSecret, "application/json", zendeskBody(ch, "solved"), f.clock.Now())
	for i := 0; i < 2; i++ {
		r := f.invoke(ev)
		if got := decodeCRM(t, r.Body); r.Status != 200 || got.Outcome != "closed" || got.ChannelSID != ch.SID {
			t.Fatalf("delivery %d = %d %s, want 200 closed", i+1, r.Status, r.Body)
		}
	}
	if n := f.fake.CloseCount(ch.SID); n != 1 || f.status(ch) != "closed" {
		t.Errorf("two deliveries closed the channel %d times (status %s), want once", n, f.status(ch))
	}
	if log := f.lastLog(); log["replayed"] != true || log["route"] != "/crm/zendesk" {
		t.Errorf("second delivery summary = %v, want replayed on /crm/zendesk", log)
	}
	if strings.Contains(f.logs.String(), zendeskSecret) {
		t.Error("the Zendesk secret is in the logs")
	}
}

func TestCRMSourceConditionIgnores(t *testing.T) {
	f := sourceFixture(t)
	ch, _ := f.channel("assigned")
	r := f.invoke(f.sourceEvent("zendesk", crm.SchemeZendesk, zendeskSecret, "application/json", zendeskBody(ch, "open"), f.clock.Now()))
	if r.Status != 200 || !strings.Contains(string(r.Body), `"outcome":"ignored"`) {
		t.Fatalf("open ticket = %d %s, want 200 ignored", r.Status, r.Body)
	}
	if n := len(f.fake.Requests()); n != 0 || f.status(ch) != "active" {
		t.Errorf("an ignored delivery made %d Twilio calls", n)
	}
}

func TestCRMSourcesEachScheme(t *testing.T) {
	f := sourceFixture(t)
	now := f.clock.Now()
	kdUO := func(ch flextest.Channel, status string) string {
		return `{"kd":"` + ch.InteractionSID + `","uo":"` + ch.SID + `","status":"` + status + `"}`
	}
	tests := []struct {
		name   string
		event  func(ch flextest.Channel, task flextest.Task) []byte
		status string
	}{
		{"hubspot-v3", func(ch flextest.Channel, _ flextest.Task) []byte {
			body := `{"callbackId":"ap-102-1","properties":{"flex_interaction_sid":"` + ch.InteractionSID + `","flex_channel_sid":"` + ch.SID + `"}}`
			return f.sourceEvent("hubspot", crm.SchemeHubSpotV3, hubspotSecret, "application/json", body, now)
		}, "closed"},
		{"hubspot-v3 task form", func(_ flextest.Channel, task flextest.Task) []byte {
			body := `{"properties":{"flex_task_sid":"` + task.SID + `"}}`
			return f.sourceEvent("hubspot", crm.SchemeHubSpotV3, hubspotSecret, "application/json", body, now)
		}, "closed"},
		{"basic", func(ch flextest.Channel, _ flextest.Task) []byte {
			return f.sourceEvent("legacy", crm.SchemeBasic, basicCredentials, "application/json", kdUO(ch, "inactive"), now)
		}, "inactive"},
		{"standard-webhooks", func(ch flextest.Channel, _ flextest.Task) []byte {
			return f.sourceEvent("stdhooks", crm.SchemeStandardWebhooks, crmSecret, "application/json", kdUO(ch, ""), now)
		}, "closed"},
		{"bearer", func(_ flextest.Channel, task flextest.Task) []byte {
			return f.sourceEvent("tokened", crm.SchemeBearer, crmToken, "application/json", `{"task":"`+task.SID+`"}`, now)
		}, "closed"},
		{"default alias", func(ch flextest.Channel, _ flextest.Task) []byte {
			h := http.Header{"Content-Type": {"application/json"}, "Authorization": {"Bearer " + crmToken}}
			return f.event(http.MethodPost, "https://"+publicHost+"/crm/default", h, []byte(closeBody(ch, "")))
		}, "closed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, task := f.channel("wrapping")
			r := f.invoke(tt.event(ch, task))
			if r.Status != 200 || f.status(ch) != tt.status {
				t.Fatalf("response = %d %s, channel %s, want 200 and %s", r.Status, r.Body, f.status(ch), tt.status)
			}
		})
	}
}

// outboundMessage is the test Outbound Message: two Cases naming ch1 and
// ch2.
func outboundMessage(t testing.TB, org string, ch1, ch2 flextest.Channel) string {
	b, err := os.ReadFile("../crm/testdata/outbound-two.xml")
	if err != nil {
		t.Fatal(err)
	}
	return strings.NewReplacer(
		"KD00000000000000000000000000000e01", ch1.InteractionSID, "UO00000000000000000000000000000e01", ch1.SID,
		"KD00000000000000000000000000000e02", ch2.InteractionSID, "UO00000000000000000000000000000e02", ch2.SID,
		"00D5g000004ABCdEAF", org,
	).Replace(string(b))
}

// A message whose second notification fails transiently is not
// acknowledged; its redelivery closes only what was left.
func TestCRMSourceSalesforcePartialFailure(t *testing.T) {
	for _, durable := range []bool{false, true} {
		name := "sync"
		if durable {
			name = "durable"
		}
		t.Run(name, func(t *testing.T) {
			f := sourceFixture(t)
			store := idempotencytest.NewMemory(idempotency.Options{Now: f.clock.Now})
			q := &recordingQueue{}
			if durable {
				f.withOptions(Options{Queue: q}, store)
			} else {
				f.withOptions(Options{}, store)
			}
			ch1, _ := f.channel("assigned")
			ch2, _ := f.channel("assigned")
			ev := f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, salesforceToken, "text/xml; charset=utf-8", outboundMessage(t, orgID, ch1, ch2), f.clock.Now())
			if durable {
				r := f.invoke(ev)
				if r.Status != 200 || string(r.Body) != crm.AckResponse || len(q.msgs) != 2 {
					t.Fatalf("durable delivery = %d %s with %d jobs queued, want the ack and 2 jobs", r.Status, r.Body, len(q.msgs))
				}
				return
			}
			f.fake.Inject(flextest.Fault{Method: http.MethodPost, Path: "/v1/Interactions/*/Channels/" + ch2.SID, Status: 503})
			r := f.invoke(ev)
			if r.Status < 300 || strings.Contains(string(r.Body), "<Ack>true</Ack>") {
				t.Fatalf("first delivery = %d %s, want a non-2xx without Ack", r.Status, r.Body)
			}
			if f.status(ch1) != "closed" || f.status(ch2) != "active" {
				t.Fatalf("after the failure: ch1 %s, ch2 %s; want closed, active", f.status(ch1), f.status(ch2))
			}
			f.fake.ClearFaults()
			r = f.invoke(ev)
			if r.Status != 200 || string(r.Body) != crm.AckResponse || r.Header["Content-Type"] != "text/xml; charset=utf-8" {
				t.Fatalf("redelivery = %d %v %s, want 200 and the SOAP ack", r.Status, r.Header, r.Body)
			}
			if f.status(ch2) != "closed" || f.fake.CloseCount(ch1.SID) != 1 || f.fake.CloseCount(ch2.SID) != 1 {
				t.Errorf("after redelivery: ch2 %s, close calls %d and %d; want closed, 1 and 1",
					f.status(ch2), f.fake.CloseCount(ch1.SID), f.fake.CloseCount(ch2.SID))
			}
		})
	}
}

func TestCRMSourceRefusals(t *testing.T) {
	f := sourceFixture(t)
	ch1, _ := f.channel("assigned")
	ch2, _ := f.channel("assigned")
	now := f.clock.Now()
	body := zendeskBody(ch1, "solved")
	sf := outboundMessage(t, orgID, ch1, ch2)
	hsBody := `{"properties":{"flex_interaction_sid":"` + ch1.InteractionSID + `","flex_channel_sid":"` + ch1.SID + `"}}`
	tests := []struct {
		name   string
		event  []byte
		status int
	}{
		{"zendesk wrong secret", f.sourceEvent("zendesk", crm.SchemeZendesk, "attacker-secret-000000000000", "application/json", body, now), 401},
		{"zendesk stale", f.sourceEvent("zendesk", crm.SchemeZendesk, zendeskSecret, "application/json", body, now.Add(-6*time.Minute)), 401},
		{"zendesk malformed", f.sourceEvent("zendesk", crm.SchemeZendesk, zendeskSecret, "application/json", `{"ticket":`, now), 400},
		{"zendesk bad SID", f.sourceEvent("zendesk", crm.SchemeZendesk, zendeskSecret, "application/json", strings.Replace(body, ch1.SID, "UO123", 1), now), 422},
		{"hubspot stale", f.sourceEvent("hubspot", crm.SchemeHubSpotV3, hubspotSecret, "application/json", hsBody, now.Add(-5*time.Minute-time.Second)), 401},
		{"hubspot signed for another source URL", func() []byte {
			h, _, _ := crm.SignDelivery(crm.SchemeHubSpotV3, hubspotSecret, "POST", "https://"+publicHost+"/crm/zendesk", "", []byte(hsBody), now)
			h.Set("Content-Type", "application/json")
			return f.event("POST", "https://"+publicHost+"/crm/hubspot", h, []byte(hsBody))
		}(), 401},
		{"salesforce wrong org", f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, salesforceToken, "text/xml", outboundMessage(t, "00D5g000004XXXXEAF", ch1, ch2), now), 401},
		{"salesforce org in another case", f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, salesforceToken, "text/xml", outboundMessage(t, strings.ToUpper(orgID), ch1, ch2), now), 401},
		{"salesforce without token", f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, "", "text/xml", sf, now), 401},
		{"salesforce wrong token", f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, "wrongTOKEN0123456789abcdef", "text/xml", sf, now), 401},
		{"salesforce doctype", f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, salesforceToken, "text/xml", `<!DOCTYPE x [<!ENTITY e "x">]>`+sf[strings.Index(sf, "<soapenv"):], now), 400},
		{"salesforce JSON", f.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, salesforceToken, "application/json", `{}`, now), 415},
		{"unknown source", f.sourceEvent("pipedrive", crm.SchemeBearer, crmToken, "application/json", body, now), 404},
		{"basic on a zendesk source", f.sourceEvent("zendesk", crm.SchemeBasic, basicCredentials, "application/json", body, now), 401},
		{"bearer on a standard-webhooks source", f.sourceEvent("stdhooks", crm.SchemeBearer, crmToken, "application/json", `{}`, now), 401},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := f.invoke(tt.event)
			if r.Status != tt.status {
				t.Errorf("status = %d %s, want %d", r.Status, r.Body, tt.status)
			}
			if n := len(f.fake.Requests()); n != 0 {
				t.Errorf("made %d Twilio calls, want none", n)
			}
		})
	}
	if f.status(ch1) != "active" || f.status(ch2) != "active" {
		t.Error("a refused delivery closed a channel")
	}
}

// A source without its secret fails the cold start, naming source and
// field; at request time the same gap is a 500 and no Twilio call.
func TestCRMSourceMissingSecret(t *testing.T) {
	f := sourceFixture(t)
	if err := f.handler.CheckCRMSources(context.Background()); err != nil {
		t.Fatalf("CheckCRMSources with every secret = %v", err)
	}
	delete(f.secrets.cur.CRMSources, "hubspot")
	delete(f.secrets.cur.CRMSources, "salesforce") // its token is optional
	f.secrets.cur = cloneSecret(f.secrets.cur)
	err := f.handler.CheckCRMSources(context.Background())
	if err == nil || !strings.Contains(err.Error(), "CRM source hubspot") || !strings.Contains(err.Error(), `"crm_sources.hubspot"`) {
		t.Fatalf("CheckCRMSources without crm_sources.hubspot = %v, want an error naming the source and the field", err)
	}
	if strings.Contains(err.Error(), "salesforce") {
		t.Errorf("CheckCRMSources = %v: salesforce-outbound needs no secret", err)
	}
	r := f.invoke(f.sourceEvent("hubspot", crm.SchemeHubSpotV3, hubspotSecret, "application/json", `{}`, f.clock.Now()))
	if r.Status != 500 || len(f.fake.Requests()) != 0 {
		t.Errorf("request without the secret = %d %s, %d Twilio calls; want 500 and none", r.Status, r.Body, len(f.fake.Requests()))
	}
}

// cloneSecret copies a secret, so caches keyed on its identity see a new
// version.
func cloneSecret(s *secrets.Twilio) *secrets.Twilio {
	c := *s
	return &c
}

// sourceEvent is fixture.sourceEvent for the edge.
func (e *edge) sourceEvent(name string, scheme crm.Scheme, secret, contentType, body string, at time.Time) []byte {
	u := "https://" + publicHost + "/crm/" + name
	h, u, err := crm.SignDelivery(scheme, secret, http.MethodPost, u, "delivery-hostile", []byte(body), at)
	if err != nil {
		e.tb.Fatal(err)
	}
	h.Set("Content-Type", contentType)
	return e.event(http.MethodPost, u, h, []byte(body))
}

// crmSourceHostileRows are the hostile table's rows for POST /crm/{name},
// each scheme refused the ways it can be attacked. Every row names the
// edge's channel, which must stay open.
func crmSourceHostileRows(e *edge) []hostileRow {
	now := e.clock.Now()
	ch := flextest.Channel{InteractionSID: edgeKD, SID: edgeUO}
	zd := zendeskBody(ch, "solved")
	zendesk := func(secret, body string, at time.Time) []byte {
		return e.sourceEvent("zendesk", crm.SchemeZendesk, secret, "application/json", body, at)
	}
	hs := `{"callbackId":"x","properties":{"flex_interaction_sid":"` + edgeKD + `","flex_channel_sid":"` + edgeUO + `"}}`
	hubspot := func(secret, body string, at time.Time) []byte {
		return e.sourceEvent("hubspot", crm.SchemeHubSpotV3, secret, "application/json", body, at)
	}
	sf := outboundMessage(e.tb, orgID, ch, flextest.Channel{InteractionSID: "KD00000000000000000000000000000e09", SID: "UO00000000000000000000000000000e09"})
	salesforce := func(token, contentType, body string) []byte {
		return e.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, token, contentType, body, now)
	}
	withHeader := func(ev []byte, k, v string) []byte {
		var m map[string]any
		_ = json.Unmarshal(ev, &m)
		m["headers"].(map[string]any)[strings.ToLower(k)] = v
		b, _ := json.Marshal(m)
		return b
	}
	return []hostileRow{
		{"zendesk unsigned", e.event(http.MethodPost, "https://"+publicHost+"/crm/zendesk", http.Header{"Content-Type": {"application/json"}}, []byte(zd)), 401},
		{"zendesk signed with another secret", zendesk("attacker-secret-000000000000", zd, now), 401},
		{"zendesk stale timestamp", zendesk(zendeskSecret, zd, now.Add(-6*time.Minute)), 401},
		{"zendesk future timestamp", zendesk(zendeskSecret, zd, now.Add(6*time.Minute)), 401},
		{"zendesk epoch timestamp", withHeader(zendesk(zendeskSecret, zd, now), crm.HeaderZendeskTimestamp, strconvUnix(now)), 401},
		{"zendesk signature over another body", withHeader(zendesk(zendeskSecret, zd, now), crm.HeaderZendeskSignature, crm.ZendeskSignature(zendeskSecret, now.UTC().Format(time.RFC3339), []byte(zendeskBody(ch, "open")))), 401},
		{"zendesk basic credential", e.sourceEvent("zendesk", crm.SchemeBasic, basicCredentials, "application/json", zd, now), 401},
		{"zendesk malformed, signed", zendesk(zendeskSecret, `{"ticket":{"status":"solved"`, now), 400},
		{"zendesk nested 33 deep, signed", zendesk(zendeskSecret, hostile.NestedObject("ticket", 33), now), 400},
		{"zendesk channel SID number, signed", zendesk(zendeskSecret, strings.Replace(zd, `"`+edgeUO+`"`, hostile.HugeNumber, 1), now), 422},
		{"zendesk channel SID traversal, signed", zendesk(zendeskSecret, strings.Replace(zd, edgeUO, "UO/../../Interactions", 1), now), 422},
		{"zendesk form body", zendesk(zendeskSecret, "channel_sid="+edgeUO, now), 400},
		{"zendesk text/plain", e.sourceEvent("zendesk", crm.SchemeZendesk, zendeskSecret, "text/plain", zd, now), 415},
		{"hubspot unsigned", e.event(http.MethodPost, "https://"+publicHost+"/crm/hubspot", http.Header{"Content-Type": {"application/json"}}, []byte(hs)), 401},
		{"hubspot older than 5 minutes", hubspot(hubspotSecret, hs, now.Add(-5*time.Minute-time.Millisecond)), 401},
		{"hubspot from the future", hubspot(hubspotSecret, hs, now.Add(6*time.Minute)), 401},
		{"hubspot seconds timestamp", withHeader(hubspot(hubspotSecret, hs, now), crm.HeaderHubSpotTimestamp, strconvUnix(now)), 401},
		{"hubspot signed for another URL", withHeader(hubspot(hubspotSecret, hs, now), crm.HeaderHubSpotSignature,
			crm.HubSpotSignature(hubspotSecret, "POST", "https://evil.example/crm/hubspot", []byte(hs), strconvUnixMilli(now))), 401},
		{"hubspot v1 signature only", e.event(http.MethodPost, "https://"+publicHost+"/crm/hubspot", http.Header{"Content-Type": {"application/json"},
			"X-Hubspot-Signature": {"232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de"}, "X-Hubspot-Signature-Version": {"v1"}}, []byte(hs)), 401},
		{"hubspot trailing data, signed", hubspot(hubspotSecret, hs+`{}`, now), 400},
		{"hubspot duplicate key hides the SIDs, signed", hubspot(hubspotSecret, strings.TrimSuffix(hs, "}")+`,"properties":{}}`, now), 422},
		{"salesforce wrong org", salesforce(salesforceToken, "text/xml", strings.Replace(sf, orgID, "00D5g000004XXXXEAF", 1)), 401},
		{"salesforce 14-character org", salesforce(salesforceToken, "text/xml", strings.Replace(sf, orgID, orgID[:14], 1)), 401},
		{"salesforce no token", salesforce("", "text/xml", sf), 401},
		{"salesforce wrong token", salesforce("wrongTOKEN0123456789abcdef", "text/xml", sf), 401},
		{"salesforce repeated token", e.event(http.MethodPost, "https://"+publicHost+"/crm/salesforce?token=x&token="+salesforceToken, http.Header{"Content-Type": {"text/xml"}}, []byte(sf)), 401},
		{"salesforce DOCTYPE with external entity", salesforce(salesforceToken, "text/xml", `<!DOCTYPE e [<!ENTITY x SYSTEM "http://169.254.169.254/">]>`+sf[strings.Index(sf, "<soapenv"):]), 400},
		{"salesforce billion laughs", salesforce(salesforceToken, "text/xml", `<!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><l>&b;</l>`), 400},
		{"salesforce 101 notifications", salesforce(salesforceToken, "text/xml", strings.Replace(sf, "<Notification>", strings.Repeat("<Notification><Id>04l5g00000ABCDE9AA</Id></Notification>", 100)+"<Notification>", 1)), 400},
		{"salesforce truncated", salesforce(salesforceToken, "text/xml", sf[:len(sf)/2]), 400},
		{"salesforce JSON body", salesforce(salesforceToken, "application/json", zd), 415},
		{"salesforce 7 MB body", salesforce(salesforceToken, "text/xml", string(hostile.Body(7<<20))), 413},
		{"salesforce NUL in a field", salesforce(salesforceToken, "text/xml", strings.Replace(sf, "UO00000000000000000000000000000e09", "UO00000000000000000000000000000e0\u0000", 1)), 400},
		{"basic wrong password", e.sourceEvent("legacy", crm.SchemeBasic, "zendesk:guess", "application/json", `{}`, now), 401},
		{"basic as bearer", e.sourceEvent("legacy", crm.SchemeBearer, basicCredentials, "application/json", `{}`, now), 401},
		{"standard-webhooks source with a bearer token", e.sourceEvent("stdhooks", crm.SchemeBearer, crmToken, "application/json", `{}`, now), 401},
		{"bearer source with a wrong token", e.sourceEvent("tokened", crm.SchemeBearer, strings.Repeat("x", 24), "application/json", `{}`, now), 401},
		{"unknown source", e.sourceEvent("pipedrive", crm.SchemeBearer, crmToken, "application/json", `{}`, now), 404},
		{"source name in another case", e.sourceEvent("Zendesk", crm.SchemeZendesk, zendeskSecret, "application/json", zd, now), 404},
		{"source with a trailing slash", e.sourceEvent("zendesk/", crm.SchemeZendesk, zendeskSecret, "application/json", zd, now), 404},
		{"GET a source", e.event(http.MethodGet, "https://"+publicHost+"/crm/zendesk", http.Header{}, nil), 405},
	}
}

// sourceAuthentic reports whether req is a delivery to one of the test
// sources that authenticates with its secrets, judged with package crm
// directly (for FuzzInvoke).
func sourceAuthentic(req *gateway.Request, e *edge) bool {
	name, ok := strings.CutPrefix(req.Path, RouteCRM+"/")
	if !ok {
		return false
	}
	srcs, err := crm.ParseSources(testCRMSources)
	if err != nil {
		panic(err)
	}
	for i := range srcs {
		src := &srcs[i]
		if src.Name != name {
			continue
		}
		var keys []string
		for _, v := range testSourceSecrets()[name] {
			keys = append(keys, v.Reveal())
		}
		a, err := crm.NewSourceAuth(src, keys)
		if err != nil {
			panic(err)
		}
		d := crm.Delivery{Method: req.Method, PublicURL: req.PublicURL, RawQuery: req.RawQuery, Header: req.Header, Body: req.Body}
		if a.Verify(d, e.clock.Now()) != nil {
			return false
		}
		if src.Scheme == crm.SchemeSalesforceOutbound {
			m, err := crm.ParseOutbound(req.Body)
			return err == nil && crm.VerifyOrgID(src.OrgID, m.OrganizationID) == nil
		}
		return true
	}
	return false
}

// salesforceAck reports whether r is the SOAP acknowledgement.
func salesforceAck(r gateway.Response) bool {
	return r.Status == http.StatusOK && r.Header["Content-Type"] == "text/xml; charset=utf-8" && string(r.Body) == crm.AckResponse
}

// The cold-start check fails, naming the source (or the secret key) and
// the field, on a crm_sources entry it cannot use: a key naming no source
// (a typo leaves the intended source without its secret) or basic
// credentials with a password shorter than a bearer token.
func TestCheckCRMSourcesRefusesUnusableSecrets(t *testing.T) {
	for _, tt := range []struct {
		name  string
		edit  func(m map[string][]secrets.Value)
		wants []string
	}{
		{"a key naming no source", func(m map[string][]secrets.Value) {
			m["salesforse"] = m["salesforce"]
			delete(m, "salesforce")
		}, []string{`"crm_sources.salesforse"`, "names no source"}},
		{"a short basic password", func(m map[string][]secrets.Value) {
			m["legacy"] = []secrets.Value{secrets.NewValue("zendesk:short")}
		}, []string{"CRM source legacy", `"crm_sources.legacy"`, "password"}},
		{"an empty basic password", func(m map[string][]secrets.Value) {
			m["legacy"] = []secrets.Value{secrets.NewValue("zendesk:")}
		}, []string{"CRM source legacy", `"crm_sources.legacy"`, "password"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := sourceFixture(t)
			sec := cloneSecret(f.secrets.cur)
			sec.CRMSources = testSourceSecrets()
			tt.edit(sec.CRMSources)
			f.secrets.cur = sec
			err := f.handler.CheckCRMSources(context.Background())
			for _, want := range tt.wants {
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("CheckCRMSources = %v, want an error containing %q", err, want)
				}
			}
			if err != nil && strings.Contains(err.Error(), "short") {
				t.Errorf("CheckCRMSources = %v quotes the secret", err)
			}
		})
	}
}
