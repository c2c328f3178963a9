package idempotency

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// The item's attribute names. Expressions refer to them through
// placeholders because "status" and "owner" are DynamoDB reserved words.
const (
	attrKey         = "pk"           // S, the partition key
	attrStatus      = "status"       // S, a Status
	attrPayloadHash = "payload_hash" // S
	attrOutcome     = "outcome"      // S, done records only
	attrDetail      = "detail"       // S, optional
	attrLockUntil   = "lock_until"   // N, epoch milliseconds, in-progress records only
	attrOwner       = "owner"        // S
	attrExpiresAt   = "expires_at"   // N, epoch seconds: the table's TTL attribute
	attrUpdatedAt   = "updated_at"   // N, epoch milliseconds
)

// beginAttempts bounds how often Begin writes when the item keeps changing
// between its conditional write and the read that explains a refusal.
const beginAttempts = 3

// errContention: Begin's conditional write kept failing while the item it
// then read would have allowed it; the key is changing under heavy
// concurrency. Retryable.
var errContention = errors.New("item changed concurrently")

// DynamoDB is a store keeping one item per key in a DynamoDB table whose
// partition key is "pk" (S) and whose TTL attribute is "expires_at". Every
// write is conditional, so concurrent invocations across Lambda containers
// claim each key at most once; reads are strongly consistent. It is safe
// for concurrent use.
type DynamoDB struct {
	client itemClient
	table  string
	now    func() time.Time
}

// itemClient is the part of the DynamoDB API the store calls; the SDK's
// *dynamodb.Client satisfies it.
type itemClient interface {
	GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error)
	PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error)
}

// NewDynamoDB returns a store over table, using client (normally a
// *dynamodb.Client, whose own retries of throttling and 5xx apply to each
// call).
func NewDynamoDB(client itemClient, table string, opts Options) *DynamoDB {
	d := &DynamoDB{client: client, table: table, now: opts.Now}
	if d.now == nil {
		d.now = time.Now
	}
	return d
}

// Begin claims key for one processing attempt that holds the claim until
// lockUntil (normally the invocation's deadline). Its outcomes:
//
//   - no live record (none, or expired): a claim with a new Owner; process
//     the event, then Complete or Release;
//   - a done record with the same payload hash: a claim with Done set;
//     replay Done.Outcome and do not repeat the side effect;
//   - a record with a different payload hash: ErrPayloadMismatch;
//   - an in-progress record whose lock has not expired: ErrInProgress;
//   - an in-progress record whose lock has expired: the claim is taken over
//     (new Owner, TakenOver set); the earlier owner can no longer Complete.
//
// Arguments are checked first (ErrInvalidArgument: empty or oversized key,
// lockUntil not in the future). Other failures are *Error.
func (d *DynamoDB) Begin(ctx context.Context, key, payloadHash string, lockUntil time.Time) (Claim, error) {
	const op = "begin"
	if err := Precheck(ctx, op, key, CheckBegin(key, payloadHash, lockUntil, d.now())); err != nil {
		return Claim{}, err
	}
	for range beginAttempts {
		now := d.now()
		rec := NewClaim(key, payloadHash, lockUntil, now)
		out, err := d.client.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: aws.String(d.table),
			Item:      encode(rec),
			// Claimable: no item, an expired one, or an abandoned claim of
			// the same payload.
			ConditionExpression: aws.String("attribute_not_exists(#pk) OR #exp <= :now_s OR " +
				"(#st = :in_progress AND #lu <= :now_ms AND #ph = :ph)"),
			ExpressionAttributeNames: map[string]string{
				"#pk": attrKey, "#exp": attrExpiresAt, "#st": attrStatus, "#lu": attrLockUntil, "#ph": attrPayloadHash,
			},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":now_s":       number(now.Unix()),
				":now_ms":      number(now.UnixMilli()),
				":in_progress": str(string(StatusInProgress)),
				":ph":          str(payloadHash),
			},
			ReturnValues: types.ReturnValueAllOld,
			// DynamoDB returns the blocking item with the refusal, which
			// saves a read; dynalite ignores this and current reads it.
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
		})
		if err == nil {
			c := Claim{Owner: rec.Owner, TakenOver: wasLive(out.Attributes, now)}
			if c.TakenOver {
				c.Detail, _ = stringAttr(out.Attributes, attrDetail, false)
			}
			return c, nil
		}
		var refused *types.ConditionalCheckFailedException
		if !errors.As(err, &refused) {
			return Claim{}, classify(op, key, err)
		}
		cur, err := d.current(ctx, op, key, refused.Item, now)
		if err != nil {
			return Claim{}, err
		}
		done, err := Judge(cur, payloadHash, now)
		if err != nil {
			return Claim{}, OpError(op, key, err)
		}
		if done != nil {
			return Claim{Done: done}, nil
		}
		// The item changed between the write and the read: try again.
	}
	return Claim{}, &Error{Op: op, Key: key, Err: errContention, retryable: true}
}

