package shardplan

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

func day(s string) billing.Date {
	d, err := billing.ParseDate(s)
	if err != nil {
		panic(err)
	}
	return d
}

func ids(shards []Shard) []string {
	out := make([]string, len(shards))
	for i, s := range shards {
		out[i] = s.ID()
	}
	return out
}

func TestPlan(t *testing.T) {
	year := Input{First: day("2026-01-01"), Last: day("2026-12-31"), Budget: 10_000_000} // 365 days
	tests := []struct {
		name string
		in   func(Input) Input
		want []string
	}{
		{"small report: one shard", func(in Input) Input { in.EventsPerDay = 1000; return in }, []string{"2026-01-01_2026-12-31"}},
		{"exactly the budget: one shard", func(in Input) Input { in.EventsPerDay = 10_000_000.0 / 365; return in }, []string{"2026-01-01_2026-12-31"}},
		{"unknown density: one shard", func(in Input) Input { return in }, []string{"2026-01-01_2026-12-31"}},
		{"one day", func(in Input) Input { in.Last = in.First; in.EventsPerDay = 1e9; return in }, []string{"2026-01-01_2026-01-01"}},
		{"1.9 times the budget: two balanced shards", func(in Input) Input { in.EventsPerDay = 19_000_000.0 / 365; return in },
			[]string{"2026-01-01_2026-07-02", "2026-07-03_2026-12-31"}},
		// 182.5 days fit: two shards would need 183, so three.
		{"twice the budget: three shards", func(in Input) Input { in.EventsPerDay = 20_000_000.0 / 365; return in },
			[]string{"2026-01-01_2026-05-02", "2026-05-03_2026-09-01", "2026-09-02_2026-12-31"}},
		{"cap of 100 days: four balanced shards, not 100+100+100+65", func(in Input) Input { in.MaxDays = 100; return in },
			[]string{"2026-01-01_2026-04-02", "2026-04-03_2026-07-02", "2026-07-03_2026-10-01", "2026-10-02_2026-12-31"}},
		{"a day denser than the budget: one-day shards", func(in Input) Input {
			in.First, in.Last, in.EventsPerDay = day("2026-02-27"), day("2026-03-01"), 3e7
			return in
		}, []string{"2026-02-27_2026-02-27", "2026-02-28_2026-02-28", "2026-03-01_2026-03-01"}},
		{"the cap and the density: the tighter wins", func(in Input) Input {
			in.First, in.Last, in.EventsPerDay, in.MaxDays = day("2026-10-01"), day("2026-10-10"), 2.5e6, 7
			return in
		}, []string{"2026-10-01_2026-10-04", "2026-10-05_2026-10-07", "2026-10-08_2026-10-10"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Plan(tt.in(year))
			if err != nil {
				t.Fatalf("Plan: %v", err)
			}
			if g := ids(got); len(g) != len(tt.want) || func() bool {
				for i := range g {
					if g[i] != tt.want[i] {
						return true
					}
				}
				return false
			}() {
				t.Fatalf("Plan = %v, want %v", g, tt.want)
			}
		})
	}
}

func TestPlanRejects(t *testing.T) {
	ok := Input{First: day("2026-10-01"), Last: day("2026-10-31"), Budget: 1000, EventsPerDay: 10}
	for name, in := range map[string]Input{
		"no days":          {Budget: 1000},
		"reversed":         {First: ok.Last, Last: ok.First, Budget: 1000},
		"no budget":        {First: ok.First, Last: ok.Last},
		"negative density": {First: ok.First, Last: ok.Last, Budget: 1000, EventsPerDay: -1},
		"NaN density":      {First: ok.First, Last: ok.Last, Budget: 1000, EventsPerDay: math.NaN()},
		"infinite density": {First: ok.First, Last: ok.Last, Budget: 1000, EventsPerDay: math.Inf(1)},
		"negative cap":     {First: ok.First, Last: ok.Last, Budget: 1000, MaxDays: -1},
	} {
		if got, err := Plan(in); err == nil {
			t.Errorf("%s: Plan = %v, want an error", name, ids(got))
		}
	}
	if _, err := Plan(ok); err != nil {
		t.Fatalf("valid input: %v", err)
	}
}

