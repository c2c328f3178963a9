package idempotency

import (
	"context"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/flexhook/flexhook/internal/idempotency/dynamotest"
)

// TestDynamoDB runs the shared suite against dynalite, twice: as dynalite
// answers (a refused conditional write carries no item, so the store reads
// it), and as DynamoDB answers when asked for
// ReturnValuesOnConditionCheckFailure=ALL_OLD (the refusal carries the
// item).
func TestDynamoDB(t *testing.T) {
	client := dynamotest.NewClient(dynamotest.Start(t))
	tests := []struct {
		name string
		wrap func(*dynamodb.Client) itemClient
	}{
		{name: "dynalite", wrap: func(c *dynamodb.Client) itemClient { return &countingClient{Client: c} }},
		{name: "item on refusal", wrap: func(c *dynamodb.Client) itemClient { return &itemOnRefusal{countingClient{Client: c}} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testStore(t, func(t *testing.T, clock *fakeClock) store {
				table := dynamotest.TableName(t)
				dynamotest.CreateTable(t, client, table)
				return NewDynamoDB(tt.wrap(client), table, Options{Now: clock.Now})
			})
		})
	}
}

// countingClient counts the store's GetItem calls.
type countingClient struct {
	*dynamodb.Client
	gets atomic.Int64
}

func (c *countingClient) GetItem(ctx context.Context, in *dynamodb.GetItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.gets.Add(1)
	return c.Client.GetItem(ctx, in, optFns...)
}

// itemOnRefusal makes dynalite answer a refused PutItem as DynamoDB does
// when the request sets ReturnValuesOnConditionCheckFailure=ALL_OLD: the
// ConditionalCheckFailedException carries the item. (dynalite ignores the
// parameter.) Its own reads are not counted.
type itemOnRefusal struct{ countingClient }

func (c *itemOnRefusal) PutItem(ctx context.Context, in *dynamodb.PutItemInput, optFns ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	out, err := c.Client.PutItem(ctx, in, optFns...)
	var refused *types.ConditionalCheckFailedException
	if errors.As(err, &refused) && in.ReturnValuesOnConditionCheckFailure == types.ReturnValuesOnConditionCheckFailureAllOld {
		got, gerr := c.Client.GetItem(ctx, &dynamodb.GetItemInput{
			TableName:      in.TableName,
			Key:            map[string]types.AttributeValue{attrKey: in.Item[attrKey]},
			ConsistentRead: aws.Bool(true),
		})
		if gerr != nil {
			return nil, gerr
		}
		refused.Item = got.Item
	}
	return out, err
}

func TestDynamoDBUsesItemFromRefusal(t *testing.T) {
	client := dynamotest.NewClient(dynamotest.Start(t))
	tests := []struct {
		name     string
		wrap     func(*dynamodb.Client) (itemClient, *atomic.Int64)
		wantGets int64
	}{
		{
			name: "refusal without item",
			wrap: func(c *dynamodb.Client) (itemClient, *atomic.Int64) {
				cc := &countingClient{Client: c}
				return cc, &cc.gets
			},
			wantGets: 1,
		},
		{
			name: "refusal with item",
			wrap: func(c *dynamodb.Client) (itemClient, *atomic.Int64) {
				cc := &itemOnRefusal{countingClient{Client: c}}
				return cc, &cc.gets
			},
			wantGets: 0,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clock := newClock()
			table := dynamotest.TableName(t)
			dynamotest.CreateTable(t, client, table)
			c, gets := tt.wrap(client)
			s := NewDynamoDB(c, table, Options{Now: clock.Now})
			claim := mustBegin(t, s, keyA, hashA, clock.Now().Add(lockFor))
			if err := s.Complete(t.Context(), keyA, claim.Owner, outcomeOK, "", clock.Now().Add(keepDone)); err != nil {
				t.Fatalf("Complete: %v", err)
			}
			gets.Store(0)
			d, err := s.Begin(t.Context(), keyA, hashA, clock.Now().Add(lockFor))
			if err != nil || d.Done == nil {
				t.Fatalf("Begin of a done key = %+v, %v, want a replay", d, err)
			}
			if got := gets.Load(); got != tt.wantGets {
				t.Errorf("Begin of a done key made %d GetItem calls, want %d", got, tt.wantGets)
			}
		})
	}
}

