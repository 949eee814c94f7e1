package ddbstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// SchedulesAPI is the part of the DynamoDB client ScheduleStore uses.
type SchedulesAPI interface {
	GetItem(ctx context.Context, in *ddb.GetItemInput, optFns ...func(*ddb.Options)) (*ddb.GetItemOutput, error)
	PutItem(ctx context.Context, in *ddb.PutItemInput, optFns ...func(*ddb.Options)) (*ddb.PutItemOutput, error)
	UpdateItem(ctx context.Context, in *ddb.UpdateItemInput, optFns ...func(*ddb.Options)) (*ddb.UpdateItemOutput, error)
	DeleteItem(ctx context.Context, in *ddb.DeleteItemInput, optFns ...func(*ddb.Options)) (*ddb.DeleteItemOutput, error)
	Query(ctx context.Context, in *ddb.QueryInput, optFns ...func(*ddb.Options)) (*ddb.QueryOutput, error)
}

// ScheduleStore is billing.ScheduleStore on the schedules table
// (resources.EnvSchedulesTable). The per-account limit is a map of slots on
// one item, changed by conditional updates (dynalite has no transactions):
// create takes its schedule's slot before the put and gives it back if the
// put fails; delete gives it back after the delete.
type ScheduleStore struct {
	client SchedulesAPI
	table  string
	o      Options
}

// NewScheduleStore returns a store on table.
func NewScheduleStore(client SchedulesAPI, table string, optFns ...func(*Options)) *ScheduleStore {
	return &ScheduleStore{client: client, table: table, o: newOptions(optFns)}
}

const (
	schedulePrefix      = "SCHEDULE#"
	scheduleCountPrefix = "SCHEDULECOUNT#"
	dueShard            = "DUE"
	attrSlots           = "slots" // schedule id -> unix time its slot was taken
	attrScheduleID      = "id"
	attrFrequency       = "frequency"
	attrDayOfMonth      = "dayOfMonth"
	attrDayOfWeek       = "dayOfWeek"
	attrHour            = "hour"
	attrMinute          = "minute"
	attrSchedZone       = "timeZoneId"
	attrIncludeIDs      = "includeCustomerIds"
	attrEmail           = "emailAddressToNotify"
	attrWebhook         = "webhookUrl"
	attrEnabled         = "enabled"
	attrNextRunAt       = "nextRunAt"
	attrLastRunAt       = "lastRunAt"
	attrLastReportID    = "lastReportId"
	attrDisabledReason  = "disabledReason"
	attrSchedScope      = "customerScope"
	attrSchedCreatedBy  = "createdBy"
	attrSchedCreated    = "dateCreated"
	attrSchedUpdated    = "dateUpdated"
)

func scheduleKey(id string) item { return item{resources.SchedulesPK: avS(schedulePrefix + id)} }

func scheduleCountKey(accountID string) item {
	return item{resources.SchedulesPK: avS(scheduleCountPrefix + accountID)}
}

func dueKey(s *billing.Schedule) string { return timeKey(s.NextRunAt) + "#" + s.ID }

func encodeSchedule(s *billing.Schedule) item {
	it := scheduleKey(s.ID)
	it[attrScheduleID] = avS(s.ID)
	it[resources.SchedulesByAccountPK] = avS(s.Spec.AccountID)
	it[resources.SchedulesByAccountSK] = avS(s.DateCreated.UTC().Format("2006-01-02T15:04:05.000000000Z") + "#" + s.ID)
	putS(it, attrSchedScope, s.CustomerScope)
	putS(it, attrSchedCreatedBy, s.CreatedBy)
	putTime(it, attrSchedCreated, s.DateCreated)
	putTime(it, attrSchedUpdated, s.DateUpdated)
	putTime(it, attrLastRunAt, s.LastRunAt)
	putS(it, attrLastReportID, s.LastReportID)
	for k, v := range specAttrs(s) {
		if v != nil {
			it[k] = v
		}
	}
	return it
}

