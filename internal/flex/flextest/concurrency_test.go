package flextest_test

import (
	"sync"
	"testing"

	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

// TestConcurrentCloses closes the same channels from many goroutines: each
// channel is closed exactly once and every other attempt is a repeat.
func TestConcurrentCloses(t *testing.T) {
	tests := []struct {
		name       string
		repeat     flextest.RepeatClose
		wantErrors int // per channel
	}{
		{"repeat ok", flextest.RepeatCloseOK, 0},
		{"repeat error", flextest.RepeatCloseError, 7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *flextest.Options) { o.RepeatClose = tt.repeat })
			const channels, attempts = 4, 8
			var chs []flextest.Channel
			var tasks []flextest.Task
			for range channels {
				ch := f.fake.AddChannel(flextest.Channel{})
				chs = append(chs, ch)
				tasks = append(tasks, f.fake.AddChannelTask(testWS, ch, "assigned"))
			}
			errs := make([]int, channels)
			var mu sync.Mutex
			var wg sync.WaitGroup
			for i := range channels {
				for range attempts {
					wg.Add(1)
					go func() {
						defer wg.Done()
						_, err := f.flex.UpdateInteractionChannel(chs[i].InteractionSID, chs[i].SID, closeParams("closed", true))
						if err != nil {
							mu.Lock()
							errs[i]++
							mu.Unlock()
						}
					}()
				}
			}
			// Readers and control calls run alongside.
			for range 4 {
				wg.Add(1)
				go func() {
					defer wg.Done()
					_, _ = f.tr.ListTask(testWS, (&taskrouterv1.ListTaskParams{}).SetPageSize(1))
					_ = f.fake.Requests()
					_ = f.fake.Count("POST", "/v1/Interactions")
					f.fake.AddWorkspace(testWS)
					_, _ = f.fake.Channel(chs[0].InteractionSID, chs[0].SID)
				}()
			}
			wg.Wait()

			for i, ch := range chs {
				if n := f.fake.CloseCount(ch.SID); n != 1 {
					t.Errorf("channel %d: CloseCount = %d, want 1", i, n)
				}
				if errs[i] != tt.wantErrors {
					t.Errorf("channel %d: %d failed attempts, want %d", i, errs[i], tt.wantErrors)
				}
				if got, _ := f.fake.Task(testWS, tasks[i].SID); got.AssignmentStatus != "completed" {
					t.Errorf("channel %d: task = %q, want completed", i, got.AssignmentStatus)
				}
			}
			if n := f.fake.Count("POST", "/v1/Interactions"); n != channels*attempts {
				t.Errorf("Count(POST) = %d, want %d", n, channels*attempts)
			}
		})
	}
}

// TestConcurrentFaults uses up a counted fault from many goroutines: exactly
// Times requests are faulted.
func TestConcurrentFaults(t *testing.T) {
	f := newFixture(t)
	ch := f.fake.AddChannel(flextest.Channel{})
	f.fake.Inject(flextest.Unavailable(5))
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, _ = f.flex.FetchInteractionChannel(ch.InteractionSID, ch.SID)
		}()
	}
	wg.Wait()
	faulted := 0
	for _, r := range f.fake.Requests() {
		if r.Fault {
			faulted++
			if r.Status != 503 {
				t.Errorf("faulted request answered %d, want 503", r.Status)
			}
		}
	}
	if faulted != 5 {
		t.Errorf("faulted requests = %d, want 5", faulted)
	}
}
