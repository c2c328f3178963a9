// Package dynamotest runs tests against a real DynamoDB-compatible server:
// dynalite (https://github.com/architect/dynalite), an in-memory
// implementation of the DynamoDB JSON API
// (https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/Welcome.html)
// installed from the repository's package.json with `npm ci`.
//
// Start launches one dynalite process on a free loopback port (or uses the
// server named by FLEXHOOK_DYNAMODB_ENDPOINT) and stops it when the test
// ends; NewClient builds a real *dynamodb.Client for it; CreateTable and
// TableName give each test its own table. When dynalite is not installed the
// test is skipped with a hint to run `npm ci`, except when the CI variable is
// set: CI must never skip silently, so there the test fails.
//
// dynalite does not implement UpdateTimeToLive and never expires items;
// code under test must treat expired items as absent on its own.
package dynamotest