// specAttrs are the attributes a replace overwrites; a nil value is one the
// replace removes.
func specAttrs(s *billing.Schedule) map[string]types.AttributeValue {
	sp := s.Spec
	opt := func(v string) types.AttributeValue {
		if v == "" {
			return nil
		}
		return avS(v)
	}
	m := map[string]types.AttributeValue{
		attrFrequency:            avS(string(sp.Frequency)),
		attrDayOfMonth:           avInt(int64(sp.DayOfMonth)),
		attrDayOfWeek:            avInt(int64(sp.DayOfWeek)),
		attrHour:                 avInt(int64(sp.Hour)),
		attrMinute:               avInt(int64(sp.Minute)),
		attrSchedZone:            opt(sp.TimeZoneID),
		attrIncludeIDs:           avBool(sp.IncludeCustomerIDs),
		attrEmail:                opt(sp.EmailAddressToNotify),
		attrWebhook:              opt(sp.WebhookURL),
		attrEnabled:              avBool(sp.Enabled),
		attrDisabledReason:       opt(s.DisabledReason),
		attrNextRunAt:            nil,
		resources.SchedulesDuePK: nil,
		resources.SchedulesDueSK: nil,
	}
	if sp.Enabled && !s.NextRunAt.IsZero() {
		m[attrNextRunAt] = avS(timeKey(s.NextRunAt))
		m[resources.SchedulesDuePK] = avS(dueShard)
		m[resources.SchedulesDueSK] = avS(dueKey(s))
	}
	return m
}

func decodeSchedule(it item) (*billing.Schedule, error) {
	num := func(name string) int { n, _ := strconv.Atoi(getN(it, name)); return n }
	s := &billing.Schedule{
		ID: getS(it, attrScheduleID),
		Spec: billing.ScheduleSpec{
			AccountID:            getS(it, resources.SchedulesByAccountPK),
			Frequency:            billing.Frequency(getS(it, attrFrequency)),
			DayOfMonth:           num(attrDayOfMonth),
			DayOfWeek:            time.Weekday(num(attrDayOfWeek)),
			Hour:                 num(attrHour),
			Minute:               num(attrMinute),
			TimeZoneID:           getS(it, attrSchedZone),
			IncludeCustomerIDs:   getBool(it, attrIncludeIDs),
			EmailAddressToNotify: getS(it, attrEmail),
			WebhookURL:           getS(it, attrWebhook),
			Enabled:              getBool(it, attrEnabled),
		},
		CustomerScope:  getS(it, attrSchedScope),
		CreatedBy:      getS(it, attrSchedCreatedBy),
		NextRunAt:      getTime(it, attrNextRunAt),
		LastRunAt:      getTime(it, attrLastRunAt),
		LastReportID:   getS(it, attrLastReportID),
		DisabledReason: getS(it, attrDisabledReason),
		DateCreated:    getTime(it, attrSchedCreated),
		DateUpdated:    getTime(it, attrSchedUpdated),
	}
	if s.ID == "" || s.Spec.AccountID == "" {
		return nil, billing.Errorf(billing.EINTERNAL, "A stored schedule has no id or account.")
	}
	return s, nil
}

func scheduleNotFound(id string) error {
	return billing.Errorf(billing.ENOTFOUND, "Schedule '%s' not found.", id)
}

// CreateSchedule implements billing.ScheduleStore.
func (s *ScheduleStore) CreateSchedule(ctx context.Context, sc *billing.Schedule, max int) error {
	if sc.ID == "" || sc.Spec.AccountID == "" || sc.DateCreated.IsZero() {
		return billing.Errorf(billing.EINVALID, "A new schedule needs an id, an account and a creation time.")
	}
	err := s.takeSlot(ctx, sc.Spec.AccountID, sc.ID, max)
	if isConflict(err) {
		// A slot may have been left behind (a release that failed after a
		// failed put or a delete): drop such leaks and try once more, so
		// that they cannot lock an account out.
		if fixed, rerr := s.repairSlots(ctx, sc.Spec.AccountID); rerr == nil && fixed {
			err = s.takeSlot(ctx, sc.Spec.AccountID, sc.ID, max)
		}
	}
	if isConflict(err) {
		return billing.WrapError(billing.ETOOMANY, err, "Account '%s' already has %d schedules, the most an account may; delete one first.", sc.Spec.AccountID, max)
	}
	if err != nil {
		return err
	}
	_, err = s.client.PutItem(ctx, &ddb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     encodeSchedule(sc),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.SchedulesPK},
	})
	if err == nil {
		return nil
	}
	err = translate(err, "creating schedule "+sc.ID)
	if !isConflict(err) {
		// On a conflict the id is another schedule's, whose slot this is.
		s.release(ctx, sc.Spec.AccountID, sc.ID)
	}
	if isConflict(err) {
		return billing.WrapError(billing.ECONFLICT, err, "A schedule with id %q already exists.", sc.ID)
	}
	return err
}

