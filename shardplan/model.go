package shardplan

import (
	"fmt"
	"math"
	"time"

	billing "github.com/evovoice/billing"
)

// Lambda gives a function CPU in proportion to its memory: one vCPU at
// 1,769 MB, up to six at 10,240 MB.
const (
	mbPerVCPU = 1769
	maxVCPUs  = 6
)

// VCPUs is the CPU share of a Lambda function with memoryMB of memory.
func VCPUs(memoryMB int) float64 {
	return min(float64(memoryMB)/mbPerVCPU, maxVCPUs)
}

// Costs are measured costs per usage event.
type Costs struct {
	CPUPerEvent   time.Duration // reading (SDK decoding) plus rating, on one core
	BytesPerEvent float64       // stored bytes per event, which reads are billed by
}

// Deployment is the run function and its event source.
type Deployment struct {
	MemoryMB    int
	TimeLimit   time.Duration // the function's timeout
	Margin      float64       // of TimeLimit kept free (EventsWithin)
	ShardTime   time.Duration // the time a shard should take, for parallelism; 0: TimeLimit alone
	Concurrency int           // shards at once (the event source's maximum concurrency)
}

// Estimate is a modelled report: not a measurement.
type Estimate struct {
	Events    int64
	Days      int
	Shards    int
	Wall      time.Duration // waves of Concurrency shards, each as long as the largest shard
	GBSeconds float64       // Lambda compute of all shards
	ReadUnits float64       // strongly consistent DynamoDB read units (4 KB each)
}

// Budget is the events per shard the planner should use: what fits the time
// limit with its margin, and, if ShardTime is set, what a shard reads in
// ShardTime (smaller shards, more of them in parallel).
func (d Deployment) Budget(c Costs) int64 {
	vcpus := VCPUs(d.MemoryMB)
	b := EventsWithin(d.TimeLimit, vcpus, c.CPUPerEvent, d.Margin)
	if d.ShardTime > 0 {
		b = min(b, EventsWithin(d.ShardTime, vcpus, c.CPUPerEvent, 0))
	}
	return b
}

// Model plans a report of events spread evenly over days UTC days and
// estimates its cost, assuming a shard is CPU-bound (its day reads run
// concurrently, so page latency overlaps decoding).
func Model(events int64, days int, c Costs, d Deployment) (Estimate, error) {
	if events < 0 || days < 1 || c.CPUPerEvent <= 0 || d.MemoryMB <= 0 || d.Concurrency < 1 {
		return Estimate{}, fmt.Errorf("modelling a report: %d events, %d days, %v per event, %d MB, concurrency %d: want positive values", events, days, c.CPUPerEvent, d.MemoryMB, d.Concurrency)
	}
	first := billing.Date{Year: 2026, Month: 1, Day: 1}
	shards, err := Plan(Input{First: first, Last: first.AddDays(days - 1), EventsPerDay: float64(events) / float64(days), Budget: d.Budget(c)})
	if err != nil {
		return Estimate{}, fmt.Errorf("modelling a report: %w", err)
	}
	vcpus := VCPUs(d.MemoryMB)
	perEvent := c.CPUPerEvent.Seconds() / vcpus
	largest := 0
	for _, s := range shards {
		largest = max(largest, s.Days())
	}
	shardSeconds := float64(largest) * float64(events) / float64(days) * perEvent
	waves := (len(shards) + d.Concurrency - 1) / d.Concurrency
	return Estimate{
		Events:    events,
		Days:      days,
		Shards:    len(shards),
		Wall:      time.Duration(float64(waves) * shardSeconds * float64(time.Second)),
		GBSeconds: float64(events) * perEvent * float64(d.MemoryMB) / 1024,
		ReadUnits: math.Ceil(float64(events) * c.BytesPerEvent / 4096),
	}, nil
}
