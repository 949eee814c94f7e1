// Package httpapi is the HTTP API of the billing-reports service (spec 2.1 to
// 2.6) as plain net/http handlers: NewSubmitHandler for the submit Lambda and
// NewStatusHandler for the status Lambda. They know nothing of Lambda: the
// functions wrap them with aws-lambda-go-api-proxy, the local gateway serves them
// from API Gateway v2 events, and tests call them directly.
//
// The handlers speak ServiceStack's dialect because the upstream API's clients
// do: case-insensitive binding from JSON, query string and form, the
// ResponseStatus error shape, content negotiation by ?format=, route suffix or
// Accept, and the predefined routes /api/BillingReport and
// /json/reply/BillingReport.
//
// The caller is whoever the API Gateway JWT authorizer (or the local gateway,
// which validates tokens the same way) put in the request context; every
// decision about it goes through billing.Caller.ScopeForAccount and CanRead.
package httpapi
