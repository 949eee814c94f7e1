package ddbstore

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/resources"
)

// ListReports returns one page of an account's reports, newest first. An
// account is required, also for SystemAdministrators: reports are partitioned
// by account, and a cross-account listing would need a Scan.
//
// A filter (status, customer scope) is applied by DynamoDB after Limit, so a
// page can come back short although more matches follow; ListReports keeps
// querying until the page is full or the account's reports are exhausted.
func (s *ReportStore) ListReports(ctx context.Context, f billing.ReportFilter) (billing.ReportPage, error) {
	if f.AccountID == "" {
		return billing.ReportPage{}, billing.InvalidField("NotEmpty", "AccountId", "'AccountId' must not be empty.")
	}
	if f.Status != "" && !f.Status.Valid() {
		return billing.ReportPage{}, billing.Errorf(billing.EINVALID, "Unknown status %q.", f.Status)
	}
	limit := billing.ListLimit(f.Limit)
	start, err := decodeCursor(f.Cursor, f.AccountID)
	if err != nil {
		return billing.ReportPage{}, err
	}

	in := &ddb.QueryInput{
		TableName:                aws.String(s.table),
		IndexName:                aws.String(resources.ReportsByAccount),
		KeyConditionExpression:   aws.String("#accountId = :account"),
		ExpressionAttributeNames: map[string]string{"#accountId": resources.ReportsByAccountPK},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":account": avS(f.AccountID),
		},
		ScanIndexForward: aws.Bool(false),
	}
	addListFilters(in, f)

	var page billing.ReportPage
	for {
		remaining := limit - len(page.Reports)
		// With a filter, read ahead: most evaluated items may be dropped, and a
		// page of exactly `remaining` would mean many small round trips.
		readLimit := remaining
		if in.FilterExpression != nil {
			readLimit = max(remaining, 100)
		}
		in.Limit = aws.Int32(int32(readLimit))
		in.ExclusiveStartKey = start
		out, err := s.client.Query(ctx, in)
		if err != nil {
			return billing.ReportPage{}, translate(err, "listing the reports of account "+f.AccountID)
		}
		for i, it := range out.Items {
			r, err := decodeReport(it)
			if err != nil {
				return billing.ReportPage{}, err
			}
			page.Reports = append(page.Reports, r)
			if len(page.Reports) == limit {
				if i < len(out.Items)-1 || len(out.LastEvaluatedKey) > 0 {
					// Resume after this item: the index key of the last
					// returned report, not DynamoDB's (which may lie further on).
					page.Cursor = encodeCursor(it)
				}
				return page, nil
			}
		}
		if start = out.LastEvaluatedKey; len(start) == 0 {
			return page, nil
		}
	}
}

// addListFilters adds f's status and customer scope to the byAccount query
// in as a filter. (The query itself stays in ListReports: infra's access test
// reads the index a Query names from the function that calls it.)
func addListFilters(in *ddb.QueryInput, f billing.ReportFilter) {
	var filters []string
	if f.Status != "" {
		in.ExpressionAttributeNames["#status"] = attrStatus
		in.ExpressionAttributeValues[":status"] = avS(string(f.Status))
		filters = append(filters, "#status = :status")
	}
	if f.CustomerScope != "" {
		in.ExpressionAttributeNames["#scope"] = attrCustomerScope
		in.ExpressionAttributeValues[":scope"] = avS(f.CustomerScope)
		filters = append(filters, "#scope = :scope")
	}
	if len(filters) > 0 {
		in.FilterExpression = aws.String(strings.Join(filters, " AND "))
	}
}

var errBadCursor = errors.New("cursor of another listing")

// cursorKey is a byAccount LastEvaluatedKey: the table key and the index key.
type cursorKey struct {
	PK         string `json:"p"`
	AccountID  string `json:"a"`
	CreatedKey string `json:"c"`
}

// encodeCursor makes an opaque string of the position after it. The HTTP layer
// signs it; this layer only checks it belongs to the listed account.
func encodeCursor(it map[string]types.AttributeValue) string {
	b, _ := json.Marshal(cursorKey{
		PK:         getS(it, resources.ReportsPK),
		AccountID:  getS(it, resources.ReportsByAccountPK),
		CreatedKey: getS(it, resources.ReportsByAccountSK),
	})
	return base64.RawURLEncoding.EncodeToString(b)
}

var createdKeyPattern = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{9}Z#.+$`)

func decodeCursor(cursor, accountID string) (map[string]types.AttributeValue, error) {
	if cursor == "" {
		return nil, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil {
		return nil, billing.InvalidNextToken(err)
	}
	var k cursorKey
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, billing.InvalidNextToken(err)
	}
	if k.AccountID != accountID || len(k.PK) <= len(reportPrefix) || k.PK[:len(reportPrefix)] != reportPrefix || !createdKeyPattern.MatchString(k.CreatedKey) {
		return nil, billing.InvalidNextToken(errBadCursor)
	}
	return map[string]types.AttributeValue{
		resources.ReportsPK:          avS(k.PK),
		resources.ReportsByAccountPK: avS(k.AccountID),
		resources.ReportsByAccountSK: avS(k.CreatedKey),
	}, nil
}
