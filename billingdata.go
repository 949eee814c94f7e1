package billing

import "time"

// Item is a billable product line. The order of Items is the column order of the report.
type Item string

// The billable items, spec 3.1.
const (
	ItemBase                Item = "Base"
	ItemLocalNumbers        Item = "LocalNumbers"
	ItemTollFreeNumbers     Item = "TollFreeNumbers"
	ItemInboundVoiceCalls   Item = "InboundVoiceCalls"
	ItemOutboundVoiceCalls  Item = "OutboundVoiceCalls"
	ItemInboundFaxes        Item = "InboundFaxes"
	ItemOutboundFaxes       Item = "OutboundFaxes"
	ItemInboundSmsMessages  Item = "InboundSmsMessages"
	ItemOutboundSmsMessages Item = "OutboundSmsMessages"
	ItemAIInsights          Item = "AIInsights"
	ItemAILiveMinutes       Item = "AILiveMinutes"
)

// Items lists every item in report order; Base first.
var Items = [...]Item{
	ItemBase, ItemLocalNumbers, ItemTollFreeNumbers, ItemInboundVoiceCalls, ItemOutboundVoiceCalls,
	ItemInboundFaxes, ItemOutboundFaxes, ItemInboundSmsMessages, ItemOutboundSmsMessages,
	ItemAIInsights, ItemAILiveMinutes,
}

// NumItems is len(Items), for fixed-size per-item arrays.
const NumItems = len(Items)

// Index is the item's position in Items, or -1 for an unknown item.
func (it Item) Index() int {
	for i, x := range Items {
		if x == it {
			return i
		}
	}
	return -1
}

// Valid reports whether it is one of Items.
func (it Item) Valid() bool { return it.Index() >= 0 }

// ItemSettings are the prices of one item. Values are canonical decimal strings
// (as imported and as stored in DynamoDB numbers) so that no float ever touches
// money; an empty string means the default (BaseCost 0, RawUnitMultiplier 1,
// UnitCost 0, Allowance 0).
type ItemSettings struct {
	BaseCost          string `json:"baseCost,omitempty"`
	RawUnitMultiplier string `json:"rawUnitMultiplier,omitempty"`
	UnitCost          string `json:"unitCost,omitempty"`
	Allowance         string `json:"allowance,omitempty"`
}

// BillingSettings maps an item to its prices; a missing item has default prices.
type BillingSettings map[Item]ItemSettings

// Account is a reseller's account: the unit a report is about.
type Account struct {
	ID              string          `json:"id"`
	Name            string          `json:"name"`
	TimeZoneID      string          `json:"timeZoneId,omitempty"`
	Currency        string          `json:"currency,omitempty"` // ISO 4217; "" means DefaultCurrency
	BillingSettings BillingSettings `json:"billingSettings,omitempty"`
}

// DefaultCurrency is the currency of an account that names none. Rating does
// not depend on it: it only labels the amounts shown to people.
const DefaultCurrency = "USD"

// CurrencyCode is the account's ISO 4217 currency, DefaultCurrency if unset.
func (a *Account) CurrencyCode() string {
	if a.Currency == "" {
		return DefaultCurrency
	}
	return a.Currency
}

// ValidCurrency reports whether s has the shape of an ISO 4217 code: three
// upper-case ASCII letters. The list of codes changes over time, so the shape
// is what is checked.
func ValidCurrency(s string) bool {
	if len(s) != 3 {
		return false
	}
	for i := range 3 {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// Customer is a node of an account's customer tree. Its settings apply only when
// OverrideBillingSettings is set; otherwise the nearest overriding ancestor's, or
// the account's, apply.
type Customer struct {
	ID                      string          `json:"id"`
	AccountID               string          `json:"accountId"`
	ParentCustomerID        string          `json:"parentCustomerId,omitempty"`
	Name                    string          `json:"name"`
	OverrideBillingSettings bool            `json:"overrideBillingSettings"`
	BillingSettings         BillingSettings `json:"billingSettings,omitempty"`
}

// UsageEvent is one recorded use of an item by a customer. Quantities are
// canonical non-negative decimal strings, validated on import.
type UsageEvent struct {
	ID                string    `json:"id"`
	AccountID         string    `json:"accountId"`
	CustomerID        string    `json:"customerId"`
	Time              time.Time `json:"time"` // UTC
	Item              Item      `json:"item"`
	RawQuantity       string    `json:"rawQuantity"`
	InternationalCost string    `json:"internationalCost,omitempty"`
	Recorded          bool      `json:"recorded,omitempty"`
	Description       string    `json:"description,omitempty"`
}
