package faults

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/flex/flextest"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/samples"
)

// sourceEvent is a delivery of body to the CRM source name, signed the way
// scheme signs, for the webhook's public URL.
func (s *stack) sourceEvent(name string, scheme crm.Scheme, secret, id, contentType, body string) []byte {
	s.t.Helper()
	h, u, err := crm.SignDelivery(scheme, secret, http.MethodPost, publicURL+"/crm/"+name, id, []byte(body), time.Now())
	if err != nil {
		s.t.Fatal(err)
	}
	h.Set("Content-Type", contentType)
	b, err := gatewaytest.NewHTTPEvent(http.MethodPost, u, h, []byte(body), gatewaytest.EventOptions{})
	if err != nil {
		s.t.Fatal(err)
	}
	return b
}

// The CRM source presets in durable mode: each delivery is queued (the
// Salesforce message acknowledged once both notifications are), a
// redelivery with the same delivery id queues nothing new, and the worker
// closes every channel once.
func TestCRMSourcesDurable(t *testing.T) {
	t.Parallel()
	s := newStack(t, stackOptions{Env: []string{"CRM_SOURCES=" + samples.CRMSourcesJSON()}})
	zd, _ := s.channel(flextest.TaskWrapping)
	hs, _ := s.channel(flextest.TaskWrapping)
	sf1, _ := s.channel(flextest.TaskWrapping)
	sf2, _ := s.channel(flextest.TaskWrapping)

	zdEv := s.sourceEvent("zendesk", crm.SchemeZendesk, samples.ZendeskSigningSecret, "8350205582", "application/json",
		`{"ticket":{"id":"35436","status":"solved"},"flex":{"interaction_sid":"`+zd.InteractionSID+`","channel_sid":"`+zd.SID+`"}}`)
	hsEv := s.sourceEvent("hubspot", crm.SchemeHubSpotV3, samples.HubSpotClientSecret, "", "application/json",
		`{"hs_object_id":"8394020101","hs_pipeline_stage":"4","flex_interaction_sid":"`+hs.InteractionSID+`","flex_channel_sid":"`+hs.SID+`"}`)
	var notes strings.Builder
	for i, ch := range []flextest.Channel{sf1, sf2} {
		notes.WriteString(`<Notification><Id>04l000000000f1` + string(rune('1'+i)) + `AAA</Id><sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">` +
			`<sf:Flex_Channel_SID__c>` + ch.SID + `</sf:Flex_Channel_SID__c><sf:Flex_Interaction_SID__c>` + ch.InteractionSID + `</sf:Flex_Interaction_SID__c>` +
			`<sf:Status>Closed</sf:Status></sObject></Notification>`)
	}
	sfEv := s.sourceEvent("salesforce", crm.SchemeSalesforceOutbound, samples.SalesforceToken, "", "text/xml; charset=utf-8",
		`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>`+
			`<notifications xmlns="http://soap.sforce.com/2005/09/outbound"><OrganizationId>`+samples.SalesforceOrgID+`</OrganizationId>`+
			notes.String()+`</notifications></soapenv:Body></soapenv:Envelope>`)

	for i := range 2 {
		if r := s.send(zdEv); r.Status != http.StatusAccepted {
			t.Fatalf("Zendesk delivery %d answered %d %s, want 202", i+1, r.Status, r.Body)
		}
		if r := s.send(sfEv); r.Status != http.StatusOK || string(r.Body) != crm.AckResponse {
			t.Fatalf("Salesforce delivery %d answered %d %s, want the SOAP ack", i+1, r.Status, r.Body)
		}
	}
	if r := s.send(hsEv); r.Status != http.StatusAccepted {
		t.Fatalf("HubSpot delivery answered %d %s, want 202", r.Status, r.Body)
	}
	if n := s.count(s.sqs.QueueURL()); n != 4 {
		t.Fatalf("close queue holds %d jobs, want 4 (Zendesk, HubSpot, two Salesforce notifications)", n)
	}
	stop := s.runWorker()
	s.eventually(30*time.Second, "every job done", func() bool {
		return s.queueEmpty() && s.status(zd) == "closed" && s.status(hs) == "closed" && s.status(sf1) == "closed" && s.status(sf2) == "closed"
	})
	stop()
	for _, ch := range []flextest.Channel{zd, hs, sf1, sf2} {
		s.closedOnce(ch)
	}
	// Late redeliveries are answered from the idempotency table.
	if r := s.send(sfEv); r.Status != http.StatusOK || string(r.Body) != crm.AckResponse {
		t.Errorf("late Salesforce redelivery answered %d %s, want the ack", r.Status, r.Body)
	}
	if r := s.send(zdEv); r.Status != http.StatusOK || !strings.Contains(string(r.Body), `"outcome":"closed"`) {
		t.Errorf("late Zendesk redelivery answered %d %s, want 200 closed", r.Status, r.Body)
	}
	if n := s.count(s.sqs.QueueURL()); n != 0 {
		t.Errorf("late redeliveries queued %d jobs, want none", n)
	}
	report("faults: CRM sources in durable mode: Zendesk and Salesforce (2 notifications) delivered twice, HubSpot once → 4 jobs, 4 channels closed once each\n")
}
