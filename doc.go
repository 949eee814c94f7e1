// Package billing is the domain of the billing-reports service: reports and their
// statuses, the BillingReport request and its validation, accounts, customers,
// billing settings and usage events, the callers that ask for reports, the one
// error type whose codes the HTTP layer maps to status codes, and the small
// interfaces ("ports") through which the functions reach storage, queues, files
// and mail.
//
// It imports nothing from AWS so that the rating engine, the CSV writer, the HTTP
// handlers and the worker can be tested with plain Go fakes, and so that the same
// rules hold on Lambda, in the local stack and in the offline CLI.
package billing
