package notify

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var when = time.Date(2026, 11, 22, 7, 5, 0, 0, time.UTC) // 16:05 JST

// sample returns a message of each kind with the data its template shows.
func sample(k Kind) Message {
	m := Message{Kind: k, Tenant: "kakuu-city", Severity: SevHigh, Time: when,
		Link: "https://soc.pref.example.lg.jp/alerts/42", Ref: Ref{Kind: "alert", ID: "42", Tenant: "kakuu-city"}}
	switch k {
	case KindAlert:
		m.Title = "マイナンバー利用事務系からのインターネット通信"
		m.Data = map[string]any{"rule_author": "kyojin (model rule)", "host": "10.1.2.3", "events": 17, "summary": "proxy.example.lg.jp 経由で外部へ接続"}
	case KindIncidentOpened:
		m.Title = "教育委員会の端末でランサムウェア感染の疑い"
		m.Data = map[string]any{"incident_id": "INC-2026-0012", "impact": "レベル3", "reporter": "教育総務課 山田", "summary": "画面に身代金要求が表示された"}
	case KindIncidentState:
		m.Title = "教育委員会の端末でランサムウェア感染の疑い"
		m.Data = map[string]any{"incident_id": "INC-2026-0012", "from": "トリアージ", "to": "封じ込め", "actor": "CSIRT 佐藤", "note": "該当端末をネットワークから隔離（電源は入れたまま）"}
	case KindIncidentSLAWarn:
		m.Title = "教育委員会の端末でランサムウェア感染の疑い"
		m.Data = map[string]any{"incident_id": "INC-2026-0012", "state": "受付", "deadline": when.Add(time.Hour), "remaining": "60分"}
	case KindEscalation:
		m.Title = "教育委員会の端末でランサムウェア感染の疑い"
		m.Data = map[string]any{"level": "CISO", "step": 3, "steps": 4, "elapsed_minutes": 60, "notified": "CSIRT窓口、CSIRT責任者"}
	case KindTamper:
		m.Severity = SevCritical
		m.Title = "www.city.kakuu.example.lg.jp の改ざん"
		m.Data = map[string]any{"site": "www.city.kakuu.example.lg.jp", "url": "/index.html", "change": "外部ドメインへのスクリプト挿入",
			"detail": "<script src=https://evil.example/x.js>", "restored": "はい"}
	case KindTest:
		m.Tenant, m.Title = "-", "test"
		m.Data = map[string]any{"route": "soc-all-high"}
	}
	return m
}

func TestRenderGolden(t *testing.T) {
	for _, lang := range []string{"ja", "en"} {
		for _, k := range Kinds {
			t.Run(lang+"-"+string(k), func(t *testing.T) {
				r, err := Render(sample(k), lang)
				if err != nil {
					t.Fatal(err)
				}
				checkGolden(t, lang+"-"+string(k), r)
			})
		}
		t.Run(lang+"-digest", func(t *testing.T) {
			items := []Message{sample(KindAlert), sample(KindTamper), sample(KindAlert)}
			items[2].Tenant = "otsu-town"
			m := digestOf(&RouteConfig{Name: "soc-all-high", Digest: Duration(5 * time.Minute)}, items, when)
			def, _ := defaults()
			r, err := def.render(m, lang, items[:2], 1)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, lang+"-digest", r)
		})
	}
}

func checkGolden(t *testing.T, name string, r Rendered) {
	t.Helper()
	got := "Subject: " + r.Subject + "\n\n" + r.Body
	p := filepath.Join("testdata", "golden", name+".txt")
	if *update {
		os.WriteFile(p, []byte(got), 0o644)
	}
	want, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("%s differs (go test ./notify -update):\n%s", name, got)
	}
}

