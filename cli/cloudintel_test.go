package cli

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/cloud"
	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/intel"
	"github.com/kyojin/kyojin/model"
)

func TestCloudIntelCommands(t *testing.T) {
	store := t.TempDir()
	code, out, errs := run(t, "cloud", "intel", "add", "C2.Example.", "例え.テスト", "--tenant", "city-a", "--publisher", "市CSIRT", "--reason", "INC-1", "--ttl", "30d", "--store", store)
	if code != 0 || !strings.Contains(out, "2") {
		t.Fatalf("add: %d %q %q", code, out, errs)
	}
	feed := filepath.Join(store, "feed.csv")
	os.WriteFile(feed, []byte("value,reason,expires\n203.0.113.0/24,scanner,2099-01-01\nnot a value,,\nhttp://files.example/x.exe,dropper,\n"), 0o600)
	code, _, errs = run(t, "cloud", "intel", "import", feed, "--tenant", "city-b", "--publisher", "県SOC", "--store", store)
	if code != 1 || !strings.Contains(errs, "line 3") {
		t.Fatalf("import with a bad line: exit %d, stderr %q", code, errs)
	}
	code, out, _ = run(t, "cloud", "intel", "list", "--store", store)
	for _, want := range []string{"c2.example", "xn--r8jz45g.xn--zckzah", "203.0.113.0/24", "files.example/x.exe", "県SOC", "市CSIRT"} {
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	if code, out, errs := run(t, "cloud", "intel", "revoke", "c2.example", "--tenant", "pref", "--publisher", "県SOC", "--reason", "false positive", "--store", store); code != 0 || !strings.Contains(out, "revoked") {
		t.Fatalf("revoke: %d %q %q", code, out, errs)
	}
	if code, out, _ := run(t, "cloud", "intel", "list", "--store", store); code != 0 || strings.Contains(out, "c2.example") {
		t.Errorf("revoked indicator still listed as active:\n%s", out)
	}
	if code, _, _ := run(t, "cloud", "intel", "revoke", "never.example", "--tenant", "pref", "--publisher", "p", "--reason", "r", "--store", store); code != 1 {
		t.Errorf("revoking an unknown value: exit %d, want 1", code)
	}
	for _, bad := range [][]string{
		{"cloud", "intel", "add", "x.example", "--tenant", "city-a", "--reason", "r", "--store", store},                                      // no publisher
		{"cloud", "intel", "add", "x.example", "--tenant", "city-a", "--publisher", "p", "--store", store},                                   // no reason
		{"cloud", "intel", "add", "x.example", "--tenant", "city-a", "--publisher", "p", "--reason", "r", "--ttl", "soon", "--store", store}, // bad ttl
		{"cloud", "intel", "frobnicate", "--store", store},
	} {
		if code, _, _ := run(t, bad...); code != 2 {
			t.Errorf("%v: exit %d, want 2", bad, code)
		}
	}
}

// TestOperationsIntoAssessment: model-rule results written by the cloud
// become evidence in kyojin assess --operations: a MODEL-MN-SEEN hit puts
// 3(1)① among the gaps with the alert; silent rules are listed as evidence.
func TestOperationsIntoAssessment(t *testing.T) {
	m, d := model.Load(kakuu)
	if m == nil {
		t.Fatal(d.Err())
	}
	dir := t.TempDir()
	var alerts strings.Builder
	md := cloud.NewModelDetector([]cloud.Tenant{{ID: "kakuu", Loaded: m}}, &alerts)
	at := time.Date(2026, 10, 1, 3, 0, 0, 0, time.UTC)
	for i, src := range []string{"10.30.5.9", "10.30.5.10", "10.10.20.7"} { // two clean events, one My Number address
		ev := &event.Event{Tenant: "kakuu", Source: event.SourceSquid, Time: at.Add(time.Duration(i) * time.Hour), Raw: "squid line from " + src}
		ev.Set(event.SrcIP, src)
		ev.Set(event.DstIP, "198.51.100.1")
		md.Detect(ev)
	}
	if err := md.FlushOperations(filepath.Join(dir, "operations")); err != nil {
		t.Fatal(err)
	}
	ops := filepath.Join(dir, "ops.json")
	code, _, errs := run(t, "cloud", "operations", "--store", dir, "--tenant", "kakuu", "--from", "2026-04-01", "--to", "2027-04-01", "-o", ops)
	if code != 0 {
		t.Fatalf("cloud operations: %d %s", code, errs)
	}
	var o assess.Operations
	data, _ := os.ReadFile(ops)
	if err := json.Unmarshal(data, &o); err != nil || len(o.Rules) != len(cloud.ModelRules) || o.Rules[0].Evaluated != 3 || o.Rules[0].Hits != 1 {
		t.Fatalf("summary %v: %s", err, data)
	}
	code, out, errs := run(t, "assess", "--model", kakuu, "--now", "2026-11-22", "--operations", ops, kakuuR8)
	if code != 0 {
		t.Fatalf("assess: %d %s", code, errs)
	}
	for _, want := range []string{"運用による自動確認", "MODEL-MN-SEEN が 1 件検知", "squid line from 10.10.20.7", "MODEL-LG-DIRECT は"} {
		if !strings.Contains(out, want) {
			t.Errorf("assessment lacks %q", want)
		}
	}
	gaps := out[strings.Index(out, "== 未達"):]
	if !strings.Contains(gaps[:strings.Index(gaps, "\n== ")], "3(1)①") {
		t.Errorf("3(1)① is not among the gaps:\n%s", gaps)
	}
	os.WriteFile(ops, []byte(`{"kind":"Operations"}`), 0o600)
	if code, _, _ := run(t, "assess", "--model", kakuu, "--operations", ops, kakuuR8); code != 2 {
		t.Errorf("bad operations file: exit %d, want 2", code)
	}
}

// With events in PostgreSQL, `cloud intel` keeps the indicators beside
// the configuration (cloud.Config.FileDir), where `cloud serve` reads them;
// a bare DSN as --store is refused rather than taken for a directory.
func TestCloudIntelPostgresFileDir(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "cloud.yaml")
	os.WriteFile(cfg, []byte("store: postgres://kyojin_cloud@db.invalid/kyojin\ntenants:\n  - {id: city-a, name: A市, sources: [{cidr: 10.0.0.0/8}]}\n"), 0o600)
	if code, _, errs := run(t, "cloud", "intel", "add", "c2.example", "--tenant", "city-a", "--publisher", "市CSIRT", "--reason", "INC-1", "--config", cfg); code != 0 {
		t.Fatalf("intel add: %d %s", code, errs)
	}
	if _, err := os.Stat(intel.Path(dir)); err != nil {
		t.Errorf("indicators not beside the configuration: %v", err)
	}
	if code, _, _ := run(t, "cloud", "intel", "list", "--store", "postgres://kyojin_cloud@db.invalid/kyojin"); code != 2 {
		t.Errorf("DSN as --store: exit %d", code)
	}
}
