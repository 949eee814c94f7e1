// Package gateway is the local stand-in for the service's API Gateway HTTP API:
// an http.Handler that matches exactly the deployed routes, checks bearer tokens
// where the deployed JWT authorizer would, turns each request into the payload
// format 2.0 event (events.APIGatewayV2HTTPRequest) that Lambda receives, calls
// the function handler in-process and writes its response back. The functions
// thereby see locally what they see on AWS, down to the claims being strings.
//
// Where API Gateway answers by itself (no route, a rejected token, a function
// error) this gateway answers with the service's own ResponseStatus body of
// spec 2.5 instead of API Gateway's {"message":...}: an HTTP API cannot
// customise those bodies, so on AWS a token the authorizer rejects gets
// {"message":"Unauthorized"}; the status codes are the same.
package gateway

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambdacontext"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/httpapi"
	"github.com/evovoice/billing/resources"
)

// Function is a Lambda handler of API Gateway v2 events.
type Function func(ctx context.Context, req events.APIGatewayV2HTTPRequest) (events.APIGatewayV2HTTPResponse, error)

// Authorizer validates a bearer token and returns the claims and scopes the
// JWT authorizer puts into the request context. Any error means 401.
type Authorizer interface {
	Validate(token string, now time.Time) (claims map[string]string, scopes []string, err error)
}

// Target names the function a route integrates with.
type Target string

// The service's functions behind the HTTP API.
const (
	Submit Target = resources.FunctionSubmit
	Status Target = resources.FunctionStatus
)

// Route is one HTTP API route: Method "ANY" matches every method; a path
// segment "{name}" matches one non-empty segment and becomes a path parameter.
type Route struct {
	Method     string
	Path       string
	Target     Target
	Authorized bool // behind the JWT authorizer
}

// Key is the route key API Gateway puts into the event, e.g. "GET /reports/{id}".
func (r Route) Key() string { return r.Method + " " + r.Path }

// DefaultRoutes are the HTTP API's routes as package httpapi declares them for
// infra/ (spec 2.1 and 2.3), so the local gateway can never drift from what is
// deployed.
func DefaultRoutes() []Route {
	var routes []Route
	for _, r := range httpapi.SubmitRoutes() {
		routes = append(routes, Route{Method: r.Method, Path: r.Path, Target: Submit, Authorized: !r.Public})
	}
	for _, r := range httpapi.StatusRoutes() {
		routes = append(routes, Route{Method: r.Method, Path: r.Path, Target: Status, Authorized: !r.Public})
	}
	return routes
}

// MaxBody is API Gateway's payload limit; the functions enforce the service's
// much smaller limit themselves, so that they answer it the same way locally.
const MaxBody = 10 << 20

// Config is what a Gateway needs.
type Config struct {
	Functions  map[Target]Function // a route whose function is missing answers 404
	Authorizer Authorizer
	Log        *slog.Logger
	Now        func() time.Time // defaults to time.Now
	AccountID  string           // the AWS account id shown in the request context
	APIID      string
	Routes     []Route // default DefaultRoutes()
	// Region and FunctionPrefix name the functions in their Lambda context
	// (arn:aws:lambda:<Region>:<AccountID>:function:<FunctionPrefix><target>).
	Region         string
	FunctionPrefix string
}

// Gateway is the local HTTP API.
type Gateway struct {
	cfg Config
}

