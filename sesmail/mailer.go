package sesmail

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sesv2"
	"github.com/aws/aws-sdk-go-v2/service/sesv2/types"
	"github.com/aws/smithy-go"

	billing "github.com/evovoice/billing"
)

// API is the part of the SES v2 client Mailer uses; *sesv2.Client satisfies it.
type API interface {
	SendEmail(ctx context.Context, in *sesv2.SendEmailInput, optFns ...func(*sesv2.Options)) (*sesv2.SendEmailOutput, error)
}

// Options tune the Mailer.
type Options struct {
	// ConfigurationSet names the SES configuration set
	// (resources.EnvSESConfigurationSet); "" sends without one.
	ConfigurationSet string
}

// Mailer sends email from one sender address. It implements billing.Mailer.
type Mailer struct {
	client API
	from   string
	opts   Options
}

var _ billing.Mailer = (*Mailer)(nil)

// New returns a Mailer sending from (resources.EnvSenderAddress), e.g.
// "Billing Reports <reports@example.com>".
func New(client API, from string, optFns ...func(*Options)) *Mailer {
	var opts Options
	for _, fn := range optFns {
		fn(&opts)
	}
	return &Mailer{client: client, from: from, opts: opts}
}

// charset of every part: subjects and names are user text in any language.
const charset = "UTF-8"

// Send sends m and returns SES's message id.
func (s *Mailer) Send(ctx context.Context, m billing.Email) (string, error) {
	if err := s.check(m); err != nil {
		return "", err
	}
	body := &types.Body{}
	if m.HTML != "" {
		body.Html = &types.Content{Data: aws.String(m.HTML), Charset: aws.String(charset)}
	}
	if m.Text != "" {
		body.Text = &types.Content{Data: aws.String(m.Text), Charset: aws.String(charset)}
	}
	in := &sesv2.SendEmailInput{
		FromEmailAddress: aws.String(s.from),
		Destination:      &types.Destination{ToAddresses: []string{m.To}},
		Content: &types.EmailContent{Simple: &types.Message{
			Subject: &types.Content{Data: aws.String(m.Subject), Charset: aws.String(charset)},
			Body:    body,
		}},
	}
	if s.opts.ConfigurationSet != "" {
		in.ConfigurationSetName = aws.String(s.opts.ConfigurationSet)
	}
	out, err := s.client.SendEmail(ctx, in)
	if err != nil {
		return "", translate(err, "sending email")
	}
	return aws.ToString(out.MessageId), nil
}

// check refuses what SES would reject or what could inject headers, before
// anything is sent.
func (s *Mailer) check(m billing.Email) error {
	if _, err := mail.ParseAddress(s.from); err != nil {
		return billing.PermanentError(fmt.Errorf("the sender address %q is not valid: %w", s.from, err))
	}
	addr, err := mail.ParseAddress(m.To)
	switch {
	case err != nil || addr.Address != m.To:
		return billing.Errorf(billing.EINVALID, "'%s' is not a valid email address.", m.To)
	case strings.ContainsAny(m.Subject, "\r\n"):
		return billing.Errorf(billing.EINVALID, "An email subject must be one line.")
	case m.Subject == "" || m.HTML == "" && m.Text == "":
		return billing.Errorf(billing.EINVALID, "An email needs a subject and a body.")
	}
	return nil
}

// unavailableCodes are SES errors that pass: throttling, quotas, SES's own
// failures and a missing configuration set (a deployment problem).
var unavailableCodes = map[string]bool{
	"TooManyRequestsException": true, "LimitExceededException": true, "ThrottlingException": true,
	"InternalFailure": true, "ServiceUnavailable": true, "NotFoundException": true,
	"SendingPausedException": true,
}

// translate turns an SDK error from doing into the domain's error codes. It is
// the one place that knows SES's error types.
func translate(err error, doing string) error {
	cause := fmt.Errorf("%s: %w", doing, err)
	var apiErr smithy.APIError
	var respErr interface{ HTTPStatusCode() int }
	var rejected *types.MessageRejected
	switch {
	case errors.Is(err, context.Canceled):
		return cause
	case errors.As(err, &rejected):
		return billing.WrapError(billing.EINVALID, cause, "The email was rejected.")
	case errors.As(err, &apiErr) && unavailableCodes[apiErr.ErrorCode()],
		errors.As(err, &respErr) && respErr.HTTPStatusCode() >= 500:
		return billing.WrapError(billing.EUNAVAILABLE, cause, "Email is unavailable; try again later.")
	case errors.As(err, &apiErr):
		// BadRequest, unverified sender, suspended account: retrying will not help.
		return billing.PermanentError(cause)
	default:
		return billing.WrapError(billing.EUNAVAILABLE, cause, "Email is unavailable; try again later.")
	}
}
