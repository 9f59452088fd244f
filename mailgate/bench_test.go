package mailgate

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kyojin/kyojin/mailgate/postfixtest"
)

// drive sends n messages of the mix over conc connections and returns the
// elapsed time and each message's latency from the end of DATA (the final
// dot) to the 250 reply.
func drive(tb testing.TB, addr, prefix string, n, conc int) (time.Duration, []time.Duration) {
	var next atomic.Int64
	lats := make([]time.Duration, n)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := smtp.Dial(addr)
			if err != nil {
				tb.Error(err)
				return
			}
			defer c.Quit()
			if err := c.Hello("bench.good.example"); err != nil {
				tb.Error(err)
				return
			}
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				body := mixMessage(i, "a@good.example", fmt.Sprintf("<%s-%d@good.example>", prefix, i))
				if err := c.Mail("a@good.example", nil); err != nil {
					tb.Error(err)
					return
				}
				if err := c.Rcpt("kakari@city.lg.jp", nil); err != nil {
					tb.Error(err)
					return
				}
				w, err := c.Data()
				if err != nil {
					tb.Error(err)
					return
				}
				io.Copy(w, strings.NewReader(body))
				t0 := time.Now()
				if err := w.Close(); err != nil {
					tb.Error(err)
					return
				}
				lats[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	return time.Since(start), lats
}

func pct(lats []time.Duration, p float64) time.Duration {
	s := slices.Clone(lats)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// BenchmarkRelayMix compares, in one run and against the same downstream
// Postfix, the kyojin relay (SPF/DKIM/DMARC with table DNS, full
// sanitization, fsynced queue; clamd off) with a Postfix instance
// relaying the same mix with no content filter. Run with a fixed count:
//
//	go test ./mailgate/ -run XXX -bench RelayMix -benchtime 2000x
func BenchmarkRelayMix(b *testing.B) {
	if why := postfixtest.Available(); why != "" {
		b.Skip(why)
	}
	down := postfixtest.Start(b, postfixtest.Options{Name: "benchdown", Domains: []string{"city.lg.jp"}})
	plain := postfixtest.Start(b, postfixtest.Options{Name: "benchplain", Relayhost: down.Addr})
	const conc = 8
	_, relay, _ := startRelayWith(b, down.Addr, "", func(c *Config) {
		c.Limits.MaxConnectionsPerIP, c.Limits.MaxMessagesPerIPHour = 100, 1<<30
		c.Queue.Workers = 8
	})
	results := map[string]float64{}
	for _, tc := range []struct{ name, addr string }{{"postfix", plain.Addr}, {"kyojin", relay}} {
		b.Run(tc.name, func(b *testing.B) {
			prefix := fmt.Sprintf("%s-%d", tc.name, time.Now().UnixNano())
			start := time.Now()
			elapsed, lats := drive(b, tc.addr, prefix, b.N, conc)
			ids := make([]string, b.N)
			for i := range ids {
				ids[i] = fmt.Sprintf("<%s-%d@good.example>", prefix, i)
			}
			waitIDs(b, down, ids, time.Minute+time.Duration(b.N)*20*time.Millisecond)
			e2e := time.Since(start)
			rate := float64(b.N) / elapsed.Seconds()
			results[tc.name] = rate
			b.ReportMetric(rate, "msgs/s")
			b.ReportMetric(float64(pct(lats, 0.50).Microseconds())/1000, "p50-ms")
			b.ReportMetric(float64(pct(lats, 0.99).Microseconds())/1000, "p99-ms")
			b.ReportMetric(float64(b.N)/e2e.Seconds(), "e2e-msgs/s")
		})
	}
	if results["postfix"] > 0 {
		b.Logf("kyojin/postfix accept-rate ratio: %.2f", results["kyojin"]/results["postfix"])
	}
}
