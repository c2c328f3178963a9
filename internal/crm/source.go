package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Scheme names how a source authenticates its requests.
type Scheme string

// Authentication schemes of a CRM source.
const (
	SchemeStandardWebhooks   Scheme = "standard-webhooks"
	SchemeBearer             Scheme = "bearer"
	SchemeBasic              Scheme = "basic"
	SchemeZendesk            Scheme = "zendesk"
	SchemeHubSpotV3          Scheme = "hubspot-v3"
	SchemeSalesforceOutbound Scheme = "salesforce-outbound"
)

// Schemes lists every scheme, in documentation order.
var Schemes = []Scheme{SchemeStandardWebhooks, SchemeBearer, SchemeBasic, SchemeZendesk, SchemeHubSpotV3, SchemeSalesforceOutbound}

// NeedsSecret reports whether a source of scheme s cannot authenticate
// anything without a secret. Only salesforce-outbound can: its URL token
// is optional.
func (s Scheme) NeedsSecret() bool { return s != SchemeSalesforceOutbound }

// DefaultSource is the name of the built-in source served at POST /crm
// (and POST /crm/default); CRM_SOURCES cannot redefine it.
const DefaultSource = "default"

// TokenParam is the query parameter carrying a salesforce-outbound
// source's shared token: https://…/crm/{name}?token=….
const TokenParam = "token"

// Source is one configured CRM source: how it authenticates and where
// the close request is found in what it sends. Build sources with
// ParseSources; a Source is immutable.
type Source struct {
	// Name is the {name} of POST /crm/{name}.
	Name string
	// Scheme is how requests are authenticated.
	Scheme Scheme
	// OrgID is the Salesforce organization id (salesforce-outbound only).
	OrgID string

	mapped      map[string]selector // by body field: interaction_sid, channel_sid, task_sid, status
	statusConst string
	when        *condition
	id          selector // JSON sources: the delivery id
}

// selector names a value: a JSON Pointer for JSON sources, an sObject
// field for Salesforce. The zero selector names nothing.
type selector struct {
	raw   string
	ptr   Pointer
	isSet bool
}

// condition is the optional "when": deliveries whose value at sel is not
// one of equals are ignored.
type condition struct {
	sel    selector
	equals []string
}

// sourceJSON is one entry of CRM_SOURCES.
type sourceJSON struct {
	Name   string            `json:"name"`
	Scheme string            `json:"scheme"`
	OrgID  string            `json:"org_id"`
	Map    map[string]string `json:"map"`
	When   *struct {
		Pointer string          `json:"pointer"`
		Field   string          `json:"field"`
		Equals  json.RawMessage `json:"equals"`
	} `json:"when"`
	ID string `json:"id"`
}

// SourceError reports a CRM_SOURCES entry that cannot be used. It names
// the source (or its position when it has no usable name) and the field.
type SourceError struct {
	Source string // the source's name, or "#3" for the third entry
	Field  string // for example "map.channel_sid"; "" for the entry as a whole
	Reason string
}

func (e *SourceError) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("source %s: %s", e.Source, e.Reason)
	}
	return fmt.Sprintf("source %s: field %s: %s", e.Source, e.Field, e.Reason)
}

// maxSources bounds CRM_SOURCES.
const maxSources = 32

