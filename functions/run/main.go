// Command run is the run Lambda: SQS batches of report jobs and the sweep
// schedule's constant input {"sweep":true} (see lambdaedge.Handler). It
// only wires configuration and adapters; the behaviour lives in package worker.
package main

import (
	_ "time/tzdata" // report zones, whatever the runtime image holds

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/lambdaedge"
	"github.com/evovoice/billing/worker/wire"
)

func main() {
	w := appconfig.MustBuild("run", wire.Worker)
	lambda.Start(lambdaedge.Handler(w))
}
