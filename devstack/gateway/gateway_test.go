package gateway

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"
	"github.com/awslabs/aws-lambda-go-api-proxy/core"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/evovoice/billing/devstack/devauth"
	"github.com/evovoice/billing/httpapi"
)

var t0 = time.Date(2026, 11, 26, 7, 0, 0, 0, time.UTC)

// fakeAuthorizer is a hand-written fake with a function field.
type fakeAuthorizer struct {
	validate func(token string, now time.Time) (map[string]string, []string, error)
}

func (f fakeAuthorizer) Validate(token string, now time.Time) (map[string]string, []string, error) {
	return f.validate(token, now)
}

func acceptToken(want string, claims map[string]string) fakeAuthorizer {
	return fakeAuthorizer{validate: func(token string, _ time.Time) (map[string]string, []string, error) {
		if token != want {
			return nil, nil, errors.New("unknown token")
		}
		return claims, nil, nil
	}}
}

// capture returns a Function that records the event it gets and answers resp.
// It fails the call when the invocation lacks the Lambda context.
func capture(got *events.APIGatewayV2HTTPRequest, resp events.APIGatewayV2HTTPResponse) Function {
	return func(ctx context.Context, ev events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		*got = ev
		if lc, ok := lambdacontext.FromContext(ctx); !ok || len(lc.AwsRequestID) != 36 || !strings.HasPrefix(lc.InvokedFunctionArn, "arn:aws:lambda:us-east-1:000000000000:function:") {
			return events.APIGatewayV2HTTPResponse{}, errors.New("no Lambda context")
		}
		return resp, nil
	}
}

