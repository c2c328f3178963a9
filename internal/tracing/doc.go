// Package tracing records flexhook's outbound calls — Twilio's Flex and
// TaskRouter APIs, AWS Secrets Manager — as AWS X-Ray subsegments of the
// Lambda function's segment, without the X-Ray SDK.
//
// When a function has active tracing, Lambda passes each invocation a trace
// header (Root=…;Parent=…;Sampled=1), which aws-lambda-go puts in the
// context under "x-amzn-trace-id", and runs an X-Ray daemon listening for
// UDP at AWS_XRAY_DAEMON_ADDRESS. A subsegment is a JSON segment document
// with type "subsegment", the trace id and the function segment's id as
// parent, sent to the daemon as a UDP datagram after the
// {"format":"json","version":1} header line — exactly what the X-Ray SDK
// sends, in a few hundred lines instead of a dependency.
//
// Tracing costs nothing when it is off: New returns a nil *Tracer without
// a daemon address, and a nil Tracer's Transport and AWSClient return what
// they are given. With a daemon but an unsampled invocation (PassThrough
// mode, or sampled out), each call costs one context look-up.
//
// The documents implemented:
//
//   - Segment documents and independent subsegments:
//     https://docs.aws.amazon.com/xray/latest/devguide/xray-api-segmentdocuments.html
//   - Sending segments to the daemon:
//     https://docs.aws.amazon.com/xray/latest/devguide/xray-api-sendingdata.html#xray-api-daemon
//   - The tracing header:
//     https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader
//   - Lambda and X-Ray:
//     https://docs.aws.amazon.com/lambda/latest/dg/services-xray.html
package tracing
