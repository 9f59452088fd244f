package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeFiles(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

const testRule = `title: Rclone user agent
id: 2c03648b-e081-41a5-b9fb-7d854d915091
author: Janantha Marasinghe
level: medium
logsource: {category: proxy}
detection:
  selection:
    c-useragent|startswith: 'rclone/v'
  condition: selection
`

const testAgg = `title: Port scan
id: agg-scan
author: Test Author
level: high
logsource: {category: firewall}
detection:
  selection:
    action: denied
  timeframe: 1m
  condition: selection | count(dst_port) by src_ip > 2
`

func TestRulesCheck(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"good.yml":        testRule,
		"sub/agg.yml":     testAgg,
		"bad.yml":         "title: x\nlogsource: {}\ndetection: {s: {f|nosuch: a}, condition: s}\n",
		"unsupported.yml": "title: x\nlogsource: {}\ndetection: {s: {f: a}, condition: 's | min(x) > 3', timeframe: 1m}\n",
	})
	code, out, _ := run(t, "rules", "check", dir)
	if code != 1 {
		t.Errorf("exit %d, want 1 (some rules do not load)", code)
	}
	for _, want := range []string{"ルール 2 件（うち集計条件 1 件）", "読み込めず: 2 件（うち未対応 1 件）",
		`bad.yml: selection "s": field "f|nosuch": unknown modifier "nosuch"`, "未対応: " + filepath.Join(dir, "unsupported.yml")} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	os.Remove(filepath.Join(dir, "bad.yml"))
	os.Remove(filepath.Join(dir, "unsupported.yml"))
	if code, out, _ := run(t, "--lang=en", "rules", "check", dir); code != 0 || !strings.Contains(out, "2 rules loaded (1 with aggregation)") {
		t.Errorf("clean dir: exit %d\n%s", code, out)
	}
	if code, _, _ := run(t, "rules", "check", filepath.Join(dir, "nosuch")); code != 2 {
		t.Errorf("missing dir: exit %d, want 2", code)
	}
}

func TestRulesTest(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"rules/ua.yml":   testRule,
		"rules/scan.yml": testAgg,
		"log.jsonl": `{"c-useragent": "rclone/v1.66.0", "src_ip": "10.0.0.5"}
{"c-useragent": "Mozilla/5.0"}
not json
{"action": "denied", "src_ip": "192.0.2.9", "dst_port": 22, "timestamp": "2026-04-01T09:00:00Z", "tenant": "city-a"}
{"action": "denied", "src_ip": "192.0.2.9", "dst_port": 23, "timestamp": "2026-04-01T09:00:10Z", "tenant": "city-a"}
{"action": "denied", "src_ip": "192.0.2.9", "dst_port": 80, "timestamp": "2026-04-01T09:00:20Z", "tenant": "city-b"}
{"action": "denied", "src_ip": "192.0.2.9", "dst_port": 443, "timestamp": "2026-04-01T09:00:30Z", "tenant": "city-a"}
`,
	})
	code, out, errOut := run(t, "rules", "test", filepath.Join(dir, "rules"), filepath.Join(dir, "log.jsonl"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"1 行目: [medium] Rclone user agent",
		"by Janantha Marasinghe — Detection Rule License (DRL) 1.1",
		"7 行目: 相関 [high] Port scan テナント=city-a グループ=[192.0.2.9] 値=3",
		"7 行、JSON でない行 1",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "2 行目") || strings.Contains(out, "6 行目") {
		t.Errorf("non-matching line reported (city-b must not count toward city-a):\n%s", out)
	}
	if !strings.Contains(errOut, "3 行目: JSON ではありません") {
		t.Errorf("bad line not reported: %s", errOut)
	}
}

// TestRulesTestRoutesBySource: a proxy line must not run the Zeek RDP rule
// ("not selection" matches anything without id.orig_h).
func TestRulesTestRoutesBySource(t *testing.T) {
	dir := t.TempDir()
	writeFiles(t, dir, map[string]string{
		"rules/ua.yml": testRule,
		"rules/rdp.yml": `title: Public RDP
id: rdp-1
logsource: {product: zeek, service: rdp}
detection:
  selection:
    id.orig_h|cidr: 10.0.0.0/8
  condition: not selection
`,
		"log.jsonl": `{"c-useragent": "rclone/v1"}
{"c-useragent": "rclone/v1", "logsource": "zeek"}
`,
	})
	code, out, errOut := run(t, "rules", "test", "--source", "proxy", filepath.Join(dir, "rules"), filepath.Join(dir, "log.jsonl"))
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if !strings.Contains(out, "1 行目: [medium] Rclone user agent") || strings.Contains(out, "1 行目: [] Public RDP") {
		t.Errorf("line 1 (proxy) routed wrongly:\n%s", out)
	}
	if !strings.Contains(out, "2 行目: [] Public RDP") || strings.Contains(out, "2 行目: [medium]") {
		t.Errorf("line 2 (logsource zeek) routed wrongly:\n%s", out)
	}
}
