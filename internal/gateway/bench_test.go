package gateway

import "testing"

func BenchmarkDecode(b *testing.B) {
	for _, file := range []string{
		"http-api-default-stage.json",
		"rest-api-execute-api.json",
		"function-url.json",
	} {
		payload := readEvent(b, file)
		b.Run(file, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(payload)))
			for b.Loop() {
				if _, err := Decode(payload, Options{}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkEncode(b *testing.B) {
	r := Response{
		Status: 200,
		Header: map[string]string{"Content-Type": "application/json", "X-Request-Id": "deef4878-7910-11e6-8f14-25afc3e9ae33"},
		Body:   []byte(`{"outcome":"closed","channel_sid":"UOdddddddddddddddddddddddddddddddd"}`),
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Encode(r); err != nil {
			b.Fatal(err)
		}
	}
}
