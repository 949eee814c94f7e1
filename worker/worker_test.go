package worker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/linktoken"
	"github.com/evovoice/billing/rating/ratingtest"
	"github.com/evovoice/billing/resources"
)

// seedSmall stores a small account: two customers, usage on three days.
func (h *harness) seedSmall() {
	h.data.accounts["acct-a"] = billing.Account{ID: "acct-a", Name: "A", TimeZoneID: "UTC", BillingSettings: billing.BillingSettings{
		billing.ItemBase:                {BaseCost: "10"},
		billing.ItemOutboundSmsMessages: {UnitCost: "0.01"},
	}}
	h.data.customers["acct-a"] = []billing.Customer{
		{ID: "c-1", AccountID: "acct-a", Name: "Dental <b>&</b>"},
		{ID: "c-2", AccountID: "acct-a", Name: "=Law"},
	}
	for d := 1; d <= 3; d++ {
		for i := range 5 {
			h.data.addUsage(billing.UsageEvent{
				ID: fmt.Sprintf("u-%d-%d", d, i), AccountID: "acct-a", CustomerID: []string{"c-1", "c-2"}[i%2],
				Time: time.Date(2026, 10, d, 10, i, 0, 0, time.UTC), Item: billing.ItemOutboundSmsMessages, RawQuantity: "100",
			})
		}
	}
}

func (h *harness) queue1(id string, req billing.ReportRequest) {
	if req.AccountID == "" {
		req.AccountID = "acct-a"
	}
	if req.StartDate.IsZero() {
		req.StartDate, req.EndDate = billing.Date{Year: 2026, Month: 10, Day: 1}, billing.Date{Year: 2026, Month: 10, Day: 31}
	}
	now := h.clock.Now()
	h.reports.put(&billing.Report{
		ID: id, AccountID: req.AccountID, Request: req, Name: billing.ReportName(req.StartDate, req.EndDate),
		Status: billing.ReportQueued, DateCreated: now, DateUpdated: now,
	})
}

// The fixtures give the same bytes run in one invocation and in shards of
// one and of seven UTC days (spec 4: sharded is byte-identical).
func TestFixtureReportsMatchByteForByte(t *testing.T) {
	dir, ds := ratingtest.FixtureDataset(t, "billing-small")
	files, _ := filepath.Glob(filepath.Join(dir, "expected-*.csv"))
	if len(files) < 5 {
		t.Fatalf("found %d fixture reports, want at least 5", len(files))
	}
	for _, shardDays := range []int{0, 1, 7} {
		for _, file := range files {
			t.Run(fmt.Sprintf("shardDays=%d/%s", shardDays, filepath.Base(file)), func(t *testing.T) {
				fixtureCase(t, ds, file, shardDays)
			})
		}
	}
}

// load puts a fixture dataset into the harness's store.
func (h *harness) load(ds *ratingtest.Dataset) {
	for id, a := range ds.Accounts {
		h.data.accounts[id] = a
		h.data.customers[id] = ds.CustomersOf(id)
	}
	h.data.addUsage(ds.Usage...)
}

// scope makes report id Customer-scoped (as for a Customer-role caller).
func (h *harness) scope(id, customerID string) {
	h.reports.change(id, func(r *billing.Report) { r.CustomerScope = customerID })
}

func fixtureCase(t *testing.T, ds *ratingtest.Dataset, file string, shardDays int) {
	c, err := ratingtest.ParseCaseName(filepath.Base(file))
	if err != nil {
		t.Fatal(err)
	}
	h := newHarnessWith(t, func(c *Config) { c.ShardDays = shardDays })
	h.data.pageSize = 2 // many pages, and the fake reuses its page slice
	h.load(ds)
	req := billing.ReportRequest{AccountID: c.AccountID, StartDate: c.Start, EndDate: c.End, IncludeCustomerIDs: c.IncludeCustomerIDs, EmailAddressToNotify: "ops@example.com"}
	if c.UTC {
		req.TimeZoneID = "UTC"
	}
	h.queue1("r-1", req)
	h.scope("r-1", c.CustomerScope)
	h.ack(sqsMessage("m-1", "r-1", 1))
	h.drain()
	want, _ := os.ReadFile(file)
	key := resources.ReportObjectKey(c.AccountID, "r-1")
	if got := h.files.objects[key]; string(got) != string(want) {
		t.Fatalf("CSV differs from %s\n got:\n%s\nwant:\n%s", filepath.Base(file), got, want)
	}
	r := h.reports.get("r-1")
	if r.Status != billing.ReportCompleted || r.ObjectKey != key || r.ByteSize != int64(len(want)) || r.Attempt != 1 {
		t.Fatalf("report = %+v", r)
	}
	lines := strings.Count(string(want), "\r\n")
	if r.RowCount != lines-2 { // header and Total row are not customer rows
		t.Errorf("RowCount = %d, want %d", r.RowCount, lines-2)
	}
	if !strings.HasSuffix(string(want), ","+r.GrandTotal+"\r\n") {
		t.Errorf("GrandTotal %q is not the last cell of the Total row", r.GrandTotal)
	}
	if h.files.names[key] != resources.ReportFileName(c.Start.String(), c.End.String()) {
		t.Errorf("file name = %q", h.files.names[key])
	}
	if got := h.mailer.emails(); len(got) != 1 {
		t.Fatalf("emails = %d, want 1", len(got))
	}
	if shardDays > 0 && (r.ShardCount != len(r.Shards) || h.partials.count() != 0) {
		t.Errorf("shard count %d of %d planned; %d partials left", r.ShardCount, len(r.Shards), h.partials.count())
	}
}

