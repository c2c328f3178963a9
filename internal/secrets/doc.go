// Package secrets loads flexhook's Twilio credentials from AWS Secrets
// Manager and keeps them for the life of a Lambda container.
//
// The secret's SecretString is a JSON object (see Parse). A Cache fetches it
// with GetSecretValue
// (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html),
// reuses it for a TTL, keeps serving the last good copy when Secrets Manager
// is briefly unavailable, and refreshes it on demand — at most once per
// interval — when Twilio rejects the cached credentials, so a rotated secret
// is picked up without a redeploy and without letting an attacker who sends
// bad signatures multiply Secrets Manager calls.
//
// Secret material is held in Value, whose every printed, logged or marshalled
// form is "REDACTED".
package secrets
