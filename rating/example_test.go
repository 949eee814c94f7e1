package rating_test

import (
	"fmt"
	"strings"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/reportcsv"
)

// A customer with one number for half of a 30-day month: the base cost and the
// allowance are prorated (f = 15/30), usage above the allowance is charged, and
// each cell is rounded once to cents, half away from zero.
func Example() {
	acct := billing.Account{ID: "acct-1", Name: "Acme", BillingSettings: billing.BillingSettings{
		billing.ItemBase:         {BaseCost: "10.00"},
		billing.ItemLocalNumbers: {UnitCost: "1.005", Allowance: "2"},
	}}
	customers := []billing.Customer{{ID: "c-1", AccountID: "acct-1", Name: "Dental"}}
	period := rating.Period{Start: billing.Date{Year: 2026, Month: time.November, Day: 1}, End: billing.Date{Year: 2026, Month: time.November, Day: 15}, Loc: time.UTC}
	r, err := rating.NewRater(acct, customers, period, "")
	if err != nil {
		panic(err)
	}
	// 3 number-days: 3 - 2×15/30 = 2 units above the allowance, 2 × 1.005 = 2.01.
	err = r.Add(&billing.UsageEvent{ID: "u-1", AccountID: "acct-1", CustomerID: "c-1",
		Time: time.Date(2026, time.November, 3, 12, 0, 0, 0, time.UTC), Item: billing.ItemLocalNumbers, RawQuantity: "3"})
	if err != nil {
		panic(err)
	}
	res := r.Result()
	fmt.Println("base", rating.FormatCents(res.Rows[0].Costs[billing.ItemBase.Index()]))
	fmt.Println("numbers", rating.FormatCents(res.Rows[0].Costs[billing.ItemLocalNumbers.Index()]))
	fmt.Println("total", rating.FormatCents(res.Total.Total))
	// The same result as the CSV users download (CRLF line ends, shown here as "\n").
	var csv strings.Builder
	if err := reportcsv.Write(&csv, res, reportcsv.Options{}); err != nil {
		panic(err)
	}
	fmt.Print(strings.ReplaceAll(csv.String(), "\r\n", "\n"))
	// Output:
	// base 5.00
	// numbers 2.01
	// total 7.01
	// Customer,BaseCost,LocalNumbersUnits,LocalNumbersCost,TollFreeNumbersUnits,TollFreeNumbersCost,InboundVoiceCallsUnits,InboundVoiceCallsCost,OutboundVoiceCallsUnits,OutboundVoiceCallsCost,InboundFaxesUnits,InboundFaxesCost,OutboundFaxesUnits,OutboundFaxesCost,InboundSmsMessagesUnits,InboundSmsMessagesCost,OutboundSmsMessagesUnits,OutboundSmsMessagesCost,AIInsightsUnits,AIInsightsCost,AILiveMinutesUnits,AILiveMinutesCost,InternationalCosts,HasCallRecording,Total
	// Dental,5.00,3,2.01,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0.00,false,7.01
	// Total,5.00,3,2.01,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0,0.00,0.00,false,7.01
}
