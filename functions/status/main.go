// Command status is the status Lambda (spec 2). It only wires configuration and
// adapters (package wiring) and hands API Gateway v2 events to the plain
// net/http handler of package httpapi through aws-lambda-go-api-proxy.
package main

import (
	"context"
	"log/slog"
	"os"
	_ "time/tzdata" // zones for timeZoneId validation, whatever the runtime image holds

	"github.com/aws/aws-lambda-go/lambda"
	"github.com/awslabs/aws-lambda-go-api-proxy/httpadapter"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/httpapi/wiring"
)

func main() {
	ctx := context.Background()
	cfg, err := appconfig.Load(ctx)
	if err != nil {
		slog.Error("loading configuration", "err", err)
		os.Exit(1)
	}
	handler, err := wiring.Status(cfg)
	if err != nil {
		slog.Error("starting the status function", "err", err)
		os.Exit(1)
	}
	lambda.Start(httpadapter.NewV2(handler).ProxyWithContext)
}
