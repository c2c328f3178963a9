package sqstrigger

import (
	"testing"

	"github.com/flexhook/flexhook/internal/queue"
)

func TestARNFromURL(t *testing.T) {
	tests := []struct {
		url, region, want string
		wantErr           bool
	}{
		{url: "https://sqs.us-east-1.amazonaws.com/123456789012/q.fifo", region: "us-east-1", want: "arn:aws:sqs:us-east-1:123456789012:q.fifo"},
		{url: "http://127.0.0.1:4100/000000000000/q", region: "us-east-1", want: "arn:aws:sqs:us-east-1:000000000000:q"},
		{url: "https://sqs.cn-north-1.amazonaws.com.cn/1/q", region: "cn-north-1", want: "arn:aws-cn:sqs:cn-north-1:1:q"},
		{url: "https://sqs.us-gov-west-1.amazonaws.com/1/q", region: "us-gov-west-1", want: "arn:aws-us-gov:sqs:us-gov-west-1:1:q"},
		{url: "https://sqs.us-east-1.amazonaws.com/q", region: "us-east-1", wantErr: true},
		{url: "https://sqs.us-east-1.amazonaws.com/1/q", region: "", wantErr: true},
		{url: "not a url", region: "us-east-1", wantErr: true},
	}
	for _, tt := range tests {
		got, err := arnFromURL(tt.url, tt.region)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("arnFromURL(%q, %q) = %q, %v; want %q (error %v)", tt.url, tt.region, got, err, tt.want, tt.wantErr)
		}
	}
	// Round trip: the worker's URL names the same queue as the ARN.
	u, _ := queue.URLFromARN("arn:aws:sqs:eu-west-1:123456789012:q.fifo")
	if a, _ := arnFromURL(u, "eu-west-1"); a != "arn:aws:sqs:eu-west-1:123456789012:q.fifo" {
		t.Errorf("arnFromURL(queue.URLFromARN(arn)) = %s", a)
	}
}