func TestRenderDetails(t *testing.T) {
	r, _ := Render(sample(KindIncidentSLAWarn), "ja")
	if !strings.Contains(r.Body, "期限: 令和8年11月22日 17:05") || !strings.Contains(r.Subject, "[高]") {
		t.Errorf("wareki deadline or severity missing:\n%s", r.Body)
	}
	r, _ = Render(sample(KindIncidentSLAWarn), "en")
	if !strings.Contains(r.Body, "Deadline: 2026-11-22 17:05 JST") {
		t.Errorf("english deadline:\n%s", r.Body)
	}
	// A JSON round trip (outbox, ladder state) turns times into text.
	m := sample(KindIncidentSLAWarn)
	m.Data["deadline"] = when.Format(time.RFC3339)
	r, _ = Render(m, "ja")
	if !strings.Contains(r.Body, "期限: 令和8年11月22日 16:05") {
		t.Errorf("deadline from text:\n%s", r.Body)
	}
	if _, err := Render(Message{Kind: "nope"}, "ja"); err == nil {
		t.Error("unknown kind rendered")
	}
}

// TestRenderHostile: text from logs cannot forge lines in the subject,
// hide itself behind bidi controls, or flood the body.
func TestRenderHostile(t *testing.T) {
	m := sample(KindAlert)
	m.Title = "rule\r\nBcc: victim@example.com\u202Egpj.exe"
	m.Data["summary"] = strings.Repeat("あ", 5000) + "\x1b[31m"
	m.Data["host"] = "\xff\xfe"
	r, err := Render(m, "ja")
	if err != nil {
		t.Fatal(err)
	}
	if strings.ContainsAny(r.Subject, "\r\n\u202E") || !strings.Contains(r.Subject, "rule Bcc") {
		t.Errorf("subject %q", r.Subject)
	}
	if strings.Contains(r.Body, "\x1b") || strings.Contains(r.Body, "\u202E") || strings.Count(r.Body, "あ") != 2000 || !strings.Contains(r.Body, "対象: \uFFFD\uFFFD") {
		t.Errorf("body not cleaned: %d あ", strings.Count(r.Body, "あ"))
	}
}

// TestTemplatesDir: a body overrides one template (its contact desk in the
// footer, a subject); the others stay embedded; a broken override is
// refused at start with its file name.
func TestTemplatesDir(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "ja"), 0o755)
	os.WriteFile(filepath.Join(dir, "ja", "footer.tmpl"), []byte(`{{define "footer"}}
--
問い合わせ: 情報政策課 CSIRT 内線 1234{{end}}`), 0o644)
	os.WriteFile(filepath.Join(dir, "ja", "alert.tmpl"), []byte(`{{define "subject"}}【至急】{{.Title}}{{end}}
{{define "body"}}{{.Tenant}} で {{.Title}}{{template "footer" .}}{{end}}`), 0o644)
	tm, err := LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := tm.Render(sample(KindAlert), "ja")
	if r.Subject != "【至急】マイナンバー利用事務系からのインターネット通信" || !strings.Contains(r.Body, "内線 1234") {
		t.Errorf("override: %+v", r)
	}
	r, _ = tm.Render(sample(KindTamper), "ja")
	if !strings.Contains(r.Subject, "Web改ざん検知") || !strings.Contains(r.Body, "内線 1234") {
		t.Errorf("embedded kind with the overridden footer: %+v", r)
	}
	r, _ = tm.Render(sample(KindAlert), "en")
	if !strings.Contains(r.Subject, "Alert:") {
		t.Errorf("english untouched: %+v", r)
	}
	os.WriteFile(filepath.Join(dir, "ja", "tamper.tmpl"), []byte(`{{define "subject"}}{{.Title`), 0o644)
	if _, err := LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "ja/tamper.tmpl") {
		t.Errorf("broken template: %v", err)
	}
	os.WriteFile(filepath.Join(dir, "ja", "tamper.tmpl"), []byte(`{{define "subject"}}x{{end}}`), 0o644)
	if _, err := LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "lacks a subject or body") {
		t.Errorf("template without body: %v", err)
	}
	if _, err := LoadTemplates(filepath.Join(dir, "none")); err == nil {
		t.Error("missing directory accepted")
	}
}