// Random inputs: the shards cover the days exactly once, in order, each
// within the cap and (unless one day alone exceeds it) the budget at the
// estimated density, as few as that allows, and balanced.
func TestPlanProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 11))
	for range 5000 {
		in := Input{First: day("2025-12-20").AddDays(rng.IntN(400)), Budget: 1 + rng.Int64N(1e8)}
		in.Last = in.First.AddDays(rng.IntN(366))
		if rng.IntN(5) > 0 {
			in.EventsPerDay = rng.Float64() * 1e7
		}
		if rng.IntN(3) == 0 {
			in.MaxDays = 1 + rng.IntN(40)
		}
		shards, err := Plan(in)
		if err != nil {
			t.Fatalf("Plan(%+v): %v", in, err)
		}
		days := in.First.DaysUntil(in.Last) + 1
		next, largest, smallest := in.First, 0, days
		for _, s := range shards {
			if s.First != next || s.Last.Before(s.First) {
				t.Fatalf("Plan(%+v) = %v: not contiguous", in, ids(shards))
			}
			next = s.Last.AddDays(1)
			largest, smallest = max(largest, s.Days()), min(smallest, s.Days())
			if in.MaxDays > 0 && s.Days() > in.MaxDays {
				t.Fatalf("Plan(%+v): shard %s over the cap", in, s.ID())
			}
			if s.Days() > 1 && float64(s.Days())*in.EventsPerDay > float64(in.Budget) {
				t.Fatalf("Plan(%+v): shard %s over the budget", in, s.ID())
			}
		}
		if next != in.Last.AddDays(1) {
			t.Fatalf("Plan(%+v) = %v: does not reach the last day", in, ids(shards))
		}
		if largest-smallest > 1 {
			t.Fatalf("Plan(%+v) = %v: unbalanced", in, ids(shards))
		}
		// Fewest: one shard fewer would need a shard of more days than allowed.
		if n := len(shards); n > 1 {
			if fewer := (days + n - 2) / (n - 1); fewer <= largest && (in.MaxDays == 0 || fewer <= in.MaxDays) &&
				(in.EventsPerDay == 0 || float64(fewer)*in.EventsPerDay <= float64(in.Budget)) {
				t.Fatalf("Plan(%+v) = %d shards; %d of %d days would do", in, n, n-1, fewer)
			}
		}
	}
}

func TestRest(t *testing.T) {
	s := Shard{First: day("2026-10-01"), Last: day("2026-10-07")}
	for _, tt := range []struct {
		done int
		want []string
	}{
		{0, []string{"2026-10-01_2026-10-04", "2026-10-05_2026-10-07"}},
		{3, []string{"2026-10-04_2026-10-05", "2026-10-06_2026-10-07"}},
		{6, []string{"2026-10-07_2026-10-07"}},
		{7, nil},
		{9, nil},
		{-1, []string{"2026-10-01_2026-10-04", "2026-10-05_2026-10-07"}},
	} {
		got := ids(Rest(s, tt.done))
		if len(got) != len(tt.want) || (len(got) > 0 && (got[0] != tt.want[0] || got[len(got)-1] != tt.want[len(tt.want)-1])) {
			t.Errorf("Rest(%s, %d) = %v, want %v", s.ID(), tt.done, got, tt.want)
		}
	}
}

func TestEventsWithin(t *testing.T) {
	if got := EventsWithin(5*time.Minute, 0.29, 1500*time.Nanosecond, 0.5); got != 29_000_000 {
		t.Fatalf("EventsWithin = %d, want 29,000,000", got)
	}
	for _, bad := range [][4]float64{{0, 1, 1, 0}, {1, 0, 1, 0}, {1, 1, 0, 0}, {1, 1, 1, 1}, {1, 1, 1, -0.1}} {
		if got := EventsWithin(time.Duration(bad[0]*float64(time.Second)), bad[1], time.Duration(bad[2]*float64(time.Microsecond)), bad[3]); got != 0 {
			t.Errorf("EventsWithin%v = %d, want 0", bad, got)
		}
	}
}

func TestModel(t *testing.T) {
	costs := Costs{CPUPerEvent: 1500 * time.Nanosecond, BytesPerEvent: 96}
	d := Deployment{MemoryMB: 1769, TimeLimit: 5 * time.Minute, Margin: 0.5, ShardTime: 30 * time.Second, Concurrency: 100}
	// 1 vCPU at 1.5 µs reads 20M events in 30 s, 73 days at 100M/366 a day;
	// 366 days need 6 such shards, balanced to 61 days (16.7M events, 25 s).
	e, err := Model(100_000_000, 366, costs, d)
	if err != nil {
		t.Fatal(err)
	}
	if e.Shards != 6 || e.Wall < 24*time.Second || e.Wall > 26*time.Second {
		t.Fatalf("100M events: %d shards, %v; want 6 shards of about 25 s", e.Shards, e.Wall)
	}
	if want := 100e6 * 1.5e-6 * 1769 / 1024; math.Abs(e.GBSeconds-want) > 0.01 {
		t.Fatalf("GB-s = %v, want %v", e.GBSeconds, want)
	}
	if want := math.Ceil(100e6 * 96 / 4096); e.ReadUnits != want {
		t.Fatalf("read units = %v, want %v", e.ReadUnits, want)
	}
	// More shards than the concurrency run in waves.
	d.Concurrency = 2
	if e2, _ := Model(100_000_000, 366, costs, d); e2.Wall != 3*e.Wall {
		t.Fatalf("6 shards 2 at a time: %v, want 3 × %v", e2.Wall, e.Wall)
	}
	if _, err := Model(1, 0, costs, d); err == nil {
		t.Fatal("Model with 0 days: no error")
	}
	if v := VCPUs(512); math.Abs(v-0.2894) > 0.001 {
		t.Fatalf("VCPUs(512) = %v", v)
	}
	if v := VCPUs(20000); v != 6 {
		t.Fatalf("VCPUs(20000) = %v, want the cap 6", v)
	}
}
