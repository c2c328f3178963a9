// Package gateway turns the raw Lambda payload of an HTTP event into a
// transport-neutral [Request], and a [Response] back into the JSON that
// Lambda hands to its caller.
//
// Three event sources are understood, each decoded with encoding/json into
// its github.com/aws/aws-lambda-go/events type, and each answered with the
// matching response type ([Encode]):
//
//   - API Gateway REST APIs, payload format 1.0 ([ShapeREST],
//     APIGatewayProxyRequest); HTTP APIs configured for payload 1.0 send
//     the same shape:
//     https://docs.aws.amazon.com/apigateway/latest/developerguide/set-up-lambda-proxy-integrations.html#api-gateway-simple-proxy-for-lambda-input-format
//   - API Gateway HTTP APIs, payload format 2.0 ([ShapeHTTP],
//     APIGatewayV2HTTPRequest):
//     https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html
//   - Lambda function URLs, which use the 2.0 shape on a
//     *.lambda-url.<region>.on.aws domain ([ShapeFunctionURL],
//     LambdaFunctionURLRequest):
//     https://docs.aws.amazon.com/lambda/latest/dg/urls-invocation.html#urls-payloads
//
// The shape is read from "version" ("2.0", or "1.0"/absent for payload
// 1.0) and, for 2.0, requestContext.domainName: a function URL is served on
// its own lambda-url domain. A payload whose fields do not have the types
// the events package declares is refused as malformed.
//
// # Paths
//
// [Request.Path] is the route path relative to the API, with the stage and
// any custom-domain base path removed, so "/taskrouter" whatever the
// deployment. For payload 2.0 it is rawPath without a leading "/{stage}"
// (HTTP APIs keep the stage in rawPath for every stage but $default). For
// payload 1.0 it is the "path" field, which omits the stage but, on a
// custom domain, starts with the base path mapping ("/flex/taskrouter");
// so when the resource template with its path parameters filled in is a
// suffix of "path", that is used instead ("/taskrouter").
//
// [Request.PublicURL] is the URL the sender used, which is what Twilio
// signs (https://www.twilio.com/docs/usage/security#validating-requests).
// Rebuilt from the event, its path is requestContext.path for payload 1.0
// (stage included on the execute-api host, base path included on a custom
// domain) and rawPath for payload 2.0.
//
// When [Options.BaseURL] (the PUBLIC_BASE_URL setting) is set, PublicURL is
// BaseURL + Path + "?" + RawQuery and nothing in the event is trusted to
// describe the URL. Otherwise it is rebuilt from the event, and two API
// Gateway behaviours limit how faithful that can be:
//
//   - HTTP APIs (payload 2.0) never tell the function about a custom-domain
//     API mapping: behind https://hooks.example.com/flex/taskrouter mapped to
//     stage "prod", rawPath is "/prod/taskrouter". Set PUBLIC_BASE_URL
//     whenever an HTTP API is reached through a custom domain.
//   - REST APIs (payload 1.0) deliver the query string only as decoded
//     parameters, so RawQuery is rebuilt deterministically (keys sorted,
//     values in order, [url.QueryEscape] encoding) and the order the sender
//     used is lost. Set PUBLIC_BASE_URL and keep the callback URL free of
//     query parameters, or give it at most one, when the URL is signed.
//
// For payload 2.0 the path and query are used exactly as delivered, never
// re-encoded, so a signature is checked over what was sent. URL fragments
// never reach the function and never appear in PublicURL.
//
// # Limits
//
// Every body is bounded by [Options.MaxBody] after base64 decoding; a
// base64 body is measured before it is decoded, so an oversized body costs
// no decoding work. Headers are passed through, repeated values included,
// so that callers can refuse a repeated signature header.
package gateway
