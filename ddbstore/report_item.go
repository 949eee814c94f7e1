package ddbstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// Attribute names of report items. Key attributes come from package resources.
const (
	attrID            = "id"
	attrStatus        = "status"
	attrStatusMessage = "statusMessage"
	attrName          = "name"
	attrRequest       = "request"
	attrCustomerScope = "customerScope"
	attrCreatedBy     = "createdBy"
	attrDateCreated   = "dateCreated"
	attrDateUpdated   = "dateUpdated"
	attrJobID         = "jobId"
	attrServer        = "server"
	attrAttempt       = "attempt"
	attrLeaseExpires  = "leaseExpires"
	attrObjectKey     = "objectKey"
	attrRowCount      = "rowCount"
	attrByteSize      = "byteSize"
	attrGrandTotal    = "grandTotal" // a string: "12.50" must keep its trailing zero
	attrNotifiedAt    = "notifiedAt"
	attrNotifyResult  = "notifyResult"
	attrWebhookResult = "webhookResult"
	attrActive        = "active" // string set of active report ids on ACTIVE#<accountId>

	attrReqStart     = "startDate"
	attrReqEnd       = "endDate"
	attrReqZone      = "timeZoneId"
	attrReqIDs       = "includeCustomerIds"
	attrReqEmail     = "emailAddressToNotify"
	attrReqWebhook   = "webhookUrl"
	attrReqAccountID = "accountId"
)

const (
	reportPrefix = "REPORT#"
	idempPrefix  = "IDEMP#"
	activePrefix = "ACTIVE#"
)

func reportKey(id string) item { return item{resources.ReportsPK: avS(reportPrefix + id)} }
func activeKey(accountID string) item {
	return item{resources.ReportsPK: avS(activePrefix + accountID)}
}

// timeIDKey is "<fixed-width time>#<id>", the sort key of both GSIs: byte order
// is time order, and ties are broken by id so the order is total.
func timeIDKey(t time.Time, id string) string { return timeKey(t) + "#" + id }

func encodeReport(r *billing.Report) item {
	it := reportKey(r.ID)
	it[attrID] = avS(r.ID)
	it[resources.ReportsByAccountPK] = avS(r.AccountID)
	it[resources.ReportsByAccountSK] = avS(timeIDKey(r.DateCreated, r.ID))
	it[attrStatus] = avS(string(r.Status))
	if !r.Status.Final() {
		it[resources.ReportsByStatusPK] = avS(string(r.Status))
		it[resources.ReportsByStatusSK] = avS(timeIDKey(r.DateUpdated, r.ID))
	}
	putS(it, attrStatusMessage, r.StatusMessage)
	putS(it, attrName, r.Name)
	req := item{
		attrReqAccountID: avS(r.Request.AccountID),
		attrReqStart:     avS(r.Request.StartDate.String()),
		attrReqEnd:       avS(r.Request.EndDate.String()),
		attrReqIDs:       avBool(r.Request.IncludeCustomerIDs),
	}
	putS(req, attrReqZone, r.Request.TimeZoneID)
	putS(req, attrReqEmail, r.Request.EmailAddressToNotify)
	putS(req, attrReqWebhook, r.Request.WebhookURL)
	it[attrRequest] = &types.AttributeValueMemberM{Value: req}
	putS(it, attrCustomerScope, r.CustomerScope)
	putS(it, attrCreatedBy, r.CreatedBy)
	putTime(it, attrDateCreated, r.DateCreated)
	putTime(it, attrDateUpdated, r.DateUpdated)
	putS(it, attrJobID, r.JobID)
	putS(it, attrServer, r.Server)
	it[attrAttempt] = avInt(int64(r.Attempt))
	putTime(it, attrLeaseExpires, r.LeaseExpires)
	putS(it, attrObjectKey, r.ObjectKey)
	if r.RowCount != 0 {
		it[attrRowCount] = avInt(int64(r.RowCount))
	}
	if r.ByteSize != 0 {
		it[attrByteSize] = avInt(r.ByteSize)
	}
	putS(it, attrGrandTotal, r.GrandTotal)
	putTime(it, attrNotifiedAt, r.NotifiedAt)
	putS(it, attrNotifyResult, r.NotifyResult)
	putS(it, attrWebhookResult, r.WebhookResult)
	return it
}

func decodeReport(it item) (*billing.Report, error) {
	pk := getS(it, resources.ReportsPK)
	if !strings.HasPrefix(pk, reportPrefix) {
		return nil, fmt.Errorf("decoding report: item %q is not a report", pk)
	}
	r := &billing.Report{
		ID:            getS(it, attrID),
		AccountID:     getS(it, resources.ReportsByAccountPK),
		CustomerScope: getS(it, attrCustomerScope),
		CreatedBy:     getS(it, attrCreatedBy),
		Name:          getS(it, attrName),
		Status:        billing.ReportStatus(getS(it, attrStatus)),
		StatusMessage: getS(it, attrStatusMessage),
		DateCreated:   getTime(it, attrDateCreated),
		DateUpdated:   getTime(it, attrDateUpdated),
		JobID:         getS(it, attrJobID),
		Server:        getS(it, attrServer),
		Attempt:       int(getInt(it, attrAttempt)),
		LeaseExpires:  getTime(it, attrLeaseExpires),
		ObjectKey:     getS(it, attrObjectKey),
		RowCount:      int(getInt(it, attrRowCount)),
		ByteSize:      getInt(it, attrByteSize),
		GrandTotal:    getS(it, attrGrandTotal),
		NotifiedAt:    getTime(it, attrNotifiedAt),
		NotifyResult:  getS(it, attrNotifyResult),
		WebhookResult: getS(it, attrWebhookResult),
	}
	if m, ok := it[attrRequest].(*types.AttributeValueMemberM); ok {
		req := m.Value
		r.Request = billing.ReportRequest{
			AccountID:            getS(req, attrReqAccountID),
			TimeZoneID:           getS(req, attrReqZone),
			IncludeCustomerIDs:   getBool(req, attrReqIDs),
			EmailAddressToNotify: getS(req, attrReqEmail),
			WebhookURL:           getS(req, attrReqWebhook),
		}
		var err error
		if r.Request.StartDate, err = billing.ParseDate(getS(req, attrReqStart)); err != nil {
			return nil, fmt.Errorf("decoding report %s: %w", r.ID, err)
		}
		if r.Request.EndDate, err = billing.ParseDate(getS(req, attrReqEnd)); err != nil {
			return nil, fmt.Errorf("decoding report %s: %w", r.ID, err)
		}
	}
	if !r.Status.Valid() {
		return nil, fmt.Errorf("decoding report %s: unknown status %q", r.ID, r.Status)
	}
	decodeShards(it, r)
	return r, nil
}
