package crm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/flexhook/flexhook/internal/jsondepth"
)

// ErrBadPointer is returned by ParsePointer for text that is not an RFC 6901
// JSON Pointer.
var ErrBadPointer = errors.New("crm: not a JSON Pointer (RFC 6901)")

// Pointer is a parsed RFC 6901 JSON Pointer
// (https://www.rfc-editor.org/rfc/rfc6901): the reference tokens, unescaped.
// The zero Pointer refers to the whole document.
type Pointer struct {
	text   string
	tokens []string
}

// maxPointerLen bounds a configured pointer.
const maxPointerLen = 512

// ParsePointer parses s: "" (the whole document) or a sequence of
// "/token", where "~1" stands for "/" and "~0" for "~". Any other "~"
// sequence is an error wrapping ErrBadPointer, as RFC 6901 section 3 asks.
func ParsePointer(s string) (Pointer, error) {
	if s == "" {
		return Pointer{}, nil
	}
	if len(s) > maxPointerLen || !utf8.ValidString(s) {
		return Pointer{}, fmt.Errorf("%w: longer than %d bytes or not UTF-8", ErrBadPointer, maxPointerLen)
	}
	if s[0] != '/' {
		return Pointer{}, fmt.Errorf("%w: %q does not start with '/'", ErrBadPointer, s)
	}
	p := Pointer{text: s}
	for _, raw := range strings.Split(s[1:], "/") {
		var b strings.Builder
		for i := 0; i < len(raw); i++ {
			c := raw[i]
			if c != '~' {
				b.WriteByte(c)
				continue
			}
			if i+1 == len(raw) || (raw[i+1] != '0' && raw[i+1] != '1') {
				return Pointer{}, fmt.Errorf("%w: %q has '~' not followed by 0 or 1", ErrBadPointer, s)
			}
			if raw[i+1] == '0' {
				b.WriteByte('~')
			} else {
				b.WriteByte('/')
			}
			i++
		}
		p.tokens = append(p.tokens, b.String())
	}
	return p, nil
}

// String returns the pointer as written.
func (p Pointer) String() string { return p.text }

// IsZero reports whether p refers to the whole document.
func (p Pointer) IsZero() bool { return len(p.tokens) == 0 }

// Resolve returns the value p refers to in doc, a document decoded by
// DecodeDocument (map[string]any, []any, string, json.Number, bool, nil).
// ok is false when a member or index does not exist. Array indexes are
// decimal without leading zeros; "-" (the element after the last) never
// exists.
func (p Pointer) Resolve(doc any) (v any, ok bool) {
	v = doc
	for _, tok := range p.tokens {
		switch node := v.(type) {
		case map[string]any:
			if v, ok = node[tok]; !ok {
				return nil, false
			}
		case []any:
			i, ok := arrayIndex(tok)
			if !ok || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// arrayIndex parses an RFC 6901 array index: "0" or digits without a
// leading zero.
func arrayIndex(tok string) (int, bool) {
	if tok == "" || len(tok) > 9 || (len(tok) > 1 && tok[0] == '0') {
		return 0, false
	}
	for i := 0; i < len(tok); i++ {
		if tok[i] < '0' || tok[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(tok)
	return n, err == nil
}

// DecodeDocument decodes a JSON body for pointer resolution: numbers are
// kept as json.Number, so a large id is never rounded. It returns an
// error wrapping ErrMalformedJSON when body is not one JSON value of valid
// UTF-8 nested at most MaxDepth deep.
func DecodeDocument(body []byte) (any, error) {
	if !utf8.Valid(body) {
		return nil, fmt.Errorf("%w: invalid UTF-8", ErrMalformedJSON)
	}
	if jsondepth.Exceeds(body, MaxDepth) {
		return nil, fmt.Errorf("%w: nested deeper than %d", ErrMalformedJSON, MaxDepth)
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformedJSON, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, fmt.Errorf("%w: trailing data", ErrMalformedJSON)
	}
	return doc, nil
}