// New returns a Gateway for cfg.
func New(cfg Config) *Gateway {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.AccountID == "" {
		cfg.AccountID = "000000000000"
	}
	if cfg.APIID == "" {
		cfg.APIID = "local"
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	if cfg.Routes == nil {
		cfg.Routes = DefaultRoutes()
	}
	// API Gateway picks the most specific matching route: fewer path
	// variables first, then a named method before ANY.
	cfg.Routes = slices.Clone(cfg.Routes)
	slices.SortStableFunc(cfg.Routes, func(a, b Route) int {
		if d := strings.Count(a.Path, "{") - strings.Count(b.Path, "{"); d != 0 {
			return d
		}
		return boolInt(a.Method == "ANY") - boolInt(b.Method == "ANY")
	})
	return &Gateway{cfg: cfg}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// match finds the route for method and path and its path parameters; routes
// are sorted most specific first.
func (g *Gateway) match(method, path string) (Route, map[string]string, bool) {
	segs := strings.Split(path, "/")
	for _, r := range g.cfg.Routes {
		if r.Method != "ANY" && r.Method != method {
			continue
		}
		want := strings.Split(r.Path, "/")
		if len(want) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, w := range want {
			if strings.HasPrefix(w, "{") && strings.HasSuffix(w, "}") {
				if segs[i] == "" {
					ok = false
					break
				}
				params[w[1:len(w)-1]] = segs[i]
			} else if w != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			if len(params) == 0 {
				params = nil
			}
			return r, params, true
		}
	}
	return Route{}, nil, false
}

func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now := g.cfg.Now()
	route, params, ok := g.match(r.Method, r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "No route for "+r.Method+" "+r.URL.Path+".")
		return
	}
	fn := g.cfg.Functions[route.Target]
	if fn == nil {
		writeError(w, http.StatusNotFound, "NotFound", "The "+string(route.Target)+" function is not available in this local stack yet.")
		return
	}
	var jwtCtx *events.APIGatewayV2HTTPRequestContextAuthorizerDescription
	if route.Authorized {
		claims, scopes, err := g.authorize(r, now)
		if err != nil {
			g.cfg.Log.Info("request not authenticated", "route", route.Key(), "reason", err)
			writeError(w, http.StatusUnauthorized, "Unauthorized", "Not Authenticated")
			return
		}
		jwtCtx = &events.APIGatewayV2HTTPRequestContextAuthorizerDescription{
			JWT: &events.APIGatewayV2HTTPRequestContextAuthorizerJWTDescription{Claims: claims, Scopes: scopes},
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "RequestEntityTooLarge", "The request body is larger than API Gateway's limit.")
			return
		}
		writeError(w, http.StatusBadRequest, "BadRequest", "The request body could not be read.")
		return
	}
	event := g.Event(r, route, params, body, jwtCtx, now)
	// Each invocation carries a Lambda context, as the Lambda runtime gives it.
	ctx := lambdacontext.NewContext(r.Context(), &lambdacontext.LambdaContext{
		AwsRequestID:       uuid(),
		InvokedFunctionArn: "arn:aws:lambda:" + g.cfg.Region + ":" + g.cfg.AccountID + ":function:" + g.cfg.FunctionPrefix + string(route.Target),
	})
	resp, err := fn(ctx, event)
	if err != nil {
		// Lambda reports a function error to API Gateway, which answers 500
		// without detail; the detail goes to the log only.
		g.cfg.Log.Error("function failed", "route", route.Key(), "requestId", event.RequestContext.RequestID, "err", err)
		writeError(w, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
		return
	}
	if err := writeResponse(w, resp); err != nil {
		g.cfg.Log.Error("function returned a malformed response", "route", route.Key(), "err", err)
		writeError(w, http.StatusInternalServerError, "InternalServerError", "Internal Server Error")
		return
	}
	g.cfg.Log.Debug("request", "route", route.Key(), "status", resp.StatusCode, "requestId", event.RequestContext.RequestID)
}

func (g *Gateway) authorize(r *http.Request, now time.Time) (map[string]string, []string, error) {
	if g.cfg.Authorizer == nil {
		return nil, nil, errors.New("no authorizer configured")
	}
	// The JWT authorizer's identity source ($request.header.Authorization) may
	// hold the token alone or prefixed with "Bearer "; anything else in the
	// header is taken as the token and fails validation.
	token := strings.TrimSpace(r.Header.Get("Authorization"))
	if scheme, rest, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "Bearer") {
		token = strings.TrimSpace(rest)
	}
	if token == "" {
		return nil, nil, errors.New("no token in the Authorization header")
	}
	return g.cfg.Authorizer.Validate(token, now)
}

// eventHeaders are r's headers as payload 2.0 has them: lower-case names,
// values joined with commas, the cookies in a list of their own, the host
// and content length always present.
func eventHeaders(r *http.Request) (map[string]string, []string) {
	headers := map[string]string{}
	var cookies []string
	for name, values := range r.Header {
		lower := strings.ToLower(name)
		if lower != "cookie" {
			headers[lower] = strings.Join(values, ",")
			continue
		}
		for _, v := range values {
			for c := range strings.SplitSeq(v, ";") {
				if c = strings.TrimSpace(c); c != "" {
					cookies = append(cookies, c)
				}
			}
		}
	}
	if r.Host != "" {
		headers["host"] = r.Host
	}
	if r.ContentLength > 0 && headers["content-length"] == "" {
		headers["content-length"] = strconv.FormatInt(r.ContentLength, 10)
	}
	return headers, cookies
}

// forwardedHeaders adds the X-Forwarded-* headers API Gateway adds, and
// returns the client's address.
func forwardedHeaders(r *http.Request, headers map[string]string) (sourceIP string) {
	sourceIP, port, _ := net.SplitHostPort(r.RemoteAddr)
	if sourceIP == "" {
		sourceIP = r.RemoteAddr
	}
	if xff := headers["x-forwarded-for"]; xff != "" {
		headers["x-forwarded-for"] = xff + ", " + sourceIP
	} else {
		headers["x-forwarded-for"] = sourceIP
	}
	headers["x-forwarded-proto"] = "http"
	if r.TLS != nil {
		headers["x-forwarded-proto"] = "https"
	}
	if _, lport, err := net.SplitHostPort(r.Host); err == nil {
		port = lport
	}
	headers["x-forwarded-port"] = port
	return sourceIP
}

