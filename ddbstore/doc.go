// Package ddbstore keeps the service's state in Amazon DynamoDB: reports, their
// idempotency records and per-account active-report sets in the reports table,
// and accounts, customers and usage events in the billing-data table.
//
// ReportStore implements billing.ReportStore and billing.IdempotencyStore;
// BillingStore implements billing.BillingData and billing.BillingDataWriter;
// ScheduleStore implements billing.ScheduleStore on the schedules table (a
// per-account map of slots for the limit of 20, the byAccount index for
// listing, and a sparse due index, keyed by next run, that only enabled
// schedules appear in, so a tick never scans).
// Both talk to DynamoDB through small interfaces naming only the SDK calls they
// use, so *dynamodb.Client satisfies them and tests can hand in fakes.
//
// Design (key names are in package resources):
//
//   - Every state change of a report is a single conditional write; nothing
//     uses transactions (the dynalite emulator has none). A lost race is a
//     billing.ECONFLICT, never a silent overwrite.
//   - The active-report limit is a string set on the ACTIVE#<accountId> item:
//     CreateReport adds the id under a size condition before it writes the
//     report, FinishReport removes it, and ReconcileActive repairs the set if a
//     process died between the two writes. A CreateReport that finds the set
//     full first drops ids of reports that are already final (a release that
//     failed after the final write), so such a leak cannot lock an account out.
//     The fair share of spec 2.1 lives on the same item: a Customer-role
//     report's id also goes into the account's customerActive set and into
//     its caller's callerActive_<hash of sub> set, all in the one conditional
//     UpdateItem with a size() condition per set, so the three limits hold
//     together under any concurrency; release and repair change all of a
//     report's sets in one write too.
//   - Idempotency records carry an expiry that the code checks in every read and
//     condition (emulators never expire TTL items); the same attribute is the
//     table's TTL on AWS.
//   - Usage is partitioned per account and UTC day (USAGE#<accountId>#<day>) and
//     sorted by a fixed-width UTC time, so a report reads exactly its days with
//     Query, never Scan, days can be read concurrently, and no partition holds
//     an account's whole history.
//   - Usage items are compact (usage_codec.go), because a report's CPU goes
//     mostly into the SDK decoding every attribute of every event: the key
//     holds the account, day, time and id once; one string attribute "u"
//     packs item code, quantities, flags and customer; the description, which
//     no report reads, is apart in "d"; and QueryUsage projects sk and u only.
//     The key is the first format's, so re-importing rewrites old items in
//     place. Figures and the profile are in README.md.
//   - Money and quantities never pass through floats: settings and usage
//     quantities are stored as the imported decimal text. Quantities keep the
//     import contract of at most 38 significant digits (DynamoDB's number
//     precision, which the first format used), checked before anything is
//     written.
//   - Times in keys and conditions use resources.UsageTimeLayout, a fixed-width
//     RFC 3339 form whose byte order is time order (RFC3339Nano is not: it drops
//     trailing zeros).
//
// This package is the only place that knows DynamoDB's error types: it turns
// them into billing.Error codes (ECONFLICT, ENOTFOUND, EUNAVAILABLE, ...).
package ddbstore
