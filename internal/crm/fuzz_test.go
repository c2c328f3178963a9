package crm

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/flexhook/flexhook/internal/sid"
)

// FuzzVerify checks that Verify never panics, classifies every failure with
// a sentinel, and accepts a request only when it can be shown authentic by
// an independent computation. It also checks that whatever Sign produces
// verifies, and stops verifying once the body changes.
func FuzzVerify(f *testing.F) {
	f.Add(vectorID, strconv.Itoa(vectorTimestamp), vectorSignature, "", []byte(vectorBody), int64(vectorTimestamp))
	f.Add(vectorID, strconv.Itoa(vectorTimestamp), "v1a,x v1,bogus "+vectorSignature, "Bearer x", []byte(vectorBody), int64(vectorTimestamp+300))
	f.Add("", "", "", "Bearer "+tokenA, []byte(`{"task_sid":"WT1"}`), int64(0))
	f.Add("", "", "", "bearer  "+tokenB+" ", []byte(nil), int64(-1))
	f.Add("msg_1", "+1", "v1,", "Basic x", []byte("{}"), int64(1))
	f.Fuzz(func(t *testing.T, id, ts, sig, auth string, body []byte, now int64) {
		keys := []string{vectorSecret, secretA}
		v := mustVerifier(t, Config{Secrets: keys, Tokens: []string{tokenA, tokenB}})
		h := http.Header{}
		for k, val := range map[string]string{HeaderID: id, HeaderTimestamp: ts, HeaderSignature: sig, "Authorization": auth} {
			if val != "" {
				h[k] = []string{val}
			}
		}
		clock := time.Unix(now, 0)
		err := v.Verify(h, body, clock)
		switch {
		case err == nil && sig != "":
			sec, perr := strconv.ParseInt(ts, 10, 64)
			if perr != nil || ts[0] == '+' || ts[0] == '-' {
				t.Fatalf("accepted timestamp %q", ts)
			}
			if d := clock.Sub(time.Unix(sec, 0)); d > DefaultTolerance || d < -DefaultTolerance {
				t.Fatalf("accepted timestamp %q at now %d", ts, now)
			}
			if !signedByAny(keys, id, ts, sig, body) {
				t.Fatalf("accepted signature %q for id %q ts %q body %q", sig, id, ts, body)
			}
		case err == nil:
			scheme, token, _ := strings.Cut(auth, " ")
			token = strings.TrimSpace(token)
			if !strings.EqualFold(scheme, "bearer") || (token != tokenA && token != tokenB) {
				t.Fatalf("accepted Authorization %q", auth)
			}
		case !errors.Is(err, ErrNotSigned) && !errors.Is(err, ErrBadSignature) && !errors.Is(err, ErrTimestamp) &&
			!errors.Is(err, ErrBadToken) && !errors.Is(err, ErrMalformedHeader):
			t.Fatalf("Verify error %v matches no sentinel", err)
		}

		// Round trip through the test signer.
		when := time.Unix(now, 0)
		signed, err := Sign(secretA, id, when, body)
		if err != nil {
			if !errors.Is(err, ErrBadConfig) {
				t.Fatalf("Sign error %v is not ErrBadConfig", err)
			}
			return
		}
		if err := v.Verify(signed, body, when); err != nil {
			t.Fatalf("Verify(Sign(%q, %v, %q)) = %v", id, when, body, err)
		}
		if err := v.Verify(signed, append(body[:len(body):len(body)], 'x'), when); !errors.Is(err, ErrBadSignature) {
			t.Fatalf("Verify of a changed body = %v, want %v", err, ErrBadSignature)
		}
	})
}

// signedByAny reports whether the webhook-signature value sigs holds a v1
// entry equal to the HMAC of id.ts.body under one of the secrets.
func signedByAny(secrets []string, id, ts, sigs string, body []byte) bool {
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil {
			panic(err)
		}
		m := hmac.New(sha256.New, key)
		m.Write([]byte(id + "." + ts + "."))
		m.Write(body)
		want := "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
		for _, entry := range strings.Split(sigs, " ") {
			if entry == want {
				return true
			}
		}
	}
	return false
}

