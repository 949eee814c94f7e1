// Package lambdabench holds the benchmarks that measure the Lambda binaries
// themselves, outside any handler: their size as deployed (linux/arm64,
// -tags lambda.norpc, stripped) and their cold start under the AWS Lambda
// Runtime Interface Emulator (process start to first response). It has no code
// of its own; `make bench-api` runs it.
package lambdabench
