package cli

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestCloudServeDetection: kyojin cloud serve with a tenant model, a rules
// directory holding a correlation, and an indicator published beforehand
// with kyojin cloud intel: lines sent over TCP raise the model rule, the
// correlation and the threat-intelligence alerts, and the model-rule
// results are written for kyojin cloud operations.
func TestCloudServeDetection(t *testing.T) {
	dir := t.TempDir()
	model, _ := filepath.Abs(kakuu)
	rules := filepath.Join(dir, "rules")
	os.MkdirAll(rules, 0o755)
	os.WriteFile(filepath.Join(rules, "drops.yml"), []byte(`title: Dropped
id: 3c0f0000-0000-4000-8000-000000000001
name: dropped
author: test author
logsource: {category: firewall}
detection:
  sel: {action: drop}
  condition: sel
level: low
---
title: Three drops from one source
id: 3c0f0000-0000-4000-8000-000000000002
author: corr author
correlation: {type: event_count, rules: [dropped], group-by: [src_ip], timespan: 5m, condition: {gte: 3}}
level: high
`), 0o600)
	addr := freeAddr(t)
	cfg := filepath.Join(dir, "cloud.yaml")
	os.WriteFile(cfg, []byte("store: store\ntimezone: Asia/Tokyo\nrules: rules\nlisteners:\n  - {name: tcp, type: tcp, address: \""+addr+"\"}\n"+
		"tenants:\n  - {id: kakuu, name: 架空市, model: \""+model+"\", sources: [{listener: tcp}]}\n  - {id: pref, name: 県, exclude_rules: [MODEL-LG-DIRECT, 3c0f0000-0000-4000-8000-000000000002], sources: [{cidr: 192.0.2.0/24}]}\n"), 0o600)
	if code, out, errs := run(t, "cloud", "intel", "add", "198.51.100.66", "--tenant", "pref", "--publisher", "県SOC", "--reason", "C2", "--config", cfg); code != 0 {
		t.Fatalf("intel add: %d %s %s", code, out, errs)
	}
	c, stop := startCloudServe(t, cfg, addr)
	day := time.Now().In(time.FixedZone("JST", 9*3600))
	stamp := day.Format("Jan _2 15:04:05")
	for i := range 3 {
		fmt.Fprintf(c, "<4>%s fw kernel: DROP IN=eth0 OUT=eth1 SRC=203.0.113.9 DST=10.30.1.1 PROTO=TCP SPT=1 DPT=%d\n", stamp, 22+i)
	}
	fmt.Fprintf(c, "<4>%s fw kernel: ACCEPT IN=eth0 OUT=eth1 SRC=10.10.20.7 DST=198.51.100.1 PROTO=TCP SPT=1 DPT=443\n", stamp)
	fmt.Fprintf(c, "<4>%s fw kernel: ACCEPT IN=eth0 OUT=eth1 SRC=10.30.5.9 DST=198.51.100.66 PROTO=TCP SPT=1 DPT=443\n", stamp)
	c.Close()
	time.Sleep(300 * time.Millisecond)
	if code, errs := stop(); code != 0 {
		t.Fatalf("serve exit %d: %s", code, errs)
	}
	alerts, _ := os.ReadFile(filepath.Join(dir, "store", "alerts.jsonl"))
	for _, want := range []string{`"rule":"MODEL-MN-SEEN"`, `"title":"Three drops from one source"`, "by corr author", "by test author", `"rule":"INTEL-ip"`, "県SOC (tenant pref)"} {
		if !strings.Contains(string(alerts), want) {
			t.Errorf("alerts lack %s:\n%s", want, alerts)
		}
	}
	if n := strings.Count(string(alerts), `"title":"Dropped"`); n != 0 {
		t.Errorf("%d base-rule alerts: the correlation has no generate", n)
	}
	code, out, errs := run(t, "cloud", "operations", "--config", cfg, "--tenant", "kakuu", "--from", day.AddDate(0, 0, -1).Format(time.DateOnly), "--to", day.AddDate(0, 0, 2).Format(time.DateOnly))
	if code != 0 || !strings.Contains(out, `"organization": "`) || !strings.Contains(out, `"hits": 1`) {
		t.Fatalf("operations after serve: %d %s %s", code, out, errs)
	}
}

// startCloudServe runs kyojin cloud serve --config cfg until stop, and returns
// a connection to its TCP listener at addr.
func startCloudServe(t *testing.T, cfg, addr string) (net.Conn, func() (int, string)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	old := serveContext
	serveContext = func() (context.Context, context.CancelFunc) { return ctx, cancel }
	t.Cleanup(func() { serveContext = old })
	done := make(chan int, 1)
	var serveErr string
	go func() {
		code, _, errs := runCloudCLI(t, "", "cloud", "serve", "--config", cfg)
		serveErr = errs
		done <- code
	}()
	stop := func() (int, string) {
		cancel()
		code := <-done
		return code, serveErr
	}
	for range 250 {
		if c, err := net.Dial("tcp", addr); err == nil {
			return c, stop
		}
		time.Sleep(20 * time.Millisecond)
	}
	_, errs := stop()
	t.Fatalf("serve did not listen: %s", errs)
	return nil, nil
}
