package billing

import (
	"errors"
	"fmt"
)

// Error codes. Each maps to exactly one HTTP status in httpapi; adapters translate
// their dependency's failures into these codes and nothing else does.
const (
	EINVALID       = "invalid"        // 400: bad input; FieldErrors say which
	EUNAUTHORIZED  = "unauthorized"   // 401: no or bad token
	EFORBIDDEN     = "forbidden"      // 403: role or scope does not allow it
	ENOTFOUND      = "not_found"      // 404: unknown, or not visible to the caller
	ENOTACCEPTABLE = "not_acceptable" // 406: unsupported response format
	ECONFLICT      = "conflict"       // 409: a conditional write lost, or idempotency key reuse
	ETOOLARGE      = "too_large"      // 413: request body over the limit
	ETOOMANY       = "too_many"       // 429: too many active reports
	EUNAVAILABLE   = "unavailable"    // 503: a dependency is down; safe to retry
	EINTERNAL      = "internal"       // 500: a bug; details are logged, never shown
)

// FieldError is one failed validation rule, in ServiceStack's ResponseError shape.
type FieldError struct {
	ErrorCode string `json:"errorCode"`
	FieldName string `json:"fieldName"`
	Message   string `json:"message"`
}

// Error is the service's one error type. Message is safe to show to callers;
// Err is the underlying cause, for logs only.
type Error struct {
	Code        string
	ErrorCode   string // ServiceStack errorCode shown to callers; derived from Code when empty
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

// IsRetryable reports whether a failure is worth trying again later (a dependency
// was down or throttled) rather than a permanent property of the request or data.
func IsRetryable(err error) bool {
	code := ErrorCode(err)
	return code == EUNAVAILABLE || code == EINTERNAL && !errors.Is(err, errPermanent)
}

var errPermanent = errors.New("permanent")

// Permanent marks err as not worth retrying even if it is not an *Error.
func Permanent(err error) error { return fmt.Errorf("%w: %w", errPermanent, err) }

// fieldErrors collects the failed rules of a DTO's validation, in order.
type fieldErrors []FieldError

func (e *fieldErrors) add(code, field, msg string) {
	*e = append(*e, FieldError{ErrorCode: code, FieldName: field, Message: msg})
}

// err is the EINVALID *Error listing every failed rule, the first as the
// top-level error (spec 2.5), or nil when none failed.
func (e fieldErrors) err() error {
	if len(e) == 0 {
		return nil
	}
	return &Error{Code: EINVALID, ErrorCode: e[0].ErrorCode, Message: e[0].Message, FieldErrors: e}
}