func loadSample(t *testing.T, name string) map[string]any {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func toMap(t *testing.T, v any) map[string]any {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// shape lists "path:type" of every field of a decoded JSON value; maps keyed by
// data (headers, claims, parameters) contribute only their own type, since
// their keys differ between requests.
func shape(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		out[prefix] = "object"
		switch prefix {
		case ".headers", ".queryStringParameters", ".pathParameters", ".requestContext.authorizer.jwt.claims", ".stageVariables":
			return
		}
		for k, e := range x {
			shape(prefix+"."+k, e, out)
		}
	case []any:
		out[prefix] = "array"
	case string:
		out[prefix] = "string"
	case float64:
		out[prefix] = "number"
	case bool:
		out[prefix] = "bool"
	case nil:
		out[prefix] = "null"
	}
}

// fieldsOnlyInGoStruct are emitted by aws-lambda-go's struct although API
// Gateway leaves them out of HTTP API events without mutual TLS.
var fieldsOnlyInGoStruct = []string{
	".requestContext.authentication", ".requestContext.authentication.clientCert",
	".requestContext.authentication.clientCert.clientCertPem", ".requestContext.authentication.clientCert.issuerDN",
	".requestContext.authentication.clientCert.serialNumber", ".requestContext.authentication.clientCert.subjectDN",
	".requestContext.authentication.clientCert.validity", ".requestContext.authentication.clientCert.validity.notAfter",
	".requestContext.authentication.clientCert.validity.notBefore",
}

func compareShape(t *testing.T, sample, got map[string]any) {
	t.Helper()
	want, have := map[string]string{}, map[string]string{}
	shape("", sample, want)
	shape("", got, have)
	for path, typ := range want {
		if typ == "null" {
			continue
		}
		if have[path] != typ {
			t.Errorf("field %s: type %q, API Gateway sends %q", path, have[path], typ)
		}
	}
	var extra []string
	for path := range have {
		if _, ok := want[path]; !ok && !slices.Contains(fieldsOnlyInGoStruct, path) {
			extra = append(extra, path)
		}
	}
	sort.Strings(extra)
	if len(extra) > 0 {
		t.Errorf("fields API Gateway does not send: %v", extra)
	}
}

func TestGetEventMatchesAPIGatewaySample(t *testing.T) {
	sample := loadSample(t, "apigw-v2-jwt-request.json")
	var sampleEvent events.APIGatewayV2HTTPRequest
	data, _ := json.Marshal(sample)
	json.Unmarshal(data, &sampleEvent)
	claims := sampleEvent.RequestContext.Authorizer.JWT.Claims

	var got events.APIGatewayV2HTTPRequest
	g := New(Config{
		Functions:  map[Target]Function{Status: capture(&got, events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "{}"})},
		Authorizer: acceptToken("good", claims),
		Now:        func() time.Time { return t0 },
	})
	req := httptest.NewRequest("GET", "http://127.0.0.1:8080/reports/r-123?format=json&x=1&x=2", nil)
	req.Header.Set("Authorization", "Bearer good")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "curl/8.5.0")
	req.Header.Set("Cookie", "cookie1=a; cookie2=b")
	req.RemoteAddr = "127.0.0.1:54321"
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("status %d: %s", rec.Code, rec.Body)
	}
	compareShape(t, sample, toMap(t, got))

	if got.Version != "2.0" || got.RouteKey != "GET /reports/{id}" || got.RequestContext.RouteKey != got.RouteKey {
		t.Errorf("version/routeKey = %q/%q", got.Version, got.RouteKey)
	}
	if got.RawPath != sampleEvent.RawPath || got.RawQueryString != sampleEvent.RawQueryString {
		t.Errorf("rawPath/rawQueryString = %q/%q", got.RawPath, got.RawQueryString)
	}
	if !slices.Equal(got.Cookies, sampleEvent.Cookies) {
		t.Errorf("cookies = %q, want %q", got.Cookies, sampleEvent.Cookies)
	}
	if _, ok := got.Headers["cookie"]; ok {
		t.Error("cookie header kept; payload 2.0 moves it to cookies")
	}
	for k := range got.Headers {
		if k != strings.ToLower(k) {
			t.Errorf("header %q is not lower-cased", k)
		}
	}
	if got.Headers["accept"] != "application/json" || got.Headers["host"] != "127.0.0.1:8080" || got.Headers["x-forwarded-for"] != "127.0.0.1" {
		t.Errorf("headers = %v", got.Headers)
	}
	if !mapsEqual(got.QueryStringParameters, sampleEvent.QueryStringParameters) {
		t.Errorf("query = %v, want %v", got.QueryStringParameters, sampleEvent.QueryStringParameters)
	}
	if !mapsEqual(got.PathParameters, sampleEvent.PathParameters) {
		t.Errorf("path parameters = %v, want %v", got.PathParameters, sampleEvent.PathParameters)
	}
	if !mapsEqual(got.RequestContext.Authorizer.JWT.Claims, claims) {
		t.Errorf("claims = %v", got.RequestContext.Authorizer.JWT.Claims)
	}
	h := got.RequestContext.HTTP
	if h.Method != "GET" || h.Path != "/reports/r-123" || h.SourceIP != "127.0.0.1" || h.UserAgent != "curl/8.5.0" || h.Protocol != "HTTP/1.1" {
		t.Errorf("requestContext.http = %+v", h)
	}
	if got.RequestContext.Time != "26/Nov/2026:07:00:00 +0000" || got.RequestContext.TimeEpoch != t0.UnixMilli() {
		t.Errorf("time = %q / %d", got.RequestContext.Time, got.RequestContext.TimeEpoch)
	}
	if got.RequestContext.RequestID == "" || got.RequestContext.Stage != "$default" {
		t.Errorf("requestId/stage = %q/%q", got.RequestContext.RequestID, got.RequestContext.Stage)
	}
	if got.Body != "" || got.IsBase64Encoded {
		t.Errorf("body = %q base64=%v for a GET", got.Body, got.IsBase64Encoded)
	}
}