// slotGrace is how long a slot may be held without its schedule item before
// a create that finds the account full takes it for a leak. A create writes
// its item right after taking the slot, within a few bounded SDK attempts
// (seconds), so a slot this old without an item was left by a create or
// delete whose release failed.
const slotGrace = time.Minute

// ensureSlots makes the account's slot item hold a (possibly empty) map, so
// that takeSlot can set one entry of it.
func (s *ScheduleStore) ensureSlots(ctx context.Context, accountID string) error {
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       scheduleCountKey(accountID),
		UpdateExpression:          aws.String("SET #slots = if_not_exists(#slots, :empty)"),
		ExpressionAttributeNames:  map[string]string{"#slots": attrSlots},
		ExpressionAttributeValues: map[string]types.AttributeValue{":empty": &types.AttributeValueMemberM{Value: map[string]types.AttributeValue{}}},
	})
	return translate(err, "preparing the schedule slots of account "+accountID)
}

// takeSlot records schedule id in the account's slot map if the map has
// fewer than max entries (ECONFLICT otherwise). The map, not a counter, is
// the limit: each entry names its schedule and when it was taken, so a leak
// can be told from a create still in flight (repairSlots) and a repair never
// lets a concurrent create through over the limit.
func (s *ScheduleStore) takeSlot(ctx context.Context, accountID, id string, max int) error {
	if err := s.ensureSlots(ctx, accountID); err != nil {
		return err
	}
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       scheduleCountKey(accountID),
		UpdateExpression:          aws.String("SET #slots.#id = :now"),
		ConditionExpression:       aws.String("size(#slots) < :max OR attribute_exists(#slots.#id)"),
		ExpressionAttributeNames:  map[string]string{"#slots": attrSlots, "#id": id},
		ExpressionAttributeValues: map[string]types.AttributeValue{":now": avInt(s.o.now().Unix()), ":max": avInt(int64(max))},
	})
	return translate(err, "counting the schedules of account "+accountID)
}

// repairSlots drops the account's slots that have had no schedule item for
// longer than slotGrace, each with a condition on the time it read, so that
// a slot taken again meanwhile stays; fixed says whether it dropped any.
func (s *ScheduleStore) repairSlots(ctx context.Context, accountID string) (fixed bool, err error) {
	cur, err := s.client.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(s.table), Key: scheduleCountKey(accountID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, translate(err, "reading the schedule slots of account "+accountID)
	}
	slots, _ := cur.Item[attrSlots].(*types.AttributeValueMemberM)
	if slots == nil {
		return false, nil
	}
	cutoff := s.o.now().Add(-slotGrace).Unix()
	for id, v := range slots.Value {
		taken, _ := v.(*types.AttributeValueMemberN)
		if taken == nil {
			continue
		}
		if at, perr := strconv.ParseInt(taken.Value, 10, 64); perr != nil || at > cutoff {
			continue
		}
		if _, gerr := s.GetSchedule(ctx, id); billing.ErrorCode(gerr) != billing.ENOTFOUND {
			if gerr != nil {
				return fixed, gerr
			}
			continue
		}
		_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
			TableName:                 aws.String(s.table),
			Key:                       scheduleCountKey(accountID),
			UpdateExpression:          aws.String("REMOVE #slots.#id"),
			ConditionExpression:       aws.String("#slots.#id = :taken"),
			ExpressionAttributeNames:  map[string]string{"#slots": attrSlots, "#id": id},
			ExpressionAttributeValues: map[string]types.AttributeValue{":taken": taken},
		})
		if err = translate(err, "repairing the schedule slots of account "+accountID); isConflict(err) {
			continue // taken again meanwhile
		} else if err != nil {
			return fixed, err
		}
		fixed = true
		s.o.Logger.WarnContext(ctx, "released a schedule slot left without its schedule", "accountId", accountID, "scheduleId", id)
	}
	return fixed, nil
}

// release gives schedule id's slot back. A failure leaves the slot taken
// (the account may create one schedule fewer until repairSlots drops it),
// which is logged: never a second slot for a schedule.
func (s *ScheduleStore) release(ctx context.Context, accountID, id string) {
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      scheduleCountKey(accountID),
		UpdateExpression:         aws.String("REMOVE #slots.#id"),
		ExpressionAttributeNames: map[string]string{"#slots": attrSlots, "#id": id},
	})
	if err != nil {
		s.o.Logger.WarnContext(ctx, "releasing a schedule slot failed; it is dropped when the account is next full", "accountId", accountID, "scheduleId", id, "err", err)
	}
}

