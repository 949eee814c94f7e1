// Command run is the run Lambda: SQS batches of report jobs and the sweep
// rule's input resources.SweepEvent plus the event's time, {"sweep":true,"time":...},
// which fires the due report schedules and then sweeps (schedules.(*Service).WithTicks
// in front of lambdaedge.Handler). It only wires configuration and adapters; the
// behaviour lives in packages worker and schedules.
package main

import (
	"log/slog"
	_ "time/tzdata" // report zones, whatever the runtime image holds

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/schedules"
	"github.com/evovoice/billing/worker/wire"
)

func main() {
	h := appconfig.MustBuild("run", func(cfg appconfig.Config) (schedules.Handler, error) {
		// The worker logs through the process's default logger (worker/wire);
		// the edge installs the function's one, which configuration loading
		// no longer does.
		slog.SetDefault(cfg.Logger)
		return wire.Run(cfg)
	})
	lambda.Start(h)
}
