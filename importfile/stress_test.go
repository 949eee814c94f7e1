package importfile

import (
	"context"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"testing"
	"time"

	billing "github.com/evovoice/billing"
)

func TestStressHang(t *testing.T) {
	seeds := [][]byte{lines(acctLine, rootLine, childLine, usageLine("u1", "c2", "60")), lines(usageLine("u1", "c1", "1"), acctLine, rootLine, usageLine("u1", "c1", "1"))}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 200000; i++ {
		d := append([]byte(nil), seeds[r.IntN(2)]...)
		for k := r.IntN(8); k >= 0; k-- {
			switch r.IntN(3) {
			case 0:
				d[r.IntN(len(d))] = byte(r.IntN(256))
			case 1:
				p := r.IntN(len(d))
				d = append(d[:p], d[min(len(d), p+r.IntN(10)):]...)
			case 2:
				p := r.IntN(len(d))
				q := r.IntN(len(d))
				d = append(d[:p], append(append([]byte(nil), d[q:min(len(d), q+20)]...), d[p:]...)...)
			}
			if len(d) == 0 {
				d = []byte("x")
			}
		}
		done := make(chan struct{})
		go func() {
			Scan(context.Background(), Bytes(d), Options{BloomBits: 512, MaxProblems: 10}, func(*Dataset) (UsageFunc, error) {
				return func(e *billing.UsageEvent) error { return nil }, nil
			})
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(3 * time.Second):
			t.Logf("hang on %q", d)
			pprof.Lookup("goroutine").WriteTo(os.Stderr, 2)
			t.FailNow()
		}
	}
}
