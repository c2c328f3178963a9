package crm

import (
	"encoding/xml"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestParseOutbound(t *testing.T) {
	body, err := os.ReadFile("testdata/outbound-two.xml")
	if err != nil {
		t.Fatal(err)
	}
	m, err := ParseOutbound(body)
	if err != nil {
		t.Fatalf("ParseOutbound = %v", err)
	}
	if m.OrganizationID != "00D5g000004ABCdEAF" || len(m.Notifications) != 2 {
		t.Fatalf("ParseOutbound = %+v", m)
	}
	n := m.Notifications[1]
	if n.ID != "04l5g00000ABCDE2AA" || n.ObjectType != "Case" || n.Fields["Flex_Channel_SID__c"] != "UO00000000000000000000000000000e02" {
		t.Errorf("notification 2 = %+v", n)
	}
	if _, ok := n.Fields["Description"]; ok {
		t.Errorf("nil field present: %+v", n.Fields)
	}
	srcs, err := ParseSources(`[{"name":"sf","scheme":"salesforce-outbound","org_id":"00D5g000004ABCd",
		"map":{"interaction_sid":"Flex_Interaction_SID__c","channel_sid":"Flex_Channel_SID__c"},"when":{"field":"Status","equals":"Closed"}}]`)
	if err != nil {
		t.Fatal(err)
	}
	r, err := srcs[0].ResolveNotification(n)
	if err != nil || r.Ignored || r.DeliveryID != n.ID || r.Request.ChannelSID != "UO00000000000000000000000000000e02" {
		t.Errorf("ResolveNotification = %+v, %v", r, err)
	}
	n.Fields["Status"] = "New"
	if r, err := srcs[0].ResolveNotification(n); err != nil || !r.Ignored {
		t.Errorf("ResolveNotification(Status New) = %+v, %v, want ignored", r, err)
	}

	doc := string(body)
	for name, bad := range map[string]string{
		"doctype":       strings.Replace(doc, "<soapenv:Envelope", `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><soapenv:Envelope`, 1),
		"entity":        strings.Replace(doc, "Closed", "&e;", 1),
		"not xml":       `{"channel_sid":"UO1"}`,
		"truncated":     doc[:len(doc)/2],
		"no notif":      strings.Replace(strings.Replace(doc, "<Notification>", "<X>", -1), "</Notification>", "</X>", -1),
		"empty id":      strings.Replace(doc, "<Id>04l5g00000ABCDE1AA</Id>", "<Id></Id>", 1),
		"repeated id":   strings.Replace(doc, "04l5g00000ABCDE2AA", "04l5g00000ABCDE1AA", 1),
		"other ns":      strings.Replace(doc, "http://soap.sforce.com/2005/09/outbound", "urn:evil", 1),
		"deep":          strings.Replace(doc, "<sf:Status>Closed</sf:Status>", strings.Repeat("<a>", 20)+strings.Repeat("</a>", 20), 1),
		"proc inst":     strings.Replace(doc, "<soapenv:Envelope", `<?xml-stylesheet href="x"?><soapenv:Envelope`, 1),
		"101 notifs":    strings.Replace(doc, "<Notification>", strings.Repeat("<Notification><Id>04l5g00000ABCDE9AA</Id></Notification>", 100)+"<Notification>", 1),
		"invalid utf-8": strings.Replace(doc, "Closed", "Clo\xffsed", 1),
	} {
		if _, err := ParseOutbound([]byte(bad)); !errors.Is(err, ErrMalformedXML) {
			t.Errorf("ParseOutbound(%s) = %v, want ErrMalformedXML", name, err)
		}
	}
	dup := strings.Replace(doc, "<sf:Status>Closed</sf:Status>", "<sf:Status>Closed</sf:Status><sf:Status>New</sf:Status>", 1)
	var ve *ValidationError
	if _, err := ParseOutbound([]byte(dup)); !errors.As(err, &ve) {
		t.Errorf("ParseOutbound(duplicate field) = %v, want a ValidationError", err)
	}
}

// The acknowledgement is the notificationsResponse Salesforce expects.
func TestAckResponse(t *testing.T) {
	var env struct {
		Body struct {
			Resp struct {
				Ack bool `xml:"http://soap.sforce.com/2005/09/outbound Ack"`
			} `xml:"http://soap.sforce.com/2005/09/outbound notificationsResponse"`
		} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
	}
	if err := xml.Unmarshal([]byte(AckResponse), &env); err != nil || !env.Body.Resp.Ack {
		t.Errorf("AckResponse decodes to %+v, %v; want Ack true", env, err)
	}
}
