package transfer_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
	"github.com/kyojin/kyojin/transfer/aeszip"
	"github.com/kyojin/kyojin/transfer/transfertest"
)

var ctx = context.Background()

// spool writes data as an upload's temporary file.
func spool(t *testing.T, name string, data []byte) transfer.Upload {
	t.Helper()
	p := filepath.Join(t.TempDir(), "upload")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return transfer.Upload{Name: name, Path: p, Size: int64(len(data))}
}

func zipNames(t *testing.T, b []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("output is not a zip package: %v", err)
	}
	var n []string
	for _, f := range zr.File {
		n = append(n, f.Name)
	}
	return n
}

func userMsg(err error) string {
	var ue *transfer.Error
	if errors.As(err, &ue) {
		return ue.Msg
	}
	return ""
}

// TestImportFlow is the whole Internet → LGWAN path: the macro is removed,
// approval is required for docm, the link works once.
func TestImportFlow(t *testing.T) {
	env := transfertest.New(t, transfer.DefaultPolicy())
	env.User(t, "vendor", store.Grant{Role: "staff", Scope: "division:jumin"})
	env.User(t, "boss", store.Grant{Role: "security-manager", Scope: "division:jumin"})
	svc := env.Service
	docm := transfertest.Docm(t, "見積書 kyojin", 0)
	res, err := svc.Submit(ctx, &transfer.Request{Side: transfer.SideInternet, Sender: "vendor", Recipients: []string{"bob"},
		Purpose: "見積書の受領", Files: []transfer.Upload{spool(t, "見積.docm", docm), spool(t, "memo.txt", []byte("こんにちは\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	tr := res.Transfer
	if tr.Status != transfer.StatusPending || !strings.Contains(tr.ApprovalReason, "docm") {
		t.Fatalf("status %q reason %q, want pending for docm", tr.Status, tr.ApprovalReason)
	}
	f := res.Files[0]
	if f.Verdict != "CONVERTED" || !strings.Contains(f.Actions, `"removed","object":"vbaProject"`) || f.Quarantine == "" || f.OutName != "見積.docx" {
		t.Fatalf("docm file record: %+v", f)
	}
	if res.Files[1].Verdict != "CLEAN" {
		t.Fatalf("text verdict %s", res.Files[1].Verdict)
	}
	// Wrong side and self-approval are refused.
	if _, err := svc.Decide(ctx, transfer.SideInternet, "boss", tr.ID, true, "ok"); !errors.Is(err, transfer.ErrWrongSide) {
		t.Fatalf("approve on Internet side: %v", err)
	}
	if _, err := svc.Decide(ctx, transfer.SideLGWAN, "vendor", tr.ID, true, "ok"); !strings.Contains(userMsg(err), "自分") {
		t.Fatalf("self-approval: %v", err)
	}
	if _, err := svc.Decide(ctx, transfer.SideLGWAN, "boss", tr.ID, true, " "); !strings.Contains(userMsg(err), "理由") {
		t.Fatalf("approval without reason: %v", err)
	}
	if _, err := svc.IssueLink(ctx, transfer.SideLGWAN, "bob", tr.ID, 1); !strings.Contains(userMsg(err), "承認待ち") {
		t.Fatalf("link before approval: %v", err)
	}
	if _, err := svc.Decide(ctx, transfer.SideLGWAN, "boss", tr.ID, true, "取引先からの正式な見積"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Decide(ctx, transfer.SideLGWAN, "boss2", tr.ID, false, "二重"); !strings.Contains(userMsg(err), "承認待ちではありません") {
		t.Fatalf("second decision: %v", err)
	}
	if _, err := svc.IssueLink(ctx, transfer.SideInternet, "bob", tr.ID, 1); !errors.Is(err, transfer.ErrWrongSide) {
		t.Fatalf("link on Internet side: %v", err)
	}
	if _, err := svc.IssueLink(ctx, transfer.SideLGWAN, "mallory", tr.ID, 1); !strings.Contains(userMsg(err), "受取人ではありません") {
		t.Fatalf("link for non-recipient: %v", err)
	}
	secret, err := svc.IssueLink(ctx, transfer.SideLGWAN, "bob", tr.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Redeem(ctx, transfer.SideLGWAN, "carol", secret); !strings.Contains(userMsg(err), "別の利用者") {
		t.Fatalf("redeem by another user: %v", err)
	}
	// carol's attempt used the link: single use means single use.
	secret, _ = svc.IssueLink(ctx, transfer.SideLGWAN, "bob", tr.ID, 1)
	dl, err := svc.Redeem(ctx, transfer.SideLGWAN, "bob", secret)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(dl.File)
	dl.File.Close()
	for _, n := range zipNames(t, body) {
		if strings.Contains(n, "vbaProject") {
			t.Fatalf("downloaded file still has %s", n)
		}
	}
	if _, err := svc.Redeem(ctx, transfer.SideLGWAN, "bob", secret); !strings.Contains(userMsg(err), "使用済み") {
		t.Fatalf("reused link: %v", err)
	}
	// Expired link.
	svc.Policy.LinkTTL = time.Millisecond
	secret, _ = svc.IssueLink(ctx, transfer.SideLGWAN, "bob", tr.ID, 1)
	time.Sleep(5 * time.Millisecond)
	if _, err := svc.Redeem(ctx, transfer.SideLGWAN, "bob", secret); !strings.Contains(userMsg(err), "有効期限") {
		t.Fatalf("expired link: %v", err)
	}
	// Release of the original: reason required, bytes identical, audited.
	var orig bytes.Buffer
	if _, err := svc.ReleaseOriginal(ctx, transfer.SideLGWAN, "ciso", tr.ID, 1, "", &orig); !strings.Contains(userMsg(err), "理由") {
		t.Fatalf("release without reason: %v", err)
	}
	if _, err := svc.ReleaseOriginal(ctx, transfer.SideInternet, "ciso", tr.ID, 1, "x", &orig); !errors.Is(err, transfer.ErrWrongSide) {
		t.Fatalf("release on Internet side: %v", err)
	}
	name, err := svc.ReleaseOriginal(ctx, transfer.SideLGWAN, "ciso", tr.ID, 1, "マクロの動作確認が業務上必要", &orig)
	if err != nil || name != "見積.docm" || !bytes.Equal(orig.Bytes(), docm) {
		t.Fatalf("release: %q %v (%d bytes)", name, err, orig.Len())
	}
	entries, err := env.Store.AuditEntries(ctx, store.AuditFilter{Action: "transfer."})
	if err != nil {
		t.Fatal(err)
	}
	var acts []string
	for _, e := range entries {
		acts = append(acts, e.Action)
	}
	want := "transfer.submit transfer.approve transfer.link transfer.link_refused transfer.link transfer.download transfer.link_refused transfer.link transfer.link_refused transfer.release"
	if got := strings.Join(acts, " "); got != want {
		t.Fatalf("audit trail:\n got %s\nwant %s", got, want)
	}
}

// TestBadInput: each problem gets its Japanese message and nothing is stored.
func TestBadInput(t *testing.T) {
	env := transfertest.New(t, transfer.Policy{MaxFiles: 3, MaxFileBytes: 1000, MaxTotalBytes: 1500, Retention: time.Hour, LinkTTL: time.Minute})
	ok := []byte("hello\n")
	big := bytes.Repeat([]byte("a"), 1001)
	cases := []struct {
		name  string
		req   transfer.Request
		files []transfer.Upload
		want  string
	}{
		{"traversal", transfer.Request{}, []transfer.Upload{spool(t, "../../etc/passwd", ok)}, "パス"},
		{"backslash", transfer.Request{}, []transfer.Upload{spool(t, `..\x.txt`, ok)}, "パス"},
		{"control", transfer.Request{}, []transfer.Upload{spool(t, "a\x00b.txt", ok)}, "制御文字"},
		{"bidi", transfer.Request{}, []transfer.Upload{spool(t, "invoice\u202etxt.exe", ok)}, "制御文字"},
		{"newline", transfer.Request{}, []transfer.Upload{spool(t, "a\nb.txt", ok)}, "制御文字"},
		{"empty name", transfer.Request{}, []transfer.Upload{spool(t, " ", ok)}, "ファイル名が空"},
		{"zero bytes", transfer.Request{}, []transfer.Upload{spool(t, "a.txt", nil)}, "空（0 バイト）"},
		{"duplicate", transfer.Request{}, []transfer.Upload{spool(t, "a.txt", ok), spool(t, "A.TXT", ok)}, "同じ名前"},
		{"too large", transfer.Request{}, []transfer.Upload{spool(t, "a.txt", big)}, "大きすぎます"},
		{"total", transfer.Request{}, []transfer.Upload{spool(t, "a.txt", big[:800]), spool(t, "b.txt", big[:800])}, "合計"},
		{"too many", transfer.Request{}, []transfer.Upload{spool(t, "a", ok), spool(t, "b", ok), spool(t, "c", ok), spool(t, "d", ok)}, "3 個まで"},
		{"no files", transfer.Request{}, nil, "ファイルを選択"},
		{"no recipient", transfer.Request{Recipients: []string{}}, []transfer.Upload{spool(t, "a.txt", ok)}, "受取人"},
		{"no purpose", transfer.Request{Purpose: " "}, []transfer.Upload{spool(t, "a.txt", ok)}, "利用目的"},
		{"export unclassified", transfer.Request{Side: transfer.SideLGWAN}, []transfer.Upload{spool(t, "a.txt", ok)}, "機密性の分類"},
		{"export class 3", transfer.Request{Side: transfer.SideLGWAN, Classification: "3A"}, []transfer.Upload{spool(t, "a.txt", ok)}, "持ち出せません"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := tc.req
			if req.Side == "" {
				req.Side = transfer.SideInternet
			}
			if req.Recipients == nil {
				req.Recipients = []string{"bob"}
			}
			if req.Purpose == "" {
				req.Purpose = "test"
			}
			req.Sender, req.Files = "alice", tc.files
			_, err := env.Service.Submit(ctx, &req)
			if msg := userMsg(err); !strings.Contains(msg, tc.want) {
				t.Fatalf("error %v, want a message containing %q", err, tc.want)
			}
		})
	}
	list, err := env.Store.ListTransfers(ctx, 0)
	if err != nil || len(list) != 0 {
		t.Fatalf("bad input stored %d transfers (%v)", len(list), err)
	}
	if ents, _ := os.ReadDir(env.Service.Dir); len(ents) != 0 {
		t.Fatalf("bad input left %d output directories", len(ents))
	}
}

// TestNothingHalfStored: a store failure after sanitization removes the
// outputs written so far.
func TestNothingHalfStored(t *testing.T) {
	env := transfertest.New(t, transfer.DefaultPolicy())
	env.Service.Store = failingStore{env.Store}
	_, err := env.Service.Submit(ctx, &transfer.Request{Side: transfer.SideInternet, Sender: "a", Recipients: []string{"b"}, Purpose: "p",
		Files: []transfer.Upload{spool(t, "a.txt", []byte("hello\n"))}})
	if err == nil {
		t.Fatal("store failure not reported")
	}
	if ents, _ := os.ReadDir(env.Service.Dir); len(ents) != 0 {
		t.Fatalf("failed submission left %d output directories", len(ents))
	}
}

type failingStore struct{ store.TransferStore }

func (failingStore) CreateTransfer(context.Context, *store.Transfer, []store.TransferFile) error {
	return errors.New("disk full")
}

// TestExport: LGWAN → Internet needs a classification and always approval;
// 機密性2 leaves as an AES-256 ZIP whose password is given once to the
// exporter and appears nowhere else (store, audit log, mail, slog).
func TestExport(t *testing.T) {
	env := transfertest.New(t, transfer.DefaultPolicy())
	env.User(t, "staff", store.Grant{Role: "staff", Scope: "division:jumin"})
	env.User(t, "boss", store.Grant{Role: "security-manager", Scope: "division:jumin"})
	svc := env.Service
	var logs bytes.Buffer
	svc.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	notes := &recorder{}
	svc.Notifier = notes
	spec := []byte(strings.Repeat("仕様\n", 100))
	up := func(class string) *transfer.Result {
		res, err := svc.Submit(ctx, &transfer.Request{Side: transfer.SideLGWAN, Sender: "staff", Recipients: []string{"staff"},
			Purpose: "業者へ仕様書を送付", Classification: class, Files: []transfer.Upload{spool(t, "spec.txt", spec)}})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	r1 := up("1")
	t1 := r1.Transfer
	if t1.Status != transfer.StatusPending || t1.Direction != "out" || t1.Encrypt || r1.Password != "" {
		t.Fatalf("export: %+v", t1)
	}
	if _, err := svc.Decide(ctx, transfer.SideLGWAN, "boss", t1.ID, true, "仕様書の送付を承認"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.IssueLink(ctx, transfer.SideLGWAN, "staff", t1.ID, 1); !errors.Is(err, transfer.ErrWrongSide) {
		t.Fatalf("export downloaded on LGWAN side: %v", err)
	}
	secret, err := svc.IssueLink(ctx, transfer.SideInternet, "staff", t1.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Redeem(ctx, transfer.SideLGWAN, "staff", secret); !errors.Is(err, transfer.ErrWrongSide) {
		t.Fatalf("export redeemed on LGWAN side: %v", err)
	}

	r2 := up("2")
	t2 := r2.Transfer
	if !t2.Encrypt || len(r2.Password) < 20 || r2.Files[0].OutName != "spec.txt.zip" {
		t.Fatalf("機密性2 export: encrypt %v, password %d chars, out %q", t2.Encrypt, len(r2.Password), r2.Files[0].OutName)
	}
	if r3 := up("2"); r3.Password == r2.Password {
		t.Fatal("two transfers share a password")
	}
	if _, err := svc.Decide(ctx, transfer.SideLGWAN, "boss", t2.ID, true, "ok"); err != nil {
		t.Fatal(err)
	}
	secret, err = svc.IssueLink(ctx, transfer.SideInternet, "staff", t2.ID, 1)
	if err != nil {
		t.Fatal(err)
	}
	dl, err := svc.Redeem(ctx, transfer.SideInternet, "staff", secret)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(dl.File)
	dl.File.Close()
	if dl.Name != "spec.txt.zip" || bytes.Contains(body, spec[:20]) {
		t.Fatalf("download %q is not encrypted", dl.Name)
	}
	zr, err := zip.NewReader(bytes.NewReader(body), int64(len(body)))
	if err != nil || len(zr.File) != 1 || zr.File[0].Name != "spec.txt" {
		t.Fatalf("encrypted download: %v", err)
	}
	if got, err := aeszip.Open(zr.File[0], r2.Password, 1<<20); err != nil || !bytes.Equal(got, spec) {
		t.Fatalf("open with the password: %v", err)
	}
	if _, err := aeszip.Open(zr.File[0], "wrong", 1<<20); err == nil {
		t.Fatal("wrong password opened the export")
	}
	// The password is nowhere but in the Result.
	snap, err := env.Store.Dump(ctx)
	if err != nil {
		t.Fatal(err)
	}
	dump, _ := json.Marshal(snap)
	for what, text := range map[string]string{"store": string(dump), "slog": logs.String(), "mail": notes.all()} {
		if strings.Contains(text, r2.Password) {
			t.Errorf("password found in %s", what)
		}
	}
	if !strings.Contains(notes.all(), "別の方法") {
		t.Errorf("recipient not told how the password comes: %s", notes.all())
	}
}

// recorder is a Notifier keeping the messages.
type recorder struct {
	mu   sync.Mutex
	msgs []string
}

func (r *recorder) Notify(_ context.Context, users []string, subject, body string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.msgs = append(r.msgs, strings.Join(users, ",")+"|"+subject+"|"+body)
	return nil
}

func (r *recorder) all() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.msgs, "\n")
}

func TestApprovalPolicy(t *testing.T) {
	txt := []byte("hello\n")
	cases := []struct {
		name string
		p    transfer.Policy
		want bool
	}{
		{"none", transfer.Policy{}, false},
		{"all", transfer.Policy{ApproveAll: true}, true},
		{"above size", transfer.Policy{ApproveAboveBytes: 3}, true},
		{"below size", transfer.Policy{ApproveAboveBytes: 100}, false},
		{"type", transfer.Policy{ApproveTypes: []string{"text"}}, true},
		{"other type", transfer.Policy{ApproveTypes: []string{"docm"}}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.p.Retention = time.Hour
			env := transfertest.New(t, tc.p)
			res, err := env.Service.Submit(ctx, &transfer.Request{Side: transfer.SideInternet, Sender: "a", Recipients: []string{"b"}, Purpose: "p",
				Files: []transfer.Upload{spool(t, "a.txt", txt)}})
			if err != nil {
				t.Fatal(err)
			}
			if got := res.Transfer.Status == transfer.StatusPending; got != tc.want {
				t.Fatalf("approval needed = %v, want %v (%q)", got, tc.want, res.Transfer.ApprovalReason)
			}
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"見積書.xlsx", "a b.pdf", "report(1).docx", ".hidden"} {
		if err := transfer.CheckName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}

func FuzzCheckName(f *testing.F) {
	for _, s := range []string{"a.txt", "../x", "a\x00b", "\u202e", "C:\\x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		if transfer.CheckName(name) != nil {
			return
		}
		if strings.ContainsAny(name, "/\\\x00\n\r") || strings.HasPrefix(name, "..") || filepath.Base(name) != name {
			t.Fatalf("unsafe name accepted: %q", name)
		}
	})
}

// mailSink is a real SMTP server (go-smtp) receiving the notifications.
type mailSink struct {
	mu   sync.Mutex
	msgs []string
	rcpt []string
}

type sinkSession struct{ s *mailSink }

func (ss *sinkSession) Reset()                               {}
func (ss *sinkSession) Logout() error                        { return nil }
func (ss *sinkSession) Mail(string, *smtp.MailOptions) error { return nil }
func (ss *sinkSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	ss.s.mu.Lock()
	ss.s.rcpt = append(ss.s.rcpt, to)
	ss.s.mu.Unlock()
	return nil
}
func (ss *sinkSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	ss.s.mu.Lock()
	ss.s.msgs = append(ss.s.msgs, string(b))
	ss.s.mu.Unlock()
	return err
}

func TestMailNotifications(t *testing.T) {
	sink := &mailSink{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) { return &sinkSession{s: sink}, nil }))
	srv.Domain = "localhost"
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	env := transfertest.New(t, transfer.Policy{ApproveAll: true, Retention: time.Hour, LinkTTL: time.Minute})
	env.Service.Notifier = &transfer.SMTPNotifier{Addr: ln.Addr().String(), From: "kyojin@city.example.lg.jp", Domain: "city.example.lg.jp"}
	env.User(t, "alice", store.Grant{Role: "staff", Scope: "division:jumin"}, store.Grant{Role: "security-manager", Scope: "division:jumin"})
	env.User(t, "boss", store.Grant{Role: "security-manager", Scope: "division:jumin"})
	env.User(t, "other", store.Grant{Role: "security-manager", Scope: "division:zeimu"})
	res, err := env.Service.Submit(ctx, &transfer.Request{Side: transfer.SideInternet, Sender: "alice", Recipients: []string{"bob"}, Purpose: "p",
		Files: []transfer.Upload{spool(t, "a.txt", []byte("hello\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.Decide(ctx, transfer.SideLGWAN, "boss", res.Transfer.ID, true, "ok"); err != nil {
		t.Fatal(err)
	}
	sink.mu.Lock()
	defer sink.mu.Unlock()
	got := strings.Join(sink.rcpt, " ")
	// approval request to boss (not the sender alice, not the manager of
	// another division), then notice to bob, then result to alice.
	if got != "boss@city.example.lg.jp bob@city.example.lg.jp alice@city.example.lg.jp" {
		t.Fatalf("recipients %q", got)
	}
	if len(sink.msgs) != 3 || !strings.Contains(sink.msgs[0], "Subject: =?utf-8?b?") || !strings.Contains(sink.msgs[0], res.Transfer.ID) {
		t.Fatalf("messages: %q", sink.msgs)
	}
}

// TestExpire: past the retention a transfer is expired, its sanitized
// outputs are removed, links stop working, and the expiry is audited.
func TestExpire(t *testing.T) {
	env := transfertest.New(t, transfer.Policy{Retention: time.Hour, LinkTTL: 2 * time.Hour})
	now := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
	env.Service.Now = func() time.Time { return now }
	res, err := env.Service.Submit(ctx, &transfer.Request{Side: transfer.SideInternet, Sender: "a", Recipients: []string{"b"}, Purpose: "p",
		Files: []transfer.Upload{spool(t, "a.txt", []byte("hello\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Transfer.ID
	secret, err := env.Service.IssueLink(ctx, transfer.SideLGWAN, "b", id, 1)
	if err != nil {
		t.Fatal(err)
	}
	now = now.Add(time.Hour + time.Second)
	if err := env.Service.Expire(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(env.Service.Dir, id)); !os.IsNotExist(err) {
		t.Fatalf("outputs kept after expiry: %v", err)
	}
	if _, err := env.Service.Redeem(ctx, transfer.SideLGWAN, "b", secret); !strings.Contains(userMsg(err), "期限切れ") {
		t.Fatalf("link after expiry: %v", err)
	}
	if _, err := env.Service.IssueLink(ctx, transfer.SideLGWAN, "b", id, 1); !strings.Contains(userMsg(err), "期限") {
		t.Fatalf("new link after expiry: %v", err)
	}
	if n, _ := env.Store.CountAudit(ctx, store.AuditFilter{Action: transfer.ActExpire}); n != 1 {
		t.Fatalf("expiry audited %d times", n)
	}
}

// TestApproverScope: only the sender's division manager, the officer of
// its department and the organisation-wide roles may approve; everyone
// else is refused with a message naming who can, and nothing changes.
func TestApproverScope(t *testing.T) {
	env := transfertest.New(t, transfer.Policy{ApproveAll: true, Retention: time.Hour, LinkTTL: time.Minute})
	env.Service.DepartmentOf = func(div string) string {
		return map[string]string{"jumin": "shimin", "zeimu": "somu"}[div]
	}
	g := func(role, scope string) store.Grant { return store.Grant{Role: role, Scope: scope} }
	env.User(t, "alice", g("staff", "division:jumin"))
	env.User(t, "nobody-knows", g("staff", ""))
	env.User(t, "mgr-jumin", g("security-manager", "division:jumin"))
	env.User(t, "mgr-zeimu", g("security-manager", "division:zeimu"))
	env.User(t, "off-shimin", g("security-officer", "department:shimin"))
	env.User(t, "off-somu", g("security-officer", "department:somu"))
	env.User(t, "ciso", g("ciso", ""))
	env.User(t, "chief", g("chief-officer", ""))
	env.User(t, "colleague", g("staff", "division:jumin"))
	env.User(t, "auditor", g("auditor", ""))
	env.User(t, "gone", g("security-manager", "division:jumin"))
	u, _ := env.Store.UserByName(ctx, "gone")
	u.Disabled = true
	if err := env.Store.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	submit := func(sender string) string {
		res, err := env.Service.Submit(ctx, &transfer.Request{Side: transfer.SideInternet, Sender: sender, Recipients: []string{"colleague"},
			Purpose: "p", Files: []transfer.Upload{spool(t, "a.txt", []byte("hello\n"))}})
		if err != nil {
			t.Fatal(err)
		}
		return res.Transfer.ID
	}
	cases := []struct {
		sender, approver string
		want             string // "" = allowed, else part of the refusal
	}{
		{"alice", "mgr-jumin", ""},
		{"alice", "off-shimin", ""},
		{"alice", "ciso", ""},
		{"alice", "chief", ""},
		{"alice", "mgr-zeimu", "課室 jumin"},
		{"alice", "off-somu", "部局 shimin"},
		{"alice", "colleague", "権限がありません"},
		{"alice", "auditor", "権限がありません"},
		{"alice", "gone", "権限がありません"},
		{"alice", "stranger", "権限がありません"},
		{"nobody-knows", "mgr-jumin", "所属（課室）が登録されていない"},
		{"nobody-knows", "off-shimin", "所属（課室）が登録されていない"},
		{"nobody-knows", "ciso", ""},
	}
	for _, tc := range cases {
		t.Run(tc.sender+"/"+tc.approver, func(t *testing.T) {
			id := submit(tc.sender)
			_, err := env.Service.Decide(ctx, transfer.SideLGWAN, tc.approver, id, true, "理由")
			if tc.want == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			if msg := userMsg(err); !strings.Contains(msg, tc.want) {
				t.Fatalf("error %v, want a message containing %q", err, tc.want)
			}
			if tr, _ := env.Store.Transfer(ctx, id); tr.Status != transfer.StatusPending || tr.Approver != "" {
				t.Fatalf("refused decision changed the transfer: %+v", tr)
			}
		})
	}
}

// TestReject: a rejected transfer is never downloadable, the sender learns
// the reason, and the decision is recorded.
func TestReject(t *testing.T) {
	env := transfertest.New(t, transfer.Policy{ApproveAll: true, Retention: time.Hour, LinkTTL: time.Minute})
	env.User(t, "alice", store.Grant{Role: "staff", Scope: "division:jumin"})
	env.User(t, "boss", store.Grant{Role: "security-manager", Scope: "division:jumin"})
	notes := &recorder{}
	env.Service.Notifier = notes
	res, err := env.Service.Submit(ctx, &transfer.Request{Side: transfer.SideInternet, Sender: "alice", Recipients: []string{"bob"}, Purpose: "p",
		Files: []transfer.Upload{spool(t, "a.txt", []byte("hello\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	id := res.Transfer.ID
	tr, err := env.Service.Decide(ctx, transfer.SideLGWAN, "boss", id, false, "業務上の必要が確認できない")
	if err != nil || tr.Status != transfer.StatusRejected {
		t.Fatalf("reject: %+v %v", tr, err)
	}
	stored, _ := env.Store.Transfer(ctx, id)
	if stored.Status != transfer.StatusRejected || stored.Approver != "boss" || stored.Decision != "業務上の必要が確認できない" || stored.DecidedAt.IsZero() {
		t.Fatalf("rejection record: %+v", stored)
	}
	if _, err := env.Service.IssueLink(ctx, transfer.SideLGWAN, "bob", id, 1); !strings.Contains(userMsg(err), "却下") {
		t.Fatalf("link to a rejected transfer: %v", err)
	}
	if _, err := env.Service.Decide(ctx, transfer.SideLGWAN, "boss", id, true, "やはり承認"); !strings.Contains(userMsg(err), "承認待ちではありません") {
		t.Fatalf("approval after rejection: %v", err)
	}
	if all := notes.all(); !strings.Contains(all, "alice|[kyojin] 転送の承認結果|") || !strings.Contains(all, "却下されました。理由: 業務上の必要が確認できない") || strings.Contains(all, "bob|") {
		t.Fatalf("notices: %s", all)
	}
	if n, _ := env.Store.CountAudit(ctx, store.AuditFilter{Action: transfer.ActReject}); n != 1 {
		t.Fatalf("rejection audited %d times", n)
	}
}
