package ddbstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"

	billing "github.com/evovoice/billing"
)

// unavailableCodes are API errors worth retrying later: throttling and the
// service's own failures.
var unavailableCodes = map[string]bool{
	"ProvisionedThroughputExceededException": true,
	"RequestLimitExceeded":                   true,
	"ThrottlingException":                    true,
	"InternalServerError":                    true,
	"ServiceUnavailable":                     true,
	"LimitExceededException":                 true,
}

// translate turns an SDK error from doing into the domain's error codes. It is
// the one place that knows DynamoDB's error types.
func translate(err error, doing string) error {
	if err == nil {
		return nil
	}
	cause := fmt.Errorf("%s: %w", doing, err)
	var ccf *types.ConditionalCheckFailedException
	var rnf *types.ResourceNotFoundException
	var apiErr smithy.APIError
	var respErr interface{ HTTPStatusCode() int }
	switch {
	case errors.As(err, &ccf):
		return billing.WrapError(billing.ECONFLICT, cause, "The record was changed by someone else.")
	case errors.Is(err, context.Canceled):
		return cause
	case errors.As(err, &rnf):
		// A missing table is a deployment problem, not a missing record.
		return billing.WrapError(billing.EUNAVAILABLE, cause, "The report store is unavailable; try again later.")
	case errors.As(err, &apiErr) && unavailableCodes[apiErr.ErrorCode()]:
		return billing.WrapError(billing.EUNAVAILABLE, cause, "The report store is busy; try again later.")
	case errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500:
		return billing.WrapError(billing.EUNAVAILABLE, cause, "The report store is unavailable; try again later.")
	case errors.As(err, &apiErr):
		// Any other API error (ValidationException, ...) means this code sent a
		// request DynamoDB will never accept: a bug, not worth retrying.
		return billing.PermanentError(cause)
	default:
		// No API answer at all: connection refused, timeouts, DNS.
		return billing.WrapError(billing.EUNAVAILABLE, cause, "The report store is unavailable; try again later.")
	}
}

func isConflict(err error) bool { return billing.ErrorCode(err) == billing.ECONFLICT }
