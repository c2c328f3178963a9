// Package apigateway is a local stand-in for Amazon API Gateway in front of a
// Lambda function running under the Runtime Interface Emulator: it turns plain
// HTTP requests into API Gateway HTTP API (payload format 2.0) events, invokes
// the function and turns its proxy response back into an HTTP response, as
// `sam local start-api` does, so curl or any webhook sender can reach the real
// function binary.
//
// Events are built by gatewaytest.NewHTTPEvent, the inverse of the function's own
// gateway.Decode, as an HTTP API delivers them
// (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html):
// lower-cased header names, repeated values comma-joined, form and other
// binary bodies base64-encoded, and requestContext.domainName set to the Host
// the client used. A request to http://127.0.0.1:3000/taskrouter is therefore
// seen by the function as a call to exactly that URL, which is what a
// TaskRouter signature made for that URL covers.
//
// Like an HTTP API the gateway answers some requests itself, with its
// {"message":…} JSON bodies and an Apigw-Requestid header on every answer:
//
//   - 404 Not Found for a method and path matching no configured route
//     (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-routes.html);
//   - 413 Request Entity Too Large for a body over the payload quota, 10 MB
//     for HTTP APIs
//     (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html);
//   - 502 Internal Server Error when the function fails (an error, a panic, a
//     crash) or returns something that is not a proxy response, and when the
//     emulator cannot be reached, as API Gateway REST APIs and `sam local
//     start-api` answer (an HTTP API answers 500 with the same message);
//   - 504 Endpoint request timed out when the function runs past its timeout
//     or the request waits longer than the integration timeout, 30 seconds
//     by default as for HTTP APIs.
//
// The emulator serves one invocation at a time and breaks under concurrent
// ones, so the gateway hands each request to one of a fixed pool of invokers
// (one emulator each) and queues the others until one is free or the
// integration timeout ends.
//
// With Options.InvokeAPI the gateway also serves the Lambda Invoke API path,
// POST /2015-03-31/functions/{name}/invocations
// (https://docs.aws.amazon.com/lambda/latest/api/API_Invoke.html), as `sam
// local start-lambda` does, through the same pool: an event file sent there
// reaches the function unchanged, signatures included.
package apigateway