// ParseSources parses CRM_SOURCES, a JSON array of source definitions:
//
//	[{"name":"zendesk","scheme":"zendesk",
//	  "map":{"interaction_sid":"/interaction_sid","channel_sid":"/channel_sid","status":"closed"},
//	  "when":{"pointer":"/status","equals":["solved","closed"]}},
//	 {"name":"salesforce","scheme":"salesforce-outbound","org_id":"00D…",
//	  "map":{"interaction_sid":"Flex_Interaction_SID__c","channel_sid":"Flex_Channel_SID__c"}}]
//
// For JSON sources each map value is an RFC 6901 JSON Pointer into the
// body, "id" optionally points at the delivery id, and "when" holds a
// "pointer"; for salesforce-outbound they are sObject field API names and
// "when" holds a "field". "status" may instead be the constant "closed" or
// "inactive". The map must name interaction_sid with channel_sid, or
// task_sid, or both forms. Blank text means no sources. Errors are
// *SourceError values, joined, each naming the source and the field.
func ParseSources(text string) ([]Source, error) {
	if strings.TrimSpace(text) == "" {
		return nil, nil
	}
	var entries []json.RawMessage
	if err := json.Unmarshal([]byte(text), &entries); err != nil {
		return nil, &SourceError{Source: "list", Reason: "is not a JSON array of source objects: " + err.Error()}
	}
	if len(entries) > maxSources {
		return nil, &SourceError{Source: "list", Reason: fmt.Sprintf("has %d sources, at most %d allowed", len(entries), maxSources)}
	}
	var (
		out   []Source
		errs  []error
		names = map[string]bool{}
	)
	for i, raw := range entries {
		label := fmt.Sprintf("#%d", i+1)
		var e sourceJSON
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			var loose struct{ Name string }
			if json.Unmarshal(raw, &loose) == nil && validName(loose.Name) {
				label = loose.Name
			}
			errs = append(errs, &SourceError{Source: label, Reason: "is not a source object: " + err.Error()})
			continue
		}
		if validName(e.Name) {
			label = e.Name
		}
		if err := checkKeys(label, raw); err != nil {
			errs = append(errs, err)
			continue
		}
		s, err := buildSource(label, e)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if names[s.Name] {
			errs = append(errs, &SourceError{Source: s.Name, Field: "name", Reason: "is used by an earlier source"})
			continue
		}
		names[s.Name] = true
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

// Keys of a CRM_SOURCES entry and of its "when", exactly as written.
var (
	sourceKeys    = []string{"name", "scheme", "org_id", "map", "when", "id"}
	conditionKeys = []string{"pointer", "field", "equals"}
)

// checkKeys refuses what encoding/json lets through: a key written in
// another case ("Scheme" would set scheme) and a repeated key (the last
// would win), in the entry, its "map" and its "when".
func checkKeys(label string, raw json.RawMessage) error {
	members, err := objectMembers(raw)
	if err != nil {
		return &SourceError{Source: label, Reason: "is not a source object: " + err.Error()}
	}
	if err := checkMembers(label, "", members, sourceKeys); err != nil {
		return err
	}
	for _, k := range []string{"map", "when"} {
		i := slices.IndexFunc(members, func(m member) bool { return m.key == k })
		if i < 0 || bytes.Equal(bytes.TrimSpace(members[i].value), []byte("null")) {
			continue
		}
		nested, err := objectMembers(members[i].value)
		if err != nil {
			return &SourceError{Source: label, Field: k, Reason: "must be an object"}
		}
		allowed := conditionKeys
		if k == "map" {
			allowed = nil // checked by name in buildSource
		}
		if err := checkMembers(label, k+".", nested, allowed); err != nil {
			return err
		}
	}
	return nil
}

// checkMembers refuses a repeated key, and one not in allowed (when
// allowed is not nil), naming it as prefix+key.
func checkMembers(label, prefix string, members []member, allowed []string) error {
	seen := make(map[string]bool, len(members))
	for _, m := range members {
		if seen[m.key] {
			return &SourceError{Source: label, Field: prefix + m.key, Reason: "is repeated"}
		}
		seen[m.key] = true
		if allowed != nil && !slices.Contains(allowed, m.key) {
			return &SourceError{Source: label, Field: prefix + m.key, Reason: "is not one of " + strings.Join(allowed, ", ") + " (keys are case-sensitive)"}
		}
	}
	return nil
}

// member is one key and value of a JSON object.
type member struct {
	key   string
	value json.RawMessage
}

// objectMembers returns the members of a JSON object in order, repeated
// keys included.
func objectMembers(raw []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New("not a JSON object")
	}
	var members []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		m := member{}
		m.key, _ = t.(string)
		if err := dec.Decode(&m.value); err != nil {
			return nil, err
		}
		members = append(members, m)
	}
	return members, nil
}

// validName accepts 1-64 of a-z 0-9 - _, starting with a letter or digit.
func validName(n string) bool {
	return n != "" && len(n) <= 64 && n[0] != '-' && n[0] != '_' && onlyOf(n, "abcdefghijklmnopqrstuvwxyz0123456789-_")
}