// Complete marks key done with outcome and detail (which may be empty),
// keeping the record until expiresAt. Only the owner of the key's live
// in-progress claim may complete it — also after its lock expired, as long
// as nobody took it over; otherwise Complete fails with ErrLockLost.
// Arguments are checked first (ErrInvalidArgument); other failures are
// *Error.
func (d *DynamoDB) Complete(ctx context.Context, key, owner, outcome, detail string, expiresAt time.Time) error {
	const op = "complete"
	now := d.now()
	if err := Precheck(ctx, op, key, CheckComplete(key, owner, outcome, detail, expiresAt, now)); err != nil {
		return err
	}
	names := map[string]string{
		"#st": attrStatus, "#out": attrOutcome, "#exp": attrExpiresAt, "#upd": attrUpdatedAt,
		"#lu": attrLockUntil, "#det": attrDetail,
	}
	values := map[string]types.AttributeValue{
		":done":    str(string(StatusDone)),
		":outcome": str(outcome),
		":exp":     number(expirySeconds(expiresAt)),
		":now_ms":  number(now.UnixMilli()),
	}
	update := "SET #st = :done, #out = :outcome, #exp = :exp, #upd = :now_ms REMOVE #lu, #det"
	if detail != "" {
		update = "SET #st = :done, #out = :outcome, #exp = :exp, #upd = :now_ms, #det = :detail REMOVE #lu"
		values[":detail"] = str(detail)
	}
	return d.updateHeld(ctx, op, key, owner, now, update, names, values)
}

// Defer keeps owner's claim on key in progress but lets it go at
// lockUntil, recording detail for the attempt that then takes it over
// (Claim.Detail). Until lockUntil, Begin answers ErrInProgress. Errors:
// ErrLockLost when owner does not hold the claim, ErrInvalidArgument, or a
// classified DynamoDB error.
func (d *DynamoDB) Defer(ctx context.Context, key, owner, detail string, lockUntil time.Time) error {
	const op = "defer"
	now := d.now()
	if err := Precheck(ctx, op, key, CheckDefer(key, owner, detail, lockUntil, now)); err != nil {
		return err
	}
	return d.updateHeld(ctx, op, key, owner, now, "SET #lu = :lu, #det = :detail, #exp = :exp, #upd = :now_ms",
		map[string]string{"#lu": attrLockUntil, "#det": attrDetail, "#exp": attrExpiresAt, "#upd": attrUpdatedAt},
		map[string]types.AttributeValue{
			":lu":     number(lockMillis(lockUntil)),
			":detail": str(detail),
			":exp":    number(expirySeconds(lockUntil.Add(DefaultClaimRetention))),
			":now_ms": number(now.UnixMilli()),
		})
}

// Release deletes key's in-progress claim, after a failure worth retrying,
// so that a retry can claim the key again. It fails with ErrLockLost unless
// owner holds the key's live in-progress claim. Arguments are checked first
// (ErrInvalidArgument); other failures are *Error.
func (d *DynamoDB) Release(ctx context.Context, key, owner string) error {
	const op = "release"
	if err := Precheck(ctx, op, key, CheckRelease(key, owner)); err != nil {
		return err
	}
	names, values := map[string]string{}, map[string]types.AttributeValue{}
	_, err := d.client.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName:                 aws.String(d.table),
		Key:                       itemKey(key),
		ConditionExpression:       heldBy(owner, d.now(), names, values),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	return d.writeError(op, key, err)
}

// Get returns key's live record with a strongly consistent read, or
// ErrNotFound when it has none (an expired item counts as none). Other
// failures are *Error.
func (d *DynamoDB) Get(ctx context.Context, key string) (Record, error) {
	const op = "get"
	if err := Precheck(ctx, op, key, CheckKey(key)); err != nil {
		return Record{}, err
	}
	cur, err := d.current(ctx, op, key, nil, d.now())
	if err != nil {
		return Record{}, err
	}
	if cur == nil {
		return Record{}, OpError(op, key, ErrNotFound)
	}
	return *cur, nil
}

// heldBy returns the condition of the writes only a claim's owner makes
// (Complete, Defer, Release) — the item is a live in-progress claim of
// owner at now — and adds the names and values it refers to.
func heldBy(owner string, now time.Time, names map[string]string, values map[string]types.AttributeValue) *string {
	names["#own"], names["#st"], names["#exp"] = attrOwner, attrStatus, attrExpiresAt
	values[":owner"], values[":in_progress"], values[":now_s"] = str(owner), str(string(StatusInProgress)), number(now.Unix())
	return aws.String("#own = :owner AND #st = :in_progress AND #exp > :now_s")
}

// updateHeld applies update, with its names and values, to key's item if
// owner holds its claim (heldBy).
func (d *DynamoDB) updateHeld(ctx context.Context, op, key, owner string, now time.Time, update string,
	names map[string]string, values map[string]types.AttributeValue) error {
	_, err := d.client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(d.table),
		Key:                       itemKey(key),
		UpdateExpression:          aws.String(update),
		ConditionExpression:       heldBy(owner, now, names, values),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: values,
	})
	return d.writeError(op, key, err)
}