// TestEventHasEveryFieldOfAWSLambdaGoSample checks the event against the JWT
// authorizer sample that aws-lambda-go's own tests decode (copied into
// testdata): every field it has, the local event has with the same type, except
// those API Gateway only sends with stage variables or mutual TLS, which the
// service uses neither of.
func TestEventHasEveryFieldOfAWSLambdaGoSample(t *testing.T) {
	sample := loadSample(t, "aws-lambda-go-apigw-v2-request-jwt-authorizer.json")
	var got events.APIGatewayV2HTTPRequest
	g := New(Config{
		Functions: map[Target]Function{Status: capture(&got, events.APIGatewayV2HTTPResponse{StatusCode: 200})},
		Authorizer: fakeAuthorizer{validate: func(string, time.Time) (map[string]string, []string, error) {
			return map[string]string{"sub": "s"}, []string{"scope1"}, nil
		}},
	})
	// A route with a path parameter and a body, like the sample.
	req := httptest.NewRequest("GET", "/reports/r-1?parameter1=value1&parameter1=value2", strings.NewReader(`{"a": 1}`))
	req.Header.Set("Authorization", "Bearer x")
	req.Header.Set("Cookie", "cookie1; cookie2")
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}

	want, have := map[string]string{}, map[string]string{}
	shape("", sample, want)
	shape("", toMap(t, got), have)
	for path, typ := range want {
		if strings.HasPrefix(path, ".stageVariables") || strings.HasPrefix(path, ".requestContext.authentication") {
			continue
		}
		if have[path] != typ {
			t.Errorf("field %s: type %q, the sample has %q", path, have[path], typ)
		}
	}
	if got.QueryStringParameters["parameter1"] != "value1,value2" {
		t.Errorf("repeated query parameter = %q, want the sample's comma-joined form", got.QueryStringParameters["parameter1"])
	}
	if !slices.Equal(got.Cookies, []string{"cookie1", "cookie2"}) {
		t.Errorf("cookies = %q", got.Cookies)
	}
	if !slices.Equal(got.RequestContext.Authorizer.JWT.Scopes, []string{"scope1"}) {
		t.Errorf("scopes = %v", got.RequestContext.Authorizer.JWT.Scopes)
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestPostEventMatchesAPIGatewaySample(t *testing.T) {
	sample := loadSample(t, "apigw-v2-post-request.json")
	body := sample["body"].(string)
	var got events.APIGatewayV2HTTPRequest
	g := New(Config{
		Functions:  map[Target]Function{Submit: capture(&got, events.APIGatewayV2HTTPResponse{StatusCode: 200})},
		Authorizer: acceptToken("good", map[string]string{"sub": "s"}),
	})
	req := httptest.NewRequest("POST", "http://127.0.0.1:8080/reports/billing", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer good")
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "curl/8.5.0")
	g.ServeHTTP(httptest.NewRecorder(), req)
	compareShape(t, sample, toMap(t, got))
	if got.Body != body || got.IsBase64Encoded {
		t.Errorf("body = %q (base64 %v), want the JSON as text", got.Body, got.IsBase64Encoded)
	}
	if got.RouteKey != "ANY /reports/billing" || got.PathParameters != nil || got.QueryStringParameters != nil {
		t.Errorf("routeKey %q, path params %v, query %v", got.RouteKey, got.PathParameters, got.QueryStringParameters)
	}
}

func TestBinaryBodyIsBase64(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	g := New(Config{
		Functions:  map[Target]Function{Submit: capture(&got, events.APIGatewayV2HTTPResponse{StatusCode: 200})},
		Authorizer: acceptToken("good", map[string]string{}),
	})
	raw := []byte{0xff, 0x00, 0xfe, 'a'}
	req := httptest.NewRequest("PUT", "/api/BillingReport", bytes.NewReader(raw))
	req.Header.Set("Authorization", "Bearer good")
	req.Header.Set("Content-Type", "application/octet-stream")
	g.ServeHTTP(httptest.NewRecorder(), req)
	if !got.IsBase64Encoded || got.Body != base64.StdEncoding.EncodeToString(raw) {
		t.Errorf("body = %q base64 = %v", got.Body, got.IsBase64Encoded)
	}
}

// TestThroughLambdaProxyAdapter runs a net/http handler behind the same adapter
// the Lambdas use and checks that it sees the request as sent and that its
// response comes back intact, including several cookies and a binary body.
func TestThroughLambdaProxyAdapter(t *testing.T) {
	type seen struct {
		Method, Path, Query, ContentType, Body, Groups string
		Cookies                                        []string
	}
	var s seen
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		s = seen{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, ContentType: r.Header.Get("Content-Type"), Body: string(body)}
		for _, c := range r.Cookies() {
			s.Cookies = append(s.Cookies, c.Name+"="+c.Value)
		}
		if rc, ok := core.GetAPIGatewayV2ContextFromContext(r.Context()); ok && rc.Authorizer != nil {
			s.Groups = rc.Authorizer.JWT.Claims["cognito:groups"]
		}
		http.SetCookie(w, &http.Cookie{Name: "a", Value: "1"})
		http.SetCookie(w, &http.Cookie{Name: "b", Value: "2"})
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("X-Report", "r-1")
		w.WriteHeader(201)
		w.Write([]byte{0xff, 0xfe, 0x00})
	})
	g := New(Config{
		Functions:  map[Target]Function{Submit: httpadapter.NewV2(h).ProxyWithContext},
		Authorizer: acceptToken("good", map[string]string{"cognito:groups": "[Manager]"}),
	})
	srv := httptest.NewServer(g)
	defer srv.Close()
	req, _ := http.NewRequest("POST", srv.URL+"/reports/billing.csv?format=csv&accountId=acct-acme", strings.NewReader("startDate=2026-10-01"))
	req.Header.Set("Authorization", "Bearer good")
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Cookie", "x=1; y=2")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)

	want := seen{Method: "POST", Path: "/reports/billing.csv", Query: "format=csv&accountId=acct-acme",
		ContentType: "application/x-www-form-urlencoded", Body: "startDate=2026-10-01", Groups: "[Manager]", Cookies: []string{"x=1", "y=2"}}
	if s.Method != want.Method || s.Path != want.Path || s.Query != want.Query || s.ContentType != want.ContentType ||
		s.Body != want.Body || s.Groups != want.Groups || !slices.Equal(s.Cookies, want.Cookies) {
		t.Errorf("handler saw %+v, want %+v", s, want)
	}
	if resp.StatusCode != 201 || !bytes.Equal(body, []byte{0xff, 0xfe, 0x00}) {
		t.Errorf("response %d %x", resp.StatusCode, body)
	}
	if got := resp.Header.Values("Set-Cookie"); !slices.Equal(got, []string{"a=1", "b=2"}) {
		t.Errorf("Set-Cookie = %q", got)
	}
	if resp.Header.Get("X-Report") != "r-1" || resp.Header.Get("Content-Type") != "application/octet-stream" {
		t.Errorf("headers = %v", resp.Header)
	}
}

