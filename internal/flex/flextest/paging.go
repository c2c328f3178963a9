package flextest

import (
	"encoding/base64"
	"encoding/json"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// Paging limits of the TaskRouter list endpoints.
const (
	defaultPageSize = 50
	maxPageSize     = 1000
)

// pageMeta is the "meta" object of a Twilio v1 list page.
type pageMeta struct {
	Page            int     `json:"page"`
	PageSize        int     `json:"page_size"`
	FirstPageURL    string  `json:"first_page_url"`
	PreviousPageURL *string `json:"previous_page_url"`
	URL             string  `json:"url"`
	NextPageURL     *string `json:"next_page_url"`
	Key             string  `json:"key"`
}

// pageToken is the sort key of a list item, and as a PageToken a position
// in the sorted list: the page starts after (or, with Before, ends before)
// the item with this key. N is a task's priority or an event's sequence
// number.
type pageToken struct {
	Before bool   `json:"b,omitempty"`
	Time   int64  `json:"t"`
	N      int64  `json:"n"`
	SID    string `json:"s"`
}

const tokenPrefix = "PT"

func (t pageToken) String() string {
	b, _ := json.Marshal(t) // ints and a string; cannot fail
	return tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
}

// paging is the paging part of a list request.
type paging struct {
	size, num int
	token     *pageToken
	args      url.Values // the filter parameters, repeated in paging URLs
}

func badParam(name string) *response {
	return twilioError(http.StatusBadRequest, 20001, "Invalid "+name+" parameter")
}

// intParam reads the integer parameter name of q, or def when it is
// absent, and answers 400 when it is not an integer from lo to hi.
func intParam(q url.Values, name string, def, lo, hi int) (int, *response) {
	if !q.Has(name) {
		return def, nil
	}
	n, err := strconv.Atoi(q.Get(name))
	if err != nil || n < lo || n > hi {
		return 0, badParam(name)
	}
	return n, nil
}

// parsePaging reads PageSize, Page and PageToken, rejecting the parameters
// in unsupported (answered 400 rather than ignored, so that a test does not
// pass on a filter that was never applied), and keeps the filters in q for
// the paging URLs.
func parsePaging(q url.Values, unsupported, filters []string) (paging, *response) {
	pg := paging{args: url.Values{}}
	for _, name := range unsupported {
		if q.Has(name) {
			return pg, twilioError(http.StatusBadRequest, 20001, "Parameter "+name+" is not supported by flextest")
		}
	}
	var bad *response
	if pg.size, bad = intParam(q, "PageSize", defaultPageSize, 1, maxPageSize); bad != nil {
		return pg, bad
	}
	if pg.num, bad = intParam(q, "Page", 0, 0, math.MaxInt); bad != nil {
		return pg, bad
	}
	if q.Has("PageToken") {
		raw, ok := strings.CutPrefix(q.Get("PageToken"), tokenPrefix)
		b, err := base64.RawURLEncoding.DecodeString(raw)
		pg.token = new(pageToken)
		if !ok || err != nil || json.Unmarshal(b, pg.token) != nil || pg.token.SID == "" {
			return pg, badParam("PageToken")
		}
	}
	for _, k := range filters {
		if vs, ok := q[k]; ok {
			pg.args[k] = vs
		}
	}
	return pg, nil
}

// link returns the URL of page num of the list at path p, from tok.
func (pg paging) link(p string, num int, tok *pageToken) string {
	v := maps.Clone(pg.args)
	v.Set("PageSize", strconv.Itoa(pg.size))
	v.Set("Page", strconv.Itoa(num))
	if tok != nil {
		v.Set("PageToken", tok.String())
	}
	return taskRouterURL + p + "?" + v.Encode()
}

// listPage sorts list by compare on the keys keyOf gives and answers the
// requested page of it as a Twilio v1 list page under key with its paging
// links.
func listPage[T any](pg paging, p, key string, list []T, keyOf func(T) pageToken, compare func(a, b pageToken) int, render func(T) map[string]any) *response {
	slices.SortFunc(list, func(a, b T) int { return compare(keyOf(a), keyOf(b)) })
	n := len(list)
	search := func() (int, bool) {
		return slices.BinarySearchFunc(list, *pg.token, func(x T, k pageToken) int { return compare(keyOf(x), k) })
	}
	var start, end int
	switch {
	case pg.token == nil:
		start = n
		if pg.num < n { // bounds num*size: no overflow
			start = min(n, pg.num*pg.size)
		}
		end = min(n, start+pg.size)
	case pg.token.Before:
		end, _ = search()
		start = max(0, end-pg.size)
	default:
		// The token's item may no longer match the filters: the page
		// starts where it would be.
		i, found := search()
		if found {
			i++
		}
		start, end = i, min(n, i+pg.size)
	}
	items := make([]any, 0, end-start)
	for _, x := range list[start:end] {
		items = append(items, render(x))
	}
	m := pageMeta{Page: pg.num, PageSize: pg.size, FirstPageURL: pg.link(p, 0, nil), URL: pg.link(p, pg.num, pg.token), Key: key}
	if end < n {
		tok := keyOf(list[end-1])
		next := pg.link(p, pg.num+1, &tok)
		m.NextPageURL = &next
	}
	if start > 0 {
		var tok *pageToken // past the end: the previous page by number
		if start < n {
			k := keyOf(list[start])
			k.Before = true
			tok = &k
		}
		prev := pg.link(p, max(0, pg.num-1), tok)
		m.PreviousPageURL = &prev
	}
	return jsonResponse(http.StatusOK, map[string]any{key: items, "meta": m})
}
