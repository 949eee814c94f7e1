package sesmail

// The checks Send makes before it calls SES, through a fake client: no
// emulator, so they run in `make test-unit`.

import (
	"context"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"

	billing "github.com/evovoice/billing"
)

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

// fakeAPI is a hand-written API whose SendEmail tests choose.
type fakeAPI struct {
	sendEmail func(*sesv2.SendEmailInput) (*sesv2.SendEmailOutput, error)
}

func (f *fakeAPI) SendEmail(_ context.Context, in *sesv2.SendEmailInput, _ ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error) {
	return f.sendEmail(in)
}
