package ddbstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// Compact usage items (format v1). A report reads every event of its period,
// and the SDK's per-attribute decoding is most of the CPU a report spends per
// event, so a usage item holds as few attributes as the rating needs:
//
//	pk  USAGE#<accountId>#<UTC day>              (the account and day)
//	sk  <UTC time, fixed width>#<eventId>        (the time and id, once)
//	u   <item code>|<rawQuantity>|<internationalCost>|<flags>|<customerId>
//	d   description (only when the event has one; never read by reports)
//
// Quantities are the decimal text as imported (validated, so exact, with no
// "|"); internationalCost is empty when absent; flags is "r" for a recorded
// event, else empty; the customer id comes last, so it may contain any
// character. QueryUsage projects sk and u only. The key is unchanged from
// the first format, so re-importing old usage rewrites it in place.
const (
	// UsageFormat names this stored format, for caches of stored usage (such
	// as a benchmark's emulator data) that must not outlive it.
	UsageFormat = "compact-v1"

	attrUsage       = "u"
	attrUsageDesc   = "d"
	usageFields     = 5
	usageFlagRecord = "r"
)

// usageItemCodes are the stored two-letter codes of the usage items. They are
// part of the stored format: never reuse or renumber one.
var usageItemCodes = map[billing.Item]string{
	billing.ItemLocalNumbers:        "LN",
	billing.ItemTollFreeNumbers:     "TF",
	billing.ItemInboundVoiceCalls:   "IV",
	billing.ItemOutboundVoiceCalls:  "OV",
	billing.ItemInboundFaxes:        "IF",
	billing.ItemOutboundFaxes:       "OF",
	billing.ItemInboundSmsMessages:  "IS",
	billing.ItemOutboundSmsMessages: "OS",
	billing.ItemAIInsights:          "AI",
	billing.ItemAILiveMinutes:       "AL",
}

// usageItemOf is usageItemCodes inverted, as a switch (no map lookup per event).
func usageItemOf(code string) billing.Item {
	switch code {
	case "LN":
		return billing.ItemLocalNumbers
	case "TF":
		return billing.ItemTollFreeNumbers
	case "IV":
		return billing.ItemInboundVoiceCalls
	case "OV":
		return billing.ItemOutboundVoiceCalls
	case "IF":
		return billing.ItemInboundFaxes
	case "OF":
		return billing.ItemOutboundFaxes
	case "IS":
		return billing.ItemInboundSmsMessages
	case "OS":
		return billing.ItemOutboundSmsMessages
	case "AI":
		return billing.ItemAIInsights
	case "AL":
		return billing.ItemAILiveMinutes
	}
	return ""
}

// encodeUsage is the stored item of an event that checkUsage accepted.
func encodeUsage(ev billing.UsageEvent) item {
	t := ev.Time.UTC()
	it := billingKey(UsagePartition(ev.AccountID, billing.DateOf(t)), usageSortKey(t, ev.ID))
	flags := ""
	if ev.Recorded {
		flags = usageFlagRecord
	}
	it[attrUsage] = avS(strings.Join([]string{usageItemCodes[ev.Item], ev.RawQuantity, ev.InternationalCost, flags, ev.CustomerID}, "|"))
	putS(it, attrUsageDesc, ev.Description)
	return it
}

