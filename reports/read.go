package reports

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"strings"
	"time"

	billing "github.com/evovoice/billing"
	"github.com/evovoice/billing/linktoken"
	"github.com/evovoice/billing/resources"
)

// ReadStore is what the reads (Get, List, Download) need of
// billing.ReportStore: reads only, so that the status function holds no write
// grant.
type ReadStore interface {
	GetReport(ctx context.Context, id string) (*billing.Report, error)
	ListReports(ctx context.Context, f billing.ReportFilter) (billing.ReportPage, error)
}

// Presigner is what the reads need of billing.ReportFiles.
type Presigner interface {
	PresignGet(ctx context.Context, key, fileName string, ttl time.Duration) (string, error)
}

// ReaderDeps are the reads' dependencies.
type ReaderDeps struct {
	Reports ReadStore
	Files   Presigner
	// SigningKey verifies download tokens and seals list cursors; required.
	SigningKey []byte
	LinkTTL    time.Duration    // presigned URL lifetime; default resources.DefaultLinkTTL
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger     // default slog.Default()
}

// Reader runs the read use cases of spec 2.2–2.4: one report, a listing and
// the emailed download link.
type Reader struct{ d ReaderDeps }

// NewReader returns a Reader with d's defaults filled in. It panics without a
// signing key: every cursor and download link would be refused.
func NewReader(d ReaderDeps) *Reader {
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.LinkTTL <= 0 {
		d.LinkTTL = resources.DefaultLinkTTL
	}
	if d.Logger == nil {
		d.Logger = slog.Default()
	}
	if len(d.SigningKey) == 0 {
		panic("reports: NewReader needs a signing key")
	}
	return &Reader{d}
}

// ErrInvalidRole refuses a caller that holds none of the service's roles.
func ErrInvalidRole() error {
	return billing.Forbidden("Invalid Role")
}

// RequireRole rejects callers that hold none of the service's roles.
func RequireRole(c billing.Caller) error {
	if c.EffectiveRole() == "" {
		return ErrInvalidRole()
	}
	return nil
}

// Get returns the public view of the report id, with a fresh presigned link
// when it is complete. A report of another account or customer is ENOTFOUND
// exactly like a missing one, so that no report's existence leaks (OWASP API1).
func (q *Reader) Get(ctx context.Context, caller billing.Caller, id string) (billing.ReportInfo, error) {
	if err := RequireRole(caller); err != nil {
		return billing.ReportInfo{}, err
	}
	notFound := billing.Errorf(billing.ENOTFOUND, "Report '%s' not found.", truncate(id, 64))
	if !billing.ValidID(id) {
		// Junk never reaches the store.
		return billing.ReportInfo{}, notFound
	}
	rep, err := q.d.Reports.GetReport(ctx, id)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return billing.ReportInfo{}, notFound
	}
	if err != nil {
		return billing.ReportInfo{}, err
	}
	if !caller.CanRead(rep) {
		return billing.ReportInfo{}, notFound
	}
	return q.info(ctx, rep)
}

// ListRequest is a listing as the caller wrote it (GET /reports's query):
// strings, so that every rule's failure is reported in one answer.
type ListRequest struct {
	AccountID string // "" is the caller's only account
	Status    string // "" is any; case-insensitive
	Limit     string // "" is billing.DefaultListLimit
	NextToken string // a previous page's NextToken
}

// ReportList is one page of a listing.
type ReportList struct {
	Results   []billing.ReportInfo `json:"results"`
	NextToken string               `json:"nextToken,omitempty"`
}

// List returns one page of the reports of an account the caller may see,
// newest first (spec 2.3).
func (q *Reader) List(ctx context.Context, caller billing.Caller, lr ListRequest) (ReportList, error) {
	if err := RequireRole(caller); err != nil {
		return ReportList{}, err
	}
	filter, err := listFilter(caller, lr)
	if err != nil {
		return ReportList{}, err
	}
	if lr.NextToken != "" {
		if filter.Cursor, err = OpenCursor(q.d.SigningKey, lr.NextToken, filter); err != nil {
			return ReportList{}, err
		}
	}
	page, err := q.d.Reports.ListReports(ctx, filter)
	if err != nil {
		return ReportList{}, err
	}
	list := ReportList{Results: make([]billing.ReportInfo, 0, len(page.Reports))}
	for _, rep := range page.Reports {
		// The store filtered already; this is the last line against a leak.
		if !caller.CanRead(rep) || rep.AccountID != filter.AccountID {
			q.d.Logger.ErrorContext(ctx, "the store listed a report outside the filter", "reportId", rep.ID)
			continue
		}
		ri, err := q.info(ctx, rep)
		if err != nil {
			return ReportList{}, err
		}
		list.Results = append(list.Results, ri)
	}
	list.NextToken = SealCursor(q.d.SigningKey, page.Cursor, filter)
	return list, nil
}