// unauthorizedBody is byte for byte what the functions answer without an
// authorizer context (httpapi's 401), "errors" included.
const unauthorizedBody = `{"responseStatus":{"errorCode":"Unauthorized","message":"Not Authenticated","errors":[]}}`

func TestUnauthenticatedRequestsGet401(t *testing.T) {
	dir := t.TempDir()
	key, err := devauth.LoadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := devauth.LoadOrCreateKey(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	claims := devauth.Claims{Subject: "dev", Roles: []string{"Manager"}, AccountIDs: []string{"acct-acme"}, TTL: time.Hour}
	good, _ := key.Mint(claims, t0)
	expired, _ := key.Mint(claims, t0.Add(-2*time.Hour))
	forged, _ := otherKey.Mint(claims, t0)
	called := 0
	fn := func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
		called++
		return events.APIGatewayV2HTTPResponse{StatusCode: 200, Body: "ok"}, nil
	}
	newGateway := func(issuer, audience string) *Gateway {
		return New(Config{
			Functions:  map[Target]Function{Submit: fn, Status: fn},
			Authorizer: devauth.NewValidator(key.Public(), issuer, audience),
			Now:        func() time.Time { return t0.Add(time.Minute) },
		})
	}
	cases := []struct {
		name, header string
		g            *Gateway
	}{
		{"no header", "", newGateway(devauth.Issuer, devauth.Audience)},
		{"not bearer", "Basic " + good, newGateway(devauth.Issuer, devauth.Audience)},
		{"empty bearer", "Bearer ", newGateway(devauth.Issuer, devauth.Audience)},
		{"bad signature", "Bearer " + forged, newGateway(devauth.Issuer, devauth.Audience)},
		{"expired", "Bearer " + expired, newGateway(devauth.Issuer, devauth.Audience)},
		{"wrong issuer", "Bearer " + good, newGateway("https://cognito-idp.example/pool", devauth.Audience)},
		{"wrong audience", "Bearer " + good, newGateway(devauth.Issuer, "other")},
	}
	for _, c := range cases {
		for _, path := range []string{"/reports/billing", "/reports", "/reports/r-1", "/json/reply/BillingReport"} {
			req := httptest.NewRequest("GET", path, nil)
			if c.header != "" {
				req.Header.Set("Authorization", c.header)
			}
			rec := httptest.NewRecorder()
			c.g.ServeHTTP(rec, req)
			if rec.Code != 401 || rec.Body.String() != unauthorizedBody {
				t.Errorf("%s %s: %d %s", c.name, path, rec.Code, rec.Body)
			}
		}
	}
	if called != 0 {
		t.Errorf("the function ran %d times for unauthenticated requests", called)
	}
	// The authorizer takes the token with or without the "Bearer " prefix.
	for i, header := range []string{"Bearer " + good, "bearer " + good, good} {
		req := httptest.NewRequest("GET", "/reports/r-1", nil)
		req.Header.Set("Authorization", header)
		rec := httptest.NewRecorder()
		newGateway(devauth.Issuer, devauth.Audience).ServeHTTP(rec, req)
		if rec.Code != 200 || called != i+1 {
			t.Errorf("valid token as %.10q...: %d, function called %d times", header, rec.Code, called)
		}
	}
}

