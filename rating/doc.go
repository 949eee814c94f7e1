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
// The formatting helpers (FormatCents, FormatUnits and their Append forms) are
// shared by the CSV writer, the email and the API so that every surface shows the
// same digits.
package rating
