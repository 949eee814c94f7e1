package s3files

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/smithy-go"

	billing "github.com/evovoice/billing"
)

// unavailableCodes are S3 errors that pass: throttling, S3's own failures, and
// a missing bucket (a deployment problem, fixed without changing the request).
var unavailableCodes = map[string]bool{
	"SlowDown": true, "ServiceUnavailable": true, "InternalError": true,
	"RequestTimeout": true, "NoSuchBucket": true, "ThrottlingException": true,
}

// translate turns an SDK error from doing into the domain's error codes. It is
// the one place that knows S3's error types.
func translate(err error, doing string) error {
	cause := fmt.Errorf("%s: %w", doing, err)
	var apiErr smithy.APIError
	var respErr interface{ HTTPStatusCode() int }
	switch {
	case errors.Is(err, context.Canceled):
		return cause
	case errors.As(err, &apiErr) && unavailableCodes[apiErr.ErrorCode()],
		errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500:
		return billing.WrapError(billing.EUNAVAILABLE, cause, "Report storage is unavailable; try again later.")
	case errors.As(err, &apiErr):
		// AccessDenied, InvalidArgument, ...: retrying the same request will
		// not help.
		return billing.PermanentError(cause)
	default:
		// No answer from S3 at all: connection refused, timeouts, DNS.
		return billing.WrapError(billing.EUNAVAILABLE, cause, "Report storage is unavailable; try again later.")
	}
}