// GetSchedule implements billing.ScheduleStore.
func (s *ScheduleStore) GetSchedule(ctx context.Context, id string) (*billing.Schedule, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(s.table), Key: scheduleKey(id), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return nil, translate(err, "reading schedule "+id)
	}
	if out.Item == nil {
		return nil, scheduleNotFound(id)
	}
	return decodeSchedule(out.Item)
}

// ReplaceSchedule implements billing.ScheduleStore.
func (s *ScheduleStore) ReplaceSchedule(ctx context.Context, sc *billing.Schedule) error {
	names := map[string]string{"#pk": resources.SchedulesPK, "#updated": attrSchedUpdated}
	vals := map[string]types.AttributeValue{":updated": avS(timeKey(sc.DateUpdated))}
	sets, removes := []string{"#updated = :updated"}, []string(nil)
	i := 0
	for k, v := range specAttrs(sc) {
		n := "#a" + strconv.Itoa(i)
		i++
		names[n] = k
		if v == nil {
			removes = append(removes, n)
			continue
		}
		vals[":v"+n[2:]] = v
		sets = append(sets, n+" = :v"+n[2:])
	}
	expr := "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		expr += " REMOVE " + strings.Join(removes, ", ")
	}
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       scheduleKey(sc.ID),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	})
	if err = translate(err, "replacing schedule "+sc.ID); isConflict(err) {
		return scheduleNotFound(sc.ID)
	}
	return err
}

// DeleteSchedule implements billing.ScheduleStore.
func (s *ScheduleStore) DeleteSchedule(ctx context.Context, id string) error {
	out, err := s.client.DeleteItem(ctx, &ddb.DeleteItemInput{
		TableName:                aws.String(s.table),
		Key:                      scheduleKey(id),
		ConditionExpression:      aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.SchedulesPK},
		ReturnValues:             types.ReturnValueAllOld,
	})
	if err = translate(err, "deleting schedule "+id); isConflict(err) {
		return scheduleNotFound(id)
	}
	if err != nil {
		return err
	}
	s.release(ctx, getS(out.Attributes, resources.SchedulesByAccountPK), id)
	return nil
}

// DueSchedules implements billing.ScheduleStore: one Query of the sparse due
// index, up to now.
func (s *ScheduleStore) DueSchedules(ctx context.Context, now time.Time, limit int) ([]*billing.Schedule, error) {
	in := &ddb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(resources.SchedulesDue),
		KeyConditionExpression:   aws.String("#shard = :shard AND #due < :upto"),
		ExpressionAttributeNames: map[string]string{"#shard": resources.SchedulesDuePK, "#due": resources.SchedulesDueSK},
		// "#" sorts before every id character: <now>$ bounds all keys at now.
		ExpressionAttributeValues: map[string]types.AttributeValue{":shard": avS(dueShard), ":upto": avS(timeKey(now) + "$")},
	}
	var due []*billing.Schedule
	for len(due) < limit {
		in.Limit = aws.Int32(int32(limit - len(due)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, translate(err, "listing due schedules")
		}
		for _, it := range out.Items {
			sc, err := decodeSchedule(it)
			if err != nil {
				return nil, err
			}
			due = append(due, sc)
		}
		if in.ExclusiveStartKey = out.LastEvaluatedKey; len(in.ExclusiveStartKey) == 0 {
			break
		}
	}
	return due, nil
}

