// Package taskrouter authenticates, parses and judges Twilio TaskRouter
// event callbacks (the Workspace EventCallbackUrl).
//
// TaskRouter POSTs form-encoded events
// (https://www.twilio.com/docs/taskrouter/api/event/reference) signed with
// X-Twilio-Signature, an HMAC-SHA1 of the exact URL Twilio called followed by
// the sorted form parameters, keyed with the account's auth token
// (https://www.twilio.com/docs/usage/webhooks/webhooks-security). Verify
// accepts exactly what twilio-go's RequestValidator accepts (computing the
// HMAC itself, without allocating, for the URLs API Gateway delivers, and
// calling RequestValidator otherwise) with any of several tokens, so a token
// rotation needs no downtime; Sign is the matching test signer.
//
// Parse reads the fields flexhook needs, ChannelFromAttributes finds the Flex
// Interaction Channel in the task attributes (flexInteractionSid and
// flexInteractionChannelSid), and Rules.Decide says whether an event should
// close that channel. The functions are pure: no I/O, no clock of their own.
package taskrouter
