//go:build integration

package emulators

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
)

// TestDocumentedEmulatorLimits proves the limits README.md states, so that an
// emulator upgrade that changes them fails here and the README is revisited.
func TestDocumentedEmulatorLimits(t *testing.T) {
	s := shared
	ctx := context.Background()
	c := ddb.NewFromConfig(s.AWS)
	unknownOperation := func(what string, err error) {
		t.Helper()
		var apiErr smithy.APIError
		if !errors.As(err, &apiErr) || apiErr.ErrorCode() != "UnknownOperationException" {
			t.Errorf("dynalite %s: %v, want UnknownOperationException (README says it has none)", what, err)
		}
	}
	key := map[string]ddbtypes.AttributeValue{"pk": &ddbtypes.AttributeValueMemberS{Value: "limits"}, "sk": &ddbtypes.AttributeValueMemberS{Value: "x"}}
	_, err := c.TransactWriteItems(ctx, &ddb.TransactWriteItemsInput{TransactItems: []ddbtypes.TransactWriteItem{
		{Put: &ddbtypes.Put{TableName: aws.String(s.Names.BillingTable), Item: key}},
	}})
	unknownOperation("transactions", err)
	_, err = c.UpdateTimeToLive(ctx, &ddb.UpdateTimeToLiveInput{
		TableName:               aws.String(s.Names.ReportsTable),
		TimeToLiveSpecification: &ddbtypes.TimeToLiveSpecification{AttributeName: aws.String("expiresAt"), Enabled: aws.Bool(true)},
	})
	unknownOperation("TTL", err)

	// Every emulator listens on loopback only, fauxqs included.
	for _, ip := range nonLoopbackIPs(t) {
		for name, u := range map[string]string{"dynamodb": s.DynamoDBURL, "sqs": s.SQSURL, "ses": s.SESURL, "s3": s.S3URL} {
			port := u[strings.LastIndexByte(u, ':')+1:]
			if conn, err := net.Dial("tcp", net.JoinHostPort(ip, port)); err == nil {
				conn.Close()
				t.Errorf("%s answers on %s, not only on loopback", name, ip)
			}
		}
	}
}

// nonLoopbackIPs are this machine's other IPv4 addresses.
func nonLoopbackIPs(t *testing.T) []string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatalf("listing addresses: %v", err)
	}
	var ips []string
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && !n.IP.IsLoopback() && n.IP.To4() != nil {
			ips = append(ips, n.IP.String())
		}
	}
	return ips
}
