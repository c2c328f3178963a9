package gateway

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-lambda-go/events"
)

// FuzzDecode checks that Decode never panics and that every outcome keeps
// the documented contract. Seeds live in testdata/fuzz/FuzzDecode and every
// sample event is added too.
func FuzzDecode(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	if err != nil {
		f.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, 0, "")
		f.Add(b, 16, "https://hooks.example.com/flex/")
	}
	f.Fuzz(func(t *testing.T, payload []byte, maxBody int, baseURL string) {
		r, err := Decode(payload, Options{BaseURL: baseURL, MaxBody: maxBody})
		if err != nil {
			if r != nil {
				t.Fatalf("Decode returned a request with error %v", err)
			}
			if !errors.Is(err, ErrMalformedEvent) && !errors.Is(err, ErrBadBase64) && !errors.Is(err, ErrBodyTooLarge) {
				t.Fatalf("Decode error %v matches no sentinel", err)
			}
			return
		}
		limit := maxBody
		if limit <= 0 {
			limit = DefaultMaxBody
		}
		if len(r.Body) > limit {
			t.Fatalf("len(Body) = %d > MaxBody %d", len(r.Body), limit)
		}
		if r.Method == "" || r.Method != strings.ToUpper(r.Method) {
			t.Fatalf("Method = %q, want non-empty upper-case", r.Method)
		}
		if !strings.HasPrefix(r.Path, "/") {
			t.Fatalf("Path = %q, want absolute", r.Path)
		}
		if r.Shape < ShapeREST || r.Shape > ShapeFunctionURL {
			t.Fatalf("Shape = %v", r.Shape)
		}
		if r.Header == nil {
			t.Fatal("Header is nil")
		}
		for k := range r.Header {
			if ck := http.CanonicalHeaderKey(k); ck != k {
				t.Fatalf("Header key %q is not canonical (%q)", k, ck)
			}
		}
		switch {
		case baseURL != "":
			if want := strings.TrimRight(baseURL, "/") + r.Path; !strings.HasPrefix(r.PublicURL, want) {
				t.Fatalf("PublicURL = %q, want prefix %q", r.PublicURL, want)
			}
		case r.PublicURL != "":
			if !strings.HasPrefix(r.PublicURL, "https://") && !strings.HasPrefix(r.PublicURL, "http://") {
				t.Fatalf("PublicURL = %q, want an http(s) URL", r.PublicURL)
			}
		}
		if r.RawQuery != "" && !strings.HasSuffix(r.PublicURL, "?"+r.RawQuery) && r.PublicURL != "" {
			t.Fatalf("PublicURL = %q does not end with query %q", r.PublicURL, r.RawQuery)
		}
	})
}

// FuzzEncode checks that Encode either refuses a response with
// ErrBadResponse or produces JSON that decodes back to the same response.
func FuzzEncode(f *testing.F) {
	f.Add(200, "Content-Type", "application/json", []byte(`{"ok":true}`))
	f.Add(422, "X-Note", "a\tb", []byte("line\n\"quoted\" \\ \x00"))
	f.Add(204, "", "", []byte(nil))
	f.Add(0, "Bad Name", "x\r\n", []byte{0xff})
	f.Fuzz(func(t *testing.T, status int, key, value string, body []byte) {
		in := Response{Status: status, Body: body}
		if key != "" {
			in.Header = map[string]string{key: value}
		}
		out, err := Encode(in)
		if err != nil {
			if !errors.Is(err, ErrBadResponse) {
				t.Fatalf("Encode error %v is not ErrBadResponse", err)
			}
			return
		}
		var got events.APIGatewayV2HTTPResponse
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("Encode produced invalid JSON %q: %v", out, err)
		}
		gotBody := []byte(got.Body)
		if got.IsBase64Encoded {
			if gotBody, err = base64.StdEncoding.DecodeString(got.Body); err != nil {
				t.Fatal(err)
			}
		}
		if got.StatusCode != status || string(gotBody) != string(body) || (key != "" && got.Headers[key] != value) {
			t.Fatalf("Encode(%+v) round-trips to %+v", in, got)
		}
	})
}
