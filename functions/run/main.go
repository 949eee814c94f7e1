// Command run is the run Lambda: SQS batches of report jobs and the sweep
// rule's input resources.SweepEvent plus the event's time, {"sweep":true,"time":...},
// which fires the due report schedules and then sweeps (schedules.(*Service).WithTicks
// in front of lambdaedge.Handler). It only wires configuration and adapters; the
// behaviour lives in packages worker and schedules.
package main

import (
	_ "time/tzdata" // report zones, whatever the runtime image holds

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/worker/wire"
)

func main() {
	lambda.Start(appconfig.MustBuild("run", wire.Run))
}
