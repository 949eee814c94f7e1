package billing

import (
	"fmt"
	"time"
)

// ReportStatus is a report's place in its state machine:
// Queued -> Running -> Completed | Error, never backwards.
type ReportStatus string

// Report statuses (ServiceStack's ReportStatuses enum).
const (
	ReportQueued    ReportStatus = "Queued"
	ReportRunning   ReportStatus = "Running"
	ReportCompleted ReportStatus = "Completed"
	ReportError     ReportStatus = "Error"
)

// Final reports whether no further transition is possible.
func (s ReportStatus) Final() bool { return s == ReportCompleted || s == ReportError }

// Valid reports whether s is one of the four statuses.
func (s ReportStatus) Valid() bool {
	switch s {
	case ReportQueued, ReportRunning, ReportCompleted, ReportError:
		return true
	}
	return false
}

// ReportInfo is the response DTO of spec 2.2: exactly these fields, empty ones omitted.
type ReportInfo struct {
	ID                   string       `json:"id,omitempty"`
	Name                 string       `json:"name,omitempty"`
	Status               ReportStatus `json:"status,omitempty"`
	StatusMessage        string       `json:"statusMessage,omitempty"`
	DateCreated          string       `json:"dateCreated,omitempty"`
	DateUpdated          string       `json:"dateUpdated,omitempty"`
	DownloadLink         string       `json:"downloadLink,omitempty"`
	JobID                string       `json:"jobId,omitempty"`
	EmailAddressToNotify string       `json:"emailAddressToNotify,omitempty"`
	Server               string       `json:"server,omitempty"`
}

// Report is the stored report: the validated request, who asked, and the worker's
// state. ReportInfo is the public view of it.
type Report struct {
	ID            string
	AccountID     string
	Request       ReportRequest
	CustomerScope string // set for Customer-role callers: the report holds only this subtree
	CreatedBy     string // the caller's subject, for audit
	Name          string
	Status        ReportStatus
	StatusMessage string
	DateCreated   time.Time
	DateUpdated   time.Time
	JobID         string
	Server        string

	// Worker state. Attempt counts leases taken; only the holder of the current
	// attempt's lease may finish the report.
	Attempt       int
	LeaseExpires  time.Time
	ObjectKey     string // S3 key of the CSV once Completed
	RowCount      int    // customer rows, Total row excluded
	ByteSize      int64
	GrandTotal    string    // the Total row's Total cell, e.g. "1234.56"
	NotifiedAt    time.Time // when the completion/failure email was claimed (sent once)
	NotifyResult  string    // outcome of the email: "sent", or the last error
	WebhookResult string    // outcome of the webhook, if any

	// Shard state of a report split into shards (worker, spec 4 "Reports of
	// any size"); all empty for a report run in one invocation.
	Shards       []string              // planned shard ids (shardplan.Shard.ID), sorted; hand-ons add to it
	ShardsDone   []string              // shards counted done, each once, sorted
	ShardRecords int64                 // usage records of the done shards
	ShardLeases  map[string]ShardLease // by shard id (and "finalize")
	ShardCount   int                   // shards the finished report took (1 unsharded)
}

// ShardLease is the lease of one shard (or of the finalize job) of a report:
// only its owner may write the shard's partial and count it done.
type ShardLease struct {
	Owner    string
	Expires  time.Time
	Attempts int // leases taken on this shard, for the sweep's give-up rule
}

// AllShardsDone reports whether every planned shard is counted done.
func (r *Report) AllShardsDone() bool {
	return len(r.Shards) > 0 && len(r.ShardsDone) == len(r.Shards)
}

// Info is the public view of r, without a download link (the caller adds a fresh one).
func (r *Report) Info() ReportInfo {
	return ReportInfo{
		ID:                   r.ID,
		Name:                 r.Name,
		Status:               r.Status,
		StatusMessage:        r.StatusMessage,
		DateCreated:          FormatTime(r.DateCreated),
		DateUpdated:          FormatTime(r.DateUpdated),
		JobID:                r.JobID,
		EmailAddressToNotify: r.Request.EmailAddressToNotify,
		Server:               r.Server,
	}
}

// FormatTime renders t as RFC 3339 in UTC, or "" for the zero time.
func FormatTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// ReportName is the human name of a report over the period, e.g.
// "Billing Report 2026-10-01 to 2026-10-31".
func ReportName(start, end Date) string {
	return fmt.Sprintf("Billing Report %s to %s", start, end)
}

// Job is the queue message that asks the worker to run a report.
//
// A job with Shard reads and rates that shard's days into a partial; one
// with Finalize merges the partials and finishes the report; a job with
// neither plans the report (and runs it, when it fits one invocation).
type Job struct {
	ReportID string `json:"reportId"`
	Shard    string `json:"shard,omitempty"`
	Finalize bool   `json:"finalize,omitempty"`
}
