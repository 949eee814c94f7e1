package ddbstore

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// BillingStore reads and writes accounts, customers and usage in the
// billing-data table. It implements billing.BillingData and
// billing.BillingDataWriter.
type BillingStore struct {
	client BillingAPI
	table  string
	opts   Options

	// pages recycles QueryUsage's page buffers (UsagePageSize events, ~150 KB
	// at the default): a report reads hundreds of days, and fn may not keep a
	// page (billing.BillingData), so a day's buffer can serve the next day.
	pages sync.Pool
}

var (
	_ billing.BillingData       = (*BillingStore)(nil)
	_ billing.BillingDataWriter = (*BillingStore)(nil)
)

// NewBillingStore returns a store on table (resources.EnvBillingTable).
func NewBillingStore(client BillingAPI, table string, optFns ...func(*Options)) *BillingStore {
	return &BillingStore{client: client, table: table, opts: newOptions(optFns)}
}

// Attribute names of billing-data items.
const (
	attrAccountID  = "accountId"
	attrCustomerID = "customerId"
	attrParentID   = "parentCustomerId"
	attrTimeZone   = "timeZoneId"
	attrCurrency   = "currency"
	attrOverride   = "overrideBillingSettings"
	attrSettings   = "billingSettings"

	settingBaseCost   = "baseCost"
	settingMultiplier = "rawUnitMultiplier"
	settingUnitCost   = "unitCost"
	settingAllowance  = "allowance"

	accountSK      = "ACCOUNT"
	customerPrefix = "CUSTOMER#"
)

func accountPK(id string) string { return "ACCOUNT#" + id }

// UsagePartition is the partition key of an account's usage on one UTC day.
func UsagePartition(accountID string, day billing.Date) string {
	return "USAGE#" + accountID + "#" + day.String()
}

// usageSortKey orders a day's events by time, then id.
func usageSortKey(t time.Time, id string) string { return timeKey(t) + "#" + id }

func billingKey(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{resources.BillingPK: avS(pk), resources.BillingSK: avS(sk)}
}

// GetAccount reads an account and its billing settings.
func (s *BillingStore) GetAccount(ctx context.Context, id string) (*billing.Account, error) {
	if id == "" {
		return nil, billing.Errorf(billing.ENOTFOUND, "Account not found.")
	}
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName: aws.String(s.table), Key: billingKey(accountPK(id), accountSK), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, translate(err, "reading account "+id)
	}
	if out.Item == nil {
		return nil, billing.Errorf(billing.ENOTFOUND, "Account '%s' not found.", id)
	}
	return &billing.Account{
		ID:              getS(out.Item, attrID),
		Name:            getS(out.Item, attrName),
		TimeZoneID:      getS(out.Item, attrTimeZone),
		Currency:        getS(out.Item, attrCurrency),
		BillingSettings: decodeSettings(out.Item[attrSettings]),
	}, nil
}

