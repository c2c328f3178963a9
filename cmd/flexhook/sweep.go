package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/flexhook/flexhook/internal/channelclose"
	"github.com/flexhook/flexhook/internal/config"
	"github.com/flexhook/flexhook/internal/dependencies"
	"github.com/flexhook/flexhook/internal/sweeper"
)

const sweepDescription = `
Runs the orphan sweeper once, as the scheduled sweeper function does, and
prints what it did: it walks the workspace's Events resource for the close
events (TASKROUTER_CLOSE_EVENTS) of the look-back window, decides each as the
webhook does, and closes each Flex Interaction Channel still active — unless
another live task still uses it — through the same idempotent close path as
the webhook. Inactive channels (Flex Leave) are never touched.

It reads the sweeper function's environment: TWILIO_SECRET_ID,
TASKROUTER_WORKSPACE_SID, SWEEP_LOOKBACK, TASKROUTER_CLOSE_EVENTS, CLOSE_STATUS, CLOSE_TASKS,
IDEMPOTENCY_TABLE, DRY_RUN, SECRET_CACHE_TTL, TWILIO_API_BASE_URL, LOG_LEVEL,
and the AWS settings (AWS_REGION, credentials, AWS_ENDPOINT_URL_SECRETS_MANAGER,
AWS_ENDPOINT_URL_DYNAMODB for local servers). --dry-run forces DRY_RUN: the
sweep decides and prints the Flex request it would send, and changes nothing.

Events younger than --min-age are left to the webhook.

Exit codes: 0 when the sweep ran and no close failed, 1 when it could not
run or a close failed, 2 for usage and configuration errors.`

// sweepCommand implements `flexhook sweep`.
func sweepCommand(ctx context.Context, std *stdio, args []string) int {
	fs := newFlagSet("sweep", "flexhook sweep [--dry-run] [--min-age 2m] [--max-closes N] [--json]", sweepDescription)
	dryRun := fs.Bool("dry-run", false, "decide and print, never update a channel (forces DRY_RUN=true)")
	minAge := fs.Duration("min-age", 2*time.Minute, "leave events younger than this `duration` to the webhook")
	maxCloses := fs.Int("max-closes", 500, "close at most `N` channels")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	timeout := fs.Duration("timeout", 5*time.Minute, "give up after this `duration`")
	if code, ok := fs.parseNone(std, args); !ok {
		return code
	}
	if *minAge <= 0 || *maxCloses < 1 {
		return fs.fail(std, usageError("--min-age and --max-closes must be positive"), exitUsage)
	}
	getenv := std.getenv
	if *dryRun {
		getenv = func(k string) string {
			if k == config.EnvDryRun {
				return "true"
			}
			return std.getenv(k)
		}
	}
	cfg, err := config.LoadSweeper(getenv)
	if err != nil {
		return fs.fail(std, usageError("configuration from the environment: %v", err), exitUsage)
	}

	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	// Logs go to stderr, the report to stdout.
	k, err := dependencies.Start(ctx, cfg.Common, "sweeper", std.stderr, getenv)
	if err != nil {
		return fs.fail(std, usageError("AWS configuration: %v", err), exitUsage)
	}
	s := sweeper.New(k.Twilio.API, k.Close, cfg.WorkspaceSID, sweeper.Options{
		Lookback:    cfg.Lookback,
		CloseEvents: cfg.CloseEvents,
		MinAge:      *minAge,
		Status:      cfg.CloseStatus,
		Routing:     cfg.Routing(cfg.CloseStatus),
		MaxCloses:   *maxCloses,
	})
	if !*asJSON {
		mode := ""
		if cfg.DryRun {
			mode = " (dry run: no channel is updated)"
		}
		fmt.Fprintf(std.stdout, "Sweeping workspace %s: %s events of the last %s, at least %s old%s.\n",
			cfg.WorkspaceSID, strings.Join(cfg.CloseEvents, ", "), cfg.Lookback, *minAge, mode)
	}
	rep, err := s.Sweep(ctx)
	if *asJSON {
		b, jerr := json.MarshalIndent(rep, "", "  ")
		if jerr != nil {
			return fs.fail(std, jerr, exitFailure)
		}
		fmt.Fprintf(std.stdout, "%s\n", b)
	} else if werr := writeSweep(std.stdout, rep); werr != nil {
		return fs.fail(std, werr, exitFailure)
	}
	if err != nil {
		return fs.fail(std, err, exitFailure)
	}
	if rep.Outcomes["failed"] > 0 {
		return exitFailure
	}
	return exitOK
}

// writeSweep prints a sweep report: one line per open channel, then the
// totals.
func writeSweep(w io.Writer, rep sweeper.Report) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	if len(rep.Actions) > 0 {
		fmt.Fprintln(tw, "CHANNEL\tINTERACTION\tTASK\tEVENT\tSTATUS BEFORE\tOUTCOME\tFLEX REQUEST / ERROR")
	}
	for _, a := range rep.Actions {
		detail := a.Request
		switch {
		case a.Error != "":
			detail = a.Error
		case a.Outcome == string(channelclose.SkippedLiveTask):
			detail = "not sent: another task on the channel is live"
		case a.Outcome == string(channelclose.DryRun):
			detail = "not sent (dry run): " + a.Request
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.ChannelSID, a.InteractionSID, a.TaskSID, a.EventType, cmp.Or(a.ChannelStatus, "-"), a.Outcome, cmp.Or(detail, "-"))
	}
	fmt.Fprintf(tw, "%d events, %d closing, %d channels (left alone: %s), %d active; outcomes: %s",
		rep.Events, rep.Closing, rep.Channels, counts(rep.Left), rep.Open, counts(rep.Outcomes))
	if rep.Truncated {
		fmt.Fprint(tw, " (truncated: deadline, --max-closes or the Events page bound reached; run again)")
	}
	fmt.Fprintln(tw)
	for _, w := range rep.Warnings {
		fmt.Fprintln(tw, "warning: "+w)
	}
	return tw.Flush()
}

// counts renders a count map as "a 1, b 2", or "none".
func counts(m map[string]int) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%s %d", k, m[k]))
	}
	return strings.Join(parts, ", ")
}