func TestCompletedEmailHasLinkTotalsAndEscapes(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "boss@example.com", WebhookURL: "https://hooks.example.com/x"})
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("retry requested")
	}
	mails := h.mailer.emails()
	if len(mails) != 1 {
		t.Fatalf("emails = %d", len(mails))
	}
	checkCompletedEmail(t, h, mails[0])
	r := h.reports.get("r-1")
	if !strings.HasPrefix(r.NotifyResult, "sent ") || r.WebhookResult != "delivered" || r.NotifiedAt.IsZero() {
		t.Errorf("notification outcome = %q / %q / %v", r.NotifyResult, r.WebhookResult, r.NotifiedAt)
	}
	checkWebhookBody(t, h.hooks.bodies["https://hooks.example.com/x"])
}

// checkCompletedEmail checks seedSmall's report email: totals, escaping,
// order, and the durable link.
func checkCompletedEmail(t *testing.T, h *harness, m billing.Email) {
	t.Helper()
	if m.To != "boss@example.com" || m.Subject != "A: Billing Report 2026-10-01 to 2026-10-31 is ready" {
		t.Errorf("to/subject = %q / %q", m.To, m.Subject)
	}
	// c-1 has 9 SMS x 100 = 900 x 0.01 = 9 + base 10 = 19.00; c-2 has 6 -> 16.00.
	for _, want := range []string{"35.00", "19.00", "16.00", "Dental &lt;b&gt;&amp;&lt;/b&gt;", "=Law", "2026-10-01 to 2026-10-31 (UTC)"} {
		if !strings.Contains(m.HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, m.HTML)
		}
	}
	if strings.Contains(m.HTML, "<b>&</b>") {
		t.Error("customer name is not escaped in the HTML part")
	}
	if strings.Index(m.HTML, "19.00") > strings.Index(m.HTML, "16.00") {
		t.Error("largest customers are not listed largest first")
	}
	if !strings.Contains(m.Text, "Dental <b>&</b>") || !strings.Contains(m.Text, "Grand total: USD 35.00") {
		t.Errorf("text part:\n%s", m.Text)
	}
	// The link is the durable one of spec 2.3 and its token verifies for this report.
	i := strings.Index(m.Text, "https://api.example.com/reports/r-1/download?token=")
	if i < 0 {
		t.Fatalf("no download link in text:\n%s", m.Text)
	}
	link, _, _ := strings.Cut(m.Text[i:], "\n")
	u, _ := url.Parse(link)
	if err := linktoken.Verify(testKey, "r-1", u.Query().Get("token"), h.clock.Now().Add(6*24*time.Hour)); err != nil {
		t.Errorf("token: %v", err)
	}
	if !strings.Contains(m.HTML, `href="`+strings.ReplaceAll(link, "&", "&amp;")+`"`) {
		t.Errorf("HTML lacks the link %s", link)
	}
}

// checkWebhookBody checks seedSmall's webhook body: the report and its rows.
func checkWebhookBody(t *testing.T, data []byte) {
	t.Helper()
	var body struct {
		Report billing.ReportInfo `json:"report"`
		Rows   []webhookRow       `json:"rows"`
	}
	if err := json.Unmarshal(data, &body); err != nil {
		t.Fatal(err)
	}
	if body.Report.ID != "r-1" || body.Report.Status != billing.ReportCompleted || !strings.HasPrefix(body.Report.DownloadLink, "https://files.example/") {
		t.Errorf("webhook report = %+v", body.Report)
	}
	if len(body.Rows) != 3 || body.Rows[2].Customer != "Total" || body.Rows[2].Total != "35.00" ||
		body.Rows[1].Items["OutboundSmsMessages"] != (webhookUsage{Units: "900", Cost: "9.00"}) {
		t.Errorf("webhook rows = %+v", body.Rows)
	}
}

func TestDuplicateDeliveryOfFinishedReportChangesNothing(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("retry requested")
	}
	before := h.reports.get("r-1")
	h.clock.Advance(time.Hour)
	for i, msg := range []Delivery{sqsMessage("m-1", "r-1", 2), sqsMessage("m-2", "r-1", 1)} {
		if h.deliver(context.Background(), msg) {
			t.Fatalf("duplicate %d asked for a retry", i)
		}
	}
	after := h.reports.get("r-1")
	if !reflect.DeepEqual(after, before) {
		t.Errorf("report changed:\n%+v\n%+v", before, after)
	}
	if h.files.puts != 1 || len(h.mailer.emails()) != 1 {
		t.Errorf("puts=%d emails=%d, want 1 and 1", h.files.puts, len(h.mailer.emails()))
	}
}

func TestDeliveryRacingARunningAttempt(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	inPut, release := make(chan struct{}), make(chan struct{})
	h.files.beforePut = func(ctx context.Context, try int, body io.Reader) error {
		if try == 1 {
			close(inPut)
			<-release
		}
		return nil
	}
	first := make(chan bool)
	go func() { first <- h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) }()
	<-inPut
	// A second copy of the job arrives while the first attempt is uploading.
	if !h.deliver(context.Background(), sqsMessage("m-2", "r-1", 1)) {
		t.Error("a delivery racing a live lease was acknowledged; want a retry after the visibility timeout")
	}
	if r := h.reports.get("r-1"); r.Attempt != 1 || r.Status != billing.ReportRunning {
		t.Errorf("racing delivery changed the report: %+v", r)
	}
	close(release)
	if <-first {
		t.Fatal("the lease holder asked for a retry")
	}
	// The retried copy comes back later and finds the report done.
	h.clock.Advance(resources.VisibilityTimeout)
	if h.deliver(context.Background(), sqsMessage("m-2", "r-1", 2)) {
		t.Error("retried duplicate of a completed report asked for another retry")
	}
	if h.files.puts != 1 || len(h.mailer.emails()) != 1 || h.reports.get("r-1").Status != billing.ReportCompleted {
		t.Errorf("puts=%d emails=%d status=%s", h.files.puts, len(h.mailer.emails()), h.reports.get("r-1").Status)
	}
}

