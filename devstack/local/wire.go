package local

import (
	"context"
	"log/slog"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/appconfig"
	"github.com/evovoice/billing/devstack/eventsource"
	"github.com/evovoice/billing/devstack/gateway"
	ddbstore "github.com/evovoice/billing/dynamodb"
	"github.com/evovoice/billing/resources"
)

// billingStore is what the stack needs of the billing-data table: a read to
// tell whether the demo data is there, and the import's writes.
type billingStore interface {
	GetAccount(ctx context.Context, id string) (*billing.Account, error)
	billing.BillingDataWriter
}

// functions are the service's handlers, built in-process with the same
// constructors and adapters as on Lambda. A nil field is a function whose
// pieces do not exist yet; missing says which, for the banner.
type functions struct {
	submit    gateway.Function
	status    gateway.Function
	handleSQS eventsource.Handler
	sweep     func(context.Context) error
	billing   billingStore
	missing   []string
}

// buildFunctions wires the handlers from the process environment, as each
// Lambda's main does at cold start.
func buildFunctions(ctx context.Context, log *slog.Logger) (functions, error) {
	cfg, err := appconfig.Load(ctx)
	if err != nil {
		return functions{}, err
	}
	if err := cfg.Require(resources.EnvBillingTable); err != nil {
		return functions{}, err
	}
	fns := functions{billing: ddbstore.NewBillingStore(dynamodb.NewFromConfig(cfg.AWS), cfg.BillingTable)}
	fns.missing = append(fns.missing, "submit, status and run functions (their adapters are not in this build yet)")
	return fns, nil
}
