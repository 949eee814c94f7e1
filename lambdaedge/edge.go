package lambdaedge

import (
	"context"
	"net/http"

	"github.com/aws/aws-lambda-go/events"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/evovoice/billing/httpapi"
)

// Authenticate puts the caller that API Gateway's JWT authorizer vouched for,
// and the gateway's request id, into the request's context for next. It reads
// only the request context the proxy adapter put into r's context: headers
// such as X-GoLambdaProxy-ApiGatewayContext come from the client and are
// ignored. A request without an authorizer, or with claims that name no
// subject, reaches next without a caller (the handlers answer 401 where a
// caller is needed; the download link and the OpenAPI document need none).
func Authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		ctx := httpapi.WithRequestID(r.Context(), rc.RequestID)
		if rc.Authorizer != nil && rc.Authorizer.JWT != nil {
			if c, err := CallerFromClaims(rc.Authorizer.JWT.Claims); err == nil {
				ctx = httpapi.WithCaller(ctx, c)
			}
		}
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// Function is a Lambda handler of API Gateway v2 (HTTP API) events.
type Function = func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// HTTPHandler is h as a Lambda function behind an HTTP API with a JWT
// authorizer: the real proxy adapter, then Authenticate. The functions'
// mains and the local stack both use it, so both run the same edge.
func HTTPHandler(h http.Handler) Function {
	return httpadapter.NewV2(Authenticate(h)).ProxyWithContext
}
