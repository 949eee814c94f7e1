// Package worker runs billing reports: it is the behaviour of the run Lambda
// (spec 3 and 4), independent of AWS. It takes report, shard and finalize
// jobs as plain deliveries (package lambdaedge converts SQS batches), moves
// each report through Queued -> Running -> Completed | Error with
// the conditional writes of billing.ReportStore, reads the account's usage day by
// day with bounded concurrency, rates it with package rating, streams the CSV of
// package reportcsv into billing.ReportFiles, and notifies by email and webhook
// exactly once in effect. A report too large for one invocation is split into
// shards of UTC days whose exact partials (rating.Partial, in S3) a finalize
// job merges. A periodic Sweep re-enqueues reports whose job was lost, recovers
// stuck shards and lost finalize jobs, and fails reports whose worker kept dying.
//
// It depends only on the root ports, so tests drive it with in-memory fakes and
// the same code runs on Lambda (functions/run) and in the local stack.
// README.md in this folder describes the state machine and its guarantees.
package worker
