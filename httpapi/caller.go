package httpapi

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/awslabs/aws-lambda-go-api-proxy/core"

	billing "github.com/evovoice/billing"
)

// JWT claims the authorizer passes on (spec 2.6).
const (
	ClaimSubject    = "sub"
	ClaimGroups     = "cognito:groups"
	ClaimAccountIDs = "custom:accountIds"
	ClaimCustomerID = "custom:customerId"
)

var errNotAuthenticated = &billing.Error{Code: billing.EUNAUTHORIZED, ErrorCode: "Unauthorized", Message: "Not Authenticated"}

// callerFrom reads the caller from the API Gateway v2 request context that the
// proxy adapter put into r's context. Only the context is trusted: headers such
// as X-GoLambdaProxy-ApiGatewayContext come from the client and are ignored.
func callerFrom(r *http.Request) (billing.Caller, error) {
	rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context())
	if !ok || rc.Authorizer == nil || rc.Authorizer.JWT == nil {
		return billing.Caller{}, errNotAuthenticated
	}
	return CallerFromClaims(rc.Authorizer.JWT.Claims)
}

// CallerFromClaims builds a Caller from JWT claims as API Gateway hands them to
// a function: every value a string, array claims flattened to "[a b]" (or, from
// other issuers, a JSON array). A token without a subject is not a caller.
func CallerFromClaims(claims map[string]string) (billing.Caller, error) {
	sub := strings.TrimSpace(claims[ClaimSubject])
	if sub == "" {
		return billing.Caller{}, errNotAuthenticated
	}
	c := billing.Caller{Subject: sub, CustomerID: strings.TrimSpace(claims[ClaimCustomerID])}
	for _, g := range splitClaimList(claims[ClaimGroups]) {
		switch role := billing.Role(g); role {
		case billing.RoleSystemAdministrator, billing.RoleManager, billing.RoleCustomer:
			c.Roles = append(c.Roles, role)
		}
	}
	c.AccountIDs = splitClaimList(claims[ClaimAccountIDs])
	return c, nil
}

// splitClaimList reads "a,b", "a b", "[a b]" and `["a","b"]` alike.
func splitClaimList(v string) []string {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, `["`) {
		var list []string
		if json.Unmarshal([]byte(v), &list) == nil {
			return nonEmpty(list)
		}
	}
	v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
	return nonEmpty(strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }))
}

func nonEmpty(list []string) []string {
	out := list[:0]
	for _, s := range list {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// requireRole rejects callers that hold none of the service's roles.
func requireRole(c billing.Caller) error {
	if c.EffectiveRole() == "" {
		return &billing.Error{Code: billing.EFORBIDDEN, ErrorCode: "Forbidden", Message: "Invalid Role"}
	}
	return nil
}

// requestID is API Gateway's request id, for logs.
func requestID(r *http.Request) string {
	if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok {
		return rc.RequestID
	}
	return ""
}