func TestConcurrentDeliveriesInOneBatchRunOnce(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	h.queue1("r-2", billing.ReportRequest{})
	resp, err := h.handle(context.Background(), []Delivery{
		sqsMessage("m-1", "r-1", 1), sqsMessage("m-2", "r-1", 1), sqsMessage("m-3", "r-1", 1), sqsMessage("m-4", "r-2", 1),
	})
	if err != nil {
		t.Fatal(err)
	}
	if r := h.reports.get("r-1"); r.Status != billing.ReportCompleted || r.Attempt != 1 {
		t.Fatalf("r-1 = %+v", r)
	}
	if r := h.reports.get("r-2"); r.Status != billing.ReportCompleted {
		t.Fatalf("r-2 = %+v", r)
	}
	// r-1 ran once; the copies that lost the lease race were retried or found it done.
	if h.files.puts != 2 || len(h.mailer.emails()) != 1 {
		t.Errorf("puts=%d emails=%d", h.files.puts, len(h.mailer.emails()))
	}
	for _, f := range resp.BatchItemFailures {
		if f.ItemIdentifier == "m-4" {
			t.Error("the other report's message failed")
		}
	}
}

func TestWorkerKilledMidUploadIsTakenOverAfterLeaseExpiry(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	ctx, kill := context.WithCancel(context.Background())
	h.files.beforePut = func(putCtx context.Context, try int, body io.Reader) error {
		if try == 1 {
			io.CopyN(io.Discard, body, 100) // part of the file is out...
			kill()                          // ...when the invocation dies
			<-putCtx.Done()
			return putCtx.Err()
		}
		return nil
	}
	h.deliver(ctx, sqsMessage("m-1", "r-1", 1))
	r := h.reports.get("r-1")
	if r.Status != billing.ReportRunning || r.Attempt != 1 || len(h.files.objects) != 0 {
		t.Fatalf("after the kill: %+v objects=%d", r, len(h.files.objects))
	}
	// Redelivered before the lease expired: the dead attempt still owns it.
	h.clock.Advance(time.Minute)
	if !h.deliver(context.Background(), sqsMessage("m-1", "r-1", 2)) {
		t.Error("delivery during a live lease was acknowledged")
	}
	// After expiry the next delivery takes over.
	h.clock.Advance(resources.LeaseDuration)
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 3)) {
		t.Fatal("takeover asked for a retry")
	}
	r = h.reports.get("r-1")
	if r.Status != billing.ReportCompleted || r.Attempt != 2 {
		t.Fatalf("after takeover: %+v", r)
	}
	if len(h.files.objects) != 1 || len(h.mailer.emails()) != 1 {
		t.Errorf("objects=%d emails=%d, want one of each", len(h.files.objects), len(h.mailer.emails()))
	}
}

func TestS3DownIsRetriedThenCompletes(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{})
	h.files.beforePut = func(ctx context.Context, try int, body io.Reader) error {
		if try == 1 {
			return billing.Errorf(billing.EUNAVAILABLE, "S3 is unavailable.")
		}
		return nil
	}
	if !h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("an S3 outage was not retried")
	}
	r := h.reports.get("r-1")
	if r.Status != billing.ReportRunning || !strings.Contains(r.StatusMessage, "retrying: S3 is unavailable.") || r.LeaseExpires.After(h.clock.Now()) {
		t.Fatalf("after the failed attempt (lease should be released): %+v", r)
	}
	h.clock.Advance(time.Second) // the redelivery does not wait for the lease
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 2)) {
		t.Fatal("second attempt asked for a retry")
	}
	if r := h.reports.get("r-1"); r.Status != billing.ReportCompleted || r.Attempt != 2 {
		t.Fatalf("report = %+v", r)
	}
}

func TestSESDownCompletesAndRecordsTheOutcome(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	h.mailer.sendErr = func(int) error { return billing.Errorf(billing.EUNAVAILABLE, "SES is unavailable.") }
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("a failed email failed the message")
	}
	r := h.reports.get("r-1")
	if r.Status != billing.ReportCompleted {
		t.Fatalf("status = %s", r.Status)
	}
	if r.NotifyResult != "failed after 3 tries: SES is unavailable." || h.mailer.tries != 3 {
		t.Errorf("outcome %q after %d tries", r.NotifyResult, h.mailer.tries)
	}
	// A later duplicate does not try again: the notification was claimed.
	h.deliver(context.Background(), sqsMessage("m-1", "r-1", 2))
	if h.mailer.tries != 3 {
		t.Errorf("tries = %d after a duplicate", h.mailer.tries)
	}
}

func TestEmailRetriedUntilItGoesThrough(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	h.mailer.sendErr = func(n int) error {
		if n < 3 {
			return billing.Errorf(billing.EUNAVAILABLE, "throttled")
		}
		return nil
	}
	h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1))
	if r := h.reports.get("r-1"); r.NotifyResult != "sent ses-1" || len(h.mailer.emails()) != 1 {
		t.Errorf("outcome %q, emails %d", r.NotifyResult, len(h.mailer.emails()))
	}
}

