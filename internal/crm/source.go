package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"slices"
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

	interaction, channel, task selector
	status                     selector
	statusConst                string
	when                       *condition
	id                         selector // JSON sources: the delivery id
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
	keys, values, err := objectKeys(raw)
	if err != nil {
		return &SourceError{Source: label, Reason: "is not a source object: " + err.Error()}
	}
	if err := checkObjectKeys(label, "", keys, sourceKeys); err != nil {
		return err
	}
	for _, k := range []string{"map", "when"} {
		v, ok := values[k]
		if !ok || bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			continue
		}
		nested, _, err := objectKeys(v)
		if err != nil {
			return &SourceError{Source: label, Field: k, Reason: "must be an object"}
		}
		allowed := conditionKeys
		if k == "map" {
			allowed = nil // checked by name in buildSource
		}
		if err := checkObjectKeys(label, k+".", nested, allowed); err != nil {
			return err
		}
	}
	return nil
}

// checkObjectKeys refuses a repeated key, and one not in allowed (when
// allowed is not nil), naming it as prefix+key.
func checkObjectKeys(label, prefix string, keys, allowed []string) error {
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		if seen[k] {
			return &SourceError{Source: label, Field: prefix + k, Reason: "is repeated"}
		}
		seen[k] = true
		if allowed != nil && !slices.Contains(allowed, k) {
			return &SourceError{Source: label, Field: prefix + k, Reason: "is not one of " + strings.Join(allowed, ", ") + " (keys are case-sensitive)"}
		}
	}
	return nil
}

// objectKeys returns the keys of a JSON object in order, repeats
// included, and the value of each (the last of a repeated key).
func objectKeys(raw json.RawMessage) ([]string, map[string]json.RawMessage, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, nil, errors.New("not a JSON object")
	}
	var keys []string
	values := map[string]json.RawMessage{}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, nil, err
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, nil, err
		}
		keys = append(keys, k)
		values[k] = v
	}
	return keys, values, nil
}

// validName accepts 1-64 of a-z 0-9 - _, starting with a letter or digit.
func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || (i > 0 && (c == '-' || c == '_'))) {
			return false
		}
	}
	return true
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
	known := false
	for _, k := range Schemes {
		known = known || k == s.Scheme
	}
	if !known {
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
	for k := range e.Map {
		switch k {
		case fieldInteraction, fieldChannel, fieldTask, fieldStatus:
		default:
			return Source{}, fail("map."+k, "is not one of interaction_sid, channel_sid, task_sid, status")
		}
	}
	var err error
	if s.interaction, err = sel("map."+fieldInteraction, e.Map[fieldInteraction]); err != nil {
		return Source{}, err
	}
	if s.channel, err = sel("map."+fieldChannel, e.Map[fieldChannel]); err != nil {
		return Source{}, err
	}
	if s.task, err = sel("map."+fieldTask, e.Map[fieldTask]); err != nil {
		return Source{}, err
	}
	switch st := e.Map[fieldStatus]; st {
	case StatusClosed, StatusInactive:
		s.statusConst = st
	default:
		if s.status, err = sel("map."+fieldStatus, st); err != nil {
			return Source{}, err
		}
	}
	switch {
	case s.interaction.isSet != s.channel.isSet && s.interaction.isSet:
		return Source{}, fail("map."+fieldChannel, "is required with map.interaction_sid")
	case s.interaction.isSet != s.channel.isSet:
		return Source{}, fail("map."+fieldInteraction, "is required with map.channel_sid")
	case !s.channel.isSet && !s.task.isSet:
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
		if x {
			return "true", true
		}
		return "false", true
	}
	return "", false
}

// validFieldName accepts a Salesforce field API name.
func validFieldName(n string) bool {
	if n == "" || len(n) > 80 {
		return false
	}
	for i := 0; i < len(n); i++ {
		c := n[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
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
	str := func(name string, sel selector) (string, error) {
		if !sel.isSet {
			return "", nil
		}
		v, ok := lookup(sel)
		if !ok || v == nil {
			return "", nil
		}
		t, isStr := v.(string)
		if !isStr {
			return "", &ValidationError{Field: name + " (" + sel.raw + ")", Reason: "must be a string"}
		}
		return strings.TrimSpace(t), nil
	}
	var err error
	r := &res.Request
	if r.InteractionSID, err = str(fieldInteraction, s.interaction); err != nil {
		return Resolution{}, err
	}
	if r.ChannelSID, err = str(fieldChannel, s.channel); err != nil {
		return Resolution{}, err
	}
	if r.TaskSID, err = str(fieldTask, s.task); err != nil {
		return Resolution{}, err
	}
	r.Status = s.statusConst
	if s.status.isSet {
		if r.Status, err = str(fieldStatus, s.status); err != nil {
			return Resolution{}, err
		}
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
	sels := map[string]selector{fieldInteraction: s.interaction, fieldChannel: s.channel, fieldTask: s.task, fieldStatus: s.status}
	name := func(field string) string { return field + " (" + sels[field].raw + ")" }
	switch {
	case r.InteractionSID != "" || r.ChannelSID != "":
		r.TaskSID = ""
		if r.InteractionSID == "" {
			return &ValidationError{Field: name(fieldInteraction), Reason: "is missing or empty"}
		}
		if r.ChannelSID == "" {
			return &ValidationError{Field: name(fieldChannel), Reason: "is missing or empty"}
		}
	case r.TaskSID == "" && s.channel.isSet:
		return &ValidationError{Field: name(fieldChannel), Reason: "is missing or empty: nothing to close"}
	case r.TaskSID == "":
		return &ValidationError{Field: name(fieldTask), Reason: "is missing or empty: nothing to close"}
	}
	return checkValues(*r, name)
}

// TokenFromQuery returns the salesforce-outbound token of a raw query
// string, "" when absent or unreadable.
func TokenFromQuery(rawQuery string) string {
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return ""
	}
	return q.Get(TokenParam)
}
