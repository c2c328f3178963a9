package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/flexhook/flexhook/internal/jsondepth"
	"github.com/flexhook/flexhook/internal/sid"
)

// Status values a CRM may ask for. An absent status is returned as "" and
// the caller applies its default.
const (
	StatusClosed   = "closed"
	StatusInactive = "inactive"
)

// MaxDepth is the deepest nesting of arrays and objects Parse accepts,
// checked before any decoding.
const MaxDepth = 32

// Body field names.
const (
	fieldInteraction = "interaction_sid"
	fieldChannel     = "channel_sid"
	fieldTask        = "task_sid"
	fieldStatus      = "status"
)

// ErrMalformedJSON means the body is not a single well-formed JSON object:
// a syntax error, another kind of value, trailing data, invalid UTF-8 or
// nesting deeper than MaxDepth. Callers answer 400.
var ErrMalformedJSON = errors.New("crm: body is not a well-formed JSON object")

// ValidationError reports a well-formed body whose content is wrong.
// Callers answer 422 with its message, which names the field and quotes at
// most a short, sanitized excerpt of the value.
type ValidationError struct {
	// Field is the JSON field at fault, for example "channel_sid".
	Field string
	// Reason says what is wrong with it.
	Reason string
	// Got is the quoted excerpt of the value, or "". It helps the CRM
	// that sent the value; it does not belong in logs, since a value in
	// the wrong field may be anything, personal data included.
	Got string
}

// Error returns "crm: <field>: <reason>", followed by ", got <excerpt>"
// when the value is quoted.
func (e *ValidationError) Error() string {
	if e.Got != "" {
		return "crm: " + e.Field + ": " + e.Reason + ", got " + e.Got
	}
	return "crm: " + e.Field + ": " + e.Reason
}

// Unquoted returns Error without the excerpt of the value, for logs.
func (e *ValidationError) Unquoted() string {
	return "crm: " + e.Field + ": " + e.Reason
}

// Request is what the CRM asks for: close one Interaction Channel, named
// directly or through the TaskRouter task routed on it.
type Request struct {
	// InteractionSID and ChannelSID are set together (KD…, UO…), or
	// neither is.
	InteractionSID string
	ChannelSID     string
	// TaskSID (WT…) is set when the body named a task instead.
	TaskSID string
	// Status is StatusClosed, StatusInactive or "" when not given.
	Status string
}

// Parse reads a CRM callback body, either
//
//	{"interaction_sid":"KD…","channel_sid":"UO…","status":"closed"|"inactive"}
//
// or {"task_sid":"WT…"}, optionally with "status" too. Field names match
// exactly; unknown fields are ignored; null or "" counts as absent.
//
// It returns an error wrapping ErrMalformedJSON when the body is not a
// single well-formed JSON object of valid UTF-8 nested at most MaxDepth
// deep, and a *ValidationError when a field is not a string, a SID does not
// have its type's prefix and 32 hex digits, status is another word, a
// field is repeated, or the body gives both or neither of the two forms.
// Parse never panics, whatever the input.
func Parse(body []byte) (Request, error) {
	if !utf8.Valid(body) {
		return Request{}, fmt.Errorf("%w: invalid UTF-8", ErrMalformedJSON)
	}
	if jsondepth.Exceeds(body, MaxDepth) {
		return Request{}, fmt.Errorf("%w: nested deeper than %d", ErrMalformedJSON, MaxDepth)
	}
	if !json.Valid(body) {
		var skip struct{}
		err := json.Unmarshal(body, &skip) // only to describe the syntax error
		return Request{}, fmt.Errorf("%w: %v", ErrMalformedJSON, err)
	}
	s := scanner{b: body}
	s.skipSpace()
	if !s.consume('{') {
		return Request{}, fmt.Errorf("%w: not an object", ErrMalformedJSON)
	}

	names := [4]string{fieldInteraction, fieldChannel, fieldTask, fieldStatus}
	var (
		values  [4]string // indexed like names
		present [4]bool   // a non-empty string was given
		seen    [4]bool   // the field appeared at all
	)
	for {
		s.skipSpace()
		if s.consume('}') {
			break
		}
		s.consume(',')
		s.skipSpace()
		key, ok := s.str()
		if !ok {
			return Request{}, fmt.Errorf("%w: expected a field name", ErrMalformedJSON)
		}
		s.skipSpace()
		if !s.consume(':') {
			return Request{}, fmt.Errorf("%w: expected ':'", ErrMalformedJSON)
		}
		s.skipSpace()
		i := fieldIndex(key)
		if i < 0 {
			if !s.skipValue() {
				return Request{}, fmt.Errorf("%w: bad value", ErrMalformedJSON)
			}
			continue
		}
		name := names[i]
		if seen[i] {
			return Request{}, &ValidationError{Field: name, Reason: "appears more than once"}
		}
		seen[i] = true
		if s.literal("null") {
			continue
		}
		raw, ok := s.str()
		if !ok {
			return Request{}, &ValidationError{Field: name, Reason: "must be a string"}
		}
		v, err := unquote(raw)
		if err != nil {
			return Request{}, fmt.Errorf("%w: %v", ErrMalformedJSON, err)
		}
		if v == "" {
			continue
		}
		values[i], present[i] = v, true
	}
	if s.skipSpace(); s.i != len(s.b) { // unreachable after json.Valid; kept as the invariant
		return Request{}, fmt.Errorf("%w: trailing data", ErrMalformedJSON)
	}

	r := Request{
		InteractionSID: values[0],
		ChannelSID:     values[1],
		TaskSID:        values[2],
		Status:         values[3],
	}
	channelForm := present[0] || present[1]
	switch {
	case channelForm && present[2]:
		return Request{}, &ValidationError{Field: fieldTask, Reason: "cannot be combined with interaction_sid and channel_sid"}
	case present[2]:
		if !sid.Valid(sid.Task, r.TaskSID) {
			return Request{}, badSID(fieldTask, "a TaskRouter Task", sid.Task, r.TaskSID)
		}
	case channelForm:
		if !present[0] {
			return Request{}, &ValidationError{Field: fieldInteraction, Reason: "is required with channel_sid"}
		}
		if !present[1] {
			return Request{}, &ValidationError{Field: fieldChannel, Reason: "is required with interaction_sid"}
		}
		if !sid.Valid(sid.Interaction, r.InteractionSID) {
			return Request{}, badSID(fieldInteraction, "a Flex Interaction", sid.Interaction, r.InteractionSID)
		}
		if !sid.Valid(sid.Channel, r.ChannelSID) {
			return Request{}, badSID(fieldChannel, "a Flex Interaction Channel", sid.Channel, r.ChannelSID)
		}
	default:
		return Request{}, &ValidationError{Field: fieldInteraction, Reason: "is required, with channel_sid, unless task_sid is given"}
	}
	if r.Status != "" && r.Status != StatusClosed && r.Status != StatusInactive {
		return Request{}, &ValidationError{
			Field:  fieldStatus,
			Reason: fmt.Sprintf("must be %q or %q", StatusClosed, StatusInactive),
			Got:    excerpt(r.Status),
		}
	}
	return r, nil
}

