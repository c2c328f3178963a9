package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/flexhook/flexhook/internal/gateway"

	"github.com/flexhook/flexhook/internal/gateway/gatewaytest"
	"github.com/flexhook/flexhook/internal/local/emulator"
	"github.com/flexhook/flexhook/internal/local/stack"
	"github.com/flexhook/flexhook/internal/taskrouter"
)

const invokeDescription = `
Sends an API Gateway event file (events/*.json, or one from
flexhook sign --format event) to the function and pretty-prints the HTTP
response: status, headers and body.

By default (--url) the event is turned back into the HTTP request it
describes and sent to the local API gateway of flexhook run, which builds a
new event from it, as API Gateway would. Signatures then cover the gateway's
URL, so sign such events for it (flexhook sign --url http://127.0.0.1:3000/...).

With --emulator the event is sent unchanged to the Lambda Invoke API path
/2015-03-31/functions/function/invocations of an aws-lambda-rie emulator or of
flexhook run's gateway (--emulator http://127.0.0.1:3000), like
sam local invoke -e: the events in events/, signed for their execute-api host,
verify this way.

EVENT is a file name, or - for stdin.

Exit codes: 0 for a 2xx answer, 1 for any other status or a function error,
2 for usage errors, unreadable files and transport errors.`

// invokeCommand implements `flexhook invoke`.
func invokeCommand(ctx context.Context, std *stdio, args []string) int {
	fs := newFlagSet("invoke", "flexhook invoke [--url http://127.0.0.1:3000 | --emulator URL] EVENT.json", invokeDescription)
	target := fs.String("url", "http://"+stack.DefaultAddr, "base `URL` of the local API gateway")
	emu := fs.String("emulator", "", "base `URL` of an emulator (or of flexhook run's gateway): send the event unchanged to its Invoke API path")
	timeout := fs.Duration("timeout", time.Minute, "give up after this `duration`")
	payload, code, ok := fs.parseEvent(std, args)
	if !ok {
		return code
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	var (
		resp response
		err  error
	)
	if *emu != "" {
		resp, err = invokeEmulator(ctx, client, *emu, payload)
	} else {
		resp, err = invokeGateway(ctx, client, *target, payload, std.stderr)
	}
	if err != nil {
		return fs.fail(std, err, exitUsage)
	}
	printResponse(std.stdout, resp)
	if resp.functionError != "" || resp.status/100 != 2 {
		return exitFailure
	}
	return exitOK
}

// response is what invoke prints.
type response struct {
	status        int
	header        http.Header
	body          []byte
	functionError string // set when the function failed: errorType: errorMessage
	raw           bool   // body is a Lambda result that is not an HTTP response
}

// invokeGateway sends the HTTP request the event describes to the gateway.
// It warns on stderr when signatures in the event will not verify there.
func invokeGateway(ctx context.Context, client *http.Client, base string, payload []byte, stderr io.Writer) (response, error) {
	if _, err := absoluteURL("--url", base); err != nil {
		return response{}, err
	}
	ev, err := gateway.Decode(payload, gateway.Options{MaxBody: localrunMaxBody})
	if err != nil {
		return response{}, fmt.Errorf("the file is not an API Gateway event: %w", err)
	}
	target := strings.TrimRight(base, "/") + ev.Path
	if ev.RawQuery != "" {
		target += "?" + ev.RawQuery
	}
	req, err := http.NewRequestWithContext(ctx, ev.Method, target, bytes.NewReader(ev.Body))
	if err != nil {
		return response{}, err
	}
	for k, v := range ev.Header {
		switch k {
		case "Host", "Content-Length", "X-Forwarded-For", "X-Forwarded-Proto", "X-Forwarded-Port":
			continue
		}
		req.Header[k] = v
	}
	signed := req.Header.Get(taskrouter.SignatureHeader) != "" || req.Header.Get("Webhook-Signature") != ""
	if signed && ev.PublicURL != "" && ev.PublicURL != target {
		fmt.Fprintf(stderr, "flexhook invoke: note: the event is signed for %s but goes to %s, so its signature will not verify; "+
			"send it unchanged with --emulator %s, or sign one for this URL with flexhook sign --format event\n", ev.PublicURL, target, strings.TrimRight(base, "/"))
	}
	resp, body, err := send(client, req)
	if err != nil {
		return response{}, err
	}
	return response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// absoluteURL parses v, the value of flag, and checks that it is an
// absolute http(s) URL.
func absoluteURL(flag, v string) (*url.URL, error) {
	u, err := url.Parse(v)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, usageError("%s %q is not an absolute http(s) URL", flag, v)
	}
	return u, nil
}

// send sends req and reads the whole response.
func send(client *http.Client, req *http.Request) (*http.Response, []byte, error) {
	resp, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

// localrunMaxBody is the largest body invoke turns into a request: the
// HTTP API payload quota.
const localrunMaxBody = 10 << 20

// invokeEmulator posts the event unchanged to the Invoke API path at base
// and decodes the function's answer.
func invokeEmulator(ctx context.Context, client *http.Client, base string, payload []byte) (response, error) {
	u, err := absoluteURL("--emulator", base)
	if err != nil {
		return response{}, err
	}
	target := base
	if !strings.HasSuffix(u.Path, "/invocations") {
		target = strings.TrimRight(base, "/") + emulator.InvokePath
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(payload))
	if err != nil {
		return response{}, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, body, err := send(client, req)
	if err != nil {
		return response{}, err
	}
	raw := response{status: resp.StatusCode, header: resp.Header, body: body, raw: true}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusBadGateway {
		return raw, nil // the emulator's (or gateway's) own refusal, not the function's
	}
	if raw.functionError = functionError(resp, body); raw.functionError != "" {
		return raw, nil
	}
	r, err := gatewaytest.ParseResponse(body)
	if err != nil {
		return raw, nil
	}
	h := http.Header{}
	for k, v := range r.Header {
		h.Set(k, v)
	}
	return response{status: r.Status, header: h, body: r.Body}, nil
}

// functionError describes a failed invocation: an X-Amz-Function-Error
// header, an emulator crash (502), an error document, or the emulator's
// timeout text. It returns "" for a successful one.
func functionError(resp *http.Response, body []byte) string {
	var doc struct {
		ErrorType    string  `json:"errorType"`
		ErrorMessage *string `json:"errorMessage"`
	}
	isDoc := json.Unmarshal(body, &doc) == nil && doc.ErrorMessage != nil
	switch {
	case isDoc:
		return strings.TrimPrefix(doc.ErrorType+": "+*doc.ErrorMessage, ": ")
	case resp.Header.Get("X-Amz-Function-Error") != "", resp.StatusCode != http.StatusOK:
		return "function failed: " + strings.TrimSpace(string(body))
	case bytes.HasPrefix(bytes.TrimSpace(body), []byte("Task timed out after")):
		return "Sandbox.Timedout: " + strings.TrimSpace(string(body))
	}
	return ""
}

// printResponse writes the status line, the headers sorted by name, and the
// body, indented when it is JSON.
func printResponse(w io.Writer, r response) {
	switch {
	case r.functionError != "":
		fmt.Fprintf(w, "Function error: %s\n", r.functionError)
	case r.raw && r.status == http.StatusOK:
		fmt.Fprintf(w, "Function result (not an HTTP response):\n")
	default:
		fmt.Fprintf(w, "HTTP %d %s\n", r.status, http.StatusText(r.status))
		for _, k := range slices.Sorted(maps.Keys(r.header)) {
			for _, v := range r.header[k] {
				fmt.Fprintf(w, "%s: %s\n", k, v)
			}
		}
	}
	fmt.Fprintln(w)
	switch {
	case len(r.body) == 0:
		fmt.Fprintln(w, "(no body)")
	case json.Valid(r.body):
		_, _ = w.Write(indentJSON(r.body))
	default:
		fmt.Fprintf(w, "%s\n", bytes.TrimRight(r.body, "\n"))
	}
}
