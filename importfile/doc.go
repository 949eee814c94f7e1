// Package importfile reads the JSON Lines import format of spec 3.1 (accounts,
// customers and usage events) and validates a whole file before any of it is
// used: every bad line is reported with its line number and reason, and a file
// with any problem yields nothing.
//
// Memory is bounded by the number of accounts and customers, never by the number
// of usage events: usage is streamed to a callback, and repeated usage ids are
// found with a fixed-size Bloom filter plus, only when the filter raises an
// alarm, a second pass that settles the suspects exactly. A well-ordered file
// (accounts and customers before usage) is rated in one pass; a file whose usage
// precedes its customers takes a second pass.
//
// Usage lines go through a small hand-written JSON decoder (usage is millions of
// lines; encoding/json costs several times more per line); account and customer
// lines, which are few, go through encoding/json. Both read JSON numbers as their
// exact decimal text, never as floats.
package importfile
