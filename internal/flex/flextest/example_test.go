package flextest_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/twilio/twilio-go/client"
	flexv1 "github.com/twilio/twilio-go/rest/flex/v1"
	taskrouterv1 "github.com/twilio/twilio-go/rest/taskrouter/v1"

	"github.com/flexhook/flexhook/internal/flex/flextest"
)

// Example wires the real twilio-go client to the fake, closes a channel and
// observes the effect on its task, then makes the next call rate-limited.
func Example() {
	const (
		account = "AC00000000000000000000000000000000"
		token   = "exampletoken"
		ws      = "WS00000000000000000000000000000000"
	)
	fake := flextest.New(flextest.Options{
		AccountSID:  account,
		Credentials: map[string]string{account: token},
	})
	ch := fake.AddChannel(flextest.Channel{Type: "sms"})
	task := fake.AddChannelTask(ws, ch, flextest.TaskAssigned)

	srv := httptest.NewServer(fake)
	defer srv.Close()

	// twilio-go has no base URL setting: a Transport sends its requests for
	// flex-api.twilio.com and taskrouter.twilio.com to the fake.
	tr, err := flextest.NewTransport(srv.URL, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	c := &client.Client{
		Credentials: client.NewCredentials(account, token),
		HTTPClient:  &http.Client{Transport: tr, Timeout: 5 * time.Second},
	}
	c.SetAccountSid(account)
	handler := &client.RequestHandler{Client: c}
	flex := flexv1.NewApiService(handler)
	taskrouter := taskrouterv1.NewApiService(handler)

	params := (&flexv1.UpdateInteractionChannelParams{}).SetStatus("closed")
	params.SetRouting(map[string]any{"status": "closed"})
	closed, err := flex.UpdateInteractionChannel(ch.InteractionSID, ch.SID, params)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("channel:", *closed.Status)

	got, err := taskrouter.FetchTask(ws, task.SID)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("task:", *got.AssignmentStatus)
	fmt.Println("closes:", fake.CloseCount(ch.SID))

	fake.Inject(flextest.RateLimited(time.Second, 1))
	_, err = flex.FetchInteractionChannel(ch.InteractionSID, ch.SID)
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		fmt.Println("then:", te.Status, te.Code)
	}
	// Output:
	// channel: closed
	// task: completed
	// closes: 1
	// then: 429 20429
}

// ExampleFlows plays a parked conversation whose unpark invite is declined:
// the events Flex emits, and the task gone five minutes after it ended
// while its events stay.
func ExampleFlows() {
	const ws = "WS00000000000000000000000000000000"
	fake := flextest.New(flextest.Options{Now: func() time.Time { return time.Date(2026, 1, 1, 9, 0, 0, 0, time.UTC) }})
	fl := fake.Flows(ws)
	ch, task := fl.Start(flextest.Channel{})
	_ = fl.Park(task.SID)
	invite, _ := fl.Unpark(ch.InteractionSID, ch.SID)
	_ = fl.DeclineInvite(invite.SID)
	fake.Advance(5 * time.Minute)

	got, _ := fake.Channel(ch.InteractionSID, ch.SID)
	fmt.Println("channel:", got.Status)
	_, ok := fake.Task(ws, task.SID)
	fmt.Println("parked task still there:", ok)
	for _, e := range fake.Events(ws) {
		fmt.Println(e.Date.Format("15:04"), e.Type, e.TaskAssignmentStatus)
	}
	// Output:
	// channel: active
	// parked task still there: false
	// 09:00 task.created pending
	// 09:00 task.completed completed
	// 09:00 task.created pending
	// 09:00 task.canceled canceled
	// 09:05 task.system-deleted completed
	// 09:05 task.system-deleted canceled
}
