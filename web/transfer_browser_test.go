package web

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"net"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/pquerna/otp/totp"

	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
	"github.com/kyojin/kyojin/transfer/aeszip"
	"github.com/kyojin/kyojin/transfer/transfertest"
)

// sideServer starts a transfer listener on host ("127.0.0.1" or
// "localhost"): two different hosts keep the sides' cookies apart in one
// browser, as two networks would.
func sideServer(t *testing.T, s *Server, side transfer.Side, host string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(s.SideHandler(side))
	srv.Listener = ln
	srv.StartTLS()
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	return "https://" + host + ":" + port
}

// waitText polls until the element's text contains want (or 10 s pass)
// and returns the last text seen; a page that is still loading has none.
func (b *browserEnv) waitText(sel, want string) string {
	b.t.Helper()
	var s string
	for end := time.Now().Add(10 * time.Second); time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		s = eval[string](b, `(document.querySelector(`+"`"+sel+"`"+`) || {innerText: ""}).innerText`)
		if strings.Contains(s, want) {
			break
		}
	}
	return s
}

func (b *browserEnv) loginAt(base, name string) {
	b.t.Helper()
	old := b.base
	b.base = base
	defer func() { b.base = old }()
	b.passwordStep(name)
	if secret, ok := b.totp[name]; ok {
		b.run(chromedp.WaitVisible(chromedp.CSS("#code")))
		b.advance(30 * time.Second)
		code, _ := totp.GenerateCode(secret, b.now())
		b.run(chromedp.SendKeys(chromedp.CSS("#code"), code), chromedp.Submit(chromedp.CSS("#code")))
	}
	b.run(chromedp.WaitVisible(chromedp.CSS(".who")))
}