// fieldIndex returns the position of the JSON string raw (quotes included)
// among Parse's known fields, or -1.
func fieldIndex(raw []byte) int {
	key := raw
	if bytes.IndexByte(raw, '\\') >= 0 {
		s, err := unquote(raw)
		if err != nil {
			return -1
		}
		key = []byte(s)
	} else if len(raw) >= 2 {
		key = raw[1 : len(raw)-1]
	}
	switch string(key) {
	case fieldInteraction:
		return 0
	case fieldChannel:
		return 1
	case fieldTask:
		return 2
	case fieldStatus:
		return 3
	}
	return -1
}

// badSID builds the ValidationError for a value that is not a SID of the
// expected type.
func badSID(field, what, prefix, got string) *ValidationError {
	return &ValidationError{
		Field:  field,
		Reason: fmt.Sprintf("must be %s SID (%q and 32 hex digits)", what, prefix),
		Got:    excerpt(got),
	}
}

// excerptLen is how many bytes of a bad value an error message may quote.
const excerptLen = 12

// excerpt quotes at most excerptLen bytes of s, with anything but visible
// ASCII replaced by '?', and notes the full length when it cuts.
func excerpt(s string) string {
	var b [excerptLen]byte
	n := min(len(s), excerptLen)
	for i := range n {
		c := s[i]
		if c < ' ' || c >= 0x7f || c == '"' || c == '\\' {
			c = '?'
		}
		b[i] = c
	}
	if len(s) > excerptLen {
		return fmt.Sprintf("\"%s...\" (%d bytes)", b[:n], len(s))
	}
	return fmt.Sprintf("\"%s\"", b[:n])
}

// unquote decodes the JSON string raw, quotes included.
func unquote(raw []byte) (string, error) {
	if len(raw) >= 2 && bytes.IndexByte(raw, '\\') < 0 {
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// scanner walks a JSON document already checked by json.Valid. Every
// method still bounds-checks, so a logic error yields a failure, not a
// panic.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\r', '\n':
			s.i++
		default:
			return
		}
	}
}

// consume advances past c if it is the next byte.
func (s *scanner) consume(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// literal advances past word (null, true, false) if it comes next.
func (s *scanner) literal(word string) bool {
	if bytes.HasPrefix(s.b[s.i:], []byte(word)) {
		s.i += len(word)
		return true
	}
	return false
}

// str returns the JSON string starting at the cursor, quotes included,
// and advances past it.
func (s *scanner) str() ([]byte, bool) {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return nil, false
	}
	start := s.i
	for j := s.i + 1; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			j++
		case '"':
			s.i = j + 1
			return s.b[start:s.i], true
		}
	}
	return nil, false
}

// skipValue advances past the value at the cursor.
func (s *scanner) skipValue() bool {
	if s.i >= len(s.b) {
		return false
	}
	switch s.b[s.i] {
	case '"':
		_, ok := s.str()
		return ok
	case '{', '[':
		depth := 0
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, ok := s.str(); !ok {
					return false
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					s.i++
					return true
				}
			}
			s.i++
		}
		return false
	}
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', '}', ']', ' ', '\t', '\r', '\n':
			return s.i > start
		}
		s.i++
	}
	return s.i > start
}
