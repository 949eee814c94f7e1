package ddbstore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// ReportStore keeps reports, idempotency records and active-report sets in the
// reports table. It implements billing.ReportStore and billing.IdempotencyStore.
type ReportStore struct {
	client ReportsAPI
	table  string
	opts   Options
}

var (
	_ billing.ReportStore      = (*ReportStore)(nil)
	_ billing.IdempotencyStore = (*ReportStore)(nil)
)

// NewReportStore returns a store on table (resources.EnvReportsTable).
func NewReportStore(client ReportsAPI, table string, optFns ...func(*Options)) *ReportStore {
	return &ReportStore{client: client, table: table, opts: newOptions(optFns)}
}

// Expression placeholders shared by the state-machine writes.
var statusValues = map[string]types.AttributeValue{
	":queued":    avS(string(billing.ReportQueued)),
	":running":   avS(string(billing.ReportRunning)),
	":completed": avS(string(billing.ReportCompleted)),
	":error":     avS(string(billing.ReportError)),
}

func withStatusValues(vals map[string]types.AttributeValue) map[string]types.AttributeValue {
	for k, v := range statusValues {
		vals[k] = v
	}
	return vals
}

// CreateReport reserves an active slot for r's account (and, for a
// Customer-role report, in the account's Customer-role set and its caller's
// set), then writes r if its id is unused. Without transactions the two writes
// are ordered so that a crash in between leaves at worst a reserved slot
// without a report, which ReconcileActive releases; it never leaves a report
// that escaped a limit. When a set is full, slots still held by finished
// reports (a release that failed) are freed first. A zero r.DateUpdated is set
// to r.DateCreated.
func (s *ReportStore) CreateReport(ctx context.Context, r *billing.Report, limits billing.SlotLimits) error {
	if r.ID == "" || r.AccountID == "" || r.Status != billing.ReportQueued || r.DateCreated.IsZero() {
		return billing.Errorf(billing.EINVALID, "A new report needs an id, an account, status Queued and a creation time.")
	}
	if r.DateUpdated.IsZero() {
		r.DateUpdated = r.DateCreated
	}
	reserved, err := s.reserveSlot(ctx, r, limits)
	if isConflict(err) {
		// A set is full, but it may hold slots that FinishReport could not
		// release (DynamoDB failed right after the final write). Nothing else
		// frees those unless the sweep happens to reconcile this account, so
		// they are dropped here and the reservation tried once more.
		if freed, ferr := s.freeFinishedSlots(ctx, r.AccountID); ferr == nil && freed {
			reserved, err = s.reserveSlot(ctx, r, limits)
		}
	}
	if err != nil {
		if isConflict(err) {
			return s.refusal(ctx, r, limits, err)
		}
		return err
	}

	_, err = s.client.PutItem(ctx, &ddb.PutItemInput{
		TableName:                aws.String(s.table),
		Item:                     encodeReport(r),
		ConditionExpression:      aws.String("attribute_not_exists(#pk)"),
		ExpressionAttributeNames: map[string]string{"#pk": resources.ReportsPK},
	})
	if err == nil {
		return nil
	}
	err = translate(err, "creating report "+r.ID)
	if reserved && !s.reportExists(ctx, r.ID) {
		s.releaseSlot(ctx, r)
	}
	if isConflict(err) {
		return billing.WrapError(billing.ECONFLICT, err, "A report with id %q already exists.", r.ID)
	}
	return err
}

// Sets of the ACTIVE#<accountId> item besides attrActive (all reports): the
// Customer-role reports of the account, and one set per Customer-role caller
// named after a hash of its subject (a subject is arbitrary text, an attribute
// name is not; it goes through ExpressionAttributeNames all the same). A set
// that becomes empty disappears, so the item does not grow with callers.
const (
	attrCustomerActive = "customerActive"
	callerActivePrefix = "callerActive_"
)

func callerActiveAttr(subject string) string {
	sum := sha256.Sum256([]byte(subject))
	return callerActivePrefix + hex.EncodeToString(sum[:16])
}

