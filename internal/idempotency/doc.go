// Package idempotency makes each flexhook event's side effect (closing a
// Flex Interaction Channel) happen at most once, and lets duplicates of an
// event get the stored outcome without calling Twilio again.
//
// Duplicates are normal: Twilio retries webhooks on connect timeouts and
// marks each attempt with the I-Twilio-Idempotency-Token header
// (https://www.twilio.com/docs/usage/webhooks/webhooks-connection-overrides),
// SQS delivers at least once
// (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/standard-queues-at-least-once-delivery.html),
// and operators replay events. The hazard this package prevents: a channel
// set "inactive" is reactivated when the customer writes again, so a late or
// replayed copy of the old close event must replay the old outcome rather
// than close the new conversation.
//
// A caller picks a key per event (for example "tr:"+token or "crm:"+id) and
// a PayloadHash of the request's meaningful content, then:
//
//	claim, err := store.Begin(ctx, key, hash, deadline)
//	// ErrInProgress → 409, ErrPayloadMismatch → 422, RetryableError → 503
//	if claim.Done != nil { /* replay claim.Done.Outcome */ }
//	// ... close the channel ...
//	err = store.Complete(ctx, key, claim.Owner, "closed", detail, now.Add(retention))
//	// or, after a retryable failure: store.Release(ctx, key, claim.Owner)
//
// A claim's lock lasts until the deadline the caller passes (its Lambda
// deadline), so a crashed invocation never blocks a key forever: once the
// lock has expired a retry with the same payload takes the claim over.
//
// Two stores behave identically: Memory, for unit tests and local runs, and
// DynamoDB, which keeps records in a table with partition key "pk" (S) using
// conditional writes
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/WorkingWithItems.html#WorkingWithItems.ConditionalUpdate)
// and strongly consistent reads. Its "expires_at" attribute (epoch seconds)
// is meant to be the table's TTL attribute
// (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/TTL.html);
// because DynamoDB deletes expired items only eventually (and dynalite, used
// in tests, never does), every read and conditional write treats an item
// whose expires_at has passed as absent.
package idempotency