// decodeUsage reads a projected usage item (sk and u). It allocates nothing:
// the event's strings are slices of the item's. Description is not read.
func decodeUsage(it item, accountID string) (billing.UsageEvent, error) {
	sk, _ := it[resources.BillingSK].(*types.AttributeValueMemberS)
	u, _ := it[attrUsage].(*types.AttributeValueMemberS)
	if sk == nil {
		return billing.UsageEvent{}, malformedUsage("?", accountID, "it has no sort key")
	}
	ev := billing.UsageEvent{AccountID: accountID}
	// The time has a fixed width, so the id starts at a fixed offset.
	const stampLen = len(resources.UsageTimeLayout)
	if len(sk.Value) <= stampLen || sk.Value[stampLen] != '#' {
		ev.ID = sk.Value
		return ev, malformedUsage(ev.ID, accountID, "its sort key is not <time>#<event id>")
	}
	ev.ID = sk.Value[stampLen+1:]
	t, ok := parseTimeKey(sk.Value[:stampLen])
	if !ok {
		return ev, malformedUsage(ev.ID, accountID, "its sort key has a malformed time")
	}
	ev.Time = t
	if u == nil {
		return ev, malformedUsage(ev.ID, accountID, "it is not in the current storage format (re-import the usage to rewrite it)")
	}
	// One pass over the bytes: strings.Cut's vectorized search costs more
	// than it saves on fields this short, and this runs once per event.
	var f [usageFields]string
	v, field, start := u.Value, 0, 0
	for i := 0; i < len(v) && field < usageFields-1; i++ {
		if v[i] == '|' {
			f[field], field, start = v[start:i], field+1, i+1
		}
	}
	if field < usageFields-1 {
		return ev, malformedUsage(ev.ID, accountID, "its usage attribute has too few fields")
	}
	f[usageFields-1] = v[start:]
	if ev.Item = usageItemOf(f[0]); ev.Item == "" {
		return ev, malformedUsage(ev.ID, accountID, fmt.Sprintf("its item code %q is unknown", f[0]))
	}
	ev.RawQuantity, ev.InternationalCost, ev.CustomerID = f[1], f[2], f[4]
	switch f[3] {
	case "":
	case usageFlagRecord:
		ev.Recorded = true
	default:
		return ev, malformedUsage(ev.ID, accountID, fmt.Sprintf("its flags %q are unknown", f[3]))
	}
	if ev.CustomerID == "" {
		return ev, malformedUsage(ev.ID, accountID, "it has no customer")
	}
	return ev, nil
}

// malformedUsage is corrupt data, not an outage: retrying cannot help, so the
// report fails at once with a reason that names the event.
func malformedUsage(id, accountID, why string) error {
	return billing.WrapError(billing.EINVALID, fmt.Errorf("decoding usage event %s: %s", id, why),
		"Stored usage event %s of account %s cannot be read: %s.", id, accountID, why)
}

// parseTimeKey parses timeKey's fixed layout (2006-01-02T15:04:05.000000000Z)
// strictly, several times faster than time.Parse: it runs once per event read.
func parseTimeKey(s string) (time.Time, bool) {
	if !timeKeyLayout(s) {
		return time.Time{}, false
	}
	d := digitReader{s: s, ok: true}
	year, month, day := d.num(0, 4), d.num(5, 7), d.num(8, 10)
	hour, minute, sec, nanos := d.num(11, 13), d.num(14, 16), d.num(17, 19), d.num(20, 29)
	if !d.ok || !validDate(year, month, day) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	secs := daysFromCivil(year, month, day)*86400 + int64(hour*3600+minute*60+sec)
	return time.Unix(secs, int64(nanos)).UTC(), true
}

// timeKeyLayout checks timeKey's length and separators.
func timeKeyLayout(s string) bool {
	return len(s) == 30 && s[4] == '-' && s[7] == '-' && s[10] == 'T' && s[13] == ':' && s[16] == ':' && s[19] == '.' && s[29] == 'Z'
}

// validDate reports whether year-month-day is a day of the calendar.
func validDate(year, month, day int) bool {
	return month >= 1 && month <= 12 && day >= 1 && day <= daysIn(year, month)
}

// digitReader reads fixed-width decimal fields of s; ok turns false at the
// first non-digit.
type digitReader struct {
	s  string
	ok bool
}

func (d *digitReader) num(from, to int) int {
	n := 0
	for i := from; i < to; i++ {
		c := d.s[i]
		if c < '0' || c > '9' {
			d.ok = false
			return 0
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// daysFromCivil is the number of days from 1970-01-01 to year-month-day in
// the proleptic Gregorian calendar (H. Hinnant's algorithm): time.Date's
// result without its normalization, which this hot path does not need.
func daysFromCivil(year, month, day int) int64 {
	if month <= 2 {
		year--
	}
	era := year / 400
	if year < 0 {
		era = (year - 399) / 400
	}
	yoe := year - era*400
	mp := (month + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + day - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

func daysIn(year, month int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}
