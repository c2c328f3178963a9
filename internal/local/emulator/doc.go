// Package emulator runs a Go Lambda function's real bootstrap binary under
// the AWS Lambda Runtime Interface Emulator (aws-lambda-rie), the program that
// `sam local invoke` runs inside its Docker container, without Docker.
//
// Build compiles a function package the way it is deployed to the
// provided.al2023 runtime (a static linux binary named bootstrap, built with
// -tags lambda.norpc). RIEPath returns the emulator binary pinned by the
// module's `tool` directive. Start launches the emulator on two free loopback
// ports, and Instance.Invoke sends events through the emulator's invoke
// endpoint, POST /2015-03-31/functions/function/invocations, which takes the
// place of the Lambda Invoke API:
// https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html.
// The function talks to the emulator through the Lambda Runtime API, exactly
// as in AWS: https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html.
//
// What the emulator does, learned from its source
// (internal/lambda/rie in github.com/aws/aws-lambda-runtime-interface-emulator)
// and checked by this package's tests:
//
//   - It passes its own environment to the function and adds defaults for
//     AWS_LAMBDA_FUNCTION_NAME (test_function), AWS_LAMBDA_FUNCTION_VERSION,
//     AWS_LAMBDA_FUNCTION_MEMORY_SIZE (3008) and the log group and stream. It
//     does not set AWS_REGION; Start does.
//   - AWS_LAMBDA_FUNCTION_TIMEOUT, in whole seconds, sets the function
//     deadline (default 300). Start sets it from Options.Timeout, default 3
//     seconds as in Lambda.
//   - The function process starts on the first invocation, not at start-up,
//     so the first Invoke measures a cold start. After a crash or a timeout
//     the emulator kills the function and starts a new process on the next
//     invocation.
//   - It answers 200 with the function's result. A handler error is also
//     a 200, with the error document {"errorMessage":…,"errorType":…} as body
//     and no X-Amz-Function-Error header. A timeout is a 200 whose body is
//     the text "Task timed out after N.00 seconds". A panic or an exit of the
//     function is a 502 with an error document (errorType
//     Runtime.ExitError for an exit). Invoke turns all of these into a Result
//     whose FunctionError is "Unhandled", as Lambda reports them.
//   - It serves one invocation at a time; a concurrent one breaks it, so
//     Invoke serializes calls per Instance.
//   - It runs the function in its own process group, which Close kills as
//     well as the emulator's, so no process outlives the Instance.
//
// The emulator only runs on Linux.
package emulator
