package appconfig

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/aws-sdk-go-v2/service/sqs"

	"github.com/evovoice/billing/resources"
)

// silentServer accepts connections and never answers, which is what a client
// sees of a SIGSTOPped process: the kernel completes the handshake, nothing
// reads or writes. It counts the connections, one per SDK attempt.
func silentServer(t *testing.T) (url string, conns *atomic.Int32) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	conns = new(atomic.Int32)
	var held []net.Conn
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			conns.Add(1)
			held = append(held, c)
		}
	}()
	t.Cleanup(func() { ln.Close(); <-done })
	return "http://" + ln.Addr().String(), conns
}

// TestEveryCallHasADeadline: with the loaded configuration, a call to a
// dependency that accepts and never answers ends after SDKMaxAttempts
// attempts of SDKAttemptTimeout each, instead of waiting for the caller's
// context (here none: context.Background).
func TestEveryCallHasADeadline(t *testing.T) {
	url, conns := silentServer(t)
	c, _, err := load(t, map[string]string{resources.EnvReportsTable: "r"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, call := range map[string]func(ctx context.Context) error{
		"dynamodb": func(ctx context.Context) error {
			_, err := dynamodb.NewFromConfig(c.AWS, func(o *dynamodb.Options) { o.BaseEndpoint = aws.String(url) }).
				GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("r"), Key: map[string]types.AttributeValue{"pk": &types.AttributeValueMemberS{Value: "x"}}})
			return err
		},
		"sqs": func(ctx context.Context) error {
			_, err := sqs.NewFromConfig(c.AWS, func(o *sqs.Options) { o.BaseEndpoint = aws.String(url) }).
				SendMessage(ctx, &sqs.SendMessageInput{QueueUrl: aws.String(url + "/000000000000/q"), MessageBody: aws.String("{}")})
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			before := conns.Load()
			start := time.Now()
			err := call(context.Background())
			took := time.Since(start)
			if err == nil {
				t.Fatal("a call to a silent endpoint succeeded")
			}
			bound := time.Duration(resources.SDKMaxAttempts)*resources.SDKAttemptTimeout + time.Duration(resources.SDKMaxAttempts)*resources.SDKMaxBackoff + time.Second
			if took > bound {
				t.Errorf("the call took %v, want at most %v", took, bound)
			}
			if took < resources.SDKAttemptTimeout {
				t.Errorf("the call gave up after %v, before one attempt's timeout %v", took, resources.SDKAttemptTimeout)
			}
			if n := conns.Load() - before; n != resources.SDKMaxAttempts {
				t.Errorf("%d attempts, want %d (err %v)", n, resources.SDKMaxAttempts, err)
			}
		})
	}
	if got := c.ForS3().HTTPClient; got == c.AWS.HTTPClient {
		t.Error("ForS3 shares the API client; transfers need the longer attempt timeout")
	}
}