func buildSource(label string, e sourceJSON) (Source, error) {
	fail := func(field, format string, args ...any) error {
		return &SourceError{Source: label, Field: field, Reason: fmt.Sprintf(format, args...)}
	}
	if !validName(e.Name) {
		return Source{}, fail("name", "must be 1-64 of a-z 0-9 - _ (starting with a letter or digit)")
	}
	label = e.Name
	if e.Name == DefaultSource {
		return Source{}, fail("name", "%q is the built-in POST /crm source and cannot be redefined", DefaultSource)
	}
	s := Source{Name: e.Name, Scheme: Scheme(e.Scheme), OrgID: e.OrgID}
	if !slices.Contains(Schemes, s.Scheme) {
		names := make([]string, len(Schemes))
		for i, k := range Schemes {
			names[i] = string(k)
		}
		return Source{}, fail("scheme", "must be one of %s, not %q", strings.Join(names, ", "), e.Scheme)
	}
	sf := s.Scheme == SchemeSalesforceOutbound
	switch {
	case sf && !ValidOrgID(e.OrgID):
		return Source{}, fail("org_id", "must be the 15 or 18 character Salesforce organization id")
	case !sf && e.OrgID != "":
		return Source{}, fail("org_id", "applies only to the salesforce-outbound scheme")
	case sf && e.ID != "":
		return Source{}, fail("id", "does not apply to salesforce-outbound: the notification Id is the delivery id")
	case s.Scheme == SchemeStandardWebhooks && e.ID != "":
		return Source{}, fail("id", "does not apply to standard-webhooks: the webhook-id header is the delivery id")
	}
	sel := func(field, v string) (selector, error) {
		if v == "" {
			return selector{}, nil
		}
		if sf {
			if !validFieldName(v) {
				return selector{}, fail(field, "must be an sObject field API name such as Flex_Channel_SID__c")
			}
			return selector{raw: v, isSet: true}, nil
		}
		p, err := ParsePointer(v)
		if err != nil || p.IsZero() {
			return selector{}, fail(field, "must be a JSON Pointer such as /ticket/channel_sid (RFC 6901: '/' before each name, ~1 for '/', ~0 for '~')")
		}
		return selector{raw: v, ptr: p, isSet: true}, nil
	}
	var unknown []string
	for k := range e.Map {
		if !slices.Contains(mapFields, k) {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) > 0 { // the first in order, so the error is the same every time
		return Source{}, fail("map."+slices.Min(unknown), "is not one of interaction_sid, channel_sid, task_sid, status")
	}
	s.mapped = make(map[string]selector, len(mapFields))
	var err error
	for _, k := range mapFields {
		if v := e.Map[k]; k == fieldStatus && (v == StatusClosed || v == StatusInactive) {
			s.statusConst = v
		} else if s.mapped[k], err = sel("map."+k, v); err != nil {
			return Source{}, err
		}
	}
	interaction, channel, task := s.mapped[fieldInteraction].isSet, s.mapped[fieldChannel].isSet, s.mapped[fieldTask].isSet
	switch {
	case interaction && !channel:
		return Source{}, fail("map."+fieldChannel, "is required with map.interaction_sid")
	case channel && !interaction:
		return Source{}, fail("map."+fieldInteraction, "is required with map.channel_sid")
	case !channel && !task:
		return Source{}, fail("map", "must map interaction_sid and channel_sid, or task_sid")
	}
	if s.id, err = sel("id", e.ID); err != nil {
		return Source{}, err
	}
	if w := e.When; w != nil {
		c := &condition{}
		at, field := w.Pointer, "when.pointer"
		if sf {
			at, field = w.Field, "when.field"
			if w.Pointer != "" {
				return Source{}, fail("when.pointer", "salesforce-outbound conditions name a field, not a pointer")
			}
		} else if w.Field != "" {
			return Source{}, fail("when.field", "JSON sources name a pointer, not a field")
		}
		if at == "" {
			return Source{}, fail(field, "is required in a condition")
		}
		if c.sel, err = sel(field, at); err != nil {
			return Source{}, err
		}
		if c.equals, err = conditionValues(w.Equals); err != nil {
			return Source{}, fail("when.equals", "%v", err)
		}
		s.when = c
	}
	return s, nil
}

// conditionValues reads "equals": a string, number or boolean, or a
// non-empty list of them, each kept as the text it matches.
func conditionValues(raw json.RawMessage) ([]string, error) {
	if len(raw) == 0 {
		return nil, errors.New("is required in a condition")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	list, ok := v.([]any)
	if !ok {
		list = []any{v}
	}
	if len(list) == 0 {
		return nil, errors.New("must list at least one value")
	}
	out := make([]string, 0, len(list))
	for _, x := range list {
		t, ok := scalarText(x)
		if !ok {
			return nil, errors.New("must be a string, number or boolean, or a list of them")
		}
		out = append(out, t)
	}
	return out, nil
}

// scalarText is the text a condition compares: a string as is, a number
// as written, a boolean as true or false.
func scalarText(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}

// validFieldName accepts a Salesforce field API name.
func validFieldName(n string) bool {
	return n != "" && len(n) <= 80 && onlyOf(n, alnum+"_")
}

// Resolution is what a source's delivery asks for.
type Resolution struct {
	// Request is the close request; zero when Ignored.
	Request Request
	// Ignored is set when the source's condition did not match: answer
	// 200 "ignored" and close nothing.
	Ignored bool
	// DeliveryID is the sender's id of the delivery, "" when it has none.
	DeliveryID string
}

// ResolveJSON applies a JSON source's mapping to a body. Errors wrap
// ErrMalformedJSON (answer 400) or are *ValidationError naming the mapped
// field and its pointer (answer 422). A body whose condition value is
// absent or another value is Ignored, without validating the rest.
func (s *Source) ResolveJSON(body []byte) (Resolution, error) {
	doc, err := DecodeDocument(body)
	if err != nil {
		return Resolution{}, err
	}
	lookup := func(sel selector) (any, bool) { return sel.ptr.Resolve(doc) }
	return s.resolve(lookup)
}

// ResolveNotification applies a Salesforce source's mapping to one
// notification; the notification Id is the delivery id.
func (s *Source) ResolveNotification(n Notification) (Resolution, error) {
	r, err := s.resolve(func(sel selector) (any, bool) {
		v, ok := n.Fields[sel.raw]
		return v, ok
	})
	r.DeliveryID = n.ID
	return r, err
}

func (s *Source) resolve(lookup func(selector) (any, bool)) (Resolution, error) {
	if c := s.when; c != nil {
		v, ok := lookup(c.sel)
		t, scalar := scalarText(v)
		match := false
		for _, want := range c.equals {
			match = match || (ok && scalar && t == want)
		}
		if !match {
			return Resolution{Ignored: true}, nil
		}
	}
	var res Resolution
	r := &res.Request
	r.Status = s.statusConst
	for _, f := range [...]struct {
		field string
		dst   *string
	}{{fieldInteraction, &r.InteractionSID}, {fieldChannel, &r.ChannelSID}, {fieldTask, &r.TaskSID}, {fieldStatus, &r.Status}} {
		sel := s.mapped[f.field]
		if !sel.isSet {
			continue
		}
		v, ok := lookup(sel)
		if !ok || v == nil {
			continue
		}
		t, isStr := v.(string)
		if !isStr {
			return Resolution{}, &ValidationError{Field: f.field + " (" + sel.raw + ")", Reason: "must be a string"}
		}
		*f.dst = strings.TrimSpace(t)
	}
	if s.id.isSet {
		v, ok := lookup(s.id)
		if t, scalar := scalarText(v); ok && scalar && t != "" {
			res.DeliveryID = t
		}
	}
	if err := s.check(r); err != nil {
		return Resolution{}, err
	}
	return res, nil
}

// check validates a resolved request like Parse does, naming the mapped
// field. When both forms are mapped, the channel form wins if present.
func (s *Source) check(r *Request) error {
	name := func(field string) string { return field + " (" + s.mapped[field].raw + ")" }
	switch {
	case r.InteractionSID != "" || r.ChannelSID != "":
		r.TaskSID = ""
		if r.InteractionSID == "" {
			return &ValidationError{Field: name(fieldInteraction), Reason: "is missing or empty"}
		}
		if r.ChannelSID == "" {
			return &ValidationError{Field: name(fieldChannel), Reason: "is missing or empty"}
		}
	case r.TaskSID == "" && s.mapped[fieldChannel].isSet:
		return &ValidationError{Field: name(fieldChannel), Reason: "is missing or empty: nothing to close"}
	case r.TaskSID == "":
		return &ValidationError{Field: name(fieldTask), Reason: "is missing or empty: nothing to close"}
	}
	return checkValues(*r, name)
}
