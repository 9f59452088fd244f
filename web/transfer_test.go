package web

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
	"github.com/kyojin/kyojin/transfer/transfertest"
)

// transferEnv is the console with both transfer listeners: each is its own
// TLS server whose handler has the side fixed, as `kyojin serve` runs them.
type transferEnv struct {
	*env
	svc             *transfer.Service
	internet, lgwan *httptest.Server
}

func newTransferEnv(t testing.TB, p transfer.Policy) *transferEnv {
	e := newEnv(t)
	te := transfertest.NewWith(t, e.store, p)
	te.Service.Now = e.now
	e.web.o.Transfer = te.Service
	x := &transferEnv{env: e, svc: te.Service}
	x.internet = httptest.NewTLSServer(e.web.SideHandler(transfer.SideInternet))
	x.lgwan = httptest.NewTLSServer(e.web.SideHandler(transfer.SideLGWAN))
	t.Cleanup(x.internet.Close)
	t.Cleanup(x.lgwan.Close)
	return x
}

// on returns a logged-in browser for one side.
func (x *transferEnv) on(srv *httptest.Server, user string) *browser {
	b := x.browser()
	b.base = srv.URL
	b.login(user)
	return b
}

type part struct {
	field, file string // file "" = a plain field
	body        []byte
}

// upload posts a multipart form whose parts come in the given order; file
// names are written raw, as a hostile client would.
func (b *browser) upload(parts ...part) (int, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		h := textproto.MIMEHeader{}
		if p.file == "" {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q`, p.field))
		} else {
			h.Set("Content-Disposition", fmt.Sprintf(`form-data; name=%q; filename="%s"`, p.field, p.file))
			h.Set("Content-Type", "application/octet-stream")
		}
		w, _ := mw.CreatePart(h)
		w.Write(p.body)
	}
	mw.Close()
	req, _ := http.NewRequest("POST", b.base+"/transfer/upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return b.do(req)
}

func (b *browser) form(recipients string, files ...part) []part {
	return append([]part{{field: "csrf", body: []byte(b.csrf)}, {field: "recipients", body: []byte(recipients)},
		{field: "purpose", body: []byte("見積書の受領")}}, files...)
}

func lastTransfer(t *testing.T, s store.Store) *store.Transfer {
	t.Helper()
	l, err := s.ListTransfers(context.Background(), 1)
	if err != nil || len(l) != 1 {
		t.Fatalf("transfers: %v %v", l, err)
	}
	return &l[0]
}

func TestTransferThroughTwoListeners(t *testing.T) {
	x := newTransferEnv(t, transfer.DefaultPolicy())
	x.user("alice", false, store.Grant{Role: "staff", Scope: "division:jumin"})
	x.user("bob", false, store.Grant{Role: "staff"})
	x.user("boss", true, store.Grant{Role: "security-manager", Scope: "division:jumin"})
	x.user("other", true, store.Grant{Role: "security-manager", Scope: "division:zeimu"})
	x.user("ciso", true, store.Grant{Role: "ciso"})

	// The console's own listener has no transfer pages.
	c := x.browser()
	c.login("alice")
	if code, body := c.get("/transfer"); code != 404 || !strings.Contains(body, "提供していません") {
		t.Fatalf("transfer on console listener: %d", code)
	}

	alice := x.on(x.internet, "alice")
	code, body := alice.get("/transfer")
	if code != 200 || !strings.Contains(body, "インターネット側") {
		t.Fatalf("transfer home: %d %s", code, body)
	}
	docm := transfertest.Docm(t, "見積書", 0)
	code, body = alice.upload(alice.form("bob", part{"files", "見積.docm", docm}, part{"files", "memo.txt", []byte("メモ\n")})...)
	if code != 200 || !strings.Contains(body, "CONVERTED") || !strings.Contains(body, "removed: vbaProject") || !strings.Contains(body, "承認待ち") {
		t.Fatalf("upload: %d %s", code, body)
	}
	tr := lastTransfer(t, x.store)

	// The approver on the Internet side is refused, audited.
	bossNet := x.on(x.internet, "boss")
	bossNet.get("/transfer")
	code, body = bossNet.post("/transfer/t/"+tr.ID+"/decide", url.Values{"decision": {"approve"}, "reason": {"ok"}})
	if code != 403 || !strings.Contains(body, "インターネット側では行えません") {
		t.Fatalf("approve on Internet side: %d %s", code, body)
	}
	if n, _ := x.store.CountAudit(context.Background(), store.AuditFilter{Action: transfer.ActWrongSide}); n != 1 {
		t.Fatalf("wrong-side attempts audited: %d", n)
	}
	// The manager of another division neither sees nor decides it.
	other := x.on(x.lgwan, "other")
	if _, body = other.get("/transfer"); strings.Contains(body, tr.ID) {
		t.Fatal("pending list of another division's manager shows the transfer")
	}
	if code, _ = other.get("/transfer/t/" + tr.ID); code != 404 {
		t.Fatalf("other division's manager views the transfer: %d", code)
	}
	code, body = other.post("/transfer/t/"+tr.ID+"/decide", url.Values{"decision": {"approve"}, "reason": {"ok"}})
	if code != 400 || !strings.Contains(body, "承認する権限がありません") || !strings.Contains(body, "課室 jumin") {
		t.Fatalf("approval by another division's manager: %d %s", code, body)
	}
	boss := x.on(x.lgwan, "boss")
	if _, body = boss.get("/transfer"); !strings.Contains(body, tr.ID) {
		t.Fatal("pending list of the division's manager misses the transfer")
	}
	// A forged decision (no or a wrong CSRF token) changes nothing.
	for _, token := range []string{"", "forged"} {
		if code, body = boss.post("/transfer/t/"+tr.ID+"/decide", url.Values{"csrf": {token}, "decision": {"approve"}, "reason": {"ok"}}); code != 403 || !strings.Contains(body, "不正な送信") {
			t.Fatalf("decision with csrf %q: %d %s", token, code, body)
		}
	}
	if got, _ := x.store.Transfer(context.Background(), tr.ID); got.Status != transfer.StatusPending {
		t.Fatalf("forged decision applied: %s", got.Status)
	}
	code, body = boss.get("/transfer/t/" + tr.ID)
	if code != 200 || !strings.Contains(body, "vbaProject") || !strings.Contains(body, "上長承認") || !strings.Contains(body, "alice（課室 jumin）") {
		t.Fatalf("approver page: %d %s", code, body)
	}
	code, body = boss.post("/transfer/t/"+tr.ID+"/decide", url.Values{"decision": {"approve"}, "reason": {"正式な見積書"}})
	if code != 200 || !strings.Contains(body, "受け取り可能") {
		t.Fatalf("approve: %d %s", code, body)
	}

	// Bob downloads on the LGWAN side; the link works once.
	bob := x.on(x.lgwan, "bob")
	bob.get("/transfer/t/" + tr.ID)
	bob.c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	code, _ = bob.post("/transfer/t/"+tr.ID+"/files/1/link", nil)
	if code != http.StatusSeeOther {
		t.Fatalf("link: %d", code)
	}
	res, _ := bob.c.Post(bob.base+"/transfer/t/"+tr.ID+"/files/1/link", "application/x-www-form-urlencoded", strings.NewReader(url.Values{"csrf": {bob.csrf}}.Encode()))
	loc := res.Header.Get("Location")
	res.Body.Close()
	code, body = bob.get(loc)
	if code != 200 {
		t.Fatalf("download: %d %s", code, body)
	}
	zr, err := zip.NewReader(strings.NewReader(body), int64(len(body)))
	if err != nil {
		t.Fatalf("download is not the sanitized package: %v", err)
	}
	for _, f := range zr.File {
		if strings.Contains(f.Name, "vbaProject") {
			t.Fatalf("macro delivered: %s", f.Name)
		}
	}
	if code, body = bob.get(loc); code != 400 || !strings.Contains(body, "使用済み") {
		t.Fatalf("reused link: %d %s", code, body)
	}
	// The same recipient on the Internet side cannot fetch an import.
	bobNet := x.on(x.internet, "bob")
	bobNet.get("/transfer")
	if code, body = bobNet.post("/transfer/t/"+tr.ID+"/files/1/link", nil); code != 403 || !strings.Contains(body, "インターネット側では行えません") {
		t.Fatalf("download on Internet side: %d %s", code, body)
	}
	// Staff cannot release an original.
	if code, _ = bob.post("/transfer/t/"+tr.ID+"/files/1/original", url.Values{"reason": {"x"}}); code != 403 {
		t.Fatalf("staff release: %d", code)
	}
	// The CISO releases it on the LGWAN side only, with a reason, audited.
	ciso := x.on(x.lgwan, "ciso")
	if code, body = ciso.post("/transfer/t/"+tr.ID+"/files/1/original", url.Values{"reason": {" "}}); code != 400 || !strings.Contains(body, "理由") {
		t.Fatalf("release without reason: %d %s", code, body)
	}
	if code, body = ciso.post("/transfer/t/"+tr.ID+"/files/1/original", url.Values{"reason": {"マクロの動作確認"}}); code != 200 || body != string(docm) {
		t.Fatalf("release: %d (%d bytes, want the original's %d)", code, len(body), len(docm))
	}
	cisoNet := x.on(x.internet, "ciso")
	if code, _ = cisoNet.post("/transfer/t/"+tr.ID+"/files/1/original", url.Values{"reason": {"x"}}); code != 403 {
		t.Fatalf("release on the Internet side: %d", code)
	}
	if n, _ := x.store.CountAudit(context.Background(), store.AuditFilter{Action: transfer.ActRelease}); n != 1 {
		t.Fatalf("releases audited: %d", n)
	}
}

func TestTransferUploadBadInput(t *testing.T) {
	x := newTransferEnv(t, transfer.Policy{MaxFiles: 5, MaxFileBytes: 2000, MaxTotalBytes: 4000, Retention: time.Hour, LinkTTL: time.Minute})
	x.user("alice", false, store.Grant{Role: "staff", Scope: "division:jumin"})
	x.user("bob", false, store.Grant{Role: "staff"})
	a := x.on(x.internet, "alice")
	a.get("/transfer")
	ok := []byte("hello\n")
	cases := []struct {
		name  string
		parts []part
		code  int
		want  string
	}{
		{"traversal", a.form("bob", part{"files", "../../etc/passwd", ok}), 400, "パス"},
		{"control char", a.form("bob", part{"files", "a\x01b.txt", ok}), 400, "制御文字"},
		{"zero bytes", a.form("bob", part{"files", "a.txt", nil}), 400, "0 バイト"},
		{"duplicate", a.form("bob", part{"files", "a.txt", ok}, part{"files", "a.txt", ok}), 400, "同じ名前"},
		{"file too large", a.form("bob", part{"files", "a.txt", bytes.Repeat([]byte("a"), 2001)}), 400, "大きすぎます"},
		{"total too large", a.form("bob", part{"files", "a.txt", bytes.Repeat([]byte("a"), 2000)}, part{"files", "b.txt", bytes.Repeat([]byte("b"), 2000)},
			part{"files", "c.txt", bytes.Repeat([]byte("c"), 2000)}), 400, "合計"},
		{"request too large", append(a.form("bob"), part{field: "purpose", body: bytes.Repeat([]byte("p"), 1<<20+5000)}), 413, "アップロードが大きすぎます"},
		{"too many files", a.form("bob", part{"files", "1", ok}, part{"files", "2", ok}, part{"files", "3", ok}, part{"files", "4", ok}, part{"files", "5", ok}, part{"files", "6", ok}), 400, "5 個まで"},
		{"unknown recipient", a.form("nobody", part{"files", "a.txt", ok}), 400, "登録されていません"},
		{"no csrf", []part{{field: "recipients", body: []byte("bob")}, {"files", "a.txt", ok}}, 403, "不正な送信"},
		{"wrong csrf", append([]part{{field: "csrf", body: []byte("forged")}}, part{"files", "a.txt", ok}), 403, "不正な送信"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := a.upload(tc.parts...)
			if code != tc.code || !strings.Contains(body, tc.want) {
				t.Fatalf("got %d, want %d with %q:\n%s", code, tc.code, tc.want, body)
			}
		})
	}
	// An interrupted upload: the body ends in the middle of a file.
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("csrf", a.csrf)
	mw.WriteField("recipients", "bob")
	mw.WriteField("purpose", "p")
	w, _ := mw.CreateFormFile("files", "a.txt")
	w.Write(bytes.Repeat([]byte("x"), 1000))
	req, _ := http.NewRequest("POST", a.base+"/transfer/upload", bytes.NewReader(buf.Bytes()))
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if code, body := a.do(req); code != 400 || !strings.Contains(body, "途中で切れました") {
		t.Fatalf("interrupted upload: %d %s", code, body)
	}
	if l, _ := x.store.ListTransfers(context.Background(), 0); len(l) != 0 {
		t.Fatalf("bad uploads stored %d transfers", len(l))
	}
	if ents, _ := os.ReadDir(filepath.Join(x.svc.Dir, ".incoming")); len(ents) != 0 {
		t.Fatalf("bad uploads left %d temporary files", len(ents))
	}
}

// TestTransferHistory: auditors and the CISO read every transfer with its
// approval, verdicts, downloads and releases, filter it and export CSV (an
// audited act); staff and approvers cannot.
func TestTransferHistory(t *testing.T) {
	x := newTransferEnv(t, transfer.DefaultPolicy())
	x.user("alice", false, store.Grant{Role: "staff", Scope: "division:jumin"})
	x.user("bob", false, store.Grant{Role: "staff"})
	x.user("boss", true, store.Grant{Role: "security-manager", Scope: "division:jumin"})
	x.user("kansa", true, store.Grant{Role: "auditor"})
	ctx := context.Background()
	spool := func(name string, data []byte) transfer.Upload {
		p := filepath.Join(t.TempDir(), "up")
		os.WriteFile(p, data, 0o600)
		return transfer.Upload{Name: name, Path: p, Size: int64(len(data))}
	}
	res, err := x.svc.Submit(ctx, &transfer.Request{Side: transfer.SideInternet, Sender: "alice", Recipients: []string{"bob"}, Purpose: "=1+1 見積書の受領",
		Files: []transfer.Upload{spool("見積.docm", transfertest.Docm(t, "見積", 0)), spool("=cmd.txt", []byte("hi\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Transfer.ID
	if _, err := x.svc.Decide(ctx, transfer.SideLGWAN, "boss", id, true, "正式な見積書"); err != nil {
		t.Fatal(err)
	}
	secret, err := x.svc.IssueLink(ctx, transfer.SideLGWAN, "bob", id, 1)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := x.svc.Redeem(ctx, transfer.SideLGWAN, "bob", secret)
	if err != nil {
		t.Fatal(err)
	}
	dl.File.Close()
	if _, err := x.svc.ReleaseOriginal(ctx, transfer.SideLGWAN, "ciso", id, 1, "マクロの確認", io.Discard); err != nil {
		t.Fatal(err)
	}
	x.advance(time.Minute)
	other, err := x.svc.Submit(ctx, &transfer.Request{Side: transfer.SideLGWAN, Sender: "bob", Recipients: []string{"alice"}, Purpose: "仕様書の送付",
		Classification: "2", Files: []transfer.Upload{spool("spec.txt", []byte("spec\n"))}})
	if err != nil {
		t.Fatal(err)
	}

	// The auditor on the console's own listener.
	a := x.browser()
	a.login("kansa")
	code, body := a.get("/audit/transfers")
	if code != 200 {
		t.Fatalf("history: %d %s", code, body)
	}
	for _, want := range []string{id, other.Transfer.ID, "alice → bob", "見積書の受領", "boss", "正式な見積書", "見積.docm: <span class=\"verdict\">CONVERTED",
		"bob 見積.docx", "ciso 見積.docm", "理由: マクロの確認", "機密性2（暗号化 ZIP）", "承認待ち", "2 件"} {
		if !strings.Contains(body, want) {
			t.Errorf("history lacks %q", want)
		}
	}
	for _, c := range []struct {
		query string
		want  []string
		not   []string
	}{
		{"sender=alice", []string{id}, []string{other.Transfer.ID}},
		{"status=pending", []string{other.Transfer.ID}, []string{id}},
		{"status=available&sender=bob", nil, []string{id, other.Transfer.ID}},
		{"since=2000-01-01&until=2000-01-02", []string{"該当する転送はありません"}, []string{id, other.Transfer.ID}},
	} {
		code, body := a.get("/audit/transfers?" + c.query)
		if code != 200 {
			t.Fatalf("%s: %d", c.query, code)
		}
		for _, w := range c.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: missing %q", c.query, w)
			}
		}
		for _, n := range c.not {
			if strings.Contains(body, n) {
				t.Errorf("%s: shows %q", c.query, n)
			}
		}
	}
	if code, body := a.get("/audit/transfers?status=bogus"); code != 400 || !strings.Contains(body, "状態の指定") {
		t.Errorf("bad status: %d", code)
	}
	code, csvBody := a.get("/audit/transfers/export?sender=alice")
	if code != 200 || !strings.HasPrefix(csvBody, "\ufeff受付番号,") {
		t.Fatalf("csv: %d %.200s", code, csvBody)
	}
	recs, err := csv.NewReader(strings.NewReader(strings.TrimPrefix(csvBody, "\ufeff"))).ReadAll()
	if err != nil || len(recs) != 2 {
		t.Fatalf("csv rows: %d %v", len(recs), err)
	}
	row := strings.Join(recs[1], "|")
	for _, want := range []string{id, "alice", "bob", "boss", "正式な見積書", "見積.docm: CONVERTED", "=cmd.txt: CLEAN", "'=1+1 見積書の受領", "bob 見積.docx", "理由: マクロの確認"} {
		if !strings.Contains(row, want) {
			t.Errorf("csv row lacks %q: %s", want, row)
		}
	}
	if n, _ := x.store.CountAudit(ctx, store.AuditFilter{Action: "transfer.history_export"}); n != 1 {
		t.Errorf("export audited %d times", n)
	}
	// Read-only: no staff, no approver; nothing to post.
	for _, name := range []string{"bob", "boss"} {
		b := x.browser()
		b.login(name)
		if code, _ := b.get("/audit/transfers"); code != 403 {
			t.Errorf("%s sees the history: %d", name, code)
		}
	}
	if code, _ := a.post("/audit/transfers", url.Values{}); code != 405 && code != 404 {
		t.Errorf("POST to the history: %d", code)
	}
}
