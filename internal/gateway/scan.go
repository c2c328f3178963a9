package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// decodeEvent fills ev from payload exactly as json.Unmarshal(payload, ev)
// does — except that "headers" go to ev.headerList and ev.headersSet, not
// ev.Headers (see event) — with the same fields, same case-insensitive key matching, same treatment of
// null, duplicates and type mismatches — and fails whenever json.Unmarshal
// fails. It exists for speed: encoding/json allocates every key, value and
// header string separately (about sixty allocations for an HTTP API event),
// while decodeEvent copies the payload into one string and slices it.
// Strings with escape sequences or invalid UTF-8 are handed to
// json.Unmarshal, so their decoding is encoding/json's own. FuzzDecodeEvent
// compares the two on every input.
func decodeEvent(payload []byte, ev *event) error {
	d := eventScanner{s: string(payload)}
	d.skipSpace()
	if d.i == len(d.s) {
		return errEventSyntax
	}
	if d.peek() == '{' {
		d.object(target{kind: targetEvent, ev: ev})
	} else if d.isNull() {
		d.literal("null")
	} else {
		d.skipValue()
		d.typeMismatch("event")
	}
	d.skipSpace()
	if d.err == nil && d.i != len(d.s) {
		d.err = errEventSyntax
	}
	if d.err == nil {
		d.err = d.typeErr
	}
	return d.err
}

// errEventSyntax reports a payload that is not valid JSON.
var errEventSyntax = errors.New("invalid JSON")

// maxNestingDepth is encoding/json's limit on nested arrays and objects.
const maxNestingDepth = 10000

// eventScanner is a recursive-descent JSON parser over one string. The
// first syntax error stops it (err); a value of the wrong type for its
// field is skipped and remembered (typeErr), as encoding/json does.
type eventScanner struct {
	s       string
	i       int
	depth   int
	err     error
	typeErr error
}

func (d *eventScanner) fail() {
	if d.err == nil {
		d.err = errEventSyntax
	}
	d.i = len(d.s)
}

func (d *eventScanner) typeMismatch(field string) {
	if d.typeErr == nil {
		d.typeErr = fmt.Errorf("wrong JSON type for %s", field)
	}
}

func (d *eventScanner) peek() byte {
	if d.i < len(d.s) {
		return d.s[d.i]
	}
	return 0
}

