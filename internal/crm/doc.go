// Package crm authenticates and parses the callbacks a CRM sends to
// POST /crm to say that a conversation is done.
//
// # Authentication
//
// A [Verifier] accepts either of two credentials, each with several keys
// configured at once so they can be rotated without downtime:
//
//   - Standard Webhooks signatures (https://www.standardwebhooks.com/,
//     spec: https://github.com/standard-webhooks/standard-webhooks/blob/main/spec/standard-webhooks.md):
//     the webhook-id, webhook-timestamp and webhook-signature headers, the
//     last holding space-separated "v1,<base64 HMAC-SHA256>" entries over
//     "{id}.{timestamp}.{body}", keyed with a "whsec_<base64>" secret.
//   - An "Authorization: Bearer <token>" header (RFC 6750,
//     https://www.rfc-editor.org/rfc/rfc6750#section-2.1).
//
// Verification is a pure function of the headers, the raw body, the keys
// and an injected clock reading; every comparison of secret material is
// constant-time. Failures are reported with sentinel errors ([ErrNotSigned],
// [ErrBadSignature], [ErrTimestamp], [ErrBadToken], [ErrMalformedHeader])
// for the caller to map to HTTP statuses. [Sign] is the matching test signer,
// for tests, sample events and the developer CLI.
//
// # Body
//
// [Parse] reads one of two JSON bodies:
//
//	{"interaction_sid":"KD…","channel_sid":"UO…","status":"closed"}
//	{"task_sid":"WT…"}
//
// A body that is not a well-formed JSON object is [ErrMalformedJSON]
// (answer 400); a well-formed body with a wrong field is a
// [*ValidationError] naming the field (answer 422). SIDs are checked with
// package sid before they can reach a Twilio URL:
// https://www.twilio.com/docs/flex/developer/conversations/interactions-api/interaction-channel-resource.
//
// # Sources
//
// A [Source] (parsed from CRM_SOURCES by [ParseSources]) is a CRM that
// calls POST /crm/{name} with its own payload, authenticated the way it
// signs, each scheme a pure function with the sentinels above:
//
//   - zendesk, [VerifyZendesk]: base64 HMAC-SHA256 of the ISO 8601
//     timestamp and the body
//     (https://developer.zendesk.com/documentation/webhooks/verifying/);
//   - hubspot-v3, [VerifyHubSpotV3]: base64 HMAC-SHA256 of method, URI
//     ([HubSpotURI]), body and millisecond timestamp
//     (https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation);
//   - salesforce-outbound: the Outbound Message's OrganizationId
//     ([VerifyOrgID]) and an optional URL token ([VerifyToken]); the SOAP
//     body is read by [ParseOutbound]
//     (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_om_outboundmessaging_notifications.htm);
//   - basic ([VerifyBasic], RFC 7617), bearer and standard-webhooks
//     ([Verifier]).
//
// [SourceAuth] applies a source's scheme with its secrets (several, for
// rotation); [SignDelivery] is the matching test signer. The close request
// is found with RFC 6901 JSON Pointers ([Pointer], [Source.ResolveJSON]) or
// sObject field names ([Source.ResolveNotification]), with an optional
// condition that turns other deliveries into [Resolution.Ignored].
package crm