// queryParameters are the query's values joined with commas, nil for none.
func queryParameters(raw string) map[string]string {
	values, err := url.ParseQuery(raw)
	if err != nil || len(values) == 0 {
		return nil
	}
	query := make(map[string]string, len(values))
	for k, v := range values {
		query[k] = strings.Join(v, ",")
	}
	return query
}

// Event builds the payload format 2.0 event API Gateway sends for r.
func (g *Gateway) Event(r *http.Request, route Route, params map[string]string, body []byte,
	authorizer *events.APIGatewayV2HTTPRequestContextAuthorizerDescription, now time.Time) events.APIGatewayV2HTTPRequest {
	headers, cookies := eventHeaders(r)
	sourceIP := forwardedHeaders(r, headers)
	requestID := newRequestID()
	headers["x-amzn-trace-id"] = "Root=1-" + strconv.FormatInt(now.Unix(), 16) + "-" + requestID[:24]

	query := queryParameters(r.URL.RawQuery)

	ev := events.APIGatewayV2HTTPRequest{
		Version:               "2.0",
		RouteKey:              route.Key(),
		RawPath:               r.URL.EscapedPath(),
		RawQueryString:        r.URL.RawQuery,
		Cookies:               cookies,
		Headers:               headers,
		QueryStringParameters: query,
		PathParameters:        params,
		RequestContext: events.APIGatewayV2HTTPRequestContext{
			RouteKey:     route.Key(),
			AccountID:    g.cfg.AccountID,
			Stage:        "$default",
			RequestID:    requestID,
			Authorizer:   authorizer,
			APIID:        g.cfg.APIID,
			DomainName:   hostOnly(r.Host),
			DomainPrefix: strings.SplitN(hostOnly(r.Host), ".", 2)[0],
			Time:         now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			TimeEpoch:    now.UnixMilli(),
			HTTP: events.APIGatewayV2HTTPRequestContextHTTPDescription{
				Method:    r.Method,
				Path:      r.URL.Path,
				Protocol:  r.Proto,
				SourceIP:  sourceIP,
				UserAgent: r.UserAgent(),
			},
		},
	}
	if len(body) > 0 {
		if isText(r.Header.Get("Content-Type"), body) {
			ev.Body = string(body)
		} else {
			ev.Body = base64.StdEncoding.EncodeToString(body)
			ev.IsBase64Encoded = true
		}
	}
	return ev
}

// isText reports whether API Gateway would pass the body as text. It
// base64-encodes everything whose media type is not textual, and anything that
// is not valid UTF-8.
func isText(contentType string, body []byte) bool {
	if !utf8.Valid(body) {
		return false
	}
	if contentType == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil {
		return false
	}
	switch {
	case strings.HasPrefix(mt, "text/"),
		mt == "application/json", mt == "application/xml", mt == "application/javascript",
		mt == "application/x-www-form-urlencoded",
		strings.HasSuffix(mt, "+json"), strings.HasSuffix(mt, "+xml"):
		return true
	}
	return false
}

func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

func newRequestID() string {
	var b [16]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// uuid makes a Lambda-style request id (a random version 4 UUID).
func uuid() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// writeResponse copies a function's response onto w as API Gateway does. It
// fails, having written nothing, only for a response API Gateway would reject.
func writeResponse(w http.ResponseWriter, resp events.APIGatewayV2HTTPResponse) error {
	body := []byte(resp.Body)
	if resp.IsBase64Encoded {
		decoded, err := base64.StdEncoding.DecodeString(resp.Body)
		if err != nil {
			return err
		}
		body = decoded
	}
	status := resp.StatusCode
	if status == 0 {
		status = http.StatusOK
	}
	if status < 100 || status > 599 {
		return errors.New("status code " + strconv.Itoa(status) + " out of range")
	}
	h := w.Header()
	for k, vs := range resp.MultiValueHeaders {
		for _, v := range vs {
			h.Add(k, v)
		}
	}
	for k, v := range resp.Headers {
		h.Set(k, v)
	}
	for _, c := range resp.Cookies {
		h.Add("Set-Cookie", c)
	}
	h.Del("Content-Length")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if h.Get("Content-Type") == "" && len(body) > 0 {
		h.Set("Content-Type", "application/json")
	}
	w.WriteHeader(status)
	io.Copy(w, bytes.NewReader(body)) // a failure here means the client left; nothing to tell it
	return nil
}

// writeError answers with the functions' own error body (httpapi.ErrorResponse,
// spec 2.5), "errors" list included, so that a client reads a 401 of this
// gateway exactly like one of the functions and both match the OpenAPI
// description.
func writeError(w http.ResponseWriter, status int, code, message string) {
	data, _ := json.Marshal(httpapi.ErrorResponse{ResponseStatus: httpapi.ResponseStatus{
		ErrorCode: code, Message: message, Errors: []billing.FieldError{},
	}})
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(data)))
	w.WriteHeader(status)
	w.Write(data)
}