// slotSets are the sets of the active item that hold r's id while r is
// Queued or Running, each with its limit.
func slotSets(r *billing.Report, limits billing.SlotLimits) []slotSet {
	sets := []slotSet{{attrActive, limits.Account}}
	if r.CustomerRole() {
		sets = append(sets, slotSet{attrCustomerActive, limits.CustomerRoles}, slotSet{callerActiveAttr(r.CreatedBy), limits.PerCustomer})
	}
	return sets
}

type slotSet struct {
	attr  string
	limit int
}

// isSlotSet tells the active item's id sets from its key.
func isSlotSet(attr string) bool {
	return attr == attrActive || attr == attrCustomerActive || strings.HasPrefix(attr, callerActivePrefix)
}

// reserveSlot adds r's id to each of its sets in one conditional UpdateItem
// if every set has room (so the limits hold together under concurrency).
// reserved is false when the id was already in the account's set: that slot
// belongs to an existing report with this id, and must not be undone by this
// call. A full set is ECONFLICT.
func (s *ReportStore) reserveSlot(ctx context.Context, r *billing.Report, limits billing.SlotLimits) (reserved bool, err error) {
	names := map[string]string{}
	vals := map[string]types.AttributeValue{":ids": avSS(r.ID), ":id": avS(r.ID)}
	var adds, conds []string
	for i, set := range slotSets(r, limits) {
		n := fmt.Sprintf("#s%d", i)
		names[n] = set.attr
		adds = append(adds, n+" :ids")
		if set.limit > 0 {
			m := fmt.Sprintf(":max%d", i)
			vals[m] = avInt(int64(set.limit))
			conds = append(conds, fmt.Sprintf("(attribute_not_exists(%[1]s) OR size(%[1]s) < %[2]s OR contains(%[1]s, :id))", n, m))
		}
	}
	in := &ddb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       activeKey(r.AccountID),
		UpdateExpression:          aws.String("ADD " + strings.Join(adds, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
		ReturnValues:              types.ReturnValueUpdatedOld,
	}
	if len(conds) > 0 {
		in.ConditionExpression = aws.String(strings.Join(conds, " AND "))
	}
	prune(in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.UpdateExpression, in.ConditionExpression)
	old, err := s.client.UpdateItem(ctx, in)
	if err != nil {
		return false, translate(err, "reserving an active-report slot")
	}
	return !slices.Contains(getSS(old.Attributes, attrActive), r.ID), nil
}

// refusal explains a reservation that found a set full: the ETOOMANY error of
// the first limit the account's current sets hit (billing.SlotLimits.Refusal).
// If they have room again by now (a report finished meanwhile), or cannot be
// read, it names the account's limit; the caller may simply retry.
func (s *ReportStore) refusal(ctx context.Context, r *billing.Report, limits billing.SlotLimits, cause error) error {
	var e *billing.Error
	if out, err := s.client.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(s.table), Key: activeKey(r.AccountID), ConsistentRead: aws.Bool(true)}); err == nil {
		e = limits.Refusal(r.AccountID, len(getSS(out.Item, attrActive)), len(getSS(out.Item, attrCustomerActive)),
			len(getSS(out.Item, callerActiveAttr(r.CreatedBy))), r.CustomerRole())
	}
	if e == nil {
		e = limits.Refusal(r.AccountID, limits.Account, 0, 0, false)
	}
	e.Err = cause
	return e
}

// freeFinishedSlots drops from the account's sets the ids whose report is
// final, each confirmed by a strongly consistent read, and says whether it
// dropped any. A final report never becomes active again, so this is safe
// beside concurrent creates. Ids without a report are left alone: they may be
// a concurrent CreateReport between its two writes (ReconcileActive, run by
// the sweep, handles those with a re-check). At most one read per slot, and
// only when a set is at its limit.
func (s *ReportStore) freeFinishedSlots(ctx context.Context, accountID string) (bool, error) {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(s.table), Key: activeKey(accountID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return false, translate(err, "reading the active reports of account "+accountID)
	}
	sets := slotMembers(out.Item)
	finished := map[string][]string{}
	var ids []string
	for _, id := range allIDs(sets) {
		r, err := s.GetReport(ctx, id)
		if err != nil {
			if billing.ErrorCode(err) == billing.ENOTFOUND {
				continue
			}
			return false, err
		}
		if r.Status.Final() {
			ids = append(ids, id)
			for attr, members := range sets {
				if members[id] {
					finished[attr] = append(finished[attr], id)
				}
			}
		}
	}
	if len(ids) == 0 {
		return false, nil
	}
	if err := s.changeSets(ctx, accountID, "DELETE", finished); err != nil {
		return false, err
	}
	s.opts.Logger.WarnContext(ctx, "released active slots of finished reports", "accountId", accountID, "reportIds", ids)
	return true, nil
}

