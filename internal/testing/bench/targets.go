package bench

// Limits `make bench` holds flexhook to (issues 6 and 10). Allocations are
// reported, not limited: the handler uses encoding/json, net/url and
// twilio-go's validator rather than code written to an allocation count.
const (
	LimitInitMs        = 15.0 // own init, ms
	LimitOwnOverheadMs = 0.2  // warm own overhead, median, ms
	LimitWarmSecrets   = 0.0  // Secrets Manager calls per warm event
	LimitConnsPerHost  = 1.0  // connections per upstream host per container
	LimitRSSMB         = 30.0 // peak RSS, MiB
	LimitBinaryMB      = 12.0 // stripped bootstrap, MB
	// LimitCallsPerClose is the Twilio calls one TaskRouter close makes:
	// fetch the channel (look before closing), list its live tasks (the
	// guard), update it.
	LimitCallsPerClose = 3.0
)

// judge returns the targets this run has figures for, each judged.
func judge(r *Results) []Target {
	var ts []Target
	add := func(name string, v, limit float64, unit, method string) {
		ts = append(ts, Target{Name: name, Value: v, Limit: limit, Unit: unit, Pass: v <= limit, Method: method})
	}
	if c := r.Cold; c != nil {
		add("own init (median)", c.Init.Median, LimitInitMs, "ms",
			"first event's REPORT Duration minus its EMF Latency under aws-lambda-rie (which starts the bootstrap inside that invocation): process start to ready, cold-start secret fetch included")
		add("connections per upstream host, cold container (max)", float64(max(c.ConnsPerContainer[apiTaskRouter+"+"+apiFlex], c.ConnsPerContainer[apiSecrets])), LimitConnsPerHost, "",
			"connections the loopback fakes accepted from one container (ConnState); Flex and TaskRouter share one fake host here")
	}
	if w := r.Warm; w != nil {
		add("warm own overhead (median)", w.Own.Median, LimitOwnOverheadMs, "ms",
			"EMF Latency minus FlexLatency per event: the handler's time outside the Twilio calls")
		add("Twilio calls per close (Flex + TaskRouter)", w.CallsPerEvent[apiFlex]+w.CallsPerEvent[apiTaskRouter], LimitCallsPerClose, "",
			"requests the Twilio fake received per warm event, each event a whole close of an active channel: channel fetch, live-task list, update")
		add("Secrets Manager calls per warm event", w.CallsPerEvent[apiSecrets], LimitWarmSecrets, "",
			"requests the Secrets Manager fake received during the warm events")
		add("connections per upstream host, warm events", float64(max(w.Conns[apiTaskRouter+"+"+apiFlex], w.Conns[apiSecrets])), LimitConnsPerHost, "",
			"new connections the fakes accepted during the warm events (0: the cold start's are reused)")
	}
	if rs := r.Resources; rs != nil {
		if rs.BinaryBytes > 0 {
			add("bootstrap size ("+rs.BinaryArch+")", float64(rs.BinaryBytes)/1e6, LimitBinaryMB, "MB",
				"go build -tags lambda.norpc -trimpath -ldflags='-s -w -buildid=' for linux/"+rs.BinaryArch+", as make build")
		}
		if rs.PeakRSSKiB > 0 {
			add("peak RSS", float64(rs.PeakRSSKiB)/1024, LimitRSSMB, "MiB",
				"VmHWM of the function process in /proc after the events")
		}
	}
	return ts
}
