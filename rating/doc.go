// Package rating turns an account's usage events into exact per-customer charges
// (spec 3.2): it resolves which billing settings apply to each customer, prorates
// base costs and allowances over the calendar months a report period touches, and
// rounds once per customer and item to cents, half away from zero.
//
// Money is exact. Add accumulates each event's quantity as exact fixed-point
// integers (falling back to math/big.Rat only for values that do not fit), so
// that rating a million events allocates nothing per event and memory is bounded
// by customers × items × months, never by the number of events. Result does the
// math/big.Rat arithmetic once per customer, item and month.
//
// A report too large for one invocation is rated in shards (package
// shardplan): each shard's PartialRater applies Add's rules to its days and
// yields a Partial, the exact sums per customer, local month and item, stored
// as "billing-partial v1" text; MergePartials and Rater.AddPartial turn the
// partials back into the same Result, byte for byte in the CSV.
//
// The formatting helpers (FormatCents, FormatUnits and their Append forms) are
// shared by the CSV writer, the email and the API so that every surface shows the
// same digits.
package rating
