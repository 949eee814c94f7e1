package ddbstore

import (
	"regexp"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

var placeholderPattern = regexp.MustCompile(`[:#][A-Za-z0-9_]+`)

// prune drops placeholders no expression uses: DynamoDB rejects a request
// with unused ExpressionAttributeValues or Names, and the state-machine writes
// share one set of status values.
func prune(names map[string]string, vals map[string]types.AttributeValue, exprs ...*string) {
	used := map[string]bool{}
	for _, e := range exprs {
		for _, p := range placeholderPattern.FindAllString(aws.ToString(e), -1) {
			used[p] = true
		}
	}
	for k := range names {
		if !used[k] {
			delete(names, k)
		}
	}
	for k := range vals {
		if !used[k] {
			delete(vals, k)
		}
	}
}
