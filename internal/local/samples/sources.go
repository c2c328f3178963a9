package samples

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
)

// Local test secrets of the CRM source presets, served under crm_sources in
// the local secret. Never use them anywhere real.
const (
	ZendeskSigningSecret = "flexhook-local-zendesk-signing-secret-000001"
	HubSpotClientSecret  = "flexhook-local-hubspot-client-secret-000001"
	SalesforceToken      = "flexhook-local-salesforce-token-000001"
	// SalesforceOrgID is the sample org (18 characters).
	SalesforceOrgID = "00D000000000f1eAAA"
)

// SourcesDir is the sub-directory of events/ holding the CRM source
// samples.
const SourcesDir = "crm-sources"

// CRMSourcesJSON is the CRM_SOURCES value declaring one source per preset,
// as docs/crm-sources.md explains them.
func CRMSourcesJSON() string {
	return `[` +
		`{"name":"zendesk","scheme":"zendesk",` +
		`"map":{"interaction_sid":"/flex/interaction_sid","channel_sid":"/flex/channel_sid","status":"closed"},` +
		`"when":{"pointer":"/ticket/status","equals":["solved","Solved","closed","Closed"]}},` +
		`{"name":"hubspot","scheme":"hubspot-v3",` +
		`"map":{"interaction_sid":"/flex_interaction_sid","channel_sid":"/flex_channel_sid","status":"closed"},` +
		`"when":{"pointer":"/hs_pipeline_stage","equals":"4"}},` +
		`{"name":"salesforce","scheme":"salesforce-outbound","org_id":"` + SalesforceOrgID + `",` +
		`"map":{"interaction_sid":"Flex_Interaction_SID__c","channel_sid":"Flex_Channel_SID__c","status":"closed"},` +
		`"when":{"field":"Status","equals":"Closed"}}]`
}

// SourceChannels returns the channels the CRM source samples close, in
// their initial state.
func SourceChannels() []*Channel {
	var out []*Channel
	for i, customer := range []string{"Mary Jackson", "Dorothy Vaughan", "Annie Easley", "Margaret Hamilton"} {
		ch := &Channel{InteractionSID: sid("KD", 0x10+i), ChannelSID: sid("UO", 0x10+i)}
		ch.Tasks = []Task{{SID: sid("WT", 0x10+i), AssignmentStatus: "wrapping", Attributes: flexAttributes(ch, customer)}}
		out = append(out, ch)
	}
	return out
}

// SignedAt is when the source samples were signed; Zendesk and HubSpot
// signatures are valid five minutes around it, so replay them on a clock
// set to it, or rebuild them with Sample.EventAt.
func SignedAt() time.Time { return eventOptions().Time }

// Sources returns the CRM source samples, one per preset, named
// "crm-sources/<name>" (files events/crm-sources/<name>.json).
func Sources() []Sample {
	ch := SourceChannels()
	zd, hs, sf1, sf2 := ch[0], ch[1], ch[2], ch[3]
	return []Sample{
		{
			Name:        SourcesDir + "/zendesk-ticket-solved",
			Description: "a Zendesk trigger webhook with a custom JSON body, signed by Zendesk: the ticket is solved, the channel is closed",
			WantStatus:  http.StatusOK, WantChannel: "closed", Channel: zd,
			event: func(t time.Time) ([]byte, error) { return sourceEvent(zendeskRequest(zd), t) },
		},
		{
			Name:        SourcesDir + "/hubspot-ticket-closed",
			Description: "a HubSpot workflow webhook (v3 signature) with the ticket's properties: the ticket reached the closed stage, the channel is closed",
			WantStatus:  http.StatusOK, WantChannel: "closed", Channel: hs,
			event: func(t time.Time) ([]byte, error) { return sourceEvent(hubSpotRequest(hs), t) },
		},
		{
			Name:        SourcesDir + "/salesforce-two-cases-closed",
			Description: "a Salesforce Outbound Message with two closed Cases: both channels are closed and the message is acknowledged",
			WantStatus:  http.StatusOK, WantChannel: "closed", Channel: sf1, Also: []*Channel{sf2},
			event: func(t time.Time) ([]byte, error) { return sourceEvent(salesforceRequest(sf1, sf2), t) },
		},
	}
}

// EventAt returns the event signed at t, for samples whose signature
// covers a time (the CRM source samples); others ignore t.
func (s Sample) EventAt(t time.Time) ([]byte, error) { return s.event(t) }

// sourceRequest builds a preset's request to the API at baseURL
// (scheme://host[/base path]), signed at t: its URL, headers and body.
type sourceRequest func(baseURL string, t time.Time) (string, http.Header, []byte, error)

// SourceRequest returns the request of the CRM source preset name
// (zendesk, hubspot or salesforce) closing the channels of its sample,
// addressed to baseURL and signed at t, for the local demo.
func SourceRequest(name, baseURL string, t time.Time) (string, http.Header, []byte, error) {
	ch := SourceChannels()
	build := map[string]sourceRequest{
		"zendesk": zendeskRequest(ch[0]), "hubspot": hubSpotRequest(ch[1]), "salesforce": salesforceRequest(ch[2], ch[3]),
	}[name]
	if build == nil {
		return "", nil, nil, fmt.Errorf("samples: no CRM source preset %q", name)
	}
	return build(baseURL, t)
}

