package flextest_test

import (
	"testing"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

func TestAuthentication(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	tests := []struct {
		name       string
		user, pass string
		wantStatus int // 0: success
	}{
		{"account and auth token", testAccount, testToken, 0},
		{"API key and secret", testKey, testSecret, 0},
		{"wrong token", testAccount, "wrongtoken", 401},
		{"secret of another user", testAccount, testSecret, 401},
		{"unknown user", "AC" + testAccount[2:33] + "f", testToken, 401},
		{"empty password", testAccount, "", 401}, // twilio-go sends no Authorization header
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			flex, _ := f.services(t, tt.user, tt.pass)
			_, err := flex.FetchInteractionChannel(ch.InteractionSID, ch.SID)
			if tt.wantStatus == 0 {
				if err != nil {
					t.Errorf("FetchInteractionChannel as %s error: %v", tt.user, err)
				}
				return
			}
			if te := restError(t, err); te.Status != 401 || te.Code != 20003 || te.Message != "Authenticate" {
				t.Errorf("FetchInteractionChannel as %s = %d/%d %q, want 401/20003 Authenticate", tt.user, te.Status, te.Code, te.Message)
			}
		})
	}
}

func TestCredentialRotation(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	oldFlex, _ := f.services(t, testAccount, testToken)
	newFlex, _ := f.services(t, testAccount, "rotatedtoken42")
	if _, err := oldFlex.FetchInteractionChannel(ch.InteractionSID, ch.SID); err != nil {
		t.Fatalf("before rotation, old token: %v", err)
	}

	creds := map[string]string{testAccount: "rotatedtoken42"}
	f.fake.SetCredentials(creds)
	creds[testAccount] = "changedafterwards" // SetCredentials copied the map

	_, err := oldFlex.FetchInteractionChannel(ch.InteractionSID, ch.SID)
	if te := restError(t, err); te.Status != 401 || te.Code != 20003 {
		t.Errorf("after rotation, old token = %d/%d, want 401/20003", te.Status, te.Code)
	}
	if _, err := newFlex.FetchInteractionChannel(ch.InteractionSID, ch.SID); err != nil {
		t.Errorf("after rotation, new token: %v", err)
	}
	keyFlex, _ := f.services(t, testKey, testSecret)
	if _, err := keyFlex.FetchInteractionChannel(ch.InteractionSID, ch.SID); err == nil {
		t.Errorf("after rotation, the dropped API key still works")
	}
}

func TestNoCredentialsAcceptsNothing(t *testing.T) {
	f := newFixture(t, func(o *flextest.Options) { o.Credentials = nil })
	ch := f.fake.AddChannel(flextest.Channel{})
	_, err := f.flex.FetchInteractionChannel(ch.InteractionSID, ch.SID)
	if te := restError(t, err); te.Status != 401 {
		t.Errorf("FetchInteractionChannel with no accepted credentials = %d, want 401", te.Status)
	}
}