// ListCustomers reads all of an account's customers (one partition, paginated).
func (s *BillingStore) ListCustomers(ctx context.Context, accountID string) ([]billing.Customer, error) {
	var customers []billing.Customer
	var start map[string]types.AttributeValue
	for {
		out, err := s.client.Query(ctx, &ddb.QueryInput{
			TableName:                aws.String(s.table),
			KeyConditionExpression:   aws.String("#pk = :pk AND begins_with(#sk, :prefix)"),
			ExpressionAttributeNames: map[string]string{"#pk": resources.BillingPK, "#sk": resources.BillingSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":pk": avS(accountPK(accountID)), ":prefix": avS(customerPrefix),
			},
			ConsistentRead:    aws.Bool(true),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, translate(err, "listing the customers of account "+accountID)
		}
		for _, it := range out.Items {
			customers = append(customers, billing.Customer{
				ID:                      getS(it, attrID),
				AccountID:               getS(it, attrAccountID),
				ParentCustomerID:        getS(it, attrParentID),
				Name:                    getS(it, attrName),
				OverrideBillingSettings: getBool(it, attrOverride),
				BillingSettings:         decodeSettings(it[attrSettings]),
			})
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			return customers, nil
		}
	}
}

// QueryUsage calls fn with each page of one UTC day's usage of an account,
// in time order, limited to q.From <= time < q.To (zero bounds: the whole day).
// The page slice is reused between calls. Events come back without their
// Description, which no report uses (see usage_codec.go).
func (s *BillingStore) QueryUsage(ctx context.Context, q billing.UsageQuery, fn func(page []billing.UsageEvent) error) error {
	dayStart := q.Day.In(time.UTC)
	dayEnd := q.Day.AddDays(1).In(time.UTC)
	from, to := dayStart, dayEnd
	if !q.From.IsZero() && q.From.After(from) {
		from = q.From
	}
	if !q.To.IsZero() && q.To.Before(to) {
		to = q.To
	}
	if !from.Before(to) {
		return nil
	}
	// "<from>" sorts before every "<from>#id"; "<to>" after every earlier time
	// and before "<to>#id", so BETWEEN is exactly from <= time < to.
	in := &ddb.QueryInput{
		TableName:                aws.String(s.table),
		KeyConditionExpression:   aws.String("#pk = :pk AND #sk BETWEEN :from AND :to"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.BillingPK, "#sk": resources.BillingSK, "#u": attrUsage},
		// Only what rating needs: the time and id (sort key) and the packed
		// fields; not the partition key, which the query already names, nor
		// the description.
		ProjectionExpression: aws.String("#sk, #u"),
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pk":   avS(UsagePartition(q.AccountID, q.Day)),
			":from": avS(timeKey(from)),
			":to":   avS(timeKey(to)),
		},
		ConsistentRead: aws.Bool(!s.opts.EventuallyConsistentUsage),
		Limit:          aws.Int32(int32(s.opts.UsagePageSize)),
	}
	buf, _ := s.pages.Get().(*[]billing.UsageEvent)
	if buf == nil || cap(*buf) < s.opts.UsagePageSize {
		buf = new([]billing.UsageEvent)
		*buf = make([]billing.UsageEvent, 0, s.opts.UsagePageSize)
	}
	defer func() {
		// Drop the events' strings, so a pooled buffer does not keep the SDK's
		// response memory alive.
		clear((*buf)[:cap(*buf)])
		s.pages.Put(buf)
	}()
	page := *buf
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return translate(err, fmt.Sprintf("reading the usage of account %s on %s", q.AccountID, q.Day))
		}
		page = page[:0]
		for _, it := range out.Items {
			ev, err := decodeUsage(it, q.AccountID)
			if err != nil {
				return err
			}
			page = append(page, ev)
		}
		if len(page) > 0 {
			if err := fn(page); err != nil {
				return err
			}
		}
		if in.ExclusiveStartKey = out.LastEvaluatedKey; len(in.ExclusiveStartKey) == 0 {
			return nil
		}
	}
}

// CountUsage counts the usage items of one account and UTC day (q.From and
// q.To are ignored): the planner's cheap estimate of a report's density.
// It is a Select COUNT, eventually consistent (half the read units of the
// report's own reads, and an estimate needs no more), paginated by 1 MB.
func (s *BillingStore) CountUsage(ctx context.Context, q billing.UsageQuery) (int64, error) {
	in := &ddb.QueryInput{
		TableName:                 aws.String(s.table),
		KeyConditionExpression:    aws.String("#pk = :pk"),
		ExpressionAttributeNames:  map[string]string{"#pk": resources.BillingPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":pk": avS(UsagePartition(q.AccountID, q.Day))},
		Select:                    types.SelectCount,
	}
	var n int64
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return 0, translate(err, fmt.Sprintf("counting the usage of account %s on %s", q.AccountID, q.Day))
		}
		n += int64(out.Count)
		if in.ExclusiveStartKey = out.LastEvaluatedKey; len(in.ExclusiveStartKey) == 0 {
			return n, nil
		}
	}
}

// PutAccounts writes accounts, overwriting those with the same id.
func (s *BillingStore) PutAccounts(ctx context.Context, accounts []billing.Account) error {
	var errs []string
	items := make([]map[string]types.AttributeValue, 0, len(accounts))
	for i, a := range accounts {
		if a.ID == "" {
			errs = append(errs, fmt.Sprintf("account %d: no id", i+1))
			continue
		}
		if msg := checkSettings(a.BillingSettings); msg != "" {
			errs = append(errs, fmt.Sprintf("account %s: %s", a.ID, msg))
			continue
		}
		it := billingKey(accountPK(a.ID), accountSK)
		it[attrID] = avS(a.ID)
		putS(it, attrName, a.Name)
		putS(it, attrTimeZone, a.TimeZoneID)
		putS(it, attrCurrency, a.Currency)
		if m := encodeSettings(a.BillingSettings); m != nil {
			it[attrSettings] = m
		}
		items = append(items, it)
	}
	if err := invalid("accounts", errs); err != nil {
		return err
	}
	return s.batchPut(ctx, "accounts", items)
}