// TestBrowserTransfer: a docm uploaded on the Internet side loses its
// macro, an approver on the Internet side is refused, the approver on the
// LGWAN side approves, and the recipient downloads the sanitized file on
// the LGWAN side; then a 機密性2 export leaves LGWAN as an AES-256 ZIP
// whose password the exporter sees once. Screenshots:
// testdata/artifacts/transfer-*.png.
func TestBrowserTransfer(t *testing.T) {
	b := newBrowserEnv(t)
	te := transfertest.NewWith(t, b.store, transfer.DefaultPolicy())
	te.Service.Now = b.now
	b.web.o.Transfer = te.Service
	inet := sideServer(t, b.web, transfer.SideInternet, "127.0.0.1")
	lgwan := sideServer(t, b.web, transfer.SideLGWAN, "localhost")
	b.user("alice", false, store.Grant{Role: "staff", Scope: "division:jumin"})
	b.user("bob", false, store.Grant{Role: "staff"})
	b.user("boss", true, store.Grant{Role: "security-manager", Scope: "division:jumin"})
	b.user("kansa", true, store.Grant{Role: "auditor"})

	docm := transfertest.Docm(t, "御見積書 kyojin", 0)
	b.loginAt(inet, "alice")
	b.run(chromedp.Navigate(inet+"/transfer"), chromedp.WaitVisible(chromedp.CSS("#t-files")),
		chromedp.SendKeys(chromedp.CSS("#t-recipients"), "bob"), chromedp.SendKeys(chromedp.CSS("#t-purpose"), "見積書の受領"))
	// Two files dropped on the form at once, as from the desktop.
	n := eval[int](b, `(() => {
	  const bin = Uint8Array.from(atob("`+base64.StdEncoding.EncodeToString(docm)+`"), c => c.charCodeAt(0));
	  const dt = new DataTransfer();
	  dt.items.add(new File([bin], "見積.docm"));
	  dt.items.add(new File(["打合せメモ\n"], "memo.txt", {type: "text/plain"}));
	  document.getElementById("transfer-form").dispatchEvent(new DragEvent("drop", {dataTransfer: dt, bubbles: true, cancelable: true}));
	  return document.getElementById("t-files").files.length; })()`)
	if n != 2 {
		t.Fatalf("dropped files in the input: %d", n)
	}
	b.shot("transfer-01-form")
	// Record the upload progress the form reports while app.js sends it.
	b.run(chromedp.Evaluate[chromedp.Void](`(() => { window.maxProgress = 0; const send = XMLHttpRequest.prototype.send;
	  XMLHttpRequest.prototype.send = function (body) {
	    this.upload.addEventListener("progress", () => { window.maxProgress = Math.max(window.maxProgress, document.getElementById("t-progress")?.value || 0); });
	    this.upload.addEventListener("load", () => { window.maxProgress = Math.max(window.maxProgress, document.getElementById("t-progress")?.value || 0); });
	    return send.call(this, body); }; })()`))
	// Clicking the button goes through app.js (XHR with progress), which
	// then shows the result page.
	b.run(chromedp.Click(chromedp.CSS(`#transfer-form button[type="submit"]`)))
	files := b.waitText("#transfer-files", "CONVERTED")
	if !strings.Contains(files, "CONVERTED") || !strings.Contains(files, "vbaProject") || !strings.Contains(files, "見積.docx") || !strings.Contains(files, "memo.txt") {
		t.Fatalf("upload result: %q", files)
	}
	if p := eval[int](b, `window.maxProgress || 0`); p != 100 {
		t.Errorf("upload progress reached %d%%", p)
	}
	if p := eval[string](b, "location.pathname"); p != "/transfer" {
		t.Errorf("upload did not go through the script: at %s", p)
	}
	b.shot("transfer-02-verdicts")
	l, err := b.store.ListTransfers(b.ctx, 1)
	if err != nil || len(l) != 1 {
		t.Fatalf("transfers: %v %v", l, err)
	}
	id := l[0].ID
	b.logout()

	// The approver, reaching the Internet-side listener, is refused.
	b.loginAt(inet, "boss")
	// On the Internet side an approver is no party to the transfer.
	b.run(chromedp.Navigate(inet+"/transfer/t/"+id), chromedp.WaitVisible(chromedp.CSS(".error")))
	if s := b.text(".error"); !strings.Contains(s, "見つかりません") {
		t.Errorf("approver on the Internet side sees the transfer: %q", s)
	}
	b.run(chromedp.Navigate(inet+"/transfer"), chromedp.WaitVisible(chromedp.CSS(".who")))
	b.run(chromedp.Evaluate[chromedp.Void](`(() => { const f = document.createElement("form"); f.method = "post"; f.action = "/transfer/t/` + id + `/decide";
	  for (const [k, v] of [["csrf", document.querySelector("meta[name=csrf-token]").content], ["decision", "approve"], ["reason", "forged"]]) {
	    const i = document.createElement("input"); i.type = "hidden"; i.name = k; i.value = v; f.appendChild(i); }
	  document.body.appendChild(f); f.submit(); })()`))
	b.run(chromedp.WaitVisible(chromedp.CSS(".error")))
	if s := b.text(".error"); !strings.Contains(s, "インターネット側では行えません") {
		t.Fatalf("wrong-side approval: %q", s)
	}
	b.shot("transfer-03-wrong-side")
	b.run(chromedp.Navigate(inet+"/transfer"), chromedp.WaitVisible(chromedp.CSS(".who")))
	b.logout()

	b.loginAt(lgwan, "boss")
	b.run(chromedp.Navigate(lgwan+"/transfer/t/"+id), chromedp.WaitVisible(chromedp.CSS("#d-reason")))
	b.shot("transfer-04-approver")
	b.run(chromedp.SendKeys(chromedp.CSS("#d-reason"), "取引先からの正式な見積書"),
		chromedp.Click(chromedp.CSS(`button[value="approve"]`)))
	if s := b.waitText("#transfer-status", "受け取り可能"); s != "受け取り可能" {
		t.Fatalf("after approval: %q", s)
	}
	b.logout()

	dl := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
		t.Fatal(err)
	}
	b.loginAt(lgwan, "bob")
	b.run(chromedp.Navigate(lgwan+"/transfer"), chromedp.WaitVisible(chromedp.CSS("#h-inbox")),
		chromedp.Click(chromedp.CSS(`a[href="/transfer/t/`+id+`"]`)), chromedp.WaitVisible(chromedp.CSS("button.download")))
	b.shot("transfer-05-recipient")
	b.run(chromedp.Click(chromedp.CSS("button.download")))
	got := filepath.Join(dl, "見積.docx")
	deadline := time.Now().Add(15 * time.Second)
	for {
		if fi, err := os.Stat(got); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			ents, _ := os.ReadDir(dl)
			t.Fatalf("download did not arrive: %v", ents)
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // let Chromium finish writing
	zr, err := zip.OpenReader(got)
	if err != nil {
		t.Fatalf("downloaded file: %v", err)
	}
	defer zr.Close()
	for _, f := range zr.File {
		if strings.Contains(f.Name, "vbaProject") {
			t.Fatalf("macro reached LGWAN: %s", f.Name)
		}
	}
	if n, _ := b.store.CountAudit(b.ctx, store.AuditFilter{Action: transfer.ActDownload}); n != 1 {
		t.Errorf("downloads audited: %d", n)
	}
	b.logout()

	// Export of a 機密性2 document: alice uploads on the LGWAN side and is
	// shown the ZIP password once; boss approves; bob downloads an AES-256
	// ZIP on the Internet side, which 7-Zip opens with that password only.
	spec := filepath.Join(t.TempDir(), "仕様書.txt")
	specBody := []byte(strings.Repeat("機密性2 の仕様書 kyojin\n", 200))
	if err := os.WriteFile(spec, specBody, 0o600); err != nil {
		t.Fatal(err)
	}
	b.loginAt(lgwan, "alice")
	b.run(chromedp.Navigate(lgwan+"/transfer"), chromedp.WaitVisible(chromedp.CSS("#t-files")),
		chromedp.SendKeys(chromedp.CSS("#t-recipients"), "bob"), chromedp.SendKeys(chromedp.CSS("#t-purpose"), "委託業者へ仕様書を送付"),
		chromedp.SetValue(chromedp.CSS("#t-class"), "2"), chromedp.SetUploadFiles(chromedp.CSS("#t-files"), []string{spec}),
		chromedp.Click(chromedp.CSS(`#transfer-form button[type="submit"]`)))
	password := b.waitText("#zip-password", "")
	for end := time.Now().Add(10 * time.Second); password == "" && time.Now().Before(end); time.Sleep(100 * time.Millisecond) {
		password = b.waitText("#zip-password", "")
	}
	if len(password) < 20 {
		t.Fatalf("export password not shown: %q", password)
	}
	b.shot("transfer-06-export-password")
	l, err = b.store.ListTransfers(b.ctx, 1)
	if err != nil || len(l) != 1 || !l[0].Encrypt || l[0].Direction != "out" {
		t.Fatalf("export: %+v %v", l, err)
	}
	exp := l[0].ID
	// Shown once: the transfer's page no longer has it.
	b.run(chromedp.Navigate(lgwan+"/transfer/t/"+exp), chromedp.WaitVisible(chromedp.CSS("#transfer-status")))
	if eval[bool](b, `document.querySelector("#zip-password") !== null || document.body.innerText.includes(`+"`"+password+"`"+`)`) {
		t.Fatal("the password is shown again")
	}
	b.logout()
	b.loginAt(lgwan, "boss")
	b.run(chromedp.Navigate(lgwan+"/transfer/t/"+exp), chromedp.WaitVisible(chromedp.CSS("#d-reason")),
		chromedp.SendKeys(chromedp.CSS("#d-reason"), "委託契約に基づく送付"), chromedp.Click(chromedp.CSS(`button[value="approve"]`)))
	if s := b.waitText("#transfer-status", "受け取り可能"); s != "受け取り可能" {
		t.Fatalf("export after approval: %q", s)
	}
	b.logout()
	b.loginAt(inet, "bob")
	b.run(chromedp.Navigate(inet+"/transfer/t/"+exp), chromedp.WaitVisible(chromedp.CSS("button.download")))
	b.shot("transfer-07-export-recipient")
	b.run(chromedp.Click(chromedp.CSS("button.download")))
	arc := filepath.Join(dl, "仕様書.txt.zip")
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		if fi, err := os.Stat(arc); err == nil && fi.Size() > 0 {
			break
		}
		if time.Now().After(deadline) {
			ents, _ := os.ReadDir(dl)
			t.Fatalf("encrypted export did not arrive: %v", ents)
		}
	}
	time.Sleep(200 * time.Millisecond)
	raw, err := os.ReadFile(arc)
	if err != nil || bytes.Contains(raw, []byte("仕様書 kyojin")) {
		t.Fatalf("export arrived in clear (%v)", err)
	}
	ezr, err := zip.NewReader(bytes.NewReader(raw), int64(len(raw)))
	if err != nil || len(ezr.File) != 1 {
		t.Fatalf("encrypted export: %v", err)
	}
	if got, err := aeszip.Open(ezr.File[0], password, 1<<20); err != nil || !bytes.Equal(got, specBody) {
		t.Fatalf("export with its password: %v", err)
	}
	if bin := sevenZip(); bin != "" {
		out := t.TempDir()
		if msg, err := exec.Command(bin, "x", "-y", "-p"+password, "-o"+out, arc).CombinedOutput(); err != nil {
			t.Fatalf("7-Zip: %v\n%s", err, msg)
		}
		if got, err := os.ReadFile(filepath.Join(out, "仕様書.txt")); err != nil || !bytes.Equal(got, specBody) {
			t.Fatalf("7-Zip extracted: %v", err)
		}
		if msg, err := exec.Command(bin, "t", "-pwrong", arc).CombinedOutput(); err == nil || !strings.Contains(string(msg), "Wrong password") {
			t.Fatalf("7-Zip with a wrong password: %v\n%s", err, msg)
		}
	} else {
		t.Log("7-Zip (package 7zip) not installed: checked with aeszip only")
	}
	b.logout()

	// The auditor reads both transfers on the console's own listener.
	b.loginAt(b.base, "kansa")
	b.run(chromedp.Navigate(b.base+"/audit/transfers"), chromedp.WaitVisible(chromedp.CSS("#transfer-history")))
	hist := b.text("#transfer-history")
	for _, want := range []string{id, exp, "取引先からの正式な見積書", "委託契約に基づく送付", "bob 見積.docx", "bob 仕様書.txt.zip", "CONVERTED"} {
		if !strings.Contains(hist, want) {
			t.Errorf("auditor's history lacks %q", want)
		}
	}
	b.shot("transfer-08-history")
	b.noHorizontalScroll("/audit/transfers")
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.logs {
		if strings.Contains(l, "Content Security Policy") {
			t.Errorf("browser reported: %s", l)
		}
	}
}

// sevenZip finds 7-Zip (Debian package 7zip installs 7zz, p7zip 7z or 7za).
func sevenZip() string {
	for _, n := range []string{"7zz", "7z", "7za"} {
		if p, err := exec.LookPath(n); err == nil {
			return p
		}
	}
	return ""
}
