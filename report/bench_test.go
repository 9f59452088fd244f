package report

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
)

// countWriter counts what a renderer writes and throws it away.
type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

var benchResult = sync.OnceValue(func() *check.Result { return bigResult(10_000, 200_000) })

// BenchmarkWrite renders a prefecture-scale result (10,000 findings,
// 2,000 connection rows, 200,000 server and terminal rows) in every format.
// The baseline is encoding/json.Marshal of the same Result: the least any
// serialisation of that data costs.
func BenchmarkWrite(b *testing.B) {
	res := benchResult()
	b.Run("baseline-json.Marshal", func(b *testing.B) {
		b.ReportAllocs()
		var n int
		defer reportCPU(b)()
		for b.Loop() {
			out, err := json.Marshal(res)
			if err != nil {
				b.Fatal(err)
			}
			n = len(out)
		}
		b.ReportMetric(float64(n)/1e6, "MB-out")
	})
	for _, f := range Formats {
		b.Run(f, func(b *testing.B) {
			b.ReportAllocs()
			var w countWriter
			defer reportCPU(b)()
			for b.Loop() {
				w.n = 0
				if err := Write(&w, f, res, diag.List{}, Options{Now: testNow}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(w.n)/1e6, "MB-out")
		})
	}
}

// reportCPU starts measuring CPU time; the returned func reports it per op.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	return func() {
		b.ReportMetric(float64((cpuTime()-start).Milliseconds())/float64(b.N), "cpu-ms/op")
	}
}
