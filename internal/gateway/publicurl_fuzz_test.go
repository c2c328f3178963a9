package gateway_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"

	"github.com/flexhook/flexhook/internal/gateway"
	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

// Event shapes FuzzPublicURL builds, the API Gateway deployments Twilio may
// call.
const (
	fuzzHTTPDefault = iota // HTTP API, $default stage
	fuzzHTTPStage          // HTTP API, named stage in the path
	fuzzFunctionURL        // Lambda function URL
	fuzzRESTStage          // REST API on its execute-api host, stage in the path
	fuzzRESTCustom         // REST API behind a custom domain with a base path mapping
	fuzzShapes
)

// FuzzPublicURL builds the event API Gateway delivers for a request to a
// fuzzed URL — every deployment shape, with stages, base paths, ports and
// query strings — and checks that Decode rebuilds exactly the URL Twilio
// signed: a signature made over the configured callback URL (fragment
// and all, which Twilio leaves out) verifies against Request.PublicURL.
// With Options.BaseURL the public URL is that prefix and the route path,
// whatever the event says. Seeds live in testdata/fuzz/FuzzPublicURL.
func FuzzPublicURL(f *testing.F) {
	f.Add(uint8(fuzzHTTPDefault), true, "abc123.execute-api.us-east-1.amazonaws.com", uint16(0), "", "", "/taskrouter", "", "", "")
	f.Add(uint8(fuzzHTTPDefault), true, "abc123.execute-api.us-east-1.amazonaws.com", uint16(443), "", "", "/taskrouter", "b=2&a=1", "rc=3&rp=all", "")
	f.Add(uint8(fuzzHTTPStage), false, "localhost", uint16(80), "dev", "", "/taskrouter", "", "", "")
	f.Add(uint8(fuzzHTTPStage), true, "abc123.execute-api.us-east-1.amazonaws.com", uint16(0), "live", "", "/taskrouter", "x=1", "", "")
	f.Add(uint8(fuzzFunctionURL), true, "abcdefghijklmnop", uint16(0), "", "", "/crm", "", "", "")
	f.Add(uint8(fuzzRESTStage), true, "abc123.execute-api.eu-west-1.amazonaws.com", uint16(0), "prod", "", "/taskrouter", "source=twilio", "", "")
	f.Add(uint8(fuzzRESTCustom), true, "hooks.example.com", uint16(0), "prod", "flex", "/taskrouter", "", "ct=5000", "")
	f.Add(uint8(fuzzHTTPDefault), false, "localhost", uint16(3000), "", "", "/taskrouter", "a=%20b", "", "https://hooks.example.com/twilio/")
	f.Fuzz(func(t *testing.T, shape uint8, https bool, host string, port uint16, stage, basePath, path, query, fragment, baseURL string) {
		scheme := "http"
		if https {
			scheme = "https"
		}
		host = keep(strings.ToLower(host), "abcdefghijklmnopqrstuvwxyz0123456789.-", "example.com")
		stage = keep(stage, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-", "prod")
		basePath = keep(basePath, "abcdefghijklmnopqrstuvwxyz0123456789_-", "flex")
		path = "/" + keep(strings.TrimLeft(path, "/"), "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~/", "taskrouter")
		q, _ := url.ParseQuery(query)
		if shape%fuzzShapes >= fuzzRESTStage {
			// Payload 1.0 carries the query only as decoded JSON strings,
			// which cannot hold invalid UTF-8 (see the package doc).
			for k, vs := range q {
				if !utf8.ValidString(k) || !utf8.ValidString(strings.Join(vs, "")) {
					delete(q, k)
				}
			}
		}
		rawQuery := q.Encode()
		hostPort := host // the authority as the caller typed it
		if port != 0 {
			hostPort += ":" + strconv.Itoa(int(port))
		}
		withQuery := func(u string) string {
			if rawQuery != "" {
				u += "?" + rawQuery
			}
			return u
		}

		var (
			payload []byte
			signed  string // the callback URL as configured in Twilio, without its fragment
			err     error
		)
		switch shape % fuzzShapes {
		case fuzzHTTPDefault:
			signed = withQuery(scheme + "://" + hostPort + path)
			payload, err = gatewaytest.NewHTTPEvent("POST", signed, nil, []byte("a=1"), gatewaytest.EventOptions{})
		case fuzzHTTPStage:
			signed = withQuery(scheme + "://" + hostPort + "/" + stage + path)
			payload, err = gatewaytest.NewHTTPEvent("POST", signed, nil, []byte("a=1"), gatewaytest.EventOptions{Stage: stage})
		case fuzzFunctionURL:
			host = strings.ReplaceAll(host, ".", "") + ".lambda-url.us-east-1.on.aws"
			signed = withQuery("https://" + host + path)
			payload, err = gatewaytest.NewHTTPEvent("POST", signed, nil, []byte("a=1"), gatewaytest.EventOptions{})
		case fuzzRESTStage:
			signed = withQuery("https://" + host + "/" + stage + path)
			payload, err = gatewaytest.NewRESTEvent("POST", signed, nil, []byte("a=1"), gatewaytest.EventOptions{Stage: stage})
		case fuzzRESTCustom:
			signed = withQuery("https://" + host + "/" + basePath + path)
			payload, err = restCustomDomainEvent(host, basePath, stage, path, q)
		}
		if err != nil {
			t.Fatalf("building the event for %q: %v", signed, err)
		}
		configured := signed
		if fragment != "" {
			configured += "#" + fragment
		}

		r, err := gateway.Decode(payload, gateway.Options{})
		if err != nil {
			t.Fatalf("gateway.Decode(event for %q) = %v", configured, err)
		}
		if r.Path != path || r.RawQuery != rawQuery || (port == 0 && r.PublicURL != signed) {
			t.Fatalf("gateway.Decode(event for %q) = PublicURL %q, Path %q, RawQuery %q; want %q, %q, %q",
				configured, r.PublicURL, r.Path, r.RawQuery, signed, path, rawQuery)
		}
		if strings.Contains(r.PublicURL, "#") {
			t.Fatalf("PublicURL %q contains a fragment", r.PublicURL)
		}
		// Twilio signs the configured URL without its fragment, with or
		// without the scheme's default port.
		variants := []string{signed}
		if https && (port == 0 || port == 443) {
			u, _ := url.Parse(signed)
			u.Host = u.Hostname()
			variants = append(variants, u.String())
			u.Host += ":443"
			variants = append(variants, u.String())
		}
		form := url.Values{"EventType": {"task.canceled"}, "TaskSid": {"WT" + strings.Repeat("0", 32)}}
		for _, v := range variants {
			sig := taskrouter.Sign("tokenPRIMARY", v, form)
			if err := taskrouter.Verify(r.PublicURL, form, nil, sig, "tokenPRIMARY"); err != nil {
				t.Fatalf("a signature over %q does not verify against PublicURL %q: %v", v, r.PublicURL, err)
			}
		}

		if baseURL == "" {
			return
		}
		base := "https://" + keep(strings.ToLower(baseURL), "abcdefghijklmnopqrstuvwxyz0123456789.-/", "hooks.example.com")
		rb, err := gateway.Decode(payload, gateway.Options{BaseURL: base})
		if err != nil {
			t.Fatalf("Decode with BaseURL %q = %v", base, err)
		}
		if want := withQuery(strings.TrimRight(base, "/") + path); rb.PublicURL != want {
			t.Fatalf("Decode with BaseURL %q: PublicURL = %q, want %q", base, rb.PublicURL, want)
		}
	})
}

// keep returns s without the bytes not in allowed, or def when nothing is
// left.
func keep(s, allowed, def string) string {
	var b strings.Builder
	for i := 0; i < len(s) && b.Len() < 64; i++ {
		if strings.IndexByte(allowed, s[i]) >= 0 {
			b.WriteByte(s[i])
		}
	}
	if out := strings.Trim(b.String(), ".-/"); out != "" {
		return out
	}
	return def
}

// restCustomDomainEvent is the payload 1.0 event of a REST API reached
// through a custom domain whose base path maps to the API's stage: "path"
// and requestContext.path carry the base path, not the stage.
func restCustomDomainEvent(host, basePath, stage, path string, q url.Values) ([]byte, error) {
	e := events.APIGatewayProxyRequest{
		Resource:   path,
		Path:       "/" + basePath + path,
		HTTPMethod: http.MethodPost,
		Headers:    map[string]string{"Host": host, "X-Forwarded-Proto": "https", "X-Forwarded-Port": "443"},
		Body:       "a=1",
		RequestContext: events.APIGatewayProxyRequestContext{
			ResourcePath: path,
			Stage:        stage,
			HTTPMethod:   http.MethodPost,
			Path:         "/" + basePath + path,
			DomainName:   host,
		},
	}
	if len(q) > 0 {
		e.QueryStringParameters = map[string]string{}
		e.MultiValueQueryStringParameters = map[string][]string(q)
		for k, v := range q {
			e.QueryStringParameters[k] = v[len(v)-1]
		}
	}
	return json.Marshal(e)
}
