package web

import (
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
	"github.com/kyojin/kyojin/transfer/transfertest"
)

// BenchmarkTransferHTTP100 is the file transfer end to end over HTTPS:
// 100 uploads of one 1-20 MB document each, at once, through the
// Internet-side listener (TLS, session, CSRF, multipart spooled to disk,
// engine, store, audit) until each answers that the files are available
// in LGWAN; against the engine alone on the same files at the same
// concurrency. Run with -benchtime=1x; figures in
// docs/performance-transfer.md.
func BenchmarkTransferHTTP100(b *testing.B) {
	const n = 100
	ups, total := transfertest.MixedDocs(b, b.TempDir(), n)
	for range b.N {
		x := newTransferEnv(b, transfer.Policy{MaxFiles: 20, MaxFileBytes: 100 << 20, MaxTotalBytes: 500 << 20, Retention: time.Hour, LinkTTL: time.Minute})
		engineWall := transfertest.EngineAlone(b, x.svc.Engine, ups)
		te := &transfertest.TimedEngine{E: x.svc.Engine}
		x.svc.Engine = te
		x.user("alice", false, store.Grant{Role: "staff", Scope: "division:jumin"})
		x.user("bob", false, store.Grant{Role: "staff"})
		a := x.on(x.internet, "alice")
		a.get("/transfer")
		lat := make([]time.Duration, n)
		var wg sync.WaitGroup
		st := time.Now()
		for i, u := range ups {
			wg.Add(1)
			go func() {
				defer wg.Done()
				t0 := time.Now()
				code, body, err := a.uploadFile(u)
				if err != nil || code != 200 || !strings.Contains(body, "今すぐ受け取れます") {
					b.Errorf("%s: %d %v %.300s", u.Name, code, err, body)
					return
				}
				lat[i] = time.Since(t0)
			}()
		}
		wg.Wait()
		transfertest.Report(b, "HTTP-", total, time.Since(st), engineWall, te.Spent(), lat)
	}
}

// uploadFile streams one file as the transfer form would send it,
// without holding it in memory.
func (b *browser) uploadFile(u transfer.Upload) (int, string, error) {
	pr, pw := io.Pipe()
	mw := multipart.NewWriter(pw)
	go func() {
		mw.WriteField("csrf", b.csrf)
		mw.WriteField("recipients", "bob")
		mw.WriteField("purpose", "bench")
		w, err := mw.CreateFormFile("files", u.Name)
		if err == nil {
			var f *os.File
			if f, err = os.Open(u.Path); err == nil {
				_, err = io.Copy(w, f)
				f.Close()
			}
		}
		if err == nil {
			err = mw.Close()
		}
		pw.CloseWithError(err)
	}()
	req, _ := http.NewRequest("POST", b.base+"/transfer/upload", pr)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := b.c.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("upload: %w", err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	return res.StatusCode, string(body), err
}
