// Package sesmail sends the service's email through Amazon SES v2. Mailer
// implements billing.Mailer: one message with an HTML and a text part (SES's
// Simple content, UTF-8 throughout), from a configured sender and, on AWS,
// through a configuration set that records bounces and complaints.
//
// Escaping the values put into the HTML is the caller's job (the worker
// builds the message); this package refuses header injection in the subject
// and recipient, and is the only one that knows SES's error types.
package sesmail
