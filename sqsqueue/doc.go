// Package sqsqueue hands report jobs to the worker through Amazon SQS. Queue
// implements billing.JobQueue (SendMessage with the JSON of billing.Job) and,
// for the local event source that stands in for Lambda's SQS trigger, the
// consumer side: Receive, Delete, ChangeVisibility and the queue's attributes.
//
// The SDK's SQS client speaks the JSON protocol, which the fauxqs emulator
// supports (goaws does not). This package is the only one that knows SQS's
// error types; failures become billing.Error codes (EUNAVAILABLE when the
// queue is down, throttling or missing).
package sqsqueue
