package worker

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/linktoken"
	"github.com/evovoice/billing/rating"
	"github.com/evovoice/billing/resources"
)

// notify sends the email and webhook of a final report, once.
//
// The claim is written BEFORE sending (ReportStore.ClaimNotification, a
// conditional write), so a retried or duplicated job never sends a second
// email. The window this leaves: a process that dies between the claim and the
// send loses that one notification; the report shows it as NotifiedAt set with
// no NotifyResult, and its status and link stay available through the API. We
// chose at-most-once because a billing email sent twice is worse than one that
// must be looked up.
//
// gen is nil for a failed report, and for a redelivery whose re-rating
// (regenerate) could not confirm the stored figures: the email then has no
// list of largest customers and the webhook no rows. An error is returned only
// when the claim could not be written, so that the caller can retry the
// message.
func (w *Worker) notify(ctx context.Context, log *slog.Logger, r *billing.Report, gen *generated) error {
	if !r.NotifiedAt.IsZero() {
		return nil
	}
	wantEmail := r.Request.EmailAddressToNotify != ""
	wantHook := r.Request.WebhookURL != ""
	if !wantEmail && !wantHook {
		return nil
	}
	err := w.d.Reports.ClaimNotification(ctx, r.ID, w.now())
	if billing.ErrorCode(err) == billing.ECONFLICT {
		log.Info("notification already claimed by another attempt")
		return nil
	} else if err != nil {
		return fmt.Errorf("claiming the notification: %w", err)
	}
	var emailResult, hookResult string
	if wantEmail {
		emailResult = w.sendEmail(ctx, log, r, gen)
	}
	if wantHook {
		hookResult = w.sendWebhook(ctx, log, r, gen)
	}
	// The outcome is written even when ctx ended during the sends (a hung SES
	// call used the report's time up): on a context of its own, which the
	// invocation's margin (NotifyRecordTimeout) leaves room for. Without it the
	// report would show "notified, outcome unknown" for a delivered email.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.cfg.NotifyRecordTimeout)
	defer cancel()
	if err := w.d.Reports.RecordNotification(rctx, r.ID, emailResult, hookResult, w.now()); err != nil {
		// The notification went out (or was tried); only its record is missing.
		log.Error("recording the notification outcome", "err", err, "email", emailResult, "webhook", hookResult)
	}
	return nil
}

// sendEmail tries the email a few times with backoff and returns the outcome
// to record. A failed email never fails the report. Each try has its own
// EmailTryTimeout, so a hung SES call costs one try, not all of them.
func (w *Worker) sendEmail(ctx context.Context, log *slog.Logger, r *billing.Report, gen *generated) string {
	m := w.buildEmail(ctx, log, r, gen)
	wait := w.cfg.EmailBackoff
	var last error
	for try := 1; try <= w.cfg.EmailAttempts; try++ {
		if try > 1 {
			select {
			case <-ctx.Done():
				return fmt.Sprintf("failed after %d tries: %v", try-1, ctx.Err())
			case <-time.After(wait):
			}
			wait *= 2
		}
		tctx, cancel := context.WithTimeout(ctx, w.cfg.EmailTryTimeout)
		id, err := w.d.Mailer.Send(tctx, m)
		cancel()
		if err == nil {
			log.Info("email sent", "sesMessageId", id, "tries", try)
			return "sent " + id
		}
		last = err
		log.Warn("sending email", "err", err, "try", try)
	}
	return fmt.Sprintf("failed after %d tries: %s", w.cfg.EmailAttempts, billing.ErrorMessage(last))
}

// downloadLink is the durable emailed link of spec 2.3.
func (w *Worker) downloadLink(r *billing.Report) (link string, expires time.Time) {
	expires = w.now().Add(w.cfg.TokenTTL)
	token := linktoken.Sign(w.cfg.SigningKey, r.ID, expires)
	base := strings.TrimRight(w.cfg.PublicAPIURL, "/")
	return base + "/reports/" + url.PathEscape(r.ID) + "/download?token=" + url.QueryEscape(token), expires
}

// webhookRow is one row of the webhook body: the CSV row as an object, with
// every number as the exact decimal string the CSV shows. The last row is the
// Total row (customer "Total", no customerId), as in the CSV.
type webhookRow struct {
	CustomerID         string                  `json:"customerId,omitempty"`
	Customer           string                  `json:"customer"`
	BaseCost           string                  `json:"baseCost"`
	Items              map[string]webhookUsage `json:"items"`
	InternationalCosts string                  `json:"internationalCosts"`
	HasCallRecording   bool                    `json:"hasCallRecording"`
	Total              string                  `json:"total"`
}

type webhookUsage struct {
	Units string `json:"units"`
	Cost  string `json:"cost"`
}

type webhookBody struct {
	Report billing.ReportInfo `json:"report"`
	Rows   []webhookRow       `json:"rows"`
}

func toWebhookRow(row *rating.Row) webhookRow {
	out := webhookRow{
		CustomerID:         row.CustomerID,
		Customer:           row.Customer,
		BaseCost:           rating.FormatCents(row.Costs[0]),
		Items:              make(map[string]webhookUsage, billing.NumItems-1),
		InternationalCosts: rating.FormatCents(row.InternationalCosts),
		HasCallRecording:   row.HasCallRecording,
		Total:              rating.FormatCents(row.Total),
	}
	for i, it := range billing.Items[1:] {
		out.Items[string(it)] = webhookUsage{Units: rating.FormatUnits(row.Units[i+1]), Cost: rating.FormatCents(row.Costs[i+1])}
	}
	return out
}

func (w *Worker) sendWebhook(ctx context.Context, log *slog.Logger, r *billing.Report, gen *generated) string {
	if w.d.Webhooks == nil {
		return "not sent: webhooks are not configured"
	}
	body := webhookBody{Report: r.Info(), Rows: []webhookRow{}}
	if r.Status == billing.ReportCompleted && r.ObjectKey != "" {
		link, err := w.d.Files.PresignGet(ctx, r.ObjectKey, resources.ReportFileName(r.Request.StartDate.String(), r.Request.EndDate.String()), w.cfg.LinkTTL)
		if err != nil {
			log.Warn("presigning the webhook's download link", "err", err)
		} else {
			body.Report.DownloadLink = link
		}
	}
	if gen != nil {
		res := gen.result
		body.Rows = make([]webhookRow, 0, len(res.Rows)+1)
		for i := range res.Rows {
			body.Rows = append(body.Rows, toWebhookRow(&res.Rows[i]))
		}
		body.Rows = append(body.Rows, toWebhookRow(&res.Total))
	}
	data, err := json.Marshal(body)
	if err != nil {
		return "failed: " + err.Error()
	}
	if err := w.d.Webhooks.Send(ctx, r.Request.WebhookURL, data); err != nil {
		log.Warn("webhook failed", "err", err)
		return "failed: " + err.Error()
	}
	return "delivered"
}
