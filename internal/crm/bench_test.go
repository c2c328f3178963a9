package crm

import (
	"net/http"
	"testing"
	"time"
)

func BenchmarkVerify(b *testing.B) {
	body := []byte(`{"interaction_sid":"` + kd + `","channel_sid":"` + uo + `","status":"closed"}`)
	ts := time.Unix(1_760_000_000, 0)
	v := mustVerifier(b, Config{Secrets: []string{secretB, secretA}, Tokens: []string{tokenB, tokenA}})
	cases := []struct {
		name string
		h    http.Header
	}{
		{"signature/second secret", mustSign(b, secretA, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", ts, body)},
		{"bearer/second token", http.Header{"Authorization": {"Bearer " + tokenA}}},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := v.Verify(c.h, body, ts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	bodies := []struct {
		name string
		body []byte
	}{
		{"channel", []byte(`{"interaction_sid":"` + kd + `","channel_sid":"` + uo + `","status":"closed"}`)},
		{"task with extra fields", []byte(`{"event":"conversation.done","task_sid":"` + wt + `","meta":{"agent":"a@example.com","tags":["x","y"]}}`)},
	}
	for _, c := range bodies {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(c.body)))
			for b.Loop() {
				if _, err := Parse(c.body); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
