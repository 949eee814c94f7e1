package importfile

import (
	"strconv"
	"testing"
)

func TestBloomSizing(t *testing.T) {
	for _, tt := range []struct {
		in   int64
		want uint32
	}{{-1, maxBloomBits}, {0, minBloomBits}, {1000, minBloomBits}, {1 << 22, 1 << 22}, {1<<22 + 1, 1 << 23}, {1 << 40, maxBloomBits}} {
		if got := bloomBitsFor(tt.in); got != tt.want {
			t.Errorf("bloomBitsFor(%d) = %d, want %d", tt.in, got, tt.want)
		}
	}
}

// At the default size and a million distinct ids the filter must raise next to
// no false alarms: each one costs a second pass over the file.
func TestBloomFalseAlarmsAreRare(t *testing.T) {
	b := newBloom(maxBloomBits)
	alarms := 0
	for i := range 1_000_000 {
		if b.testAndAdd(b.hash("ev-" + strconv.Itoa(i))) {
			alarms++
		}
	}
	if alarms > 2 {
		t.Fatalf("%d false alarms in 1M distinct ids", alarms)
	}
	if !b.testAndAdd(b.hash("ev-42")) {
		t.Fatal("a repeated id was not flagged")
	}
}
