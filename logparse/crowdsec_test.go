package logparse

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
)

// sharedData finds the third-party samples: $KYOJIN_SHARED_DATA, else
// ../shared/data from the repository root (../../shared/data from a
// worktree under /work/wt); skips when absent.
func sharedData(t testing.TB, sub string) string {
	if d := os.Getenv("KYOJIN_SHARED_DATA"); d != "" {
		return filepath.Join(d, sub)
	}
	root, _ := filepath.Abs("..") // tests run in logparse/
	for _, p := range []string{filepath.Join(root, "..", "shared", "data", sub), filepath.Join(root, "..", "..", "shared", "data", sub)} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	t.Skipf("third-party samples ../shared/data/%s not present; skipping", sub)
	return ""
}

// formatFor maps each crowdsec test folder to our format.
func formatFor(dir string) string {
	switch {
	case strings.HasPrefix(dir, "apache2"), strings.HasPrefix(dir, "nginx"):
		return "web"
	case dir == "bind9-syslog":
		return "syslog"
	case strings.HasPrefix(dir, "bind9"):
		return "bind"
	case strings.HasPrefix(dir, "fortinet"):
		return "fortigate"
	case strings.HasPrefix(dir, "iptables"):
		return "netfilter"
	case strings.HasPrefix(dir, "pf"):
		return "pf"
	case strings.HasPrefix(dir, "postfix"):
		return "postfix"
	}
	return ""
}

var assertRE = regexp.MustCompile(`Parsed\["(src_ip|dst_ip|src_port|dst_port|action)"\] == "([^"]*)"`)

// TestCrowdsecSamples: every line of every crowdsec test log parses, and
// every src_ip/dst_ip/src_port/dst_port/action value their parser.assert
// expects is produced for that log.
func TestCrowdsecSamples(t *testing.T) {
	crowdsecDir := sharedData(t, "logs/crowdsec-tests")
	dirs, err := os.ReadDir(crowdsecDir)
	if err != nil {
		t.Fatal(err)
	}
	p := New(time.UTC, nil)
	total := 0
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		format := formatFor(d.Name())
		if format == "" {
			t.Errorf("%s: no format mapped", d.Name())
			continue
		}
		logs, _ := filepath.Glob(filepath.Join(crowdsecDir, d.Name(), "*.log"))
		got := map[string]map[string]bool{}
		for _, lf := range logs {
			f, err := os.Open(lf)
			if err != nil {
				t.Fatal(err)
			}
			sc := bufio.NewScanner(f)
			sc.Buffer(nil, 1<<20)
			n := 0
			for sc.Scan() {
				n++
				if strings.TrimSpace(sc.Text()) == "" {
					continue
				}
				total++
				var ev event.Event
				p.Parse(format, sc.Bytes(), &ev)
				if ev.Failed() {
					t.Errorf("%s:%d: %s: %q", lf, n, ev.ParseError, sc.Text())
				}
				for k, v := range ev.Fields {
					if got[k] == nil {
						got[k] = map[string]bool{}
					}
					got[k][v] = true
				}
			}
			f.Close()
		}
		assert, err := os.ReadFile(filepath.Join(crowdsecDir, d.Name(), "parser.assert"))
		if err != nil {
			continue
		}
		for _, m := range assertRE.FindAllStringSubmatch(string(assert), -1) {
			k, v := m[1], m[2]
			if k == "action" && format != "netfilter" && format != "pf" {
				continue // crowdsec's action vocabulary differs outside firewalls
			}
			if !got[k][v] {
				t.Errorf("%s: expected %s=%q from parser.assert, not produced", d.Name(), k, v)
			}
		}
	}
	if total == 0 {
		t.Fatal("no sample lines read")
	}
	t.Logf("%d crowdsec sample lines parsed", total)
}
