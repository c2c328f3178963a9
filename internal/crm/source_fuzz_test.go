package crm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"
)

// authSentinels are the errors every authentication failure wraps.
var authSentinels = []error{ErrNotSigned, ErrMalformedHeader, ErrTimestamp, ErrBadSignature, ErrBadToken}

func isAuthSentinel(err error) bool {
	for _, s := range authSentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// independentHMAC is base64(HMAC-SHA256(key, msg)), computed here without
// the package's helpers.
func independentHMAC(key, msg string) string {
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(msg))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

const fuzzZendeskSecret = "HRkRd4BeOAoUkfZr-mhauJT64rvBASlJRoIyPsd3zeA="

// FuzzVerifyZendesk: never panics, every failure is a sentinel, and an
// accepted request carries the independently computed signature.
func FuzzVerifyZendesk(f *testing.F) {
	f.Add("Rry/4TtIdFyawtXXp8QdI6tlAUUQ/5kL1OTp5qo/ZIk=", "2021-07-25T10:00:00Z", []byte(`{"say": "hello"}`), int64(1627207200))
	f.Add("tRDSF7URY8BLCDlaBcQ7FHu051Zk+aAB0NKMP53teMw=", "2021-07-25T10:00:00+02:00", []byte(`{"say": "hello"}`), int64(1627200000))
	f.Fuzz(func(t *testing.T, sig, ts string, body []byte, now int64) {
		h := http.Header{}
		if sig != "" {
			h[HeaderZendeskSignature] = []string{sig}
		}
		if ts != "" {
			h[HeaderZendeskTimestamp] = []string{ts}
		}
		err := VerifyZendesk(h, body, []string{"other", fuzzZendeskSecret}, time.Unix(now, 0), 0)
		if err != nil {
			if !isAuthSentinel(err) {
				t.Fatalf("VerifyZendesk error %v wraps no sentinel", err)
			}
			return
		}
		if sig != independentHMAC(fuzzZendeskSecret, ts+string(body)) && sig != independentHMAC("other", ts+string(body)) {
			t.Fatalf("VerifyZendesk accepted signature %q over %q", sig, body)
		}
	})
}

// FuzzVerifyHubSpotV3: same contract, over method, URL and timestamp.
func FuzzVerifyHubSpotV3(f *testing.F) {
	f.Add("POST", "https://www.example.com/webhook_uri?a=b%3Ac%40d", "2jEWlxr3RiqYHAtr5x29lihnT3Wg0XYN4b/6fFTX8yc=", "1700000000000",
		[]byte(`{"interaction_sid":"KD00000000000000000000000000000e01"}`), int64(1700000060))
	f.Add("GET", "https://x/%zz%3", "", "-1", []byte(nil), int64(0))
	f.Fuzz(func(t *testing.T, method, u, sig, ts string, body []byte, now int64) {
		const secret = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"
		h := http.Header{}
		if sig != "" {
			h[HeaderHubSpotSignature] = []string{sig}
		}
		if ts != "" {
			h[HeaderHubSpotTimestamp] = []string{ts}
		}
		err := VerifyHubSpotV3(method, u, h, body, []string{secret}, time.Unix(now, 0), 0)
		if err != nil {
			if !isAuthSentinel(err) {
				t.Fatalf("VerifyHubSpotV3 error %v wraps no sentinel", err)
			}
			return
		}
		if sig != independentHMAC(secret, method+HubSpotURI(u)+string(body)+ts) {
			t.Fatalf("VerifyHubSpotV3 accepted %q", sig)
		}
	})
}

// FuzzVerifyBasic: only the configured credential is accepted.
func FuzzVerifyBasic(f *testing.F) {
	f.Add("Basic " + base64.StdEncoding.EncodeToString([]byte("zendesk:s3cret-password")))
	f.Add("Basic emVuZGVzazo=")
	f.Add("Bearer x")
	f.Fuzz(func(t *testing.T, auth string) {
		h := http.Header{"Authorization": {auth}}
		err := VerifyBasic(h, []string{"zendesk:s3cret-password"})
		if err != nil {
			if !isAuthSentinel(err) {
				t.Fatalf("VerifyBasic error %v wraps no sentinel", err)
			}
			return
		}
		_, enc, _ := strings.Cut(auth, " ")
		if raw, _ := base64.StdEncoding.DecodeString(strings.TrimSpace(enc)); string(raw) != "zendesk:s3cret-password" {
			t.Fatalf("VerifyBasic accepted %q", auth)
		}
	})
}

// FuzzResolveJSON: pointer parsing and resolution, the mapping and the
// condition never panic; every error is classified; a resolved request
// holds valid SIDs.
func FuzzResolveJSON(f *testing.F) {
	f.Add("/ticket/flex~1uo", []byte(`{"ticket":{"status":"solved","kd":"KD00000000000000000000000000000e01","flex/uo":"UO00000000000000000000000000000e01"}}`))
	f.Add("/a~", []byte(`[]`))
	f.Add("/0/1", []byte(`[[1,"x"]]`))
	f.Fuzz(func(t *testing.T, ptr string, body []byte) {
		if p, err := ParsePointer(ptr); err == nil {
			if doc, err := DecodeDocument(body); err == nil {
				p.Resolve(doc)
			}
		}
		srcs, err := ParseSources(`[{"name":"z","scheme":"zendesk","map":{"interaction_sid":"/ticket/kd","channel_sid":"/ticket/flex~1uo","task_sid":"/wt","status":"/ticket/st"},"when":{"pointer":"/ticket/status","equals":["solved",1,true]},"id":"/id"}]`)
		if err != nil {
			t.Fatal(err)
		}
		r, err := srcs[0].ResolveJSON(body)
		var ve *ValidationError
		switch {
		case err != nil && !errors.Is(err, ErrMalformedJSON) && !errors.As(err, &ve):
			t.Fatalf("ResolveJSON error %v is not classified", err)
		case err == nil && !r.Ignored:
			if _, perr := Parse(requestJSON(r.Request)); perr != nil {
				t.Fatalf("ResolveJSON returned %+v, which Parse refuses: %v", r.Request, perr)
			}
		}
	})
}

// FuzzParseOutbound: the XML parser never panics, and every error is
// classified.
func FuzzParseOutbound(f *testing.F) {
	if b, err := os.ReadFile("testdata/outbound-two.xml"); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := ParseOutbound(body)
		var ve *ValidationError
		switch {
		case err != nil && !errors.Is(err, ErrMalformedXML) && !errors.As(err, &ve):
			t.Fatalf("ParseOutbound error %v is not classified", err)
		case err == nil && (len(m.Notifications) == 0 || len(m.Notifications) > MaxNotifications):
			t.Fatalf("ParseOutbound returned %d notifications", len(m.Notifications))
		}
	})
}

// requestJSON writes r in the body form Parse reads.
func requestJSON(r Request) []byte {
	s := `{"interaction_sid":"` + r.InteractionSID + `","channel_sid":"` + r.ChannelSID + `"`
	if r.TaskSID != "" {
		s = `{"task_sid":"` + r.TaskSID + `"`
	}
	if r.Status != "" {
		s += `,"status":"` + r.Status + `"`
	}
	return []byte(s + "}")
}
