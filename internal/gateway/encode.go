package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
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
	// Shape is the kind of event answered (Request.Shape); it selects the
	// response type Encode marshals. The zero value answers as payload
	// 2.0, which REST APIs and function URLs accept too.
	Shape Shape
}

// Encode renders r as the JSON Lambda returns for a proxy integration,
// marshalled from the aws-lambda-go response type of r.Shape:
// APIGatewayProxyResponse, APIGatewayV2HTTPResponse or
// LambdaFunctionURLResponse. A body that is not valid UTF-8 is sent base64
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
	for k, v := range r.Header {
		if !validToken(k) {
			return nil, fmt.Errorf("encode response: %w: header name %q", ErrBadResponse, k)
		}
		if !validHeaderValue(v) {
			return nil, fmt.Errorf("encode response: %w: value of header %s", ErrBadResponse, k)
		}
	}
	h := r.Header
	if h == nil {
		h = map[string]string{}
	}
	body, b64 := string(r.Body), !utf8.Valid(r.Body)
	if b64 {
		body = base64.StdEncoding.EncodeToString(r.Body)
	}
	switch r.Shape {
	case ShapeREST:
		return json.Marshal(events.APIGatewayProxyResponse{StatusCode: r.Status, Headers: h, Body: body, IsBase64Encoded: b64})
	case ShapeFunctionURL:
		return json.Marshal(events.LambdaFunctionURLResponse{StatusCode: r.Status, Headers: h, Body: body, IsBase64Encoded: b64})
	}
	return json.Marshal(events.APIGatewayV2HTTPResponse{StatusCode: r.Status, Headers: h, Body: body, IsBase64Encoded: b64})
}

// validToken reports whether s is an RFC 9110 token, the syntax of a
// header name.
func validToken(s string) bool {
	const tchar = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	return s != "" && strings.Trim(s, tchar) == ""
}

// validHeaderValue reports whether v is valid UTF-8 without control
// characters other than horizontal tab.
func validHeaderValue(v string) bool {
	return utf8.ValidString(v) && !strings.ContainsFunc(v, func(c rune) bool {
		return (c < ' ' && c != '\t') || c == 0x7f
	})
}
