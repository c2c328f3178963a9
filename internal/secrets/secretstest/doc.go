// Package secretstest is an in-process fake of AWS Secrets Manager for tests
// and local runs.
//
// Server is an http.Handler that speaks the AWS JSON 1.1 protocol the way the
// real service does, closely enough for the real
// github.com/aws/aws-sdk-go-v2/service/secretsmanager client pointed at it with
// BaseEndpoint (or AWS_ENDPOINT_URL_SECRETS_MANAGER): POST / with
// X-Amz-Target: secretsmanager.<Operation> and a JSON body. It implements
// the one operation flexhook calls, GetSecretValue, by secret name, full ARN
// or partial ARN, with VersionStage (AWSCURRENT, AWSPREVIOUS) and VersionId:
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_GetSecretValue.html
// Any other operation is answered UnknownOperationException.
//
// Errors are sent as the service sends them (HTTP status, a JSON body with
// "__type" and "Message", and an x-amzn-RequestId header, see
// https://docs.aws.amazon.com/secretsmanager/latest/apireference/CommonErrors.html),
// so the SDK decodes them into its typed errors such as
// *types.ResourceNotFoundException and its retryer retries throttling and
// server errors as it would in production.
//
// Tests steer the fake through goroutine-safe Go methods: Put creates or
// rotates a secret, Inject makes the next calls fail (throttling, access
// denied, 500s), and Calls and Count report how many
// requests arrived, for example to check that warm Lambda invocations make no
// Secrets Manager call at all. Listen serves the fake on a TCP address for
// local runs outside tests.
//
// The fake does not check SigV4 signatures; it only requires that a request
// carries an Authorization header, as any signed SDK request does.
package secretstest
