package webhook

import (
	"mime"
	"testing"
)

// mediaType answers as mime.ParseMediaType does, including for the values
// it answers itself.
func TestMediaType(t *testing.T) {
	for _, ct := range []string{
		"application/x-www-form-urlencoded",
		"application/x-www-form-urlencoded; charset=utf-8",
		"application/x-www-form-urlencoded; charset=UTF-8",
		"Application/X-WWW-Form-Urlencoded",
		"application/x-www-form-urlencoded;charset=utf-8",
		"application/x-www-form-urlencoded; charset",
		"application/json",
		"",
		"text/plain; a=b; a=c",
	} {
		got, gotErr := mediaType(ct)
		want, _, wantErr := mime.ParseMediaType(ct)
		if got != want || (gotErr == nil) != (wantErr == nil) {
			t.Errorf("mediaType(%q) = %q, %v; want %q, %v", ct, got, gotErr, want, wantErr)
		}
	}
}
