package httpapi

import (
	"context"
	"net/http"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/reports"
)

// The caller and the request id reach the handlers through the request's
// context, put there once by the edge that authenticated the request
// (lambdaedge.Authenticate behind API Gateway's JWT authorizer, and so also
// behind the local gateway). The handlers read nothing else about who is
// calling: no header, no transport type.

type callerKey struct{}

type requestIDKey struct{}

// WithCaller returns ctx carrying the authenticated caller.
func WithCaller(ctx context.Context, c billing.Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFromContext returns the caller WithCaller put in ctx.
func CallerFromContext(ctx context.Context) (billing.Caller, bool) {
	c, ok := ctx.Value(callerKey{}).(billing.Caller)
	return c, ok
}

// WithRequestID returns ctx carrying the gateway's request id, for logs.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// ErrNotAuthenticated is the answer to a request without a caller.
func ErrNotAuthenticated() error {
	return billing.Errorf(billing.EUNAUTHORIZED, "Not Authenticated")
}

// callerFrom is the caller of r, or ErrNotAuthenticated.
func callerFrom(r *http.Request) (billing.Caller, error) {
	c, ok := CallerFromContext(r.Context())
	if !ok || c.Subject == "" {
		return billing.Caller{}, ErrNotAuthenticated()
	}
	return c, nil
}

// requireRole rejects callers that hold none of the service's roles.
func requireRole(c billing.Caller) error { return reports.RequireRole(c) }

// requestID is the gateway's request id, for logs.
func requestID(r *http.Request) string {
	id, _ := r.Context().Value(requestIDKey{}).(string)
	return id
}
