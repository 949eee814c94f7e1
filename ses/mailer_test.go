package ses

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/devstack/emulators"
)

var stack *emulators.Stack

func TestMain(m *testing.M) { emulators.RunTests(m, &stack) }

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

func TestSendRefusesBadMessagesBeforeSending(t *testing.T) {
	sent := 0
	fake := &fakeAPI{sendEmail: func(*sesv2.SendEmailInput) (*sesv2.SendEmailOutput, error) {
		sent++
		return &sesv2.SendEmailOutput{MessageId: aws.String("m")}, nil
	}}
	mailer := New(fake, "reports@example.com")
	for name, m := range map[string]billing.Email{
		"bad address":      {To: "not an address", Subject: "s", Text: "t"},
		"display name":     {To: "Eve <eve@example.com>", Subject: "s", Text: "t"},
		"header injection": {To: "ops@example.com", Subject: "s\r\nBcc: eve@example.com", Text: "t"},
		"no body":          {To: "ops@example.com", Subject: "s"},
		"no subject":       {To: "ops@example.com", Text: "t"},
	} {
		if _, err := mailer.Send(context.Background(), m); billing.ErrorCode(err) != billing.EINVALID {
			t.Errorf("%s: %v, want EINVALID", name, err)
		}
	}
	if sent != 0 {
		t.Fatalf("%d bad messages were sent", sent)
	}
	// Only one part is fine.
	if _, err := mailer.Send(context.Background(), billing.Email{To: "ops@example.com", Subject: "s", HTML: "<p>h</p>"}); err != nil || sent != 1 {
		t.Fatalf("HTML-only message: %v", err)
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

// fakeAPI is a hand-written API whose SendEmail tests choose.
type fakeAPI struct {
	sendEmail func(*sesv2.SendEmailInput) (*sesv2.SendEmailOutput, error)
}

func (f *fakeAPI) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return f.sendEmail(in)
}
