// Package sid validates Twilio resource identifiers (SIDs).
//
// A Twilio SID is a two-letter type prefix followed by 32 hexadecimal digits,
// for example KDaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa for a Flex Interaction.
// flexhook never places a string into a Twilio URL path unless Valid accepts
// it with the expected prefix. See
// https://www.twilio.com/docs/glossary/what-is-a-sid.
package sid

// Prefixes of the SIDs flexhook handles.
const (
	Account     = "AC" // Twilio account
	APIKey      = "SK" // API key
	Workspace   = "WS" // TaskRouter workspace
	Task        = "WT" // TaskRouter task
	Interaction = "KD" // Flex Interaction
	Channel     = "UO" // Flex Interaction Channel
)

// Len is the length of every SID: a two-letter prefix and 32 hex digits.
const Len = 34

// Valid reports whether s is a SID with the given two-letter prefix, that is
// whether it matches ^PP[0-9a-fA-F]{32}$ where PP is prefix. It looks at bytes,
// so Unicode look-alikes and any non-ASCII input are rejected.
func Valid(prefix, s string) bool {
	if len(s) != Len || len(prefix) != 2 || s[0] != prefix[0] || s[1] != prefix[1] {
		return false
	}
	for i := 2; i < Len; i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}