func TestPoisonMessageFailsOnLastReceiveAndGoesToDLQ(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	h.files.beforePut = func(context.Context, int, io.Reader) error {
		return billing.Errorf(billing.EUNAVAILABLE, "S3 is unavailable.")
	}
	for receive := 1; receive <= resources.MaxReceiveCount; receive++ {
		if !h.deliver(context.Background(), sqsMessage("m-1", "r-1", receive)) {
			t.Fatalf("receive %d was acknowledged; want it retried (and sent to the DLQ on the last)", receive)
		}
		if receive < resources.MaxReceiveCount && h.reports.get("r-1").Status != billing.ReportRunning {
			t.Fatalf("receive %d: status %s", receive, h.reports.get("r-1").Status)
		}
		h.clock.Advance(resources.VisibilityTimeout)
	}
	r := h.reports.get("r-1")
	if r.Status != billing.ReportError || r.StatusMessage != "The report failed after repeated attempts: S3 is unavailable." {
		t.Fatalf("report = %+v", r)
	}
	mails := h.mailer.emails()
	if len(mails) != 1 || mails[0].Subject != "A: Billing Report 2026-10-01 to 2026-10-31 failed" || !strings.Contains(mails[0].HTML, "S3 is unavailable.") {
		t.Fatalf("failure emails = %+v", mails)
	}
	if strings.Contains(mails[0].HTML, "download?token") {
		t.Error("a failure email carries a download link")
	}
	// An operator redriving the DLQ changes nothing.
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 6)) || len(h.mailer.emails()) != 1 {
		t.Error("redriven message was not simply acknowledged")
	}
}

func TestPermanentErrorFailsAtOnce(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{AccountID: "acct-gone", EmailAddressToNotify: "a@example.com"})
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("a permanent failure was retried")
	}
	r := h.reports.get("r-1")
	if r.Status != billing.ReportError || r.StatusMessage != "The report failed: Account 'acct-gone' does not exist." {
		t.Fatalf("report = %+v", r)
	}
	if len(h.mailer.emails()) != 1 || h.files.puts != 0 {
		t.Errorf("emails=%d puts=%d", len(h.mailer.emails()), h.files.puts)
	}
}

func TestUsageOfUnknownCustomerIsPermanent(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.data.addUsage(billing.UsageEvent{ID: "u-x", AccountID: "acct-a", CustomerID: "c-ghost", Time: time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), Item: billing.ItemInboundFaxes, RawQuantity: "1"})
	h.queue1("r-1", billing.ReportRequest{})
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("retried")
	}
	if r := h.reports.get("r-1"); r.Status != billing.ReportError || !strings.Contains(r.StatusMessage, "c-ghost") {
		t.Fatalf("report = %+v", r)
	}
}

func TestLostLeaseStopsWithoutWriting(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.data.pageSize = 1
	h.data.pageDelay = 5 * time.Millisecond
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	var stolen atomic.Bool
	h.data.onPage = func() {
		if stolen.CompareAndSwap(false, true) {
			// Another attempt takes the lease, as after a long stall.
			h.reports.change("r-1", func(r *billing.Report) { r.Attempt = 2 })
		}
	}
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Error("an attempt that lost its lease asked for a retry; the owner's message does the work")
	}
	if r := h.reports.get("r-1"); r.Status != billing.ReportRunning || r.Attempt != 2 {
		t.Errorf("report = %+v", r)
	}
	if h.files.puts != 0 || len(h.mailer.emails()) != 0 {
		t.Errorf("the stale attempt wrote: puts=%d emails=%d", h.files.puts, len(h.mailer.emails()))
	}
}

func TestProgressIsPublished(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.data.pageSize = 1
	h.data.pageDelay = 3 * time.Millisecond
	h.queue1("r-1", billing.ReportRequest{})
	h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1))
	h.checkProgress(15)
	if r := h.reports.get("r-1"); r.StatusMessage != "Completed: 15 usage records in 1 shard." || r.ShardCount != 1 {
		t.Errorf("final statusMessage %q, shard count %d", r.StatusMessage, r.ShardCount)
	}
}

func TestStoreDownOnLastReceiveLeavesTheReportToTheSweep(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{})
	h.reports.beforeAcquire = func(string) error { return billing.Errorf(billing.EUNAVAILABLE, "DynamoDB is unavailable.") }
	finishes := 0
	h.reports.beforeFinish = func(string, int, billing.Outcome) error {
		finishes++
		return nil
	}
	if !h.deliver(context.Background(), sqsMessage("m-1", "r-1", 5)) {
		t.Error("store outage on the last receive was acknowledged; the message must reach the DLQ")
	}
	if r := h.reports.get("r-1"); r.Status != billing.ReportQueued || finishes != 0 {
		t.Errorf("report = %+v, finish calls %d; a report in unknown state must not be failed", r, finishes)
	}
	// Once the store is back, the sweep re-enqueues it.
	h.reports.beforeAcquire = nil
	h.clock.Advance(resources.SweepQueuedAfter + time.Second)
	if res, err := h.w.Sweep(context.Background()); err != nil || res.Requeued != 1 {
		t.Fatalf("sweep = %+v, %v", res, err)
	}
	if h.deliver(context.Background(), sqsMessage("msg-1", "r-1", 1)) || h.reports.get("r-1").Status != billing.ReportCompleted {
		t.Errorf("report = %+v", h.reports.get("r-1"))
	}
}

