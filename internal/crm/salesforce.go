package crm

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"
)

// The message is read in the namespaces of the Outbound Message WSDL
// (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_wsdl.htm):
// SOAP 1.1 http://schemas.xmlsoap.org/soap/envelope/ and
// http://soap.sforce.com/2005/09/outbound, sObject fields by local name.

// Bounds of an Outbound Message.
const (
	// MaxNotifications is the most notifications Salesforce puts in one
	// message.
	MaxNotifications = 100
	// MaxOutboundSize is the largest message ParseOutbound reads.
	MaxOutboundSize = 256 << 10
	// maxXMLDepth bounds element nesting; a message is about 6 deep.
	maxXMLDepth = 16
)

// ErrMalformedXML means a body is not a Salesforce Outbound Message: not
// well-formed XML, a DOCTYPE or other directive, too large or too deep, no
// notifications element, none or more than MaxNotifications
// notifications, or a notification without a usable Id. Callers answer
// 400.
var ErrMalformedXML = errors.New("crm: body is not a Salesforce Outbound Message")

// OutboundMessage is a parsed Salesforce Outbound Message.
type OutboundMessage struct {
	// OrganizationID is the sending org (15 or 18 characters).
	OrganizationID string
	// ActionID is the outbound message definition.
	ActionID string
	// Notifications are the 1 to MaxNotifications records sent.
	Notifications []Notification
}

// Notification is one record of an Outbound Message.
type Notification struct {
	// ID is the notification id, the same on every redelivery: the
	// idempotency key.
	ID string
	// ObjectType is the sObject's xsi:type without prefix, such as "Case".
	ObjectType string
	// Fields are the sObject's fields by API name (Flex_Channel_SID__c);
	// a nil field (xsi:nil="true") is absent.
	Fields map[string]string
}

type soapEnvelope struct {
	XMLName xml.Name `xml:"http://schemas.xmlsoap.org/soap/envelope/ Envelope"`
	Body    struct {
		Notifications *soapNotifications `xml:"http://soap.sforce.com/2005/09/outbound notifications"`
	} `xml:"http://schemas.xmlsoap.org/soap/envelope/ Body"`
}

type soapNotifications struct {
	OrganizationID string `xml:"http://soap.sforce.com/2005/09/outbound OrganizationId"`
	ActionID       string `xml:"http://soap.sforce.com/2005/09/outbound ActionId"`
	Notification   []struct {
		ID      string `xml:"http://soap.sforce.com/2005/09/outbound Id"`
		SObject struct {
			Type   string      `xml:"http://www.w3.org/2001/XMLSchema-instance type,attr"`
			Fields []soapField `xml:",any"`
		} `xml:"http://soap.sforce.com/2005/09/outbound sObject"`
	} `xml:"http://soap.sforce.com/2005/09/outbound Notification"`
}

type soapField struct {
	XMLName xml.Name
	Nil     string `xml:"http://www.w3.org/2001/XMLSchema-instance nil,attr"`
	Value   string `xml:",chardata"`
}

// ParseOutbound reads a Salesforce Outbound Message with encoding/xml. It
// refuses a DOCTYPE or any other directive (so no entity is ever defined,
// let alone fetched), bodies over MaxOutboundSize, nesting deeper than 16
// and anything but UTF-8. Errors wrap ErrMalformedXML, or are a
// *ValidationError for a field given twice. It never panics.
func ParseOutbound(body []byte) (*OutboundMessage, error) {
	if len(body) > MaxOutboundSize {
		return nil, fmt.Errorf("%w: larger than %d bytes", ErrMalformedXML, MaxOutboundSize)
	}
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrMalformedXML)
	}
	if err := checkXML(body); err != nil {
		return nil, err
	}
	var env soapEnvelope
	dec := xml.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&env); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedXML, err)
	}
	n := env.Body.Notifications
	if n == nil {
		return nil, fmt.Errorf("%w: no notifications element", ErrMalformedXML)
	}
	if len(n.Notification) == 0 || len(n.Notification) > MaxNotifications {
		return nil, fmt.Errorf("%w: %d notifications, want 1-%d", ErrMalformedXML, len(n.Notification), MaxNotifications)
	}
	m := &OutboundMessage{OrganizationID: n.OrganizationID, ActionID: n.ActionID}
	seen := make(map[string]bool, len(n.Notification))
	for i, x := range n.Notification {
		if !validID(x.ID) {
			return nil, fmt.Errorf("%w: notification %d has no usable Id", ErrMalformedXML, i+1)
		}
		if seen[x.ID] {
			return nil, fmt.Errorf("%w: notification Id repeated", ErrMalformedXML)
		}
		seen[x.ID] = true
		nt := Notification{ID: x.ID, ObjectType: localType(x.SObject.Type), Fields: make(map[string]string, len(x.SObject.Fields))}
		for _, f := range x.SObject.Fields {
			name := f.XMLName.Local
			if _, dup := nt.Fields[name]; dup {
				return nil, &ValidationError{Field: name, Reason: "appears more than once in a notification"}
			}
			if f.Nil == "true" {
				continue
			}
			nt.Fields[name] = f.Value
		}
		m.Notifications = append(m.Notifications, nt)
	}
	return m, nil
}

// checkXML walks the tokens once: well-formed, no directive, bounded depth.
func checkXML(body []byte) error {
	dec := xml.NewDecoder(bytes.NewReader(body))
	depth := 0
	for {
		tok, err := dec.RawToken()
		if err == io.EOF {
			if depth != 0 {
				return fmt.Errorf("%w: unexpected end", ErrMalformedXML)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: %v", ErrMalformedXML, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return fmt.Errorf("%w: DOCTYPE and other directives are refused", ErrMalformedXML)
		case xml.ProcInst:
			if t.Target != "xml" {
				return fmt.Errorf("%w: processing instruction %q", ErrMalformedXML, t.Target)
			}
		case xml.StartElement:
			if depth++; depth > maxXMLDepth {
				return fmt.Errorf("%w: nested deeper than %d", ErrMalformedXML, maxXMLDepth)
			}
		case xml.EndElement:
			depth--
		}
	}
}

// localType strips the prefix of an xsi:type such as "sf:Case".
func localType(t string) string { return t[strings.LastIndexByte(t, ':')+1:] }

// AckResponse is the SOAP answer that acknowledges every notification of
// an Outbound Message; Salesforce treats anything else as a failed
// delivery and retries it.
const AckResponse = `<?xml version="1.0" encoding="UTF-8"?>` +
	`<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">` +
	`<soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound">` +
	`<Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>`