// FuzzParse checks that Parse never panics, returns only its documented
// errors, and agrees with encoding/json on every body it accepts.
func FuzzParse(f *testing.F) {
	f.Add([]byte(`{"interaction_sid":"` + kd + `","channel_sid":"` + uo + `","status":"closed"}`))
	f.Add([]byte(`{"task_sid":"` + wt + `","x":[{"y":"]}"}]}`))
	f.Add([]byte(`{"task\u005fsid":"WT\u0062bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"}`))
	f.Add([]byte(`{"task_sid":"` + wt + `"} x`))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := Parse(body)
		var ve *ValidationError
		switch {
		case err == nil:
			checkAccepted(t, body, r)
		case errors.As(err, &ve):
			if errors.Is(err, ErrMalformedJSON) {
				t.Fatalf("error %v is both kinds", err)
			}
			if !wellFormedObject(body) {
				t.Fatalf("ValidationError %v for a body that is not a well-formed object", err)
			}
			switch ve.Field {
			case fieldInteraction, fieldChannel, fieldTask, fieldStatus:
			default:
				t.Fatalf("ValidationError names unknown field %q", ve.Field)
			}
			if len(err.Error()) > 160 {
				t.Fatalf("ValidationError message is %d bytes", len(err.Error()))
			}
		case errors.Is(err, ErrMalformedJSON):
			if wellFormedObject(body) {
				t.Fatalf("ErrMalformedJSON (%v) for a well-formed object", err)
			}
		default:
			t.Fatalf("Parse error %v is neither ErrMalformedJSON nor *ValidationError", err)
		}
	})
}

// checkAccepted verifies an accepted body against encoding/json.
func checkAccepted(t *testing.T, body []byte, r Request) {
	t.Helper()
	if !wellFormedObject(body) {
		t.Fatalf("accepted a body that is not a well-formed object: %q", body)
	}
	channel, task := r.InteractionSID != "" || r.ChannelSID != "", r.TaskSID != ""
	switch {
	case channel == task:
		t.Fatalf("accepted %+v: want exactly one form", r)
	case channel && (!sid.Valid(sid.Interaction, r.InteractionSID) || !sid.Valid(sid.Channel, r.ChannelSID)):
		t.Fatalf("accepted bad channel SIDs %+v", r)
	case task && !sid.Valid(sid.Task, r.TaskSID):
		t.Fatalf("accepted bad task SID %+v", r)
	}
	if r.Status != "" && r.Status != StatusClosed && r.Status != StatusInactive {
		t.Fatalf("accepted status %q", r.Status)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("Parse accepted what encoding/json refuses: %v", err)
	}
	for field, got := range map[string]string{fieldInteraction: r.InteractionSID, fieldChannel: r.ChannelSID, fieldTask: r.TaskSID, fieldStatus: r.Status} {
		want, _ := m[field].(string) // absent, null and "" all read as ""
		if got != want {
			t.Fatalf("Parse %s = %q, encoding/json %q", field, got, want)
		}
	}
}

// wellFormedObject is an independent statement of what Parse must treat as
// well-formed: valid UTF-8, a single JSON object, nested at most MaxDepth.
func wellFormedObject(body []byte) bool {
	if !utf8.Valid(body) || !json.Valid(body) {
		return false
	}
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return false
	}
	if _, ok := v.(map[string]any); !ok {
		return false
	}
	return depth(v) <= MaxDepth
}

func depth(v any) int {
	d := 0
	switch x := v.(type) {
	case map[string]any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	case []any:
		for _, e := range x {
			d = max(d, depth(e))
		}
		return d + 1
	}
	return 0
}