func TestPanicInOneMessageDoesNotFailTheBatch(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{})
	h.queue1("r-2", billing.ReportRequest{})
	h.reports.beforeAcquire = func(id string) error {
		if id == "r-1" {
			panic("bug")
		}
		return nil
	}
	resp, err := h.handle(context.Background(), []Delivery{sqsMessage("m-1", "r-1", 1), sqsMessage("m-2", "r-2", 1)})
	if err != nil || len(resp.BatchItemFailures) != 1 || resp.BatchItemFailures[0].ItemIdentifier != "m-1" {
		t.Fatalf("resp = %+v, %v", resp, err)
	}
	if h.reports.get("r-2").Status != billing.ReportCompleted {
		t.Error("the other report did not complete")
	}
}

func TestMalformedAndUnknownMessages(t *testing.T) {
	h := newHarness(t)
	if !h.deliver(context.Background(), Delivery{MessageID: "m-1", Body: "not json"}) {
		t.Error("a malformed message was dropped; it must reach the DLQ")
	}
	if h.deliver(context.Background(), sqsMessage("m-2", "r-unknown", 1)) {
		t.Error("a job of an unknown report was retried")
	}
}

func TestNotificationClaimedOnlyOnceUnderRace(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	// The claim store is down at first: the report completes, the message is
	// retried, and the redelivery sends the email.
	var claimTries atomic.Int32
	h.reports.beforeClaim = func(string) error {
		if claimTries.Add(1) == 1 {
			return billing.Errorf(billing.EUNAVAILABLE, "DynamoDB is unavailable.")
		}
		return nil
	}
	if !h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("an unclaimed notification was acknowledged")
	}
	if r := h.reports.get("r-1"); r.Status != billing.ReportCompleted || len(h.mailer.emails()) != 0 {
		t.Fatalf("report %+v emails %d", r, len(h.mailer.emails()))
	}
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 2)) {
		t.Fatal("retry asked for another retry")
	}
	mails := h.mailer.emails()
	if len(mails) != 1 || !strings.Contains(mails[0].HTML, "download?token=") {
		t.Fatalf("emails = %+v", mails)
	}
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 3)); len(h.mailer.emails()) != 1 {
		t.Error("second email sent")
	}
}

func TestNewRequiresDeps(t *testing.T) {
	if _, err := New(Deps{}); err == nil || !strings.Contains(err.Error(), "[Config.PublicAPIURL Config.SigningKey Data Files Mailer Partials Queue Reports]") {
		t.Fatalf("New(empty) = %v", err)
	}
}

// jobReports lists the report ids of jobs, comma-separated.
func jobReports(jobs []billing.Job) string {
	ids := make([]string, len(jobs))
	for i, j := range jobs {
		ids[i] = j.ReportID
	}
	return strings.Join(ids, ",")
}

func TestSweep(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	old := now.Add(-time.Hour)
	h.reports.put(&billing.Report{ID: "q-lost", AccountID: "a1", Status: billing.ReportQueued, DateUpdated: old})
	h.reports.put(&billing.Report{ID: "q-fresh", AccountID: "a1", Status: billing.ReportQueued, DateUpdated: now.Add(-30 * time.Second)})
	veryOld := now.Add(-2 * (resources.VisibilityTimeout + resources.LeaseDuration))
	h.reports.put(&billing.Report{ID: "run-lost", AccountID: "a2", Status: billing.ReportRunning, Attempt: 2, LeaseExpires: veryOld.Add(resources.LeaseDuration), DateUpdated: veryOld})
	h.reports.put(&billing.Report{ID: "run-dead", AccountID: "a2", Status: billing.ReportRunning, Attempt: resources.SweepMaxAttempts, LeaseExpires: veryOld.Add(resources.LeaseDuration), DateUpdated: veryOld,
		Request: billing.ReportRequest{EmailAddressToNotify: "x@example.com", StartDate: billing.Date{Year: 2026, Month: 10, Day: 1}, EndDate: billing.Date{Year: 2026, Month: 10, Day: 31}}})
	h.reports.put(&billing.Report{ID: "run-live", AccountID: "a2", Status: billing.ReportRunning, Attempt: 1, LeaseExpires: now.Add(time.Minute), DateUpdated: now.Add(-time.Minute)})
	h.reports.put(&billing.Report{ID: "done", AccountID: "a3", Status: billing.ReportCompleted, DateUpdated: veryOld})

	res, err := h.w.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if res.Requeued != 2 || res.Failed != 1 || res.Reconciled != 2 {
		t.Errorf("result = %+v", res)
	}
	if jobs := jobReports(h.queue.jobs); jobs != "q-lost,run-lost" {
		t.Errorf("enqueued %v", jobs)
	}
	if r := h.reports.get("q-lost"); r.JobID != "msg-1" || !r.DateUpdated.Equal(now) {
		t.Errorf("q-lost = %+v", r)
	}
	if r := h.reports.get("run-dead"); r.Status != billing.ReportError || !strings.Contains(r.StatusMessage, "stopped 5 times") {
		t.Errorf("run-dead = %+v", r)
	}
	if m := h.mailer.emails(); len(m) != 1 || m[0].To != "x@example.com" {
		t.Errorf("emails = %+v", m)
	}
	// A second sweep right after finds nothing to do: the touch of SetJobID holds.
	h.queue.jobs = nil
	res, _ = h.w.Sweep(context.Background())
	if len(h.queue.jobs) != 1 || h.queue.jobs[0].ReportID != "run-lost" || res.Failed != 0 {
		// run-lost stays stale until a worker takes it; re-sending it is harmless.
		t.Errorf("second sweep: %+v jobs %v", res, h.queue.jobs)
	}
}

