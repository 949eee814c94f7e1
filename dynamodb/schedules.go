package dynamodb

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
// (resources.EnvSchedulesTable). The per-account limit is a counter item
// changed by conditional updates (dynalite has no transactions): create
// takes a slot before the put and gives it back if the put fails; delete
// gives it back after the delete.
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
	attrCount           = "n"
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
		// The counter may be too high (a release that failed after a
		// failed put or a delete): recount and try once more, so that such
		// a leak cannot lock an account out.
		if fixed, rerr := s.recount(ctx, sc.Spec.AccountID); rerr == nil && fixed {
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
		s.settle(ctx, sc.Spec.AccountID, sc.ID)
		return nil
	}
	err = translate(err, "creating schedule "+sc.ID)
	s.release(ctx, sc.Spec.AccountID, sc.ID)
	if isConflict(err) {
		return billing.WrapError(billing.ECONFLICT, err, "A schedule with id %q already exists.", sc.ID)
	}
	return err
}

// takeSlot counts one more schedule of the account if it has fewer than max
// (ECONFLICT otherwise), and marks the create of id pending on the counter
// item until its schedule is written (settle), so that a recount meanwhile
// counts it.
func (s *ScheduleStore) takeSlot(ctx context.Context, accountID, id string, max int) error {
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       scheduleCountKey(accountID),
		UpdateExpression:          aws.String("ADD #n :one SET #p = :now"),
		ConditionExpression:       aws.String("attribute_not_exists(#n) OR #n < :max"),
		ExpressionAttributeNames:  map[string]string{"#n": attrCount, "#p": pendingAttr(id)},
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": avInt(1), ":max": avInt(int64(max)), ":now": avInt(time.Now().Unix())},
	})
	return translate(err, "counting the schedules of account "+accountID)
}

// pendingAttr is the counter item's mark of a create of schedule id in
// flight: the Unix time its slot was taken.
func pendingAttr(id string) string { return pendingPrefix + id }

const pendingPrefix = "pending:"

// pendingWindow is how long a pending mark counts: longer than any create
// takes between its slot and its item (the API answers within
// resources.APIRequestBudget); an older mark is a create that died, whose
// slot a recount may take back.
const pendingWindow = time.Minute

// settle drops the pending mark of a create whose schedule is written. A
// failure leaves the mark until it is older than pendingWindow: until then
// a recount counts the schedule twice, which only delays a repair.
func (s *ScheduleStore) settle(ctx context.Context, accountID, id string) {
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                aws.String(s.table),
		Key:                      scheduleCountKey(accountID),
		UpdateExpression:         aws.String("REMOVE #p"),
		ExpressionAttributeNames: map[string]string{"#p": pendingAttr(id)},
	})
	if err != nil {
		s.o.Logger.WarnContext(ctx, "dropping a schedule's pending mark failed; it expires by itself", "accountId", accountID, "scheduleId", id, "err", err)
	}
}

// pendingCreates counts the fresh pending marks of a counter item.
func pendingCreates(it item, now time.Time) int64 {
	var n int64
	for attr := range it {
		if strings.HasPrefix(attr, pendingPrefix) && now.Sub(time.Unix(getInt(it, attr), 0)) < pendingWindow {
			n++
		}
	}
	return n
}

// recount sets the account's counter to its real number of schedules (a
// Query of byAccount) if the counter is higher, with a condition on the
// value it read so that a concurrent create or delete is not overwritten;
// fixed says whether it lowered the counter. A create that took its slot but
// has not written its item yet is counted by its pending mark (takeSlot), so
// concurrent creates never get the account over the limit.
func (s *ScheduleStore) recount(ctx context.Context, accountID string) (fixed bool, err error) {
	cur, err := s.client.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(s.table), Key: scheduleCountKey(accountID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, translate(err, "reading the schedule count of account "+accountID)
	}
	counted := getInt(cur.Item, attrCount)
	inFlight := pendingCreates(cur.Item, time.Now())
	in := &ddb.QueryInput{
		TableName:                 aws.String(s.table),
		IndexName:                 aws.String(resources.SchedulesByAccount),
		KeyConditionExpression:    aws.String("#account = :account"),
		ExpressionAttributeNames:  map[string]string{"#account": resources.SchedulesByAccountPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{":account": avS(accountID)},
		Select:                    types.SelectCount,
	}
	var real int64
	for {
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return false, translate(err, "counting the schedules of account "+accountID)
		}
		real += int64(out.Count)
		if in.ExclusiveStartKey = out.LastEvaluatedKey; len(in.ExclusiveStartKey) == 0 {
			break
		}
	}
	if real += inFlight; real >= counted {
		return false, nil
	}
	_, err = s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       scheduleCountKey(accountID),
		UpdateExpression:          aws.String("SET #n = :real"),
		ConditionExpression:       aws.String("#n = :counted"),
		ExpressionAttributeNames:  map[string]string{"#n": attrCount},
		ExpressionAttributeValues: map[string]types.AttributeValue{":real": avInt(real), ":counted": avInt(counted)},
	})
	if err = translate(err, "repairing the schedule count of account "+accountID); err != nil {
		return false, err
	}
	s.o.Logger.WarnContext(ctx, "repaired an account's schedule count left too high", "accountId", accountID, "counted", counted, "real", real)
	return true, nil
}

// release gives an account's schedule slot back, with the pending mark of
// the failed create of id ("" for a delete). A failure leaves the count one
// too high (the account may create one schedule fewer), which is logged:
// never a second slot for a schedule.
func (s *ScheduleStore) release(ctx context.Context, accountID, id string) {
	in := &ddb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       scheduleCountKey(accountID),
		UpdateExpression:          aws.String("ADD #n :minus"),
		ConditionExpression:       aws.String("#n > :zero"),
		ExpressionAttributeNames:  map[string]string{"#n": attrCount},
		ExpressionAttributeValues: map[string]types.AttributeValue{":minus": avInt(-1), ":zero": avInt(0)},
	}
	if id != "" {
		in.UpdateExpression = aws.String("ADD #n :minus REMOVE #p")
		in.ExpressionAttributeNames["#p"] = pendingAttr(id)
	}
	_, err := s.client.UpdateItem(ctx, in)
	if err != nil {
		s.o.Logger.WarnContext(ctx, "releasing a schedule slot failed; the account's count stays one too high", "accountId", accountID, "err", err)
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
	s.release(ctx, getS(out.Attributes, resources.SchedulesByAccountPK), "")
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
