package httpapi

import (
	"errors"
	"log/slog"
	"net/http"

	billing "github.com/evovoice/billing"
)

// ResponseStatus is ServiceStack's error DTO, the body of every error response.
type ResponseStatus struct {
	ErrorCode string               `json:"errorCode"`
	Message   string               `json:"message"`
	Errors    []billing.FieldError `json:"errors"`
}

// ErrorResponse wraps ResponseStatus the way ServiceStack serializes it.
type ErrorResponse struct {
	ResponseStatus ResponseStatus `json:"responseStatus"`
}

// statusOf is the one mapping from domain error codes to HTTP statuses and
// ServiceStack error codes: the errorCode of an error is the first failed
// rule's (spec 2.5), else its code's here. EINTERNAL and EPERMANENT are
// absent: both are a 500 with a generic message.
var statusOf = map[string]struct {
	status    int
	errorCode string
}{
	billing.EINVALID:       {http.StatusBadRequest, "InvalidFormat"},
	billing.EMALFORMED:     {http.StatusBadRequest, "SerializationException"},
	billing.EUNAUTHORIZED:  {http.StatusUnauthorized, "Unauthorized"},
	billing.EFORBIDDEN:     {http.StatusForbidden, "Forbidden"},
	billing.ENOTFOUND:      {http.StatusNotFound, "NotFound"},
	billing.ENOTACCEPTABLE: {http.StatusNotAcceptable, "NotAcceptable"},
	billing.ECONFLICT:      {http.StatusConflict, "Conflict"},
	billing.ETOOLARGE:      {http.StatusRequestEntityTooLarge, "RequestEntityTooLarge"},
	billing.ETOOMANY:       {http.StatusTooManyRequests, "TooManyRequests"},
	billing.EUNAVAILABLE:   {http.StatusServiceUnavailable, "ServiceUnavailable"},
}

// errMethodNotAllowed is the one error of the routing layer that has no domain
// code: a known route asked with a verb it does not serve.
var errMethodNotAllowed = errors.New("method not allowed")

// errorResponse turns err into an HTTP status and body. Internal errors get a
// generic message; their cause is logged by the caller of errorResponse.
func errorResponse(err error) (int, ErrorResponse) {
	if errors.Is(err, errMethodNotAllowed) {
		return http.StatusMethodNotAllowed, errorBody("MethodNotAllowed", "The method is not allowed on this route.")
	}
	m, ok := statusOf[billing.ErrorCode(err)]
	if !ok {
		return http.StatusInternalServerError, errorBody("InternalServerError", "Internal error.")
	}
	body := errorBody(m.errorCode, billing.ErrorMessage(err))
	var e *billing.Error
	if errors.As(err, &e) && len(e.FieldErrors) > 0 {
		body.ResponseStatus.Errors = e.FieldErrors
		body.ResponseStatus.ErrorCode = e.FieldErrors[0].ErrorCode
	}
	return m.status, body
}

// errorBody is the error body with no field errors (an empty list, not null).
func errorBody(errorCode, message string) ErrorResponse {
	return ErrorResponse{ResponseStatus{ErrorCode: errorCode, Message: message, Errors: []billing.FieldError{}}}
}

// writeError answers with err in the negotiated format (JSON when the requested
// format itself was the problem) and logs what the caller does not see.
func writeError(w http.ResponseWriter, r *http.Request, f format, log *slog.Logger, err error) {
	status, body := errorResponse(err)
	attrs := []any{"method", r.Method, "path", r.URL.Path, "status", status, "requestId", requestID(r)}
	switch {
	case status >= 500:
		log.ErrorContext(r.Context(), "request failed", append(attrs, "err", err)...)
	default:
		log.InfoContext(r.Context(), "request rejected", append(attrs, "errorCode", body.ResponseStatus.ErrorCode)...)
	}
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="billing-reports"`)
	}
	if f == formatCSV {
		writeCSV(w, status, errorCSV(body))
		return
	}
	writeJSON(w, status, body)
}