func TestSweepRecoversLostEnqueueEndToEnd(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{}) // written, never enqueued
	h.clock.Advance(resources.SweepQueuedAfter + time.Second)
	if _, err := h.w.Sweep(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(h.queue.jobs) != 1 {
		t.Fatalf("jobs = %v", h.queue.jobs)
	}
	h.deliver(context.Background(), sqsMessage("msg-1", h.queue.jobs[0].ReportID, 1))
	if r := h.reports.get("r-1"); r.Status != billing.ReportCompleted || r.JobID != "msg-1" {
		t.Fatalf("report = %+v", r)
	}
}

func TestReadDaysBoundsConcurrency(t *testing.T) {
	d := newMemData()
	d.pageSize = 10
	d.pageDelay = 2 * time.Millisecond
	var days []billing.Date
	for i := 1; i <= 31; i++ {
		day := billing.Date{Year: 2026, Month: 10, Day: i}
		days = append(days, day)
		for j := range 25 {
			d.addUsage(billing.UsageEvent{ID: fmt.Sprint(i, "-", j), AccountID: "a", CustomerID: "c", Time: day.In(time.UTC).Add(time.Duration(j) * time.Minute)})
		}
	}
	from, to := days[0].In(time.UTC), days[30].AddDays(1).In(time.UTC)
	for _, conc := range []int{1, 8} {
		d.maxInFlight = 0
		seen := map[string]bool{}
		err := readDays(context.Background(), d, "a", days, from, to, conc, func(_ int, page []billing.UsageEvent) error {
			for _, e := range page {
				if seen[e.ID] {
					t.Fatalf("event %s seen twice", e.ID)
				}
				seen[e.ID] = true
			}
			return nil
		}, nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(seen) != 31*25 || seen["overwritten"] {
			t.Fatalf("concurrency %d: %d events", conc, len(seen))
		}
		if d.maxInFlight != conc {
			t.Errorf("concurrency %d: max in flight %d", conc, d.maxInFlight)
		}
	}
}

func TestReadDaysStopsOnFirstError(t *testing.T) {
	d := newMemData()
	boom := billing.Errorf(billing.EUNAVAILABLE, "DynamoDB is unavailable.")
	d.queryErr = func(q billing.UsageQuery) error {
		if q.Day.Day == 3 {
			return boom
		}
		return nil
	}
	var days []billing.Date
	for i := 1; i <= 10; i++ {
		days = append(days, billing.Date{Year: 2026, Month: 10, Day: i})
	}
	err := readDays(context.Background(), d, "a", days, time.Time{}, time.Now(), 4, func(int, []billing.UsageEvent) error { return nil }, nil)
	if !errors.Is(err, boom) || !strings.Contains(err.Error(), "2026-10-03") {
		t.Fatalf("err = %v", err)
	}
	stop := errors.New("rater refused")
	d.queryErr = nil
	d.addUsage(billing.UsageEvent{ID: "x", AccountID: "a", Time: time.Date(2026, 10, 2, 1, 0, 0, 0, time.UTC)})
	err = readDays(context.Background(), d, "a", days, time.Time{}, time.Now(), 4, func(int, []billing.UsageEvent) error { return stop }, nil)
	if !errors.Is(err, stop) {
		t.Fatalf("consumer error = %v", err)
	}
}

func TestUserTextCannotForgeLinesOrMarkup(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.data.customers["acct-a"][0].Name = "Evil\r\nDownload here: https://phish.example\r\n<img src=x onerror=alert(1)>"
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com"})
	h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1))
	m := h.mailer.emails()[0]
	if strings.Contains(m.Text, "\nDownload here: https://phish") || strings.Contains(m.Text, "\r") {
		t.Errorf("customer name added lines to the text part:\n%s", m.Text)
	}
	if strings.Contains(m.HTML, "<img") || !strings.Contains(m.HTML, "&lt;img src=x onerror=alert(1)&gt;") {
		t.Errorf("customer name is not escaped in HTML:\n%s", m.HTML)
	}
}

func TestFailureWebhookCarriesTheReasonAndNoRows(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.hooks.err = errors.New("receiver down")
	h.queue1("r-1", billing.ReportRequest{AccountID: "acct-gone", WebhookURL: "https://hooks.example.com/x"})
	h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1))
	var body struct {
		Report billing.ReportInfo `json:"report"`
		Rows   []json.RawMessage  `json:"rows"`
	}
	if err := json.Unmarshal(h.hooks.bodies["https://hooks.example.com/x"], &body); err != nil {
		t.Fatal(err)
	}
	if body.Report.Status != billing.ReportError || !strings.Contains(body.Report.StatusMessage, "acct-gone") || body.Rows == nil || len(body.Rows) != 0 || body.Report.DownloadLink != "" {
		t.Errorf("webhook body = %+v", body)
	}
	// The webhook's failure is recorded and does not touch the report's status.
	if r := h.reports.get("r-1"); r.WebhookResult != "failed: receiver down" || r.Status != billing.ReportError || r.NotifyResult != "" {
		t.Errorf("report = %+v", r)
	}
}

