package gateway

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"unicode/utf8"
)

// ErrBadResponse means Encode was given a response API Gateway would
// refuse: a status outside 100-599 or a malformed header.
var ErrBadResponse = errors.New("invalid HTTP response")

// Response is an HTTP response to hand back to API Gateway or a function
// URL.
type Response struct {
	// Status is the HTTP status code, 100-599.
	Status int
	// Header maps header names to one value each.
	Header map[string]string
	// Body is the response body.
	Body []byte
}

// Encode renders r as the JSON Lambda returns for a proxy integration:
//
//	{"statusCode":200,"headers":{…},"body":"…","isBase64Encoded":false}
//
// The same document is valid for REST APIs (payload 1.0), HTTP APIs
// (payload 2.0) and function URLs. Header names are written sorted, so the
// output is deterministic. A body that is not valid UTF-8 is sent base64
// encoded with "isBase64Encoded":true; HTTP APIs and function URLs decode
// it, a REST API only for content types listed in its binaryMediaTypes.
//
// Encode returns an error wrapping ErrBadResponse when the status is not
// in 100-599, a header name is not an HTTP token, or a header value holds
// control characters or invalid UTF-8.
func Encode(r Response) ([]byte, error) {
	if r.Status < 100 || r.Status > 599 {
		return nil, fmt.Errorf("encode response: %w: status %d", ErrBadResponse, r.Status)
	}
	size := len(`{"statusCode":000,"headers":{},"body":"","isBase64Encoded":false}`)
	for k, v := range r.Header {
		if !validToken(k) {
			return nil, fmt.Errorf("encode response: %w: header name %q", ErrBadResponse, k)
		}
		if !validHeaderValue(v) {
			return nil, fmt.Errorf("encode response: %w: value of header %s", ErrBadResponse, k)
		}
		size += len(k) + len(v) + 6
	}
	b64 := !utf8.Valid(r.Body)
	if b64 {
		size += base64.StdEncoding.EncodedLen(len(r.Body))
	} else {
		size += len(r.Body) + len(r.Body)/8
	}

	b := make([]byte, 0, size)
	b = append(b, `{"statusCode":`...)
	b = strconv.AppendInt(b, int64(r.Status), 10)
	b = append(b, `,"headers":{`...)
	keys := make([]string, 0, 16) // on the stack for typical responses
	for k := range r.Header {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, k)
		b = append(b, ':')
		b = appendString(b, r.Header[k])
	}
	b = append(b, `},"body":`...)
	if b64 {
		b = append(b, '"')
		b = base64.StdEncoding.AppendEncode(b, r.Body)
		b = append(b, `","isBase64Encoded":true}`...)
	} else {
		b = appendString(b, r.Body)
		b = append(b, `,"isBase64Encoded":false}`...)
	}
	return b, nil
}

// appendString appends s, which must be valid UTF-8, as a JSON string.
func appendString[S ~string | ~[]byte](b []byte, s S) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' {
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"', '\\':
			b = append(b, '\\', c)
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
		}
		start = i + 1
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// validToken reports whether s is an RFC 9110 token, the syntax of a
// header name.
func validToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c < 0x7f && c > ' ' && !isDelimiter(c):
		default:
			return false
		}
	}
	return true
}

// isDelimiter reports whether c is one of the RFC 9110 delimiters that
// may not appear in a token.
func isDelimiter(c byte) bool {
	switch c {
	case '"', '(', ')', ',', '/', ':', ';', '<', '=', '>', '?', '@', '[', '\\', ']', '{', '}':
		return true
	}
	return false
}

// validHeaderValue reports whether v is valid UTF-8 without control
// characters other than horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if c := v[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return utf8.ValidString(v)
}
