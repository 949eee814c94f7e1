// Command status is the status Lambda (spec 2). It only wires configuration and
// adapters (package wiring) and hands API Gateway v2 events to the plain
// net/http handler of package httpapi through package lambdaedge (the proxy
// adapter and the JWT claims as the caller in the request context).
package main

import (
	_ "time/tzdata" // zones for timeZoneId validation, whatever the runtime image holds

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/httpapi/wiring"
	"github.com/evovoice/billing/lambdaedge"
)

func main() {
	handler := appconfig.MustBuild("status", wiring.Status)
	lambda.Start(lambdaedge.HTTPHandler(handler))
}
