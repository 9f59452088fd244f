// Package transfertest builds real transfer services for tests: a SQLite
// store, the standard sanitization engine with the encrypted quarantine, and
// documents generated in code (a macro-enabled Word file whose VBA project
// the engine must remove).
package transfertest

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/quarantine"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/std"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
)

const (
	xmlHead = `<?xml version="1.0" encoding="UTF-8" standalone="yes"?>` + "\n"
	relsNS  = "http://schemas.openxmlformats.org/package/2006/relationships"
	offRel  = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"
)

// Docm returns a macro-enabled Word document with a VBA project and the
// given paragraph text; padding adds an uncompressible media part so that
// benchmarks can reach a target size.
func Docm(tb testing.TB, text string, padding int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	put := func(name, body string) {
		w, err := zw.Create(name)
		if err != nil {
			tb.Fatal(err)
		}
		io.WriteString(w, body)
	}
	put("[Content_Types].xml", xmlHead+`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`+
		`<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>`+
		`<Default Extension="xml" ContentType="application/xml"/>`+
		`<Default Extension="bin" ContentType="application/vnd.ms-office.vbaProject"/>`+
		`<Default Extension="png" ContentType="image/png"/>`+
		`<Override PartName="/word/document.xml" ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>`)
	put("_rels/.rels", xmlHead+`<Relationships xmlns="`+relsNS+`"><Relationship Id="rId1" Type="`+offRel+`officeDocument" Target="word/document.xml"/></Relationships>`)
	rels := `<Relationship Id="rIdVba" Type="http://schemas.microsoft.com/office/2006/relationships/vbaProject" Target="vbaProject.bin"/>`
	if padding > 0 {
		rels += `<Relationship Id="rIdImg" Type="` + offRel + `image" Target="media/image1.png"/>`
	}
	put("word/_rels/document.xml.rels", xmlHead+`<Relationships xmlns="`+relsNS+`">`+rels+`</Relationships>`)
	put("word/document.xml", xmlHead+`<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" `+
		`xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><w:body><w:p><w:r><w:t xml:space="preserve">`+text+
		`</w:t></w:r></w:p><w:sectPr><w:pgSz w:w="11906" w:h="16838"/></w:sectPr></w:body></w:document>`)
	put("word/vbaProject.bin", "\xd0\xcf\x11\xe0 fake VBA storage: Sub AutoOpen() Shell \"calc\" End Sub")
	if padding > 0 {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: "word/media/image1.png", Method: zip.Store})
		if err != nil {
			tb.Fatal(err)
		}
		// A stored part of random bytes: the size is real, not compressed away.
		io.CopyN(w, rand.Reader, int64(padding))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// Env is a ready service with its parts.
type Env struct {
	Store      store.Store
	Audit      *audit.Log
	Quarantine *quarantine.Store
	Service    *transfer.Service
}

// New returns a service over a fresh SQLite store and the standard engine
// with the quarantine enabled.
func New(tb testing.TB, p transfer.Policy) *Env {
	tb.Helper()
	return NewWith(tb, storeSQLite(tb), p)
}

// NewWith is New over a given store (a web test shares the console's).
func NewWith(tb testing.TB, st store.Store, p transfer.Policy) *Env {
	tb.Helper()
	dir := tb.TempDir()
	key := make([]byte, 32)
	rand.Read(key)
	q, err := quarantine.Open(filepath.Join(dir, "quarantine"), key, 0)
	if err != nil {
		tb.Fatal(err)
	}
	pol := sanitize.DefaultPolicy()
	pol.Clamd.Enabled = false
	pol.Quarantine.Enabled = true
	tmp := filepath.Join(dir, "tmp")
	eng, err := sanitize.New(sanitize.Config{Policy: pol, Handlers: std.Handlers(tmp), Inspectors: std.Inspectors(tmp), Vault: q, TempDir: tmp})
	if err != nil {
		tb.Fatal(err)
	}
	if err := mkdir(tmp); err != nil {
		tb.Fatal(err)
	}
	al := audit.New(st)
	svc := &transfer.Service{Store: st, Users: st, Audit: al, Engine: eng, Dir: filepath.Join(dir, "transfers"), Policy: p,
		Originals: func(ref string, w io.Writer) error { _, err := q.Extract(ref, w); return err }}
	return &Env{Store: st, Audit: al, Quarantine: q, Service: svc}
}