// sourceEvent is the sample event of a preset request, sent to Host.
func sourceEvent(build sourceRequest, t time.Time) ([]byte, error) {
	u, h, body, err := build("https://"+Host, t)
	if err != nil {
		return nil, err
	}
	o := eventOptions()
	o.Time = t
	return gatewaytest.NewHTTPEvent(http.MethodPost, u, h, body, o)
}

// zendeskRequest is the Zendesk preset's request closing ch.
func zendeskRequest(ch *Channel) sourceRequest {
	return func(base string, t time.Time) (string, http.Header, []byte, error) {
		// The body an admin writes in the trigger's webhook action, with
		// Zendesk placeholders filled in.
		body := fmt.Sprintf(`{
  "ticket": {"id": "35436", "status": "solved", "subject": "Order #1042 arrived damaged", "via": "Web Widget"},
  "flex": {"interaction_sid": %q, "channel_sid": %q}
}`, ch.InteractionSID, ch.ChannelSID)
		h, u, err := crm.SignDelivery(crm.SchemeZendesk, ZendeskSigningSecret, http.MethodPost, base+"/crm/zendesk", "8350205582", []byte(body), t)
		if err != nil {
			return "", nil, nil, err
		}
		h.Set("Content-Type", "application/json")
		h.Set("X-Zendesk-Account-Id", "123456")
		h.Set("X-Zendesk-Webhook-Id", "01F1KRFQ6BG29CNWFR60NK5FNY")
		h.Set("User-Agent", "Zendesk Webhook")
		return u, h, []byte(body), nil
	}
}

// hubSpotRequest is the HubSpot preset's request closing ch.
func hubSpotRequest(ch *Channel) sourceRequest {
	return func(base string, t time.Time) (string, http.Header, []byte, error) {
		body, _ := json.Marshal(map[string]string{
			"hs_object_id": "8394020101", "hs_pipeline": "0", "hs_pipeline_stage": "4",
			"subject": "Refund for order #1042", "flex_interaction_sid": ch.InteractionSID, "flex_channel_sid": ch.ChannelSID,
		})
		h, u, err := crm.SignDelivery(crm.SchemeHubSpotV3, HubSpotClientSecret, http.MethodPost, base+"/crm/hubspot", "", body, t)
		if err != nil {
			return "", nil, nil, err
		}
		// HubSpot also sends the older v2 signature: hex(SHA-256(secret +
		// method + URI + body)); flexhook checks only v3.
		v2 := sha256.Sum256([]byte(HubSpotClientSecret + http.MethodPost + u + string(body)))
		h.Set("X-HubSpot-Signature", hex.EncodeToString(v2[:]))
		h.Set("X-HubSpot-Signature-Version", "v2")
		h.Set("Content-Type", "application/json")
		return u, h, body, nil
	}
}

// salesforceRequest is the Salesforce preset's request closing a and b.
func salesforceRequest(a, b *Channel) sourceRequest {
	return func(base string, t time.Time) (string, http.Header, []byte, error) {
		var n strings.Builder
		for i, ch := range []*Channel{a, b} {
			fmt.Fprintf(&n, `
   <Notification>
    <Id>04l000000000f1%dAAA</Id>
    <sObject xsi:type="sf:Case" xmlns:sf="urn:sobject.enterprise.soap.sforce.com">
     <sf:Id>500000000000f1%dAAA</sf:Id>
     <sf:CaseNumber>0000104%d</sf:CaseNumber>
     <sf:Flex_Channel_SID__c>%s</sf:Flex_Channel_SID__c>
     <sf:Flex_Interaction_SID__c>%s</sf:Flex_Interaction_SID__c>
     <sf:Status>Closed</sf:Status>
    </sObject>
   </Notification>`, i+1, i+1, i+2, ch.ChannelSID, ch.InteractionSID)
		}
		body := `<?xml version="1.0" encoding="UTF-8"?>
<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:xsd="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
 <soapenv:Body>
  <notifications xmlns="http://soap.sforce.com/2005/09/outbound">
   <OrganizationId>` + SalesforceOrgID + `</OrganizationId>
   <ActionId>04k000000000f1eAAA</ActionId>
   <SessionId xsi:nil="true"/>
   <EnterpriseUrl>https://example.my.salesforce.com/services/Soap/c/61.0/00D000000000f1e</EnterpriseUrl>
   <PartnerUrl>https://example.my.salesforce.com/services/Soap/u/61.0/00D000000000f1e</PartnerUrl>` + n.String() + `
  </notifications>
 </soapenv:Body>
</soapenv:Envelope>
`
		h, u, err := crm.SignDelivery(crm.SchemeSalesforceOutbound, SalesforceToken, http.MethodPost, base+"/crm/salesforce", "", []byte(body), t)
		if err != nil {
			return "", nil, nil, err
		}
		h.Set("Content-Type", "text/xml; charset=utf-8")
		h.Set("SOAPAction", `"notifications"`)
		return u, h, []byte(body), nil
	}
}
