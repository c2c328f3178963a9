package faults

import (
	"crypto/rand"
	"fmt"
	"hash/crc32"
	"maps"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync"
)

// Throttling errors DynamoDB answers with HTTP 400, as the AWS SDK's
// retryer knows them (retry.DefaultThrottleErrorCodes).
const (
	CodeProvisionedThroughputExceeded = "ProvisionedThroughputExceededException"
	CodeThrottling                    = "ThrottlingException"
)

// throttleErrors are the two throttling answers, by code: the __type and
// message DynamoDB sends.
var throttleErrors = map[string][2]string{
	CodeProvisionedThroughputExceeded: {
		"com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException",
		"The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
	},
	CodeThrottling: {
		"com.amazon.coral.availability#ThrottlingException",
		"Rate of requests exceeds the allowed throughput.",
	},
}

// Throttle is a DynamoDB endpoint in front of a real one (dynalite, which
// never throttles). It answers a share of the requests as DynamoDB does
// when it throttles — HTTP 400, x-amzn-ErrorType, a JSON error body with
// its __type, an x-amz-crc32 checksum — alternating between
// ProvisionedThroughputExceededException and ThrottlingException, and
// forwards the others unchanged. Which requests are throttled is drawn from
// a seeded generator. It is safe for concurrent use.
type Throttle struct {
	proxy *httputil.ReverseProxy

	mu        sync.Mutex
	rng       *mrand.Rand
	share     float64
	requests  int
	throttled map[string]int // by operation
	next      int            // alternates the error code
}

// NewThrottle returns a Throttle forwarding to the DynamoDB endpoint
// target (such as http://127.0.0.1:8000), throttling nothing until SetShare.
func NewThrottle(target string, seed uint64) (*Throttle, error) {
	u, err := url.Parse(target)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("faults: throttle target %q is not an http(s) URL", target)
	}
	return &Throttle{
		proxy:     &httputil.ReverseProxy{Rewrite: func(r *httputil.ProxyRequest) { r.SetURL(u); r.Out.Host = u.Host }},
		rng:       mrand.New(mrand.NewPCG(seed, seed^0x7468726f74746c65)),
		throttled: map[string]int{},
	}, nil
}

// SetShare makes the Throttle throttle this share (0 to 1) of the requests
// from now on; 0 stops throttling.
func (t *Throttle) SetShare(share float64) {
	t.mu.Lock()
	t.share = min(max(share, 0), 1)
	t.mu.Unlock()
}

// ThrottleStats count what a Throttle did.
type ThrottleStats struct {
	Requests  int            // requests received
	Throttled map[string]int // throttled requests, by DynamoDB operation (GetItem, UpdateItem…)
}

// Total returns the number of throttled requests.
func (s ThrottleStats) Total() int { return total(s.Throttled) }

// Stats returns the counts so far.
func (t *Throttle) Stats() ThrottleStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return ThrottleStats{Requests: t.requests, Throttled: maps.Clone(t.throttled)}
}

// ServeHTTP implements http.Handler.
func (t *Throttle) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	op := r.Header.Get("X-Amz-Target")
	if _, after, ok := strings.Cut(op, "."); ok {
		op = after
	}
	t.mu.Lock()
	t.requests++
	throttle := t.share > 0 && t.rng.Float64() < t.share
	code := CodeProvisionedThroughputExceeded
	if throttle {
		t.throttled[op]++
		if t.next%2 == 1 {
			code = CodeThrottling
		}
		t.next++
	}
	t.mu.Unlock()
	if !throttle {
		t.proxy.ServeHTTP(w, r)
		return
	}
	e := throttleErrors[code]
	body := []byte(`{"__type":` + strconv.Quote(e[0]) + `,"message":` + strconv.Quote(e[1]) + `}`)
	h := w.Header()
	h.Set("Content-Type", "application/x-amz-json-1.0")
	h.Set("X-Amzn-Errortype", code)
	h.Set("X-Amzn-Requestid", rand.Text())
	h.Set("X-Amz-Crc32", strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10))
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(http.StatusBadRequest)
	_, _ = w.Write(body)
}