func (d *eventScanner) skipSpace() {
	for d.i < len(d.s) {
		switch d.s[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

func (d *eventScanner) isNull() bool {
	return len(d.s)-d.i >= 4 && d.s[d.i:d.i+4] == "null"
}

func (d *eventScanner) literal(lit string) {
	if len(d.s)-d.i >= len(lit) && d.s[d.i:d.i+len(lit)] == lit {
		d.i += len(lit)
		return
	}
	d.fail()
}

// enter and leave track nesting against maxNestingDepth.
func (d *eventScanner) enter() bool {
	d.depth++
	if d.depth > maxNestingDepth {
		d.fail()
		return false
	}
	return true
}

func (d *eventScanner) leave() { d.depth-- }

// target says what object decodes an object's members into.
type target struct {
	kind    targetKind
	ev      *event              // targetEvent, targetRequestContext, targetIdentity, targetHTTP
	strMap  map[string]string   // targetStringMap
	strsMap map[string][]string // targetStringsMap
	field   string              // the map field, for type errors
}

// targetKind is the kind of object being decoded.
type targetKind int

const (
	targetSkip targetKind = iota
	targetEvent
	targetRequestContext
	targetIdentity
	targetHTTP
	targetStringMap
	targetStringsMap
	targetHeaderList
)

// object parses an object at d.i, decoding each member into t. (A target
// value rather than a callback keeps the parser free of closures, which
// would be allocated.)
func (d *eventScanner) object(t target) {
	if !d.enter() {
		return
	}
	defer d.leave()
	d.i++ // '{'
	d.skipSpace()
	if d.peek() == '}' {
		d.i++
		return
	}
	for d.err == nil {
		d.skipSpace()
		if d.peek() != '"' {
			d.fail()
			return
		}
		key := d.str()
		d.skipSpace()
		if d.peek() != ':' {
			d.fail()
			return
		}
		d.i++
		d.skipSpace()
		d.member(t, key)
		if d.err != nil {
			return
		}
		d.skipSpace()
		switch d.peek() {
		case ',':
			d.i++
		case '}':
			d.i++
			return
		default:
			d.fail()
			return
		}
	}
}

// array parses an array at d.i, decoding the elements into dst, or
// discarding them when dst is nil.
func (d *eventScanner) array(dst *[]string, field string) {
	if !d.enter() {
		return
	}
	defer d.leave()
	d.i++ // '['
	d.skipSpace()
	if d.peek() == ']' {
		d.i++
		return
	}
	for n := 0; d.err == nil; n++ {
		d.skipSpace()
		if dst == nil {
			d.skipValue()
		} else {
			d.element(dst, n, field)
		}
		if d.err != nil {
			return
		}
		d.skipSpace()
		switch d.peek() {
		case ',':
			d.i++
		case ']':
			d.i++
			return
		default:
			d.fail()
			return
		}
	}
}

// str parses a string token and returns its value. A token without escape
// sequences whose bytes are valid UTF-8 is its own value, sliced from the
// payload; any other is decoded by encoding/json.
func (d *eventScanner) str() string {
	start := d.i
	d.i++ // '"'
	simple := true
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			if simple {
				return d.s[start+1 : d.i-1]
			}
			var v string
			if err := json.Unmarshal([]byte(d.s[start:d.i]), &v); err != nil {
				d.fail()
				return ""
			}
			return v
		case c < 0x20:
			d.fail()
			return ""
		case c == '\\':
			simple = false
			d.i++
			if d.i == len(d.s) {
				d.fail()
				return ""
			}
			switch d.s[d.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				if len(d.s)-d.i < 5 || !isHex(d.s[d.i+1]) || !isHex(d.s[d.i+2]) || !isHex(d.s[d.i+3]) || !isHex(d.s[d.i+4]) {
					d.fail()
					return ""
				}
				d.i += 5
			default:
				d.fail()
				return ""
			}
		case c < utf8.RuneSelf:
			d.i++
		default:
			r, n := utf8.DecodeRuneInString(d.s[d.i:])
			if r == utf8.RuneError && n == 1 {
				simple = false
			}
			d.i += n
		}
	}
	d.fail()
	return ""
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// number checks a number token against the JSON grammar.
func (d *eventScanner) number() {
	if d.peek() == '-' {
		d.i++
	}
	switch c := d.peek(); {
	case c == '0':
		d.i++
	case '1' <= c && c <= '9':
		d.digits()
	default:
		d.fail()
		return
	}
	if d.peek() == '.' {
		d.i++
		if !d.digits() {
			d.fail()
			return
		}
	}
	if c := d.peek(); c == 'e' || c == 'E' {
		d.i++
		if c := d.peek(); c == '+' || c == '-' {
			d.i++
		}
		if !d.digits() {
			d.fail()
		}
	}
}

func (d *eventScanner) digits() bool {
	start := d.i
	for d.i < len(d.s) && '0' <= d.s[d.i] && d.s[d.i] <= '9' {
		d.i++
	}
	return d.i > start
}

// skipValue parses and discards any value.
func (d *eventScanner) skipValue() {
	switch c := d.peek(); {
	case c == '{':
		d.object(target{})
	case c == '[':
		d.array(nil, "")
	case c == '"':
		d.skipString()
	case c == 't':
		d.literal("true")
	case c == 'f':
		d.literal("false")
	case c == 'n':
		d.literal("null")
	case c == '-' || '0' <= c && c <= '9':
		d.number()
	default:
		d.fail()
	}
}

// skipString parses a string token without decoding it.
func (d *eventScanner) skipString() {
	d.i++ // '"'
	for d.i < len(d.s) {
		c := d.s[d.i]
		switch {
		case c == '"':
			d.i++
			return
		case c < 0x20:
			d.fail()
			return
		case c == '\\':
			d.i++
			switch d.peek() {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				d.i++
			case 'u':
				if len(d.s)-d.i < 5 || !isHex(d.s[d.i+1]) || !isHex(d.s[d.i+2]) || !isHex(d.s[d.i+3]) || !isHex(d.s[d.i+4]) {
					d.fail()
					return
				}
				d.i += 5
			default:
				d.fail()
				return
			}
		default:
			d.i++
		}
	}
	d.fail()
}

// stringInto decodes a value into a string field: a string sets it, null
// leaves it, anything else is a type mismatch.
func (d *eventScanner) stringInto(dst *string, field string) {
	switch {
	case d.peek() == '"':
		*dst = d.str()
	case d.isNull():
		d.literal("null")
	default:
		d.skipValue()
		d.typeMismatch(field)
	}
}

// boolInto decodes a value into a bool field.
func (d *eventScanner) boolInto(dst *bool, field string) {
	switch c := d.peek(); {
	case c == 't':
		d.literal("true")
		*dst = true
	case c == 'f':
		d.literal("false")
		*dst = false
	case d.isNull():
		d.literal("null")
	default:
		d.skipValue()
		d.typeMismatch(field)
	}
}

// stringsInto decodes an array of strings into a slice field the way
// encoding/json does: elements are decoded over the slice's existing
// backing array (a null element keeps what was there), [] gives an empty
// non-nil slice and null gives nil.
func (d *eventScanner) stringsInto(dst *[]string, field string) {
	switch {
	case d.peek() == '[':
		s := (*dst)[:0]
		d.array(&s, field)
		if len(s) == 0 {
			s = []string{}
		}
		*dst = s
	case d.isNull():
		d.literal("null")
		*dst = nil
	default:
		d.skipValue()
		d.typeMismatch(field)
	}
}

// element decodes element i of an array into (*s)[i], extending *s by one
// over its backing array or, at capacity, into a grown one.
func (d *eventScanner) element(s *[]string, i int, field string) {
	if i < cap(*s) {
		*s = (*s)[:i+1]
	} else {
		*s = append((*s)[:i], "")
	}
	d.stringInto(&(*s)[i], field)
}

// stringMapInto decodes an object of strings into a map field: entries are
// added to an existing map, a null member stores "", null clears the map.
func (d *eventScanner) stringMapInto(dst *map[string]string, field string) {
	switch {
	case d.peek() == '{':
		if *dst == nil {
			*dst = make(map[string]string)
		}
		d.object(target{kind: targetStringMap, strMap: *dst, field: field})
	case d.isNull():
		d.literal("null")
		*dst = nil
	default:
		d.skipValue()
		d.typeMismatch(field)
	}
}

// stringsMapInto decodes an object of string arrays into a map field.
func (d *eventScanner) stringsMapInto(dst *map[string][]string, field string) {
	switch {
	case d.peek() == '{':
		if *dst == nil {
			*dst = make(map[string][]string)
		}
		d.object(target{kind: targetStringsMap, strsMap: *dst, field: field})
	case d.isNull():
		d.literal("null")
		*dst = nil
	default:
		d.skipValue()
		d.typeMismatch(field)
	}
}

// structInto decodes an object into a struct field of ev; null leaves the
// struct as it is.
func (d *eventScanner) structInto(kind targetKind, ev *event, field string) {
	switch {
	case d.peek() == '{':
		d.object(target{kind: kind, ev: ev})
	case d.isNull():
		d.literal("null")
	default:
		d.skipValue()
		d.typeMismatch(field)
	}
}

// headerSizeHint sizes the header list for a typical API Gateway event.
const headerSizeHint = 16

// headerListInto decodes the "headers" object as stringMapInto would into
// ev.Headers, recording the members in ev.headerList instead of a map: an
// object adds to the list, null empties it.
func (d *eventScanner) headerListInto(ev *event, field string) {
	switch {
	case d.peek() == '{':
		ev.headersSet = true
		if ev.headerList == nil {
			ev.headerList = make([]string, 0, 2*headerSizeHint)
		}
		d.object(target{kind: targetHeaderList, ev: ev, field: field})
	case d.isNull():
		d.literal("null")
		ev.headerList, ev.headersSet = ev.headerList[:0], false
	default:
		d.skipValue()
		d.typeMismatch(field)
	}
}

// member decodes the value of member key of an object into t.
func (d *eventScanner) member(t target, key string) {
	switch t.kind {
	case targetEvent:
		d.eventMember(t.ev, key)
	case targetRequestContext:
		d.requestContextMember(t.ev, key)
	case targetIdentity:
		if foldEqual(key, "sourceIp") {
			d.stringInto(&t.ev.RequestContext.Identity.SourceIP, key)
		} else {
			d.skipValue()
		}
	case targetHTTP:
		h := &t.ev.RequestContext.HTTP
		switch {
		case foldEqual(key, "method"):
			d.stringInto(&h.Method, key)
		case foldEqual(key, "path"):
			d.stringInto(&h.Path, key)
		case foldEqual(key, "sourceIp"):
			d.stringInto(&h.SourceIP, key)
		default:
			d.skipValue()
		}
	case targetStringMap:
		var v string
		d.stringInto(&v, t.field)
		t.strMap[key] = v
	case targetHeaderList:
		var v string
		d.stringInto(&v, t.field)
		t.ev.headerList = append(t.ev.headerList, key, v)
	case targetStringsMap:
		var v []string
		d.stringsInto(&v, t.field)
		t.strsMap[key] = v
	default:
		d.skipValue()
	}
}

func (d *eventScanner) eventMember(ev *event, key string) {
	switch {
	case foldEqual(key, "version"):
		d.stringInto(&ev.Version, key)
	case foldEqual(key, "resource"):
		d.stringInto(&ev.Resource, key)
	case foldEqual(key, "path"):
		d.stringInto(&ev.Path, key)
	case foldEqual(key, "httpMethod"):
		d.stringInto(&ev.HTTPMethod, key)
	case foldEqual(key, "multiValueHeaders"):
		d.stringsMapInto(&ev.MultiValueHeaders, key)
	case foldEqual(key, "multiValueQueryStringParameters"):
		d.stringsMapInto(&ev.MultiValueQueryStringParameters, key)
	case foldEqual(key, "pathParameters"):
		d.stringMapInto(&ev.PathParameters, key)
	case foldEqual(key, "headers"):
		d.headerListInto(ev, key)
	case foldEqual(key, "queryStringParameters"):
		d.stringMapInto(&ev.QueryStringParameters, key)
	case foldEqual(key, "body"):
		d.stringInto(&ev.Body, key)
	case foldEqual(key, "isBase64Encoded"):
		d.boolInto(&ev.IsBase64Encoded, key)
	case foldEqual(key, "rawPath"):
		d.stringInto(&ev.RawPath, key)
	case foldEqual(key, "rawQueryString"):
		d.stringInto(&ev.RawQueryString, key)
	case foldEqual(key, "cookies"):
		d.stringsInto(&ev.Cookies, key)
	case foldEqual(key, "requestContext"):
		d.structInto(targetRequestContext, ev, key)
	default:
		d.skipValue()
	}
}

func (d *eventScanner) requestContextMember(ev *event, key string) {
	rc := &ev.RequestContext
	switch {
	case foldEqual(key, "requestId"):
		d.stringInto(&rc.RequestID, key)
	case foldEqual(key, "domainName"):
		d.stringInto(&rc.DomainName, key)
	case foldEqual(key, "stage"):
		d.stringInto(&rc.Stage, key)
	case foldEqual(key, "path"):
		d.stringInto(&rc.Path, key)
	case foldEqual(key, "identity"):
		d.structInto(targetIdentity, ev, key)
	case foldEqual(key, "http"):
		d.structInto(targetHTTP, ev, key)
	default:
		d.skipValue()
	}
}

// foldEqual reports whether a JSON object key matches the field name as
// encoding/json matches keys to struct fields: equal under Unicode simple
// case folding (so the Kelvin sign matches "k", and the dotless ı matches
// nothing), which is strings.EqualFold for the valid UTF-8 keys str
// returns.
func foldEqual(key, name string) bool { return strings.EqualFold(key, name) }

// commonHeaders are the canonical forms of the header names API Gateway
// and flexhook's callers send, keyed by the lower-case form HTTP APIs
// deliver, so that canonicalHeaderKey needs no allocation for them.
var commonHeaders = map[string]string{
	"accept":                     "Accept",
	"accept-encoding":            "Accept-Encoding",
	"authorization":              "Authorization",
	"cache-control":              "Cache-Control",
	"content-length":             "Content-Length",
	"content-type":               "Content-Type",
	"cookie":                     "Cookie",
	"host":                       "Host",
	"i-twilio-idempotency-token": "I-Twilio-Idempotency-Token",
	"user-agent":                 "User-Agent",
	"webhook-id":                 "Webhook-Id",
	"webhook-signature":          "Webhook-Signature",
	"webhook-timestamp":          "Webhook-Timestamp",
	"x-amzn-trace-id":            "X-Amzn-Trace-Id",
	"x-forwarded-for":            "X-Forwarded-For",
	"x-forwarded-port":           "X-Forwarded-Port",
	"x-forwarded-proto":          "X-Forwarded-Proto",
	"x-home-region":              "X-Home-Region",
	"x-twilio-signature":         "X-Twilio-Signature",
}

// canonicalHeaderKey is http.CanonicalHeaderKey without an allocation for
// the names in commonHeaders.
func canonicalHeaderKey(k string) string {
	if ck, ok := commonHeaders[k]; ok {
		return ck
	}
	return http.CanonicalHeaderKey(k)
}