// failingClient answers every call with err.
type failingClient struct{ err error }

func (f failingClient) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return nil, f.err
}

func (f failingClient) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	return nil, f.err
}

func (f failingClient) UpdateItem(context.Context, *dynamodb.UpdateItemInput, ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	return nil, f.err
}

func (f failingClient) DeleteItem(context.Context, *dynamodb.DeleteItemInput, ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	return nil, f.err
}

// sdkError wraps err as the SDK returns a failed operation: an
// OperationError around the HTTP response error, whose status is 0 when no
// response arrived.
func sdkError(status int, err error) error {
	return operationError(&awshttp.ResponseError{
		ResponseError: &smithyhttp.ResponseError{
			Response: &smithyhttp.Response{Response: &http.Response{StatusCode: status}},
			Err:      err,
		},
		RequestID: "REQ1",
	})
}

// operationError wraps err as the SDK returns a failure that happened
// before any request was sent.
func operationError(err error) error {
	return &smithy.OperationError{ServiceID: "DynamoDB", OperationName: "PutItem", Err: err}
}

func TestDynamoDBErrorClasses(t *testing.T) {
	msg := aws.String("message")
	tests := []struct {
		name          string
		err           error
		wantRetryable bool
		wantCode      string
	}{
		{"provisioned throughput exceeded", sdkError(400, &types.ProvisionedThroughputExceededException{Message: msg}), true, "ProvisionedThroughputExceededException"},
		{"throttling", sdkError(400, &types.ThrottlingException{Message: msg}), true, "ThrottlingException"},
		{"request limit exceeded", sdkError(400, &types.RequestLimitExceeded{Message: msg}), true, "RequestLimitExceeded"},
		{"internal server error", sdkError(500, &types.InternalServerError{Message: msg}), true, "InternalServerError"},
		{"unknown 503", sdkError(503, &smithy.GenericAPIError{Code: "ServiceUnavailable", Message: "busy"}), true, "ServiceUnavailable"},
		{"unknown server fault", sdkError(500, &smithy.GenericAPIError{Code: "Whatever", Fault: smithy.FaultServer}), true, "Whatever"},
		{"undecodable 502 page", sdkError(502, errors.New("failed to decode error response")), true, ""},
		{"connection refused", sdkError(0, &smithyhttp.RequestSendError{Err: &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}}), true, ""},
		{"deadline exceeded", operationError(context.DeadlineExceeded), true, ""},
		{"undecodable 403 page", sdkError(403, errors.New("failed to decode error response")), false, ""},
		{"table missing", sdkError(400, &types.ResourceNotFoundException{Message: msg}), false, "ResourceNotFoundException"},
		{"access denied", sdkError(400, &smithy.GenericAPIError{Code: "AccessDeniedException", Message: "no"}), false, "AccessDeniedException"},
		{"validation", sdkError(400, &smithy.GenericAPIError{Code: "ValidationException", Message: "bad"}), false, "ValidationException"},
		{"bad credentials", sdkError(400, &smithy.GenericAPIError{Code: "UnrecognizedClientException"}), false, "UnrecognizedClientException"},
		{"SDK refused the input", operationError(smithy.InvalidParamsError{Context: "PutItemInput"}), false, ""},
	}
	calls := []struct {
		name string
		call func(ctx context.Context, s *DynamoDB, now time.Time) error
	}{
		{"Begin", func(ctx context.Context, s *DynamoDB, now time.Time) error {
			_, err := s.Begin(ctx, keyA, hashA, now.Add(lockFor))
			return err
		}},
		{"Complete", func(ctx context.Context, s *DynamoDB, now time.Time) error {
			return s.Complete(ctx, keyA, "owner", outcomeOK, "", now.Add(keepDone))
		}},
		{"Release", func(ctx context.Context, s *DynamoDB, now time.Time) error { return s.Release(ctx, keyA, "owner") }},
		{"Get", func(ctx context.Context, s *DynamoDB, now time.Time) error { _, err := s.Get(ctx, keyA); return err }},
	}
	for _, tt := range tests {
		for _, c := range calls {
			t.Run(tt.name+"/"+c.name, func(t *testing.T) {
				clock := newClock()
				s := NewDynamoDB(failingClient{tt.err}, "table", Options{Now: clock.Now})
				err := c.call(t.Context(), s, clock.Now())
				var se *Error
				if !errors.As(err, &se) {
					t.Fatalf("%s with DynamoDB failing with %v: error = %v, want *Error", c.name, tt.err, err)
				}
				if se.RetryableError() != tt.wantRetryable || se.Code != tt.wantCode || se.Key != keyA {
					t.Errorf("%s with DynamoDB failing with %v = %#v, want RetryableError() %v, Code %q, Key %q",
						c.name, tt.err, se, tt.wantRetryable, tt.wantCode, keyA)
				}
				if !errors.Is(err, tt.err) {
					t.Errorf("%s error = %v, want it to wrap %v", c.name, err, tt.err)
				}
				for _, sentinel := range []error{ErrInProgress, ErrPayloadMismatch, ErrLockLost, ErrNotFound, ErrInvalidArgument} {
					if errors.Is(err, sentinel) {
						t.Errorf("%s error = %v, want it not to match %v", c.name, err, sentinel)
					}
				}
			})
		}
	}
}

