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
	tokens []string
}

// maxPointerLen bounds a configured pointer.
const maxPointerLen = 512

// unescapeToken decodes "~1" to "/" and "~0" to "~", left to right, so
// "~01" is "~1" as RFC 6901 section 4 asks.
var unescapeToken = strings.NewReplacer("~1", "/", "~0", "~")

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
	// Escapes cannot overlap, so every '~' starts one exactly when the
	// counts agree.
	if strings.Count(s, "~") != strings.Count(s, "~0")+strings.Count(s, "~1") {
		return Pointer{}, fmt.Errorf("%w: %q has '~' not followed by 0 or 1", ErrBadPointer, s)
	}
	var p Pointer
	for _, raw := range strings.Split(s[1:], "/") {
		p.tokens = append(p.tokens, unescapeToken.Replace(raw))
	}
	return p, nil
}

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
			// An index is "0" or digits without a leading zero.
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(node) || tok != strconv.Itoa(i) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// DecodeDocument decodes a JSON body for pointer resolution: numbers are
// kept as json.Number, so a large id is never rounded. It returns an
// error wrapping ErrMalformedJSON when body is not one JSON value of valid
// UTF-8 nested at most MaxDepth deep.
func DecodeDocument(body []byte) (any, error) {
	if err := checkJSONText(body); err != nil {
		return nil, err
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

// checkJSONText refuses, before any decoding, a body of invalid UTF-8 or
// nested deeper than MaxDepth.
func checkJSONText(body []byte) error {
	if !utf8.Valid(body) {
		return fmt.Errorf("%w: invalid UTF-8", ErrMalformedJSON)
	}
	if jsondepth.Exceeds(body, MaxDepth) {
		return fmt.Errorf("%w: nested deeper than %d", ErrMalformedJSON, MaxDepth)
	}
	return nil
}
