//go:build integration

package sesmail

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/emulators"
)

var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack, emulators.SES) }

func TestSendIsVisibleInTheEmulatorsStore(t *testing.T) {
	ctx := context.Background()
	mailer := New(sesv2.NewFromConfig(stack.AWS), "Billing Reports <reports@example.com>", func(o *Options) { o.ConfigurationSet = "billing-reports" })
	msg := billing.Email{
		To:      "ops@example.com",
		Subject: "Billing Report 2026-10-01 to 2026-10-31 — Größe €",
		HTML:    "<p>Total: <b>1,234.50</b> for &lt;Acme&gt;</p>",
		Text:    "Total: 1,234.50 for <Acme>",
	}
	id, err := mailer.Send(ctx, msg)
	if err != nil || id == "" {
		t.Fatalf("Send = %q, %v", id, err)
	}
	mails, err := stack.SentEmails(ctx)
	if err != nil {
		t.Fatalf("SentEmails: %v", err)
	}
	var got *emulators.SentEmail
	for i := range mails {
		if mails[i].MessageID == id {
			got = &mails[i]
		}
	}
	if got == nil {
		t.Fatalf("message %s not in the store (%d messages)", id, len(mails))
	}
	if got.Subject != msg.Subject || got.Body.HTML != msg.HTML || got.Body.Text != msg.Text ||
		len(got.Destination.To) != 1 || got.Destination.To[0] != msg.To || got.From != "Billing Reports <reports@example.com>" {
		t.Fatalf("stored message %+v does not match what was sent", *got)
	}
}

func TestSESDownIsUnavailable(t *testing.T) {
	down := New(sesv2.NewFromConfig(stack.AWS, func(o *sesv2.Options) {
		o.BaseEndpoint = aws.String("http://127.0.0.1:1")
		o.RetryMaxAttempts = 1
	}), "reports@example.com")
	_, err := down.Send(context.Background(), billing.Email{To: "ops@example.com", Subject: "s", Text: "t"})
	if billing.ErrorCode(err) != billing.EUNAVAILABLE || !billing.IsRetryable(err) {
		t.Fatalf("Send with SES down = %v, want a retryable EUNAVAILABLE", err)
	}
}