// listFilter validates lr for caller: every failed rule in one EINVALID
// error, in the order of the fields, then the caller's scope in the account.
func listFilter(caller billing.Caller, lr ListRequest) (billing.ReportFilter, error) {
	filter := billing.ReportFilter{AccountID: strings.TrimSpace(lr.AccountID), Limit: billing.DefaultListLimit}
	var errs []billing.FieldError
	if fe := CheckAccountID(filter.AccountID); fe != nil {
		errs = append(errs, *fe)
	}
	if s := strings.TrimSpace(lr.Status); s != "" {
		st, ok := parseStatus(s)
		if !ok {
			errs = append(errs, billing.FieldError{ErrorCode: "InvalidFormat", FieldName: "Status", Message: "'Status' must be one of Queued, Running, Completed, Error."})
		}
		filter.Status = st
	}
	if n, fe := ParseLimit(lr.Limit); fe != nil {
		errs = append(errs, *fe)
	} else if n > 0 {
		filter.Limit = n
	}
	// Reports are partitioned by account (a cross-account listing would be a
	// table scan), so an account is required of every role.
	if filter.AccountID == "" {
		if len(caller.AccountIDs) == 1 {
			filter.AccountID = caller.AccountIDs[0]
		} else {
			errs = append(errs, billing.FieldError{ErrorCode: "NotEmpty", FieldName: "AccountId", Message: "'AccountId' must not be empty."})
		}
	}
	if len(errs) > 0 {
		return filter, billing.Invalid(errs...)
	}
	var err error
	filter.CustomerScope, err = caller.ScopeForAccount(filter.AccountID)
	return filter, err
}

// parseStatus reads a status case-insensitively.
func parseStatus(s string) (billing.ReportStatus, bool) {
	for _, v := range []billing.ReportStatus{billing.ReportQueued, billing.ReportRunning, billing.ReportCompleted, billing.ReportError} {
		if strings.EqualFold(s, string(v)) {
			return v, true
		}
	}
	return billing.ReportStatus(s), false
}

// ParseLimit reads a listing's limit: 0 when it is absent.
func ParseLimit(s string) (int, *billing.FieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	switch {
	case err != nil:
		return 0, &billing.FieldError{ErrorCode: "InvalidFormat", FieldName: "Limit", Message: "'Limit' must be a whole number."}
	case n < 1:
		return 0, &billing.FieldError{ErrorCode: "GreaterThanOrEqual", FieldName: "Limit", Message: "'Limit' must be greater than or equal to '1'."}
	case n > billing.MaxListLimit:
		return 0, &billing.FieldError{ErrorCode: "LessThanOrEqual", FieldName: "Limit", Message: "'Limit' must be less than or equal to '" + strconv.Itoa(billing.MaxListLimit) + "'."}
	}
	return n, nil
}

// Download returns a fresh presigned URL of the report id's file for the
// emailed link: the token is the whole authorization (spec 2.4).
func (q *Reader) Download(ctx context.Context, id, token string) (string, error) {
	if err := linktoken.Verify(q.d.SigningKey, id, token, q.d.Now()); err != nil {
		msg := linktoken.ErrInvalid.Error()
		if errors.Is(err, linktoken.ErrMissing) || errors.Is(err, linktoken.ErrExpired) {
			msg = err.Error()
		}
		return "", billing.WrapError(billing.EFORBIDDEN, err, "%s.", upperFirst(msg))
	}
	// A valid token was signed by us for this id, so the id is a real report's.
	rep, err := q.d.Reports.GetReport(ctx, id)
	if billing.ErrorCode(err) == billing.ENOTFOUND {
		return "", billing.Errorf(billing.ENOTFOUND, "Report '%s' no longer exists.", id)
	}
	if err != nil {
		return "", err
	}
	if rep.Status != billing.ReportCompleted || rep.ObjectKey == "" {
		return "", billing.Errorf(billing.ECONFLICT, "Report '%s' has no file to download (status %s).", id, rep.Status)
	}
	return q.presign(ctx, rep)
}

// info is the public view of rep with a fresh presigned link when it is complete.
func (q *Reader) info(ctx context.Context, rep *billing.Report) (billing.ReportInfo, error) {
	ri := rep.Info()
	if rep.Status == billing.ReportCompleted && rep.ObjectKey != "" {
		link, err := q.presign(ctx, rep)
		if err != nil {
			return billing.ReportInfo{}, err
		}
		ri.DownloadLink = link
	}
	return ri, nil
}

func (q *Reader) presign(ctx context.Context, rep *billing.Report) (string, error) {
	name := resources.ReportFileName(rep.Request.StartDate.String(), rep.Request.EndDate.String())
	link, err := q.d.Files.PresignGet(ctx, rep.ObjectKey, name, q.d.LinkTTL)
	if err != nil {
		if billing.ErrorCode(err) == billing.EINTERNAL {
			return "", billing.WrapError(billing.EUNAVAILABLE, err, "The download link could not be made; retry.")
		}
		return "", err
	}
	return link, nil
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