// The sweep reads stale Running reports from an eventually consistent index; a
// redelivery may take the expired lease over before the sweep's write. Failing
// the report then would kill the new, healthy attempt: the sweep may only fail
// the attempt it saw expire.
func TestSweepDoesNotFailAReportTakenOverMeanwhile(t *testing.T) {
	h := newHarness(t)
	now := h.clock.Now()
	veryOld := now.Add(-2 * (resources.VisibilityTimeout + resources.LeaseDuration))
	h.reports.put(&billing.Report{ID: "run-dead", AccountID: "a2", Status: billing.ReportRunning, Attempt: resources.SweepMaxAttempts,
		LeaseExpires: veryOld.Add(resources.LeaseDuration), DateUpdated: veryOld,
		Request: billing.ReportRequest{EmailAddressToNotify: "x@example.com"}})
	h.reports.beforeFinish = func(id string, attempt int, out billing.Outcome) error {
		h.reports.beforeFinish = nil
		// A late redelivery takes the expired lease between the sweep's read and its write.
		_, err := h.reports.AcquireLease(context.Background(), id, billing.Lease{Now: now, Expires: now.Add(resources.LeaseDuration)})
		return err
	}
	res, err := h.w.Sweep(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := h.reports.get("run-dead")
	if r.Status != billing.ReportRunning || r.Attempt != resources.SweepMaxAttempts+1 {
		t.Errorf("the sweep failed a report another attempt had taken over: %+v", r)
	}
	if res.Failed != 0 || len(h.mailer.emails()) != 0 {
		t.Errorf("result = %+v, emails = %d", res, len(h.mailer.emails()))
	}
}

// A report waiting in a long backlog is not lost: the sweep sends it again
// with a doubling wait (capped), not on every sweep, so a backlog does not grow
// by a duplicate job per report every few minutes. It is never left alone for
// longer than the cap.
func TestSweepBacksOffReenqueuingAQueuedReport(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{})
	created := h.clock.Now()
	var at []time.Duration
	for range 3 * 60 / 5 { // three hours of sweeps every 5 minutes; the job never runs
		h.clock.Advance(resources.SweepInterval)
		before := len(h.queue.jobs)
		if _, err := h.w.Sweep(context.Background()); err != nil {
			t.Fatal(err)
		}
		if len(h.queue.jobs) > before {
			at = append(at, h.clock.Now().Sub(created))
		}
	}
	want := []time.Duration{5 * time.Minute, 10 * time.Minute, 20 * time.Minute, 40 * time.Minute, 80 * time.Minute, 140 * time.Minute}
	if fmt.Sprint(at) != fmt.Sprint(want) {
		t.Errorf("re-enqueued at %v, want %v", at, want)
	}
	if r := h.reports.get("r-1"); r.Status != billing.ReportQueued {
		t.Errorf("report = %+v", r)
	}
}

// claimFailsOnce makes the first notification claim fail as if DynamoDB were
// down, so the report completes and only a redelivery can notify.
func (h *harness) claimFailsOnce() {
	var claimTries atomic.Int32
	h.reports.beforeClaim = func(string) error {
		if claimTries.Add(1) == 1 {
			return billing.Errorf(billing.EUNAVAILABLE, "DynamoDB is unavailable.")
		}
		return nil
	}
}

func (h *harness) webhookRows(url string) []webhookRow {
	h.t.Helper()
	var body struct {
		Rows []webhookRow `json:"rows"`
	}
	if err := json.Unmarshal(h.hooks.bodies[url], &body); err != nil {
		h.t.Fatalf("webhook body: %v", err)
	}
	return body.Rows
}

// A redelivery that only has the notification left sends what the first
// delivery would have: the largest customers in the email, the rows in the
// webhook.
func TestRedeliveredNotificationHasTheLargestCustomersAndRows(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	const hook = "https://hooks.example.com/x"
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "boss@example.com", WebhookURL: hook})
	h.claimFailsOnce()
	if !h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("an unclaimed notification was acknowledged")
	}
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 2)) {
		t.Fatal("redelivery asked for another retry")
	}
	mails := h.mailer.emails()
	if len(mails) != 1 {
		t.Fatalf("emails = %d", len(mails))
	}
	for _, want := range []string{"Largest customers", "19.00", "16.00", "Grand total</th><td><strong>USD 35.00", "(UTC)"} {
		if !strings.Contains(mails[0].HTML, want) {
			t.Errorf("HTML lacks %q:\n%s", want, mails[0].HTML)
		}
	}
	if rows := h.webhookRows(hook); len(rows) != 3 || rows[2].Customer != "Total" || rows[2].Total != "35.00" {
		t.Errorf("webhook rows = %+v", rows)
	}
	if h.files.puts != 1 {
		t.Errorf("puts = %d: the notification path must not write the file again", h.files.puts)
	}
}

// If the usage changed between the report and the redelivered notification,
// re-rated rows would contradict the stored CSV: the notification goes out
// without them rather than with wrong figures.
func TestRedeliveredNotificationAfterUsageChangedOmitsTheRows(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	const hook = "https://hooks.example.com/x"
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "boss@example.com", WebhookURL: hook})
	h.claimFailsOnce()
	if !h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("an unclaimed notification was acknowledged")
	}
	h.data.addUsage(billing.UsageEvent{ID: "late", AccountID: "acct-a", CustomerID: "c-1",
		Time: time.Date(2026, 10, 5, 0, 0, 0, 0, time.UTC), Item: billing.ItemOutboundSmsMessages, RawQuantity: "100"})
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 2)) {
		t.Fatal("redelivery asked for another retry")
	}
	mails := h.mailer.emails()
	if len(mails) != 1 || strings.Contains(mails[0].HTML, "Largest customers") || !strings.Contains(mails[0].HTML, "35.00") {
		t.Fatalf("emails = %+v", mails)
	}
	if rows := h.webhookRows(hook); len(rows) != 0 {
		t.Errorf("webhook rows = %+v, want none", rows)
	}
}

