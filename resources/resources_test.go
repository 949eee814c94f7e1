package resources

import "testing"

// The names are a contract with deployed stacks (infra/ pins them in the
// template too) and with the local stack's Lambda contexts.
func TestForNamesEveryResourceOfTheStage(t *testing.T) {
	n := For("test")
	for _, c := range [][2]string{
		{n.ReportsTable, "billing-reports-test-reports"},
		{n.BillingTable, "billing-reports-test-billing-data"},
		{n.JobsQueue, "billing-reports-test-jobs"},
		{n.JobsDLQ, "billing-reports-test-jobs-dlq"},
		{n.ReportsBucket, "billing-reports-test-files"},
		{n.FunctionPrefix + FunctionRun, "billing-reports-test-run"},
		{n.FunctionPrefix + FunctionSubmit, "billing-reports-test-submit"},
		{n.EmailConfigSet, "billing-reports-test"},
	} {
		if got, want := c[0], c[1]; got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
	if SweepEvent != `{"sweep":true}` {
		t.Errorf("SweepEvent = %s; the deployed schedule sends {\"sweep\":true}", SweepEvent)
	}
}
