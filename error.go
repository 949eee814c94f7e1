package billing

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in httpapi; adapters translate
// their dependency's failures into these codes and nothing else does.
const (
	EINVALID       = "invalid"        // 400: bad input; FieldErrors say which
	EMALFORMED     = "malformed"      // 400: the request body cannot be read at all
	EUNAUTHORIZED  = "unauthorized"   // 401: no or bad token
	EFORBIDDEN     = "forbidden"      // 403: role or scope does not allow it
	ENOTFOUND      = "not_found"      // 404: unknown, or not visible to the caller
	ENOTACCEPTABLE = "not_acceptable" // 406: unsupported response format
	ECONFLICT      = "conflict"       // 409: a conditional write lost, or idempotency key reuse
	ETOOLARGE      = "too_large"      // 413: request body over the limit
	ETOOMANY       = "too_many"       // 429: too many active reports
	EUNAVAILABLE   = "unavailable"    // 503: a dependency is down; safe to retry
	EINTERNAL      = "internal"       // 500: a bug or an unknown failure; retried, details are logged, never shown
	EPERMANENT     = "permanent"      // 500: a dependency refused the request for good (a bug or a deployment fault); never retried
)

// FieldError is one failed validation rule, in ServiceStack's ResponseError shape.
type FieldError struct {
	ErrorCode string `json:"errorCode"`
	FieldName string `json:"fieldName"`
	Message   string `json:"message"`
}

// Error is the service's one error type: a domain code, a message safe to
// show to callers, the failed field rules of bad input, and the cause (for
// logs only). The HTTP layer derives everything transport-specific from it
// (the status, ServiceStack's errorCode) in one place, httpapi/error.go; the
// worker decides retries from the code alone (IsRetryable).
type Error struct {
	Code        string
	Message     string
	FieldErrors []FieldError
	Err         error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error with a caller-safe message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// WrapError builds an *Error that keeps cause for logs while showing message.
func WrapError(code string, cause error, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Err: cause}
}

// Invalid is the EINVALID error listing every failed rule, the first as the
// top-level message (spec 2.5), or nil when none failed.
func Invalid(errs ...FieldError) error {
	if len(errs) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, Message: errs[0].Message, FieldErrors: errs}
}

// InvalidField is the EINVALID error of one failed rule.
func InvalidField(code, field, msg string) error {
	return Invalid(FieldError{ErrorCode: code, FieldName: field, Message: msg})
}

// InvalidNextToken is the EINVALID error of a list cursor that is forged,
// damaged or of another listing; cause (may be nil) is for logs.
func InvalidNextToken(cause error) error {
	const msg = "'NextToken' is not valid for this listing."
	return &Error{Code: EINVALID, Message: msg, Err: cause,
		FieldErrors: []FieldError{{ErrorCode: "InvalidFormat", FieldName: "NextToken", Message: msg}}}
}

// Forbidden is the EFORBIDDEN error with a caller-safe message.
func Forbidden(msg string) *Error { return &Error{Code: EFORBIDDEN, Message: msg} }

// PermanentError is the EPERMANENT error of a dependency that refused the
// request for good: shown as an internal error, never retried.
func PermanentError(cause error) *Error {
	return &Error{Code: EPERMANENT, Message: "Internal error.", Err: cause}
}

// ErrorCode returns the code of the first *Error in err's chain, EINTERNAL for any
// other non-nil error, and "" for nil.
func ErrorCode(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Code
	}
	return EINTERNAL
}

// ErrorMessage returns the caller-safe message of err; internal errors get a
// generic text so that no detail of a bug leaks.
func ErrorMessage(err error) string {
	var e *Error
	if err == nil {
		return ""
	} else if errors.As(err, &e) {
		return e.Message
	}
	return "Internal error."
}

// IsRetryable reports whether a failure is worth trying again later, decided
// by its code alone: a dependency that was down or throttled (EUNAVAILABLE),
// or an unknown failure (EINTERNAL), rather than a permanent property of the
// request, the data or the deployment (every other code, EPERMANENT included).
func IsRetryable(err error) bool {
	code := ErrorCode(err)
	return code == EUNAVAILABLE || code == EINTERNAL
}

// IsInternal reports whether code is one whose message callers never see.
func IsInternal(code string) bool { return code == EINTERNAL || code == EPERMANENT }

// fieldErrors collects the failed rules of a DTO's validation, in order.
type fieldErrors []FieldError

func (e *fieldErrors) add(code, field, msg string) {
	*e = append(*e, FieldError{ErrorCode: code, FieldName: field, Message: msg})
}

// err is Invalid(e...).
func (e fieldErrors) err() error { return Invalid(e...) }
