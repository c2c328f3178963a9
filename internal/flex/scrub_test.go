package flex

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/flexhook/flexhook/internal/secrets"
)

// A Twilio (or proxy) error message that echoes the request must not carry
// the credentials into an Error: neither the secret itself nor the Basic
// authorization header it travelled in.
func TestClassifyScrubsEchoedCredentials(t *testing.T) {
	const user, pass = "SK0123456789abcdef0123456789abcdef", "keySecretValue0123456789"
	basic := base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
	cr := Credentials{AccountSID: "AC0123456789abcdef0123456789abcdef", Username: user, Password: secrets.NewValue(pass)}
	tests := []struct {
		name, message string
	}{
		{"raw secret", "bad request with password " + pass},
		{"Basic header", "Authorization: Basic " + basic + " was refused"},
		{"both", basic + " " + pass},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := &twclient.TwilioRestError{Code: 20001, Message: tt.message, Status: 400}
			e := classify("close channel", err, &call{status: 400}, cr)
			for _, leak := range []string{pass, basic} {
				if strings.Contains(e.Error(), leak) || strings.Contains(e.Message, leak) || strings.Contains(errors.Unwrap(e).Error(), leak) {
					t.Errorf("classify(%q) = %q, which contains a credential", tt.message, e.Error())
				}
			}
			if !strings.Contains(e.Message, "REDACTED") {
				t.Errorf("classify(%q).Message = %q, want the credential replaced by REDACTED", tt.message, e.Message)
			}
		})
	}
}