func TestPublicRoutesNeedNoToken(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	g := New(Config{
		Functions:  map[Target]Function{Status: capture(&got, events.APIGatewayV2HTTPResponse{StatusCode: 302, Headers: map[string]string{"Location": "http://s3/x"}})},
		Authorizer: fakeAuthorizer{validate: func(string, time.Time) (map[string]string, []string, error) { return nil, nil, errors.New("never") }},
	})
	for _, path := range []string{"/reports/r-1/download?token=abc", "/openapi.json"} {
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		if rec.Code != 302 || rec.Header().Get("Location") != "http://s3/x" {
			t.Errorf("%s: %d %v", path, rec.Code, rec.Header())
		}
		if got.RequestContext.Authorizer != nil {
			t.Errorf("%s: authorizer context on a public route", path)
		}
	}
	if got.PathParameters != nil || got.RouteKey != "GET /openapi.json" {
		t.Errorf("last event: %q %v", got.RouteKey, got.PathParameters)
	}
}

func TestRoutingAndMissingFunctions(t *testing.T) {
	var got events.APIGatewayV2HTTPRequest
	g := New(Config{
		Functions:  map[Target]Function{Status: capture(&got, events.APIGatewayV2HTTPResponse{StatusCode: 200})},
		Authorizer: acceptToken("good", map[string]string{}),
	})
	cases := []struct {
		method, path string
		status       int
		routeKey     string
	}{
		{"GET", "/reports", 200, "GET /reports"},
		{"GET", "/reports/abc", 200, "GET /reports/{id}"},
		{"GET", "/reports/abc/download", 200, "GET /reports/{id}/download"},
		{"GET", "/reports.json", 200, "GET /reports.json"},
		{"GET", "/reports/billing", 404, ""},     // the exact submit route wins over GET /reports/{id}
		{"POST", "/reports/billing", 404, ""},    // submit not plugged in
		{"DELETE", "/reports/abc", 404, ""},      // no such route
		{"GET", "/reports/", 404, ""},            // empty {id}
		{"GET", "/reports/a/b", 404, ""},         // too deep
		{"GET", "/Reports", 404, ""},             // routes are case-sensitive
		{"GET", "/reports/billing/x", 404, ""},   // no prefix matching
		{"POST", "/openapi.json", 404, ""},       // GET only
		{"GET", "/nothing-here", 404, ""},        // unknown
		{"GET", "/reports/billing.xml", 200, ""}, // matches GET /reports/{id}, as on AWS
	}
	for _, c := range cases {
		got = events.APIGatewayV2HTTPRequest{}
		req := httptest.NewRequest(c.method, c.path, nil)
		req.Header.Set("Authorization", "Bearer good")
		rec := httptest.NewRecorder()
		g.ServeHTTP(rec, req)
		if rec.Code != c.status {
			t.Errorf("%s %s: %d, want %d", c.method, c.path, rec.Code, c.status)
			continue
		}
		if c.status == 404 {
			var body httpapi.ErrorResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.ResponseStatus.ErrorCode != "NotFound" || body.ResponseStatus.Message == "" || body.ResponseStatus.Errors == nil {
				t.Errorf("%s %s: 404 body %s", c.method, c.path, rec.Body)
			}
		}
		if c.routeKey != "" && got.RouteKey != c.routeKey {
			t.Errorf("%s %s: routeKey %q, want %q", c.method, c.path, got.RouteKey, c.routeKey)
		}
	}
}

func TestFunctionErrorIs500WithoutDetail(t *testing.T) {
	g := New(Config{
		Functions: map[Target]Function{Status: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			return events.APIGatewayV2HTTPResponse{}, errors.New("secret stack detail")
		}},
	})
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, httptest.NewRequest("GET", "/openapi.json", nil))
	if rec.Code != 500 || strings.Contains(rec.Body.String(), "secret") {
		t.Errorf("%d %s", rec.Code, rec.Body)
	}
}

func TestBodyOverAPIGatewayLimitIs413(t *testing.T) {
	called := false
	g := New(Config{
		Functions: map[Target]Function{Submit: func(context.Context, events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error) {
			called = true
			return events.APIGatewayV2HTTPResponse{StatusCode: 200}, nil
		}},
		Authorizer: acceptToken("good", map[string]string{}),
	})
	req := httptest.NewRequest("POST", "/reports/billing", bytes.NewReader(make([]byte, MaxBody+1)))
	req.Header.Set("Authorization", "Bearer good")
	rec := httptest.NewRecorder()
	g.ServeHTTP(rec, req)
	if rec.Code != 413 || called {
		t.Errorf("%d, function called: %v", rec.Code, called)
	}
}