// TestDynamoDBRealFailures checks the classification on the SDK's own
// errors from a real server: a missing table is permanent, an unreachable
// server is retryable.
func TestDynamoDBRealFailures(t *testing.T) {
	live := dynamotest.Start(t)
	var stopped string // the endpoint of a server that has stopped
	t.Run("start a server that stops", func(t *testing.T) { stopped = dynamotest.Start(t) })
	oneTry := func(o *dynamodb.Options) { o.RetryMaxAttempts = 1 }
	tests := []struct {
		name          string
		endpoint      string
		down          bool // the endpoint must not answer
		wantRetryable bool
		wantCode      string
	}{
		{name: "table missing", endpoint: live, wantRetryable: false, wantCode: "ResourceNotFoundException"},
		{name: "server down", endpoint: stopped, down: true, wantRetryable: true, wantCode: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.down && stopped == live {
				t.Skipf("%s is set: the shared server cannot be stopped", dynamotest.EnvEndpoint)
			}
			clock := newClock()
			s := NewDynamoDB(dynamotest.NewClient(tt.endpoint, oneTry), "no-such-table", Options{Now: clock.Now})
			_, err := s.Begin(t.Context(), keyA, hashA, clock.Now().Add(lockFor))
			var se *Error
			if !errors.As(err, &se) || se.RetryableError() != tt.wantRetryable || se.Code != tt.wantCode {
				t.Errorf("Begin = %v (%#v), want *Error with RetryableError() %v and Code %q", err, se, tt.wantRetryable, tt.wantCode)
			}
		})
	}
}

// fixedItemClient serves GetItem from a fixed item and fails other calls.
type fixedItemClient struct {
	failingClient
	item map[string]types.AttributeValue
}

func (f fixedItemClient) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{Item: f.item}, nil
}