// writeError maps a Complete, Defer or Release result: a refused condition is
// ErrLockLost, anything else is classified.
func (d *DynamoDB) writeError(op, key string, err error) error {
	if err == nil {
		return nil
	}
	var refused *types.ConditionalCheckFailedException
	if errors.As(err, &refused) {
		return OpError(op, key, ErrLockLost)
	}
	return classify(op, key, err)
}

// current returns key's record if it is live at now, or nil. It decodes
// item when the caller has it (from a refused write) and otherwise reads
// the item with a strongly consistent GetItem.
func (d *DynamoDB) current(ctx context.Context, op, key string, item map[string]types.AttributeValue, now time.Time) (*Record, error) {
	if item == nil {
		out, err := d.client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      aws.String(d.table),
			Key:            itemKey(key),
			ConsistentRead: aws.Bool(true),
		})
		if err != nil {
			return nil, classify(op, key, err)
		}
		item = out.Item
	}
	if len(item) == 0 {
		return nil, nil
	}
	rec, err := decode(item)
	if err != nil {
		return nil, malformed(op, key, err)
	}
	if !Live(rec.ExpiresAt.Unix(), now) {
		return nil, nil
	}
	return &rec, nil
}

// wasLive reports whether old, the item a successful Begin replaced, was a
// live record at now — that is, an abandoned claim that was taken over.
func wasLive(old map[string]types.AttributeValue, now time.Time) bool {
	if len(old) == 0 {
		return false
	}
	exp, err := numberAttr(old, attrExpiresAt)
	return err == nil && Live(exp, now)
}

// itemKey returns the primary key of key's item.
func itemKey(key string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{attrKey: str(key)}
}

// encode returns rec as a DynamoDB item; empty optional fields are left
// out.
func encode(rec Record) map[string]types.AttributeValue {
	item := map[string]types.AttributeValue{
		attrKey:         str(rec.Key),
		attrStatus:      str(string(rec.Status)),
		attrPayloadHash: str(rec.PayloadHash),
		attrOwner:       str(rec.Owner),
		attrExpiresAt:   number(rec.ExpiresAt.Unix()),
		attrUpdatedAt:   number(rec.UpdatedAt.UnixMilli()),
	}
	if !rec.LockUntil.IsZero() {
		item[attrLockUntil] = number(rec.LockUntil.UnixMilli())
	}
	if rec.Outcome != "" {
		item[attrOutcome] = str(rec.Outcome)
	}
	if rec.Detail != "" {
		item[attrDetail] = str(rec.Detail)
	}
	return item
}

// decode returns the Record stored in item. It fails when a required
// attribute is missing or has the wrong type, or the status is unknown.
func decode(item map[string]types.AttributeValue) (Record, error) {
	var rec Record
	var errs []error
	get := func(name string, required bool) string {
		v, err := stringAttr(item, name, required)
		errs = append(errs, err)
		return v
	}
	rec.Key = get(attrKey, true)
	rec.Status = Status(get(attrStatus, true))
	rec.PayloadHash = get(attrPayloadHash, true)
	rec.Owner = get(attrOwner, true)
	rec.Outcome = get(attrOutcome, rec.Status == StatusDone)
	rec.Detail = get(attrDetail, false)
	exp, err := numberAttr(item, attrExpiresAt)
	errs = append(errs, err)
	rec.ExpiresAt = time.Unix(exp, 0).UTC()
	upd, err := numberAttr(item, attrUpdatedAt)
	errs = append(errs, err)
	rec.UpdatedAt = time.UnixMilli(upd).UTC()
	switch rec.Status {
	case StatusInProgress:
		lock, err := numberAttr(item, attrLockUntil)
		errs = append(errs, err)
		rec.LockUntil = time.UnixMilli(lock).UTC()
	case StatusDone:
	default:
		errs = append(errs, fmt.Errorf("unknown %s %q", attrStatus, rec.Status))
	}
	if err := errors.Join(errs...); err != nil {
		return Record{}, err
	}
	return rec, nil
}

// stringAttr returns item's string attribute name; a missing optional one
// is "".
func stringAttr(item map[string]types.AttributeValue, name string, required bool) (string, error) {
	v, ok := item[name]
	if !ok {
		if required {
			return "", fmt.Errorf("missing %s", name)
		}
		return "", nil
	}
	s, ok := v.(*types.AttributeValueMemberS)
	if !ok {
		return "", fmt.Errorf("%s is %T, want S", name, v)
	}
	return s.Value, nil
}

// numberAttr returns item's integer attribute name.
func numberAttr(item map[string]types.AttributeValue, name string) (int64, error) {
	v, ok := item[name]
	if !ok {
		return 0, fmt.Errorf("missing %s", name)
	}
	n, ok := v.(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("%s is %T, want N", name, v)
	}
	i, err := strconv.ParseInt(n.Value, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", name, err)
	}
	return i, nil
}

// str returns a DynamoDB string value.
func str(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }

// number returns a DynamoDB number value.
func number(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
