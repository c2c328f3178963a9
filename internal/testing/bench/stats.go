package bench

import (
	"math"
	"slices"
	"time"
)

// Dist summarizes a sample of durations in milliseconds.
type Dist struct {
	N      int     `json:"n"`
	Min    float64 `json:"min_ms"`
	Median float64 `json:"p50_ms"`
	P90    float64 `json:"p90_ms"`
	P99    float64 `json:"p99_ms"`
	Max    float64 `json:"max_ms"`
}

// distOf summarizes ms, a sample in milliseconds, with nearest-rank
// percentiles. The zero Dist describes an empty sample.
func distOf(ms []float64) Dist {
	if len(ms) == 0 {
		return Dist{}
	}
	s := slices.Clone(ms)
	slices.Sort(s)
	rank := func(p float64) float64 {
		i := int(math.Ceil(p/100*float64(len(s)))) - 1
		return s[max(0, min(i, len(s)-1))]
	}
	return Dist{N: len(s), Min: s[0], Median: rank(50), P90: rank(90), P99: rank(99), Max: s[len(s)-1]}
}

func millis(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