// User creates a user with grants (no password: the service never logs in).
func (e *Env) User(tb testing.TB, name string, grants ...store.Grant) {
	tb.Helper()
	u := &store.User{Name: name, DisplayName: name, PasswordHash: "-"}
	if err := e.Store.CreateUser(context.Background(), u); err != nil {
		tb.Fatal(err)
	}
	if err := e.Store.SetGrants(context.Background(), u.ID, grants); err != nil {
		tb.Fatal(err)
	}
}

// MixedDocs writes n documents of 1-20 MB (sizes drawn from a fixed seed)
// into dir for the benchmarks: macro-enabled Word files padded with a
// stored media part, and ASCII CSV, alternating. It returns them as
// uploads and their total size.
func MixedDocs(tb testing.TB, dir string, n int) (ups []transfer.Upload, total int64) {
	tb.Helper()
	r := mrand.New(mrand.NewPCG(1, 2))
	for i := range n {
		size := (1 + r.IntN(20)) << 20
		var data []byte
		name := fmt.Sprintf("doc%03d", i)
		if i%2 == 0 {
			data, name = Docm(tb, "見積書", size), name+".docm"
		} else {
			var buf bytes.Buffer
			for row := 0; buf.Len() < size; row++ {
				fmt.Fprintf(&buf, "%d,Chiyoda-ku Tokyo,%d,application copy,2026-04-01\n", row, row*37)
			}
			data, name = buf.Bytes(), name+".csv"
		}
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			tb.Fatal(err)
		}
		ups = append(ups, transfer.Upload{Name: name, Path: p, Size: int64(len(data))})
		total += int64(len(data))
	}
	return ups, total
}

// TimedEngine measures the time spent inside an engine, for the share of
// the engine in a transfer's time.
type TimedEngine struct {
	E  transfer.Engine
	ns atomic.Int64
}

// Process runs the engine and adds its time.
func (t *TimedEngine) Process(ctx context.Context, s sanitize.Submission) (*sanitize.Outcome, error) {
	st := time.Now()
	defer func() { t.ns.Add(int64(time.Since(st))) }()
	return t.E.Process(ctx, s)
}

// Spent is the total time inside the engine.
func (t *TimedEngine) Spent() time.Duration { return time.Duration(t.ns.Load()) }

// EngineAlone runs the engine on every upload at once and returns the
// wall time: the baseline of the transfer benchmarks.
func EngineAlone(tb testing.TB, eng transfer.Engine, ups []transfer.Upload) time.Duration {
	st := time.Now()
	var wg sync.WaitGroup
	for _, u := range ups {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f, err := os.Open(u.Path)
			if err != nil {
				tb.Error(err)
				return
			}
			defer f.Close()
			out, err := eng.Process(context.Background(), sanitize.Submission{Name: u.Name, R: f, Size: u.Size})
			if err != nil {
				tb.Error(err)
				return
			}
			out.Close()
		}()
	}
	wg.Wait()
	return time.Since(st)
}

// Report sorts the per-transfer latencies and reports a transfer
// benchmark's figures under prefix: throughput, transfers per second, p95,
// the engine's share of the summed latencies and the wall-clock ratio to
// the engine alone.
func Report(b *testing.B, prefix string, total int64, wall, engineWall, engineSpent time.Duration, lat []time.Duration) {
	b.Helper()
	slices.Sort(lat)
	var sum time.Duration
	for _, l := range lat {
		sum += l
	}
	n := len(lat)
	share := float64(engineSpent) / float64(sum)
	b.ReportMetric(float64(total)/(1<<20)/wall.Seconds(), prefix+"MB/s")
	b.ReportMetric(float64(n)/wall.Seconds(), prefix+"transfers/s")
	b.ReportMetric(lat[n*95/100-1].Seconds(), prefix+"p95-s")
	b.ReportMetric(share, prefix+"engine-share")
	b.ReportMetric(wall.Seconds()/engineWall.Seconds(), prefix+"service/engine")
	b.Logf("%s %d transfers, %.0f MB: service %v, engine alone %v, p50 %v, p95 %v, engine share of per-transfer time %.1f%%",
		strings.TrimSuffix(prefix, "-")+":", n, float64(total)/(1<<20), wall.Round(time.Millisecond), engineWall.Round(time.Millisecond),
		lat[n/2].Round(time.Millisecond), lat[n*95/100-1].Round(time.Millisecond), 100*share)
}
