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
// does — same fields, same case-insensitive key matching, same treatment of
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
		d.object(d.topField(ev))
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

// object parses an object at d.i, calling field for each member with the
// decoded key; field parses the value.
func (d *eventScanner) object(field func(key string)) {
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
		field(key)
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

// array parses an array at d.i, calling elem for each element at index i.
func (d *eventScanner) array(elem func(i int)) {
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
		elem(n)
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
		d.object(func(string) { d.skipValue() })
	case c == '[':
		d.array(func(int) { d.skipValue() })
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
		s := *dst
		n := 0
		d.array(func(i int) {
			if i < cap(s) {
				s = s[:i+1]
			} else {
				s = append(s[:i], "")
			}
			d.stringInto(&s[i], field)
			n = i + 1
		})
		if n == 0 {
			s = []string{}
		}
		*dst = s[:n]
	case d.isNull():
		d.literal("null")
		*dst = nil
	default:
		d.skipValue()
		d.typeMismatch(field)
	}
}

// stringMapInto decodes an object of strings into a map field: entries are
// added to an existing map, a null member stores "", null clears the map.
func (d *eventScanner) stringMapInto(dst *map[string]string, field string, sizeHint int) {
	switch {
	case d.peek() == '{':
		if *dst == nil {
			*dst = make(map[string]string, sizeHint)
		}
		m := *dst
		d.object(func(key string) {
			var v string
			d.stringInto(&v, field)
			m[key] = v
		})
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
		m := *dst
		d.object(func(key string) {
			var v []string
			d.stringsInto(&v, field)
			m[key] = v
		})
	case d.isNull():
		d.literal("null")
		*dst = nil
	default:
		d.skipValue()
		d.typeMismatch(field)
	}
}

// structInto decodes an object into a struct field through fields; null
// leaves the struct as it is.
func (d *eventScanner) structInto(fields func(key string), field string) {
	switch {
	case d.peek() == '{':
		d.object(fields)
	case d.isNull():
		d.literal("null")
	default:
		d.skipValue()
		d.typeMismatch(field)
	}
}

// headerSizeHint sizes the headers map for a typical API Gateway event.
const headerSizeHint = 16

// topField decodes the members of the event object.
func (d *eventScanner) topField(ev *event) func(key string) {
	rc := &ev.RequestContext
	identity := func(key string) {
		if foldEqual(key, "sourceIp") {
			d.stringInto(&rc.Identity.SourceIP, key)
			return
		}
		d.skipValue()
	}
	httpFields := func(key string) {
		switch {
		case foldEqual(key, "method"):
			d.stringInto(&rc.HTTP.Method, key)
		case foldEqual(key, "path"):
			d.stringInto(&rc.HTTP.Path, key)
		case foldEqual(key, "sourceIp"):
			d.stringInto(&rc.HTTP.SourceIP, key)
		default:
			d.skipValue()
		}
	}
	requestContext := func(key string) {
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
			d.structInto(identity, key)
		case foldEqual(key, "http"):
			d.structInto(httpFields, key)
		default:
			d.skipValue()
		}
	}
	return func(key string) {
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
			d.stringMapInto(&ev.PathParameters, key, 0)
		case foldEqual(key, "headers"):
			d.stringMapInto(&ev.Headers, key, headerSizeHint)
		case foldEqual(key, "queryStringParameters"):
			d.stringMapInto(&ev.QueryStringParameters, key, 0)
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
			d.structInto(requestContext, key)
		default:
			d.skipValue()
		}
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
