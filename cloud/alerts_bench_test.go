package cloud

import (
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/store/postgres"
	"github.com/kyojin/kyojin/store/postgres/pgtest"
	"github.com/kyojin/kyojin/store/sqlite"
)

// benchAlerts builds n alerts over 10 tenants and 20 rules with keys
// distinct addresses (keys ≤ 0: every alert its own key — no dedup).
func benchAlerts(n, keys int) []Alert {
	t0 := time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC)
	out := make([]Alert, n)
	for i := range out {
		k := i
		if keys > 0 {
			k = i % keys
		}
		out[i] = Alert{Time: t0.Add(time.Duration(i) * time.Millisecond), Tenant: fmt.Sprintf("city-%02d", k%10),
			Rule: fmt.Sprintf("rule-%02d", k%20), Title: "Executable download over the proxy", Level: "high",
			Credit: `Sigma rule "Executable download" (5c5b2f4e) by kyojin tests — Detection Rule License (DRL) 1.1`,
			Source: "squid", Host: "proxy1", SrcIP: fmt.Sprintf("10.%d.%d.%d", k>>16&255, k>>8&255, k&255), DstIP: "203.0.113.9",
			Raw: fmt.Sprintf("1700000000.000 5 10.0.0.%d TCP_MISS/200 5000 GET http://dl.example/setup.exe - HIER_DIRECT/203.0.113.9 application/octet-stream", k&255)}
	}
	return out
}

// BenchmarkAlertSink compares, in one run, the JSON-lines sink (baseline:
// the alert file of `kyojin cloud serve` without db) with the store-backed
// sink into SQLite: a flood (10 keys), realistic dedup (1,000 keys) and none (every
// alert a new row). The store sink's time includes draining its queue.
func BenchmarkAlertSink(b *testing.B) {
	b.Run("jsonl", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "alerts.jsonl"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		als := benchAlerts(b.N, 1000)
		s := &alertSink{w: f}
		b.ResetTimer()
		cpu := cpuTime()
		for i := range als {
			s.write(als[i])
		}
		b.StopTimer()
		report(b, cpuTime()-cpu)
	})
	for _, c := range []struct {
		name string
		keys int
	}{{"sqlite-flood10", 10}, {"sqlite-dedup1000", 1000}, {"sqlite-nodedup", 0}} {
		b.Run(c.name, func(b *testing.B) {
			st, err := sqlite.Open(filepath.Join(b.TempDir(), "kyojin.db"))
			if err != nil {
				b.Fatal(err)
			}
			benchStoreSink(b, st, c.keys)
		})
	}
}

// BenchmarkAlertSinkPostgres is the store sink into a real PostgreSQL
// (partitions, row-level security in force for an ordinary role).
func BenchmarkAlertSinkPostgres(b *testing.B) {
	srv := pgtest.Start(b)
	for _, c := range []struct {
		name string
		keys int
	}{{"dedup1000", 1000}, {"nodedup", 0}} {
		b.Run(c.name, func(b *testing.B) {
			st, err := postgresAsApp(b, srv)
			if err != nil {
				b.Fatal(err)
			}
			benchStoreSink(b, st, c.keys)
		})
	}
}

func benchStoreSink(b *testing.B, st store.Store, keys int) {
	defer st.Close()
	if err := st.Migrate(b.Context()); err != nil {
		b.Fatal(err)
	}
	als := benchAlerts(b.N, keys)
	sink := NewStoreSink(st, StoreSinkOptions{Window: time.Hour, Queue: b.N + 1, Log: quietLog()})
	b.ResetTimer()
	cpu := cpuTime()
	for i := range als {
		sink.Raise(als[i])
	}
	sink.Close()
	b.StopTimer()
	if s := sink.Stats(); s.Dropped+s.Failed != 0 {
		b.Fatalf("lost alerts: %+v", s)
	}
	report(b, cpuTime()-cpu)
}

// postgresAsApp opens a fresh database as an ordinary role owning it, so
// that row-level security is in force as in production (superusers skip it).
func postgresAsApp(b *testing.B, srv *pgtest.Server) (store.Store, error) {
	dsn := srv.NewDB(b)
	admin, err := sql.Open("pgx", dsn)
	if err != nil {
		return nil, err
	}
	defer admin.Close()
	u, _ := url.Parse(dsn)
	db := strings.TrimPrefix(u.Path, "/")
	role := "app_" + db
	for _, q := range []string{"CREATE ROLE " + role + " LOGIN", "ALTER DATABASE " + db + " OWNER TO " + role} {
		if _, err := admin.Exec(q); err != nil {
			return nil, err
		}
	}
	u.User = url.User(role)
	return postgres.Open(u.String())
}

func report(b *testing.B, cpu time.Duration) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "alerts/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/alert")
}
