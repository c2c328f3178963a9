package crm_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/flexhook/flexhook/internal/crm"
)

func Example() {
	const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
	v, err := crm.NewVerifier(crm.Config{Secrets: []string{secret}})
	if err != nil {
		fmt.Println(err) // at cold start: a configuration error
		return
	}

	body := []byte(`{"task_sid":"WTbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb","status":"inactive"}`)
	sent := time.Unix(1_760_000_000, 0)
	h, err := crm.Sign(secret, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", sent, body)
	if err != nil {
		fmt.Println(err)
		return
	}

	fmt.Println(v.Verify(h, body, sent.Add(time.Minute)))
	fmt.Println(errors.Is(v.Verify(h, body, sent.Add(6*time.Minute)), crm.ErrTimestamp))

	req, err := crm.Parse(body)
	fmt.Printf("%+v %v\n", req, err)

	_, err = crm.Parse([]byte(`{"task_sid":"WT123"}`))
	var ve *crm.ValidationError
	fmt.Println(errors.As(err, &ve), ve.Field)
	// Output:
	// <nil>
	// true
	// {InteractionSID: ChannelSID: TaskSID:WTbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb Status:inactive} <nil>
	// true task_sid
}
