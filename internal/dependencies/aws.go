package dependencies

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
)

// ErrNoRegion is returned by LoadAWS when no AWS Region is configured.
// Lambda always sets AWS_REGION; a local run or an emulator must set it too.
var ErrNoRegion = errors.New("no AWS Region configured (set AWS_REGION)")

// LoadAWS loads the AWS SDK configuration once per container, from the
// default chain: the environment Lambda provides (AWS_REGION, the execution
// role's credentials) and, for local runs and tests, the per-service
// endpoint variables such as AWS_ENDPOINT_URL_SQS,
// AWS_ENDPOINT_URL_DYNAMODB and AWS_ENDPOINT_URL_SECRETS_MANAGER
// (https://docs.aws.amazon.com/sdkref/latest/guide/feature-ss-endpoints.html).
// Build every AWS client of a function from the one value it returns, so
// they share credentials and HTTP connections. It fails with an error
// wrapping ErrNoRegion when no Region is set, rather than letting the first
// request fail later.
func LoadAWS(ctx context.Context) (aws.Config, error) {
	cfg, err := awsconfig.LoadDefaultConfig(ctx)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", ErrNoRegion)
	}
	return cfg, nil
}
