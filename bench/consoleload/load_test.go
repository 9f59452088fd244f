package consoleload

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/model/modelgen"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/postgres"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
	"github.com/kyojin/kyojin/store/storetest"
	"github.com/kyojin/kyojin/web"
)

// sessions is the number of concurrent logged-in sessions (the target is
// 50); -sessions 1 measures the service time without queueing.
var sessionsFlag = flag.Int("sessions", 50, "concurrent sessions")

var sessions int

// think is the mean pause between a session's page views (uniform in
// [think/2, 3·think/2]); 0 is a closed loop that saturates the server.
// pg runs the store on a throw-away PostgreSQL server instead of SQLite.
var pg = flag.Bool("pg", false, "use PostgreSQL (started in a temporary directory) as the store")

var think = flag.Duration("think", 0, "mean think time between page views of one session")

var pages = []string{"/", "/model", "/findings", "/audit"}

type fixture struct {
	srv     *httptest.Server
	cookies []string
	model   *model.Model
}

func setup(b *testing.B) *fixture {
	b.Helper()
	sessions = *sessionsFlag
	dir := b.TempDir()
	// One prefectural government at full size: about 1,600 host entries
	// (10,000+ terminals) and 4,000 flows in one organization.
	if err := modelgen.Generate(dir, modelgen.Options{Seed: 3, Organizations: 1, Hosts: 1600, Flows: 4000, Issues: -1}); err != nil {
		b.Fatal(err)
	}
	models, diags := model.LoadSet(dir)
	var m *model.Model
	if len(models) == 1 {
		m = models[0]
	}
	if m == nil {
		b.Fatal(diags.Err())
	}
	var s store.Store
	if *pg {
		srv := pgtest.Start(b)
		db, err := postgres.Open(srv.NewDB(b))
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { db.Close() })
		if err := db.Migrate(context.Background()); err != nil {
			b.Fatal(err)
		}
		s = db
	} else {
		s = storetest.SQLite(b)
	}
	ctx := context.Background()
	al := audit.New(s)
	for i := range 10000 {
		if _, err := al.Append(ctx, audit.Event{Actor: fmt.Sprintf("user%d", i%50), Action: audit.LoginOK, Target: "user/x", Details: map[string]any{"ip": "192.0.2.1"}}); err != nil {
			b.Fatal(err)
		}
	}
	sealer, _ := auth.NewSealer(make([]byte, 32))
	log := slog.New(slog.DiscardHandler)
	svc := auth.NewService(s, al, sealer, log)
	svc.Params = auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	console, err := web.New(web.Options{Store: s, Auth: svc, Audit: al, Log: log, Model: m, Result: check.Run(m), Secure: true})
	if err != nil {
		b.Fatal(err)
	}
	f := &fixture{srv: httptest.NewTLSServer(console.Handler()), model: m}
	b.Cleanup(f.srv.Close)
	// Logged-in sessions are created directly: the benchmark measures
	// browsing, not argon2id.
	now := time.Now().UTC()
	for i := range sessions {
		u, err := svc.CreateUser(ctx, "bench", fmt.Sprintf("user%d", i), "", "benchmark password", []store.Grant{{Role: "ciso"}})
		if err != nil {
			b.Fatal(err)
		}
		tok := make([]byte, 32)
		rand.Read(tok)
		t := base64.RawURLEncoding.EncodeToString(tok)
		h := sha256.Sum256([]byte(t))
		if err := s.CreateSession(ctx, &store.Session{ID: hex.EncodeToString(h[:]), UserID: u.ID, State: "ok", CSRF: "x",
			CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(8 * time.Hour)}); err != nil {
			b.Fatal(err)
		}
		f.cookies = append(f.cookies, t)
	}
	return f
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(float64(len(d))*p))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// BenchmarkConsolePages spreads b.N page views over 50 concurrent
// sessions, each cycling through the dashboard, the model browser, the
// findings and the audit log.
func BenchmarkConsolePages(b *testing.B) {
	f := setup(b)
	tr := f.srv.Client().Transport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = sessions
	var next atomic.Int64
	var mu sync.Mutex
	lat := map[string][]time.Duration{}
	var bytes atomic.Int64
	b.ResetTimer()
	var wg sync.WaitGroup
	for w := range sessions {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &http.Client{Transport: tr}
			local := map[string][]time.Duration{}
			for i := w; ; i++ {
				if next.Add(1) > int64(b.N) {
					break
				}
				if *think > 0 {
					time.Sleep(*think/2 + time.Duration(mrand.Int64N(int64(*think))))
				}
				p := pages[i%len(pages)]
				req, _ := http.NewRequest("GET", f.srv.URL+p, nil)
				req.AddCookie(&http.Cookie{Name: "__Host-kyojin", Value: f.cookies[w]})
				start := time.Now()
				res, err := c.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				n, _ := io.Copy(io.Discard, res.Body)
				res.Body.Close()
				local[p] = append(local[p], time.Since(start))
				bytes.Add(n)
				if res.StatusCode != 200 {
					b.Errorf("%s: status %d", p, res.StatusCode)
					return
				}
			}
			mu.Lock()
			for p, d := range local {
				lat[p] = append(lat[p], d...)
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	b.StopTimer()
	var all []time.Duration
	for _, p := range pages {
		d := lat[p]
		all = append(all, d...)
		b.Logf("%-10s n=%5d p50=%7.2fms p95=%7.2fms p99=%7.2fms", p, len(d), ms(percentile(d, .5)), ms(percentile(d, .95)), ms(percentile(d, .99)))
	}
	b.Logf("sessions=%d think=%v postgres=%v load average: %s", sessions, *think, *pg, loadavg())
	b.ReportMetric(ms(percentile(all, .95)), "p95-ms")
	b.ReportMetric(ms(percentile(all, .50)), "p50-ms")
	b.ReportMetric(float64(bytes.Load())/float64(max(1, len(all))), "bytes/page")
	b.Logf("model: %d systems, %d hosts, %d flows", len(f.model.Systems), len(f.model.Hosts), len(f.model.Flows))
}

// loadavg reports how busy the machine was, since figures from a shared
// machine mean little without it.
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}