// PutCustomers writes customers, overwriting those with the same account and id.
func (s *BillingStore) PutCustomers(ctx context.Context, customers []billing.Customer) error {
	var errs []string
	items := make([]map[string]types.AttributeValue, 0, len(customers))
	for i, c := range customers {
		if c.ID == "" || c.AccountID == "" {
			errs = append(errs, fmt.Sprintf("customer %d: no id or account", i+1))
			continue
		}
		if msg := checkSettings(c.BillingSettings); msg != "" {
			errs = append(errs, fmt.Sprintf("customer %s: %s", c.ID, msg))
			continue
		}
		it := billingKey(accountPK(c.AccountID), customerPrefix+c.ID)
		it[attrID] = avS(c.ID)
		it[attrAccountID] = avS(c.AccountID)
		putS(it, attrParentID, c.ParentCustomerID)
		putS(it, attrName, c.Name)
		it[attrOverride] = avBool(c.OverrideBillingSettings)
		if m := encodeSettings(c.BillingSettings); m != nil {
			it[attrSettings] = m
		}
		items = append(items, it)
	}
	if err := invalid("customers", errs); err != nil {
		return err
	}
	return s.batchPut(ctx, "customers", items)
}

// PutUsage writes usage events into their account's UTC-day partitions. Every
// event is checked before anything is written; an event with the same id and
// time as a stored one replaces it.
func (s *BillingStore) PutUsage(ctx context.Context, events []billing.UsageEvent) error {
	var errs []string
	items := make([]map[string]types.AttributeValue, 0, len(events))
	for i, ev := range events {
		if msg := checkUsage(ev); msg != "" {
			errs = append(errs, fmt.Sprintf("usage %d (%s): %s", i+1, ev.ID, msg))
			continue
		}
		items = append(items, encodeUsage(ev))
	}
	if err := invalid("usage", errs); err != nil {
		return err
	}
	return s.batchPut(ctx, "usage", items)
}

func checkUsage(ev billing.UsageEvent) string {
	switch {
	case ev.ID == "" || ev.AccountID == "" || ev.CustomerID == "":
		return "id, account and customer are required"
	case ev.Time.IsZero():
		return "no time"
	case !ev.Item.Valid() || ev.Item == billing.ItemBase:
		return fmt.Sprintf("unknown item %q", ev.Item)
	case !billing.ValidDecimal(ev.RawQuantity) || !fitsNumber(ev.RawQuantity):
		return fmt.Sprintf("rawQuantity %q is not a non-negative decimal with at most 38 significant digits", ev.RawQuantity)
	case ev.InternationalCost != "" && (!billing.ValidDecimal(ev.InternationalCost) || !fitsNumber(ev.InternationalCost)):
		return fmt.Sprintf("internationalCost %q is not a non-negative decimal with at most 38 significant digits", ev.InternationalCost)
	}
	return ""
}

func checkSettings(bs billing.BillingSettings) string {
	for item, st := range bs {
		if !item.Valid() {
			return fmt.Sprintf("unknown item %q in billing settings", item)
		}
		for name, v := range map[string]string{settingBaseCost: st.BaseCost, settingMultiplier: st.RawUnitMultiplier, settingUnitCost: st.UnitCost, settingAllowance: st.Allowance} {
			if v != "" && !billing.ValidDecimal(v) {
				return fmt.Sprintf("%s.%s %q is not a non-negative decimal", item, name, v)
			}
		}
	}
	return ""
}

// invalid reports every bad record at once, so an import can show them all.
func invalid(what string, errs []string) error {
	if len(errs) == 0 {
		return nil
	}
	const shown = 20
	msg := strings.Join(errs[:min(len(errs), shown)], "; ")
	if len(errs) > shown {
		msg += fmt.Sprintf("; and %d more", len(errs)-shown)
	}
	return billing.Errorf(billing.EINVALID, "Nothing was written: %d invalid %s: %s", len(errs), what, msg)
}

// encodeSettings stores prices as strings in a map per item, so the decimal
// text is kept exactly as imported (numbers would be normalized).
func encodeSettings(bs billing.BillingSettings) types.AttributeValue {
	if len(bs) == 0 {
		return nil
	}
	m := map[string]types.AttributeValue{}
	for item, st := range bs {
		fields := map[string]types.AttributeValue{}
		putS(fields, settingBaseCost, st.BaseCost)
		putS(fields, settingMultiplier, st.RawUnitMultiplier)
		putS(fields, settingUnitCost, st.UnitCost)
		putS(fields, settingAllowance, st.Allowance)
		m[string(item)] = &types.AttributeValueMemberM{Value: fields}
	}
	return &types.AttributeValueMemberM{Value: m}
}

func decodeSettings(av types.AttributeValue) billing.BillingSettings {
	m, ok := av.(*types.AttributeValueMemberM)
	if !ok || len(m.Value) == 0 {
		return nil
	}
	bs := billing.BillingSettings{}
	for item, v := range m.Value {
		fields, ok := v.(*types.AttributeValueMemberM)
		if !ok {
			continue
		}
		bs[billing.Item(item)] = billing.ItemSettings{
			BaseCost:          getS(fields.Value, settingBaseCost),
			RawUnitMultiplier: getS(fields.Value, settingMultiplier),
			UnitCost:          getS(fields.Value, settingUnitCost),
			Allowance:         getS(fields.Value, settingAllowance),
		}
	}
	return bs
}