// While the usage store is down, the redelivery is retried rather than
// spending the one notification on a degraded email.
func TestRedeliveredNotificationWaitsForTheUsageStore(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "boss@example.com"})
	h.claimFailsOnce()
	if !h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("an unclaimed notification was acknowledged")
	}
	h.data.queryErr = func(billing.UsageQuery) error {
		return billing.Errorf(billing.EUNAVAILABLE, "DynamoDB is unavailable.")
	}
	if !h.deliver(context.Background(), sqsMessage("m-1", "r-1", 2)) || len(h.mailer.emails()) != 0 {
		t.Fatalf("store down: want a retry and no email, got %d emails", len(h.mailer.emails()))
	}
	// On the last receive the email goes out anyway, without the list.
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", resources.MaxReceiveCount)) {
		t.Fatal("last receive asked for a retry")
	}
	if m := h.mailer.emails(); len(m) != 1 || strings.Contains(m[0].HTML, "Largest customers") {
		t.Fatalf("emails = %+v", m)
	}
}

// A report that cannot finish before the function's timeout stops with a
// margin left, so the attempt records why and, on the last receive, fails the
// report and notifies, instead of being killed and left for the sweep. The
// report is of one day, which no hand-on can split (TestShortShardHandsOn).
func TestAttemptStopsBeforeTheFunctionTimeout(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.w.cfg.DeadlineMargin = 100 * time.Millisecond
	h.w.cfg.NotifyRecordTimeout = 50 * time.Millisecond // each message's own deadline is this much earlier
	h.data.pageSize = 1
	h.data.pageDelay = time.Second // far longer than the invocation has
	oct1 := billing.Date{Year: 2026, Month: 10, Day: 1}
	h.queue1("r-1", billing.ReportRequest{EmailAddressToNotify: "a@example.com", StartDate: oct1, EndDate: oct1})
	invocation := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.Background(), 300*time.Millisecond)
	}

	ctx, cancel := invocation()
	retry := h.deliver(ctx, sqsMessage("m-1", "r-1", 1))
	ctxErr := ctx.Err()
	cancel()
	if !retry {
		t.Fatal("a timed-out attempt was acknowledged; want it retried")
	}
	if ctxErr != nil {
		t.Fatal("the attempt used up the whole invocation; want it to stop with the margin left")
	}
	if r := h.reports.get("r-1"); r.Status != billing.ReportRunning || !strings.Contains(r.StatusMessage, "did not finish within the worker's time limit") {
		t.Fatalf("after the first attempt: %+v", r)
	}

	h.clock.Advance(resources.VisibilityTimeout)
	ctx, cancel = invocation()
	defer cancel()
	h.deliver(ctx, sqsMessage("m-1", "r-1", resources.MaxReceiveCount))
	r := h.reports.get("r-1")
	if r.Status != billing.ReportError || r.StatusMessage != "The report failed after repeated attempts: The report did not finish within the worker's time limit." {
		t.Fatalf("after the last attempt: %+v", r)
	}
	if mails := h.mailer.emails(); len(mails) != 1 || !strings.Contains(mails[0].Subject, "failed") {
		t.Fatalf("failure emails = %+v", mails)
	}
}

// A Customer-scoped report counts only its subtree's events in its progress,
// its final statusMessage and the webhook's report (spec 2.6): the account's
// volume is not the Customer's to see. seedSmall gives c-1 9 of the 15 events.
func TestScopedReportCountsOnlyItsSubtree(t *testing.T) {
	h := newHarness(t)
	h.seedSmall()
	h.data.pageSize = 1
	h.data.pageDelay = 3 * time.Millisecond
	h.queue1("r-1", billing.ReportRequest{WebhookURL: "https://hooks.example.com/x", EmailAddressToNotify: "c1@example.com"})
	h.reports.change("r-1", func(r *billing.Report) { r.CustomerScope = "c-1" })
	if h.deliver(context.Background(), sqsMessage("m-1", "r-1", 1)) {
		t.Fatal("retry requested")
	}
	h.checkProgress(9)
	const want = "Completed: 9 usage records in 1 shard."
	if r := h.reports.get("r-1"); r.Status != billing.ReportCompleted || r.StatusMessage != want {
		t.Fatalf("report %s %q, want Completed %q", r.Status, r.StatusMessage, want)
	}
	var hook struct{ Report billing.ReportInfo }
	if err := json.Unmarshal(h.hooks.bodies["https://hooks.example.com/x"], &hook); err != nil || hook.Report.StatusMessage != want {
		t.Errorf("webhook report statusMessage %q (%v), want %q", hook.Report.StatusMessage, err, want)
	}
	for _, m := range h.mailer.emails() {
		if strings.Contains(m.Text+m.HTML, "15") {
			t.Errorf("email mentions the account's 15 events:\n%s", m.Text)
		}
	}
}

// checkProgress fails unless progress was published and every message is
// "Processed N usage records" with 0 <= N <= max.
func (h *harness) checkProgress(max int) {
	h.t.Helper()
	progress := h.reports.progressSeen()
	if len(progress) == 0 {
		h.t.Fatal("no progress published")
	}
	for _, p := range progress {
		var n int
		if _, err := fmt.Sscanf(p, "Processed %d usage records (0 of 1 shard)", &n); err != nil || n < 0 || n > max {
			h.t.Errorf("progress message %q, want a count of at most %d", p, max)
		}
	}
}
