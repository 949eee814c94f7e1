// Package shardplan decides how a report's usage is split into shards: runs of
// contiguous UTC days that one worker invocation reads and rates into a
// partial (rating.Partial). It is pure (no I/O): the worker gives it the
// report's UTC days, a cheap estimate of the account's usage density and the
// number of events one invocation can read within its time limit, and gets
// back the shards. A small report stays one shard, so it keeps the
// one-invocation path with no extra writes.
//
// The estimate may be wrong: a shard that runs short of time hands the days
// it has not read on as new shards (Rest), so a low estimate costs extra
// invocations, never a failed report.
package shardplan

import (
	"fmt"
	"math"
	"strings"
	"time"

	billing "github.com/evovoice/billing"
)

// Shard is the UTC days First..Last (inclusive) of one report.
type Shard struct {
	First, Last billing.Date
}

// Days is the number of days of s.
func (s Shard) Days() int { return s.First.DaysUntil(s.Last) + 1 }

// ID names the shard by its days ("2026-10-01_2026-10-07"): deterministic,
// so a retried shard overwrites its own partial, and unique within a report,
// because shards never share a day. A shard handed on (Rest) gets the ID of
// its own days.
func (s Shard) ID() string { return s.First.String() + "_" + s.Last.String() }

// ParseID is the inverse of Shard.ID.
func ParseID(id string) (Shard, error) {
	first, last, ok := strings.Cut(id, "_")
	if !ok {
		return Shard{}, fmt.Errorf("parsing shard id %q: want FIRST_LAST", id)
	}
	f, err := billing.ParseDate(first)
	if err != nil {
		return Shard{}, fmt.Errorf("parsing shard id %q: %w", id, err)
	}
	l, err := billing.ParseDate(last)
	if err != nil {
		return Shard{}, fmt.Errorf("parsing shard id %q: %w", id, err)
	}
	if l.Before(f) {
		return Shard{}, fmt.Errorf("parsing shard id %q: its last day is before its first", id)
	}
	return Shard{First: f, Last: l}, nil
}

// Input is what Plan needs to know.
type Input struct {
	// First and Last are the report's UTC days (rating.Period.UTCDays).
	First, Last billing.Date
	// EventsPerDay is the estimated usage of one UTC day (for example the
	// account's events seen so far over its days); 0 means unknown.
	EventsPerDay float64
	// Budget is the number of events one invocation reads within its time
	// limit, margin included (EventsWithin). Required.
	Budget int64
	// MaxDays caps the days per shard (reportctl dev --shard-days, so tests
	// can force many shards on small data); 0 means no cap.
	MaxDays int
}

// Plan splits In's days into the fewest shards that each fit the budget and
// the cap, with sizes that differ by at most one day (the shards run in
// parallel, so the largest bounds the wall time). An unknown density gives one
// shard unless the cap splits it: the adaptive hand-on covers the rest.
func Plan(in Input) ([]Shard, error) {
	switch {
	case in.First.IsZero() || in.Last.IsZero() || in.Last.Before(in.First):
		return nil, fmt.Errorf("planning shards: no days from %s to %s", in.First, in.Last)
	case in.Budget <= 0:
		return nil, fmt.Errorf("planning shards: budget %d events, want more than 0", in.Budget)
	case in.EventsPerDay < 0 || math.IsNaN(in.EventsPerDay) || math.IsInf(in.EventsPerDay, 0):
		return nil, fmt.Errorf("planning shards: density %v events a day, want a finite number of at least 0", in.EventsPerDay)
	case in.MaxDays < 0:
		return nil, fmt.Errorf("planning shards: cap %d days, want at least 0", in.MaxDays)
	}
	days := in.First.DaysUntil(in.Last) + 1
	perShard := days
	if in.EventsPerDay > 0 {
		// Days that fit the budget, at least one: a single day denser than
		// the budget still runs, and hands on what it cannot read.
		perShard = int(min(float64(days), max(1, math.Floor(float64(in.Budget)/in.EventsPerDay))))
	}
	if in.MaxDays > 0 {
		perShard = min(perShard, in.MaxDays)
	}
	n := (days + perShard - 1) / perShard
	return split(in.First, days, n), nil
}

// split cuts days days from first into n contiguous shards whose sizes differ
// by at most one, the larger first.
func split(first billing.Date, days, n int) []Shard {
	shards := make([]Shard, 0, n)
	size, extra := days/n, days%n
	d := first
	for i := range n {
		k := size
		if i < extra {
			k++
		}
		shards = append(shards, Shard{First: d, Last: d.AddDays(k - 1)})
		d = d.AddDays(k)
	}
	return shards
}

// Rest is the hand-on of a shard that ran short of time after reading its
// first done days completely: the remaining days, split in two when there
// are at least two (the estimate was low, so the rest is dense too and two
// invocations finish it sooner). It returns nothing when no day is left.
// done is clamped to 0..s.Days().
func Rest(s Shard, done int) []Shard {
	done = min(max(done, 0), s.Days())
	left := s.Days() - done
	if left == 0 {
		return nil
	}
	return split(s.First.AddDays(done), left, min(2, left))
}

// EventsWithin is the budget of one invocation: the events it reads in
// limit on vCPUs cores at cpuPerEvent of CPU each, keeping margin (0..1) of
// the time free for the rest of the run (rating, writing the partial,
// retries, a slower page). For example 5 minutes on 0.29 vCPU at 1.5 µs per
// event with a 0.5 margin is 29 million events.
func EventsWithin(limit time.Duration, vCPUs float64, cpuPerEvent time.Duration, margin float64) int64 {
	if limit <= 0 || vCPUs <= 0 || cpuPerEvent <= 0 || margin < 0 || margin >= 1 {
		return 0
	}
	return int64(limit.Seconds() * vCPUs * (1 - margin) / cpuPerEvent.Seconds())
}
