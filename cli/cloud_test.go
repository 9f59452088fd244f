package cli

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func runCloudCLI(t *testing.T, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Main(append([]string{"--lang=en"}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func TestCloudImportSearch(t *testing.T) {
	dir := t.TempDir()
	store := filepath.Join(dir, "store")
	log := filepath.Join(dir, "access.log")
	os.WriteFile(log, []byte(`203.0.113.5 - - [22/Nov/2026:05:00:00 +0900] "GET /a?id=1%20union%20select HTTP/1.1" 200 5 "-" "sqlmap/1.5"
198.51.100.1 - - [22/Nov/2026:06:00:00 +0900] "GET /index.html HTTP/1.1" 200 5 "-" "Mozilla/5.0"
not an access log line
`), 0o600)
	code, out, errs := runCloudCLI(t, "", "cloud", "import", log, "--tenant", "city-a", "--format", "web", "--store", store)
	if code != 0 || !strings.Contains(out, "parsed: 2") || !strings.Contains(out, "failed (kept raw): 1") {
		t.Fatalf("import: %d %q %q", code, out, errs)
	}
	code, _, _ = runCloudCLI(t, "10.0.0.1 - - [22/Nov/2026:05:00:00 +0900] \"GET /b HTTP/1.1\" 200 1 \"-\" \"sqlmap/1.5\"\n",
		"cloud", "import", "-", "--tenant", "city-b", "--format", "web", "--store", store)
	if code != 0 {
		t.Fatal("import stdin failed")
	}
	cases := []struct {
		args  []string
		code  int
		want  []string
		avoid []string
	}{
		{[]string{"--tenant", "city-a", "c-useragent~sqlmap"}, 0, []string{`"src_ip":"203.0.113.5"`}, []string{"10.0.0.1", "Mozilla"}},
		{[]string{"--tenant", "city-b", "c-useragent~sqlmap"}, 0, []string{"10.0.0.1"}, []string{"203.0.113.5"}},
		{[]string{"--tenant", "city-a", "--from", "2026-11-21T20:30:00Z", "--to", "2026-11-21T21:30:00Z"}, 0, []string{"198.51.100.1"}, []string{"203.0.113.5"}},
		{[]string{"--tenant", "city-a", "parse_error~"}, 0, []string{"not an access log line"}, nil},
		{[]string{"--tenant", "city-a", "src_ip=192.0.2.99"}, 1, nil, nil},
		{[]string{"--tenant", "../city-b"}, 1, nil, []string{"10.0.0.1"}},
		{[]string{"c-useragent~sqlmap"}, 2, nil, nil},
	}
	for _, c := range cases {
		code, out, errs := runCloudCLI(t, "", append([]string{"cloud", "search", "--store", store}, c.args...)...)
		if code != c.code {
			t.Errorf("%v: exit %d, want %d (%s)", c.args, code, c.code, errs)
		}
		for _, w := range c.want {
			if !strings.Contains(out, w) {
				t.Errorf("%v: output lacks %q: %s", c.args, w, out)
			}
		}
		for _, a := range c.avoid {
			if strings.Contains(out, a) {
				t.Errorf("%v: output has %q (crossed tenants?)", c.args, a)
			}
		}
	}
	if code, _, _ := runCloudCLI(t, "", "cloud", "import", log, "--tenant", "city-a", "--format", "cisco", "--store", store); code != 2 {
		t.Errorf("unknown format: exit %d", code)
	}
	if code, _, _ := runCloudCLI(t, "", "cloud", "frobnicate"); code != 2 {
		t.Errorf("unknown subcommand: exit %d", code)
	}
}

func TestCloudServe(t *testing.T) {
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "cloud.yaml")
	os.WriteFile(cfg, []byte("store: store\ntimezone: UTC\nlisteners:\n  - {name: tcp, type: tcp, address: \""+addr+"\"}\ntenants:\n  - {id: pref, name: 県, sources: [{listener: tcp}]}\n"), 0o600)
	c, stop := startCloudServe(t, cfg, addr)
	fmt.Fprintf(c, "<13>Nov 22 05:00:00 fw kernel: DROP IN=eth0 OUT= SRC=10.9.9.9 DST=192.0.2.1 PROTO=UDP SPT=1 DPT=53\n")
	c.Close()
	time.Sleep(200 * time.Millisecond)
	if code, errs := stop(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, errs)
	}
	code, out, errs := runCloudCLI(t, "", "cloud", "search", "--config", cfg, "--tenant", "pref", "dst_port=53")
	if code != 0 || !strings.Contains(out, `"src_ip":"10.9.9.9"`) {
		t.Fatalf("search after serve: %d %s %s", code, out, errs)
	}
}