// AdvanceSchedule implements billing.ScheduleStore.
func (s *ScheduleStore) AdvanceSchedule(ctx context.Context, id string, from time.Time, a billing.ScheduleAdvance) error {
	names := map[string]string{"#next": attrNextRunAt, "#updated": attrSchedUpdated, "#pk": resources.SchedulesPK,
		"#shard": resources.SchedulesDuePK, "#due": resources.SchedulesDueSK}
	vals := map[string]types.AttributeValue{":updated": avS(timeKey(a.Now))}
	sets := []string{"#updated = :updated"}
	var removes []string
	cond := "attribute_exists(#pk) AND attribute_not_exists(#next)"
	if !from.IsZero() {
		cond = "attribute_exists(#pk) AND #next = :from"
		vals[":from"] = avS(timeKey(from))
	}
	if a.NextRunAt.IsZero() {
		names["#enabled"], names["#reason"] = attrEnabled, attrDisabledReason
		vals[":false"], vals[":reason"] = avBool(false), avS(a.DisabledReason)
		sets = append(sets, "#enabled = :false", "#reason = :reason")
		removes = append(removes, "#next", "#shard", "#due")
	} else {
		vals[":next"], vals[":shard"], vals[":due"] = avS(timeKey(a.NextRunAt)), avS(dueShard), avS(timeKey(a.NextRunAt)+"#"+id)
		sets = append(sets, "#next = :next", "#shard = :shard", "#due = :due")
	}
	if !a.LastRunAt.IsZero() {
		names["#last"], vals[":last"] = attrLastRunAt, avS(timeKey(a.LastRunAt))
		sets = append(sets, "#last = :last")
	}
	if a.LastReportID != "" {
		names["#report"], vals[":report"] = attrLastReportID, avS(a.LastReportID)
		sets = append(sets, "#report = :report")
	}
	expr := "SET " + strings.Join(sets, ", ")
	if len(removes) > 0 {
		expr += " REMOVE " + strings.Join(removes, ", ")
	}
	in := &ddb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       scheduleKey(id),
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	}
	prune(in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.UpdateExpression, in.ConditionExpression)
	_, err := s.client.UpdateItem(ctx, in)
	if err = translate(err, "advancing schedule "+id); !isConflict(err) {
		return err
	}
	if _, gerr := s.GetSchedule(ctx, id); billing.ErrorCode(gerr) == billing.ENOTFOUND {
		return gerr
	}
	return billing.WrapError(billing.ECONFLICT, err, "Schedule '%s' was advanced meanwhile.", id)
}

// scheduleCursor is a byAccount LastEvaluatedKey.
type scheduleCursor struct {
	PK         string `json:"p"`
	AccountID  string `json:"a"`
	CreatedKey string `json:"c"`
}

// decodeScheduleCursor is the start key f.Cursor names, nil for the first
// page; a cursor of another account, or not one of this store's, is refused.
func decodeScheduleCursor(f billing.ScheduleFilter) (item, error) {
	if f.Cursor == "" {
		return nil, nil
	}
	var c scheduleCursor
	b, err := base64.RawURLEncoding.DecodeString(f.Cursor)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.AccountID != f.AccountID || !strings.HasPrefix(c.PK, schedulePrefix) || !createdKeyPattern.MatchString(c.CreatedKey) {
		return nil, billing.InvalidNextToken(err)
	}
	return item{resources.SchedulesPK: avS(c.PK), resources.SchedulesByAccountPK: avS(c.AccountID), resources.SchedulesByAccountSK: avS(c.CreatedKey)}, nil
}

// ListSchedules implements billing.ScheduleStore: oldest first, so that a
// new schedule never shifts the pages already read.
func (s *ScheduleStore) ListSchedules(ctx context.Context, f billing.ScheduleFilter) (billing.SchedulePage, error) {
	limit := billing.ListLimit(f.Limit)
	in := &ddb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(resources.SchedulesByAccount),
		KeyConditionExpression:    aws.String("#account = :account"),
		ExpressionAttributeNames:  map[string]string{"#account": resources.SchedulesByAccountPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":account": avS(f.AccountID)},
	}
	if f.CustomerScope != "" {
		in.FilterExpression = aws.String("#scope = :scope")
		in.ExpressionAttributeNames["#scope"] = attrSchedScope
		in.ExpressionAttributeValues[":scope"] = avS(f.CustomerScope)
	}
	var err error
	if in.ExclusiveStartKey, err = decodeScheduleCursor(f); err != nil {
		return billing.SchedulePage{}, err
	}
	var page billing.SchedulePage
	for {
		// An account has at most 20 schedules: one read of them all is cheap,
		// and a filter then never leaves a page short.
		in.Limit = aws.Int32(int32(max(limit-len(page.Schedules), 25)))
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return billing.SchedulePage{}, translate(err, "listing the schedules of account "+f.AccountID)
		}
		for i, it := range out.Items {
			sc, err := decodeSchedule(it)
			if err != nil {
				return billing.SchedulePage{}, err
			}
			page.Schedules = append(page.Schedules, sc)
			if len(page.Schedules) == limit {
				if i < len(out.Items)-1 || len(out.LastEvaluatedKey) > 0 {
					b, _ := json.Marshal(scheduleCursor{PK: getS(it, resources.SchedulesPK), AccountID: f.AccountID, CreatedKey: getS(it, resources.SchedulesByAccountSK)})
					page.Cursor = base64.RawURLEncoding.EncodeToString(b)
				}
				return page, nil
			}
		}
		if in.ExclusiveStartKey = out.LastEvaluatedKey; len(in.ExclusiveStartKey) == 0 {
			return page, nil
		}
	}
}
