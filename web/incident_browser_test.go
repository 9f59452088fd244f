package web

import (
	"archive/zip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
	"github.com/kyojin/kyojin/incident"
	"github.com/kyojin/kyojin/store"
)

// TestBrowserIncident: in real headless Chromium, a security-cloud alert
// becomes an incident, goes through triage (impact rated, prefecture
// escalation recorded) and the handling steps with the playbook checked
// and evidence attached, closes after the review, and its report (DOCX) is
// downloaded. A resident's report comes in through the public form.
// Screenshots: testdata/artifacts/incident-*.png.
func TestBrowserIncident(t *testing.T) {
	kit := &incidentKit{}
	b := newBrowserEnv(t, withIncidents(t, kit))
	b.user("csirt1", true, store.Grant{Role: "csirt", Scope: "tenant:kakuu"})
	host := b.web.o.Model.Hosts[0].ID
	kit.alerts.Add(incident.Alert{Tenant: "kakuu", ID: "AL-0001", Title: "端末から不審な外部サーバへの通信", Severity: "high", Time: b.now(),
		Host: host, Indicators: []incident.Indicator{{Kind: "domain", Value: "c2.example.net"}}})

	// A resident reports a defaced page; no login.
	b.run(chromedp.Navigate(b.base+"/report-incident"), chromedp.WaitVisible(chromedp.CSS("#outside-report")),
		chromedp.SendKeys(chromedp.CSS("#o-title"), "市のサイトが別サイトへ移動する"),
		chromedp.SendKeys(chromedp.CSS("#o-desc"), "トップページを開くと見知らぬ広告サイトに転送されます"))
	b.shot("incident-01-public-form")
	b.run(chromedp.Submit(chromedp.CSS("#outside-report")), chromedp.WaitVisible(chromedp.CSS("#ack-ref")))
	if ref := b.text("#ack-ref"); !refRe.MatchString(ref) {
		t.Fatalf("acknowledgement: %q", ref)
	}
	b.shot("incident-02-public-ack")

	b.loginAt(b.base, "csirt1")
	b.run(chromedp.Navigate(b.base+"/incidents/new"), chromedp.WaitVisible(chromedp.CSS("#incident-new")),
		chromedp.SendKeys(chromedp.CSS("#n-alerts"), "AL-0001"),
		chromedp.SetValue(chromedp.CSS("#n-type"), "ransomware"),
		chromedp.SendKeys(chromedp.CSS("#n-title"), "税務課端末のランサムウェア感染"))
	b.shot("incident-03-new-from-alert")
	b.run(chromedp.Submit(chromedp.CSS("#incident-new")), chromedp.WaitVisible(chromedp.CSS("#incident-state")))
	if s := b.text("#incident-state"); s != "報告済み（窓口未受付）" {
		t.Fatalf("new incident state %q", s)
	}
	if s := b.text("#links"); !strings.Contains(s, host) {
		t.Errorf("alert host not linked: %q", s)
	}
	if s := b.text("#checklist"); !strings.Contains(s, "電源は切らず") {
		t.Errorf("ransomware playbook not shown: %q", s)
	}
	move := func(to incident.State) {
		t.Helper()
		b.run(chromedp.Click(chromedp.CSS(`#transition-form button[value="` + string(to) + `"]`)))
		if s := b.waitText("#incident-state", to.Label().JA); s != to.Label().JA {
			t.Fatalf("after moving to %s: state %q", to, s)
		}
	}
	move(incident.StateReceived)
	move(incident.StateTriage)
	b.run(chromedp.SetValue(chromedp.CSS("#t-impact"), "3"), chromedp.Submit(chromedp.CSS("#triage-form")))
	if s := b.waitText("#incident-impact", "3 高"); s != "3 高" {
		t.Fatalf("impact %q", s)
	}
	// A level-3 incident must reach the prefecture within the hour; the
	// warning shows once three quarters of it are gone (the clock moves
	// in steps shorter than the session's idle timeout).
	for range 2 {
		b.advance(24 * time.Minute)
		b.run(chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS("#incident-state")))
	}
	if s := b.waitText("#sla-warnings", "都道府県への報告"); !strings.Contains(s, "都道府県への報告") {
		t.Errorf("no escalation warning: %q", s)
	}
	b.shot("incident-04-triage")
	b.run(chromedp.SendKeys(chromedp.CSS(`form[action$="/escalate"] input[name="comment"]`), "県セキュリティクラウド担当へ電話"),
		chromedp.Submit(chromedp.CSS(`form[action$="/escalate"]`)))
	b.waitText("#incident-facts", "県セキュリティクラウド担当へ電話")
	move(incident.StatePolicy)
	b.run(chromedp.Click(chromedp.CSS("#check-unplug")))
	if p := b.waitText("#checklist", "csirt1"); !strings.Contains(p, "csirt1") {
		t.Errorf("checked item lacks who: %q", p)
	}
	move(incident.StateEvidence)
	ev := filepath.Join(t.TempDir(), "脅迫文.txt")
	if err := os.WriteFile(ev, []byte("Your files are encrypted. Pay 1 BTC."), 0o600); err != nil {
		t.Fatal(err)
	}
	b.run(chromedp.SetUploadFiles(chromedp.CSS("#e-file"), []string{ev}), chromedp.Submit(chromedp.CSS("#evidence-form")))
	if s := b.waitText("#evidence", "脅迫文.txt"); !strings.Contains(s, "脅迫文.txt") {
		t.Fatalf("evidence table: %q", s)
	}
	b.shot("incident-05-evidence")
	move(incident.StateContain)
	b.shot("incident-06-contain")
	move(incident.StateEradicate)
	move(incident.StateRecovery)
	move(incident.StateLeadReport)
	b.run(chromedp.SendKeys(chromedp.CSS("#rv-cause"), "メール添付ファイルのマクロ実行"), chromedp.Submit(chromedp.CSS("#review-form")))
	b.waitText("#timeline", "事後レビュー")
	move(incident.StateClosed)
	b.noHorizontalScroll("incident detail")
	b.shot("incident-07-closed")

	dl := t.TempDir()
	if _, err := chromedp.CallBrowser(b.ctx, cdpbrowser.SetDownloadBehavior, cdpbrowser.SetDownloadBehaviorParams{
		Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dl}); err != nil {
		t.Fatal(err)
	}
	b.run(chromedp.Click(chromedp.CSS("#report-docx")))
	var got string
	for end := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		ents, _ := os.ReadDir(dl)
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".docx") {
				got = filepath.Join(dl, e.Name())
			}
		}
		if got != "" || time.Now().After(end) {
			break
		}
	}
	if got == "" {
		t.Fatal("the report did not download")
	}
	time.Sleep(200 * time.Millisecond)
	zr, err := zip.OpenReader(got)
	if err != nil {
		t.Fatalf("downloaded report: %v", err)
	}
	defer zr.Close()
	var doc string
	for _, f := range zr.File {
		if f.Name == "word/document.xml" {
			rc, _ := f.Open()
			var sb strings.Builder
			buf := make([]byte, 32<<10)
			for {
				n, err := rc.Read(buf)
				sb.Write(buf[:n])
				if err != nil {
					break
				}
			}
			rc.Close()
			doc = sb.String()
		}
	}
	for _, want := range []string{"税務課端末のランサムウェア感染", "脅迫文.txt", "メール添付ファイルのマクロ実行", "令和", "県セキュリティクラウド担当へ電話", "完了"} {
		if !strings.Contains(doc, want) {
			t.Errorf("report lacks %q", want)
		}
	}

	// The list shows it closed; the statistics count it with its time to contain.
	b.run(chromedp.Navigate(b.base+"/incidents"), chromedp.WaitVisible(chromedp.CSS("#incidents")))
	b.shot("incident-08-list")
	b.run(chromedp.Navigate(b.base+"/incidents/stats"), chromedp.WaitVisible(chromedp.CSS("svg.chart")))
	if n := b.text("#stats-incidents"); n != "2" {
		t.Errorf("monthly incidents %q", n)
	}
	b.shot("incident-09-stats")
	for _, a := range []string{"incident.create", "incident.transition", "incident.evidence_upload", "incident.report_export", "incident.escalate"} {
		if n, _ := b.store.CountAudit(b.ctx, store.AuditFilter{Action: a}); n == 0 {
			t.Errorf("no %s in the audit log", a)
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	for _, l := range b.logs {
		if strings.Contains(l, "Content Security Policy") || strings.Contains(l, "Refused") {
			t.Errorf("browser reported: %s", l)
		}
	}
}
