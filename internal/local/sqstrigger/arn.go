package sqstrigger

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// errBadURL: a string that is not an SQS queue URL.
var errBadURL = errors.New("not an SQS queue URL")

// arnFromURL returns the ARN of the queue at queueURL
// (scheme://host/account/name) in region: what the event source mapping
// puts in each record's eventSourceARN.
func arnFromURL(queueURL, region string) (string, error) {
	u, err := url.Parse(queueURL)
	if err != nil || u.Host == "" || region == "" {
		return "", fmt.Errorf("%w: %q", errBadURL, queueURL)
	}
	seg := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(seg) != 2 || seg[0] == "" || seg[1] == "" {
		return "", fmt.Errorf("%w: %q", errBadURL, queueURL)
	}
	partition := "aws"
	switch {
	case strings.HasPrefix(region, "cn-"):
		partition = "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		partition = "aws-us-gov"
	}
	return "arn:" + partition + ":sqs:" + region + ":" + seg[0] + ":" + seg[1], nil
}