func TestDynamoDBMalformedItem(t *testing.T) {
	clock := newClock()
	item := encode(Record{Key: keyA, Status: "weird", PayloadHash: hashA, Owner: "o", ExpiresAt: epoch.Add(time.Hour), UpdatedAt: epoch})
	s := NewDynamoDB(fixedItemClient{item: item}, "table", Options{Now: clock.Now})
	_, err := s.Get(t.Context(), keyA)
	var se *Error
	if !errors.As(err, &se) || se.RetryableError() || errors.Is(err, ErrNotFound) {
		t.Errorf("Get of an item with an unknown status = %v, want a permanent *Error", err)
	}
}

func TestDecode(t *testing.T) {
	inProgress := Record{
		Key: keyA, Status: StatusInProgress, PayloadHash: hashA, Owner: "owner",
		LockUntil: time.UnixMilli(1773500996535).UTC(), ExpiresAt: time.Unix(1773587397, 0).UTC(),
		UpdatedAt: time.UnixMilli(1773500966535).UTC(),
	}
	done := Record{
		Key: keyA, Status: StatusDone, PayloadHash: hashA, Owner: "owner", Outcome: outcomeOK, Detail: detailOK,
		ExpiresAt: time.Unix(1774105767, 0).UTC(), UpdatedAt: time.UnixMilli(1773500968035).UTC(),
	}
	for _, rec := range []Record{inProgress, done} {
		t.Run("round trip "+string(rec.Status), func(t *testing.T) {
			got, err := decode(encode(rec))
			if err != nil || got != rec {
				t.Errorf("decode(encode(%+v)) = %+v, %v, want the record back", rec, got, err)
			}
		})
	}

	without := func(rec Record, attr string) map[string]types.AttributeValue {
		item := encode(rec)
		delete(item, attr)
		return item
	}
	with := func(rec Record, attr string, v types.AttributeValue) map[string]types.AttributeValue {
		item := encode(rec)
		item[attr] = v
		return item
	}
	bad := []struct {
		name string
		item map[string]types.AttributeValue
	}{
		{"no key", without(done, attrKey)},
		{"no status", without(done, attrStatus)},
		{"no payload hash", without(done, attrPayloadHash)},
		{"no owner", without(done, attrOwner)},
		{"no expiry", without(done, attrExpiresAt)},
		{"no update time", without(done, attrUpdatedAt)},
		{"done without outcome", without(done, attrOutcome)},
		{"in progress without lock", without(inProgress, attrLockUntil)},
		{"unknown status", with(done, attrStatus, str("paused"))},
		{"expiry as string", with(done, attrExpiresAt, str("1774105767"))},
		{"expiry not an integer", with(done, attrExpiresAt, &types.AttributeValueMemberN{Value: "1.5"})},
		{"owner as number", with(done, attrOwner, number(7))},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := decode(tt.item); err == nil {
				t.Errorf("decode(%s) = %+v, nil, want an error", tt.name, got)
			}
		})
	}
}

// churningClient refuses every PutItem and then finds no item, as if the
// key were claimed and released again between each write and read.
type churningClient struct {
	failingClient
	puts atomic.Int64
}

func (c *churningClient) PutItem(context.Context, *dynamodb.PutItemInput, ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.puts.Add(1)
	return nil, sdkError(400, &types.ConditionalCheckFailedException{Message: aws.String("The conditional request failed")})
}

func (c *churningClient) GetItem(context.Context, *dynamodb.GetItemInput, ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	return &dynamodb.GetItemOutput{}, nil
}

func TestDynamoDBBeginGivesUpUnderChurn(t *testing.T) {
	clock := newClock()
	c := &churningClient{}
	s := NewDynamoDB(c, "table", Options{Now: clock.Now})
	_, err := s.Begin(t.Context(), keyA, hashA, clock.Now().Add(lockFor))
	var se *Error
	if !errors.As(err, &se) || !se.RetryableError() || !errors.Is(err, errContention) {
		t.Errorf("Begin while the item keeps changing = %v, want a retryable *Error wrapping errContention", err)
	}
	if got := c.puts.Load(); got != beginAttempts {
		t.Errorf("Begin made %d PutItem calls, want %d", got, beginAttempts)
	}
}