// slotMembers reads the id sets of an active item: attribute -> ids.
func slotMembers(it item) map[string]map[string]bool {
	sets := map[string]map[string]bool{}
	for attr := range it {
		if !isSlotSet(attr) {
			continue
		}
		members := map[string]bool{}
		for _, id := range getSS(it, attr) {
			members[id] = true
		}
		sets[attr] = members
	}
	return sets
}

// allIDs is the sorted union of the sets' ids.
func allIDs(sets map[string]map[string]bool) []string {
	var ids []string
	for _, members := range sets {
		for id := range members {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// reportExists tells whether a failed PutItem may have written after all (a
// timeout after the write); when unsure it says yes, leaving the slot reserved
// for ReconcileActive rather than risking a report over the limit.
func (s *ReportStore) reportExists(ctx context.Context, id string) bool {
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName: aws.String(s.table), Key: reportKey(id), ConsistentRead: aws.Bool(true),
		ProjectionExpression: aws.String("#pk"), ExpressionAttributeNames: map[string]string{"#pk": resources.ReportsPK},
	})
	return err != nil || out.Item != nil
}

// releaseSlot drops r's id from every set that holds it, in one write.
func (s *ReportStore) releaseSlot(ctx context.Context, r *billing.Report) {
	sets := map[string][]string{}
	for _, set := range slotSets(r, billing.SlotLimits{}) {
		sets[set.attr] = []string{r.ID}
	}
	if err := s.changeSets(ctx, r.AccountID, "DELETE", sets); err != nil {
		s.opts.Logger.WarnContext(ctx, "could not release an active-report slot; ReconcileActive will",
			"accountId", r.AccountID, "reportId", r.ID, "error", err)
	}
}

// GetReport reads a report with a strongly consistent read.
func (s *ReportStore) GetReport(ctx context.Context, id string) (*billing.Report, error) {
	if id == "" {
		return nil, billing.Errorf(billing.ENOTFOUND, "Report not found.")
	}
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{
		TableName: aws.String(s.table), Key: reportKey(id), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return nil, translate(err, "reading report "+id)
	}
	if out.Item == nil {
		return nil, billing.Errorf(billing.ENOTFOUND, "Report '%s' not found.", id)
	}
	return decodeReport(out.Item)
}

// update runs a conditional UpdateItem on report id and returns the new item.
// A failed condition is ENOTFOUND when the report does not exist, else ECONFLICT.
func (s *ReportStore) update(ctx context.Context, id, doing string, in *ddb.UpdateItemInput) (*billing.Report, error) {
	in.TableName = aws.String(s.table)
	in.Key = reportKey(id)
	in.ReturnValues = types.ReturnValueAllNew
	if in.ExpressionAttributeNames == nil {
		in.ExpressionAttributeNames = map[string]string{}
	}
	in.ExpressionAttributeNames["#pk"] = resources.ReportsPK
	in.ConditionExpression = aws.String("attribute_exists(#pk) AND (" + aws.ToString(in.ConditionExpression) + ")")
	prune(in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.UpdateExpression, in.ConditionExpression)
	out, err := s.client.UpdateItem(ctx, in)
	if err != nil {
		err = translate(err, doing)
		if isConflict(err) {
			if _, getErr := s.GetReport(ctx, id); billing.ErrorCode(getErr) == billing.ENOTFOUND {
				return nil, getErr
			}
		}
		return nil, err
	}
	return decodeReport(out.Attributes)
}

// SetJobID records the queue message id. It also accepts a report the worker
// already moved to Running (the worker can be faster than the submitter), but
// never a final one.
func (s *ReportStore) SetJobID(ctx context.Context, id, jobID string, now time.Time) error {
	_, err := s.update(ctx, id, "setting the job id of report "+id, &ddb.UpdateItemInput{
		UpdateExpression:         aws.String("SET #jobId = :jobId, #dateUpdated = :now, #updatedKey = :updatedKey"),
		ConditionExpression:      aws.String("#status IN (:queued, :running)"),
		ExpressionAttributeNames: map[string]string{"#jobId": attrJobID, "#dateUpdated": attrDateUpdated, "#updatedKey": resources.ReportsByStatusSK, "#status": attrStatus},
		ExpressionAttributeValues: withStatusValues(map[string]types.AttributeValue{
			":jobId": avS(jobID), ":now": avS(timeKey(now)), ":updatedKey": avS(timeIDKey(now, id)),
		}),
	})
	return err
}

// AcquireLease moves a Queued report, or a Running one whose lease expired, to
// Running with the next attempt number.
func (s *ReportStore) AcquireLease(ctx context.Context, id string, lease billing.Lease) (*billing.Report, error) {
	in := &ddb.UpdateItemInput{
		UpdateExpression: aws.String("SET #status = :running, #openStatus = :running, #attempt = if_not_exists(#attempt, :zero) + :one, " +
			"#leaseExpires = :expires, #dateUpdated = :now, #updatedKey = :updatedKey" + setIfNotEmpty(lease.Server, ", #server = :server")),
		ConditionExpression: aws.String("#status = :queued OR (#status = :running AND (attribute_not_exists(#leaseExpires) OR #leaseExpires < :now))"),
		ExpressionAttributeNames: map[string]string{
			"#status": attrStatus, "#openStatus": resources.ReportsByStatusPK, "#attempt": attrAttempt,
			"#leaseExpires": attrLeaseExpires, "#dateUpdated": attrDateUpdated, "#updatedKey": resources.ReportsByStatusSK,
		},
		ExpressionAttributeValues: withStatusValues(map[string]types.AttributeValue{
			":zero": avInt(0), ":one": avInt(1),
			":expires": avS(timeKey(lease.Expires)), ":now": avS(timeKey(lease.Now)),
			":updatedKey": avS(timeIDKey(lease.Now, id)),
		}),
	}
	if lease.Server != "" {
		in.ExpressionAttributeNames["#server"] = attrServer
		in.ExpressionAttributeValues[":server"] = avS(lease.Server)
	}
	return s.update(ctx, id, "acquiring the lease of report "+id, in)
}

func setIfNotEmpty(v, clause string) string {
	if v == "" {
		return ""
	}
	return clause
}

// UpdateProgress sets the status message and extends the lease of the attempt
// that holds it.
func (s *ReportStore) UpdateProgress(ctx context.Context, id string, attempt int, message string, now, leaseExpires time.Time) error {
	_, err := s.update(ctx, id, "updating the progress of report "+id, &ddb.UpdateItemInput{
		UpdateExpression:    aws.String("SET #statusMessage = :message, #leaseExpires = :expires, #dateUpdated = :now, #updatedKey = :updatedKey"),
		ConditionExpression: aws.String("#status = :running AND #attempt = :attempt"),
		ExpressionAttributeNames: map[string]string{
			"#statusMessage": attrStatusMessage, "#leaseExpires": attrLeaseExpires, "#dateUpdated": attrDateUpdated,
			"#updatedKey": resources.ReportsByStatusSK, "#status": attrStatus, "#attempt": attrAttempt,
		},
		ExpressionAttributeValues: withStatusValues(map[string]types.AttributeValue{
			":message": avS(message), ":expires": avS(timeKey(leaseExpires)), ":now": avS(timeKey(now)),
			":updatedKey": avS(timeIDKey(now, id)), ":attempt": avInt(int64(attempt)),
		}),
	})
	return err
}

// FinishReport moves a report to its final status, drops it from the byStatus
// index and releases its account's active slot.
func (s *ReportStore) FinishReport(ctx context.Context, id string, attempt int, out billing.Outcome) (*billing.Report, error) {
	if !out.Status.Final() {
		return nil, billing.Errorf(billing.EINVALID, "A report can only finish as Completed or Error, not %q.", out.Status)
	}
	names := map[string]string{
		"#status": attrStatus, "#statusMessage": attrStatusMessage, "#dateUpdated": attrDateUpdated,
		"#openStatus": resources.ReportsByStatusPK, "#updatedKey": resources.ReportsByStatusSK, "#leaseExpires": attrLeaseExpires,
	}
	vals := withStatusValues(map[string]types.AttributeValue{
		":final": avS(string(out.Status)), ":message": avS(out.StatusMessage), ":now": avS(timeKey(out.Now)),
	})
	set := "SET #status = :final, #statusMessage = :message, #dateUpdated = :now"
	addSet := func(attr, placeholder string, v types.AttributeValue) {
		names["#"+attr] = attr
		vals[placeholder] = v
		set += ", #" + attr + " = " + placeholder
	}
	if out.ObjectKey != "" {
		addSet(attrObjectKey, ":objectKey", avS(out.ObjectKey))
	}
	if out.RowCount != 0 {
		addSet(attrRowCount, ":rowCount", avInt(int64(out.RowCount)))
	}
	if out.ByteSize != 0 {
		addSet(attrByteSize, ":byteSize", avInt(out.ByteSize))
	}
	if out.GrandTotal != "" {
		addSet(attrGrandTotal, ":grandTotal", avS(out.GrandTotal))
	}
	if out.Shards > 0 {
		addSet(attrShardCount, ":shardCount", avInt(int64(out.Shards)))
	}
	cond := "#status IN (:queued, :running)"
	if attempt > 0 {
		cond = "#status = :running AND #attempt = :attempt"
		names["#attempt"] = attrAttempt
		vals[":attempt"] = avInt(int64(attempt))
	}
	r, err := s.update(ctx, id, "finishing report "+id, &ddb.UpdateItemInput{
		UpdateExpression:          aws.String(set + " REMOVE #openStatus, #updatedKey, #leaseExpires"),
		ConditionExpression:       aws.String(cond),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	})
	if err != nil {
		return nil, err
	}
	s.releaseSlot(ctx, r)
	return r, nil
}

// ClaimNotification marks a final report's notification as claimed, once.
func (s *ReportStore) ClaimNotification(ctx context.Context, id string, now time.Time) error {
	_, err := s.update(ctx, id, "claiming the notification of report "+id, &ddb.UpdateItemInput{
		UpdateExpression:          aws.String("SET #notifiedAt = :now"),
		ConditionExpression:       aws.String("attribute_not_exists(#notifiedAt) AND #status IN (:completed, :error)"),
		ExpressionAttributeNames:  map[string]string{"#notifiedAt": attrNotifiedAt, "#status": attrStatus},
		ExpressionAttributeValues: withStatusValues(map[string]types.AttributeValue{":now": avS(timeKey(now))}),
	})
	return err
}

// RecordNotification stores the outcome of the email and the webhook; an empty
// result leaves the stored one as it is.
func (s *ReportStore) RecordNotification(ctx context.Context, id string, emailResult, webhookResult string, now time.Time) error {
	names := map[string]string{}
	vals := map[string]types.AttributeValue{}
	var sets []string
	if emailResult != "" {
		names["#notifyResult"], vals[":email"] = attrNotifyResult, avS(emailResult)
		sets = append(sets, "#notifyResult = :email")
	}
	if webhookResult != "" {
		names["#webhookResult"], vals[":webhook"] = attrWebhookResult, avS(webhookResult)
		sets = append(sets, "#webhookResult = :webhook")
	}
	if len(sets) == 0 {
		_, err := s.GetReport(ctx, id)
		return err
	}
	// notifiedAt is set by the claim; keep the first claim time, fill it if a
	// caller records without claiming.
	names["#notifiedAt"], vals[":now"] = attrNotifiedAt, avS(timeKey(now))
	sets = append(sets, "#notifiedAt = if_not_exists(#notifiedAt, :now)")
	expr := "SET " + sets[0]
	for _, s := range sets[1:] {
		expr += ", " + s
	}
	_, err := s.update(ctx, id, "recording the notification of report "+id, &ddb.UpdateItemInput{
		UpdateExpression:          aws.String(expr),
		ConditionExpression:       aws.String("attribute_exists(#pk)"),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	})
	return err
}

// StaleReports lists reports in a non-final status untouched since cutoff,
// oldest first, from the sparse byStatus index. Items that cannot be decoded
// are logged and skipped.
func (s *ReportStore) StaleReports(ctx context.Context, status billing.ReportStatus, cutoff time.Time, limit int) ([]*billing.Report, error) {
	if status != billing.ReportQueued && status != billing.ReportRunning {
		return nil, billing.Errorf(billing.EINVALID, "Only Queued or Running reports can be stale, not %q.", status)
	}
	if limit <= 0 {
		return nil, nil
	}
	var reports []*billing.Report
	var start map[string]types.AttributeValue
	for {
		out, err := s.client.Query(ctx, &ddb.QueryInput{
			TableName:                aws.String(s.table),
			IndexName:                aws.String(resources.ReportsByStatus),
			KeyConditionExpression:   aws.String("#openStatus = :status AND #updatedKey < :cutoff"),
			ExpressionAttributeNames: map[string]string{"#openStatus": resources.ReportsByStatusPK, "#updatedKey": resources.ReportsByStatusSK},
			ExpressionAttributeValues: map[string]types.AttributeValue{
				":status": avS(string(status)), ":cutoff": avS(timeKey(cutoff)),
			},
			Limit:             aws.Int32(int32(min(limit-len(reports), 1000))),
			ExclusiveStartKey: start,
		})
		if err != nil {
			return nil, translate(err, "listing stale reports")
		}
		for _, it := range out.Items {
			r, err := decodeReport(it)
			if err != nil {
				// One item a bug left unreadable must not hide every other
				// stale report from the sweep; ops find it in the logs.
				s.opts.Logger.ErrorContext(ctx, "skipping an undecodable report in the status index",
					"pk", getS(it, resources.ReportsPK), "error", err)
				continue
			}
			reports = append(reports, r)
		}
		start = out.LastEvaluatedKey
		if len(start) == 0 || len(reports) >= limit {
			return reports, nil
		}
	}
}

// ReconcileActive makes the account's sets equal to its reports that are
// really Queued or Running: the active set, and for Customer-role reports the
// Customer-role set and their caller's set. Every change is confirmed with a
// strongly consistent read of the report first, and an id removed because its
// report did not exist is re-added if that report appears meanwhile (a
// CreateReport between its two writes).
func (s *ReportStore) ReconcileActive(ctx context.Context, accountID string) error {
	if accountID == "" {
		return billing.Errorf(billing.EINVALID, "ReconcileActive needs an account.")
	}
	out, err := s.client.GetItem(ctx, &ddb.GetItemInput{TableName: aws.String(s.table), Key: activeKey(accountID), ConsistentRead: aws.Bool(true)})
	if err != nil {
		return translate(err, "reading the active reports of account "+accountID)
	}
	sets := slotMembers(out.Item)
	open, err := s.openReportIDs(ctx, accountID)
	if err != nil {
		return err
	}
	// Candidates come from an eventually consistent index and sets that may
	// be changing; decide each one on the report itself.
	candidates := append(allIDs(sets), open...)
	slices.Sort(candidates)
	var plan reconcilePlan
	for _, id := range slices.Compact(candidates) {
		r, err := s.GetReport(ctx, id)
		missing := billing.ErrorCode(err) == billing.ENOTFOUND
		if err != nil && !missing {
			return err
		}
		plan.decide(id, sets, wantedSets(r, accountID), missing)
	}
	if err := s.changeSets(ctx, accountID, "ADD", plan.add); err != nil {
		return err
	}
	if err := s.changeSets(ctx, accountID, "DELETE", plan.remove); err != nil {
		return err
	}
	readd := s.reappeared(ctx, accountID, plan.removedMissing)
	if len(plan.added)+len(plan.removed) > 0 {
		s.opts.Logger.InfoContext(ctx, "reconciled active reports", "accountId", accountID, "added", plan.added, "removed", plan.removed)
	}
	return s.changeSets(ctx, accountID, "ADD", readd)
}

// wantedSets are the sets that should hold r's id: those of its slots while
// it is an open report of the account, none otherwise (r nil: missing).
func wantedSets(r *billing.Report, accountID string) map[string]bool {
	want := map[string]bool{}
	if r != nil && !r.Status.Final() && r.AccountID == accountID {
		for _, set := range slotSets(r, billing.SlotLimits{}) {
			want[set.attr] = true
		}
	}
	return want
}

// reconcilePlan is what ReconcileActive changes: ids to add to and remove
// from each set, and for the log the ids added and removed.
type reconcilePlan struct {
	add, remove                    map[string][]string
	added, removed, removedMissing []string
}

// decide adds to the plan what makes the sets hold id exactly in want.
func (p *reconcilePlan) decide(id string, sets map[string]map[string]bool, want map[string]bool, missing bool) {
	if p.add == nil {
		p.add, p.remove = map[string][]string{}, map[string][]string{}
	}
	changed := false
	for attr := range want {
		if !sets[attr][id] {
			p.add[attr], changed = append(p.add[attr], id), true
		}
	}
	for attr, members := range sets {
		if members[id] && !want[attr] {
			p.remove[attr], changed = append(p.remove[attr], id), true
		}
	}
	switch {
	case changed && len(want) > 0:
		p.added = append(p.added, id)
	case changed:
		p.removed = append(p.removed, id)
		if missing {
			p.removedMissing = append(p.removedMissing, id)
		}
	}
}

// reappeared are the sets to re-add the ids removed as missing whose report
// exists now (created between its slot and its item).
func (s *ReportStore) reappeared(ctx context.Context, accountID string, ids []string) map[string][]string {
	readd := map[string][]string{}
	for _, id := range ids {
		if r, err := s.GetReport(ctx, id); err == nil {
			for attr := range wantedSets(r, accountID) {
				readd[attr] = append(readd[attr], id)
			}
		}
	}
	return readd
}

// changeActive adds ids to, or deletes them from, the account's set of all
// active reports.
func (s *ReportStore) changeActive(ctx context.Context, accountID, op string, ids []string) error {
	return s.changeSets(ctx, accountID, op, map[string][]string{attrActive: ids})
}

// changeSets applies op (ADD or DELETE) of each set's ids to the account's
// active item in one UpdateItem, so that the sets of a report change together.
func (s *ReportStore) changeSets(ctx context.Context, accountID, op string, sets map[string][]string) error {
	names := map[string]string{}
	vals := map[string]types.AttributeValue{}
	var clauses []string
	for _, attr := range slices.Sorted(maps.Keys(sets)) {
		if len(sets[attr]) == 0 {
			continue
		}
		n, v := fmt.Sprintf("#s%d", len(clauses)), fmt.Sprintf(":v%d", len(clauses))
		names[n], vals[v] = attr, avSS(sets[attr]...)
		clauses = append(clauses, n+" "+v)
	}
	if len(clauses) == 0 {
		return nil
	}
	_, err := s.client.UpdateItem(ctx, &ddb.UpdateItemInput{
		TableName:                 aws.String(s.table),
		Key:                       activeKey(accountID),
		UpdateExpression:          aws.String(op + " " + strings.Join(clauses, ", ")),
		ExpressionAttributeNames:  names,
		ExpressionAttributeValues: vals,
	})
	return translate(err, "changing the active reports of account "+accountID)
}

// openReportIDs lists the account's Queued or Running reports from byAccount.
func (s *ReportStore) openReportIDs(ctx context.Context, accountID string) ([]string, error) {
	var ids []string
	var start map[string]types.AttributeValue
	for {
		in := &ddb.QueryInput{
			TableName:                aws.String(s.table),
			IndexName:                aws.String(resources.ReportsByAccount),
			KeyConditionExpression:   aws.String("#accountId = :account"),
			FilterExpression:         aws.String("#status IN (:queued, :running)"),
			ProjectionExpression:     aws.String("#id"),
			ExpressionAttributeNames: map[string]string{"#accountId": resources.ReportsByAccountPK, "#status": attrStatus, "#id": attrID},
			ExpressionAttributeValues: withStatusValues(map[string]types.AttributeValue{
				":account": avS(accountID),
			}),
			ExclusiveStartKey: start,
		}
		prune(in.ExpressionAttributeNames, in.ExpressionAttributeValues, in.KeyConditionExpression, in.FilterExpression, in.ProjectionExpression)
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return nil, translate(err, "listing the open reports of account "+accountID)
		}
		for _, it := range out.Items {
			ids = append(ids, getS(it, attrID))
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			return ids, nil
		}
	}
}
