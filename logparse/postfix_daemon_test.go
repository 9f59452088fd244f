package logparse

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/mailgate/postfixtest"
)

// TestRealPostfixLog: a private Postfix instance receives one deliverable
// message and one undeliverable one from swaks; every line of its mail log
// (syslog_name "kyojin-logsrc", as multi-instance setups use) parses, and
// the smtpd / cleanup / qmgr / delivery / bounce lines yield the mail fields.
func TestRealPostfixLog(t *testing.T) {
	if why := postfixtest.Available(); why != "" {
		t.Skip(why)
	}
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Skip("swaks not installed; CI installs it via scripts/test")
	}
	in := postfixtest.Start(t, postfixtest.Options{Name: "logsrc", Domains: []string{"city.lg.jp"}})
	out, err := exec.Command("swaks", "--server", in.Addr, "--from", "a@good.example", "--to", "kakari@city.lg.jp", "--silent", "2").CombinedOutput()
	if err != nil {
		t.Fatalf("swaks: %v\n%s", err, out)
	}
	// a second message that cannot be delivered (no DNS here): bounced
	exec.Command("swaks", "--server", in.Addr, "--from", "spam@bad.example", "--to", "victim@elsewhere.example", "--silent", "2").Run()
	var lines []string
	for end := time.Now().Add(15 * time.Second); time.Now().Before(end); time.Sleep(200 * time.Millisecond) {
		log := in.Log()
		if strings.Contains(log, "status=sent") && strings.Contains(log, "status=bounced") {
			lines = strings.Split(strings.TrimSpace(log), "\n")
			break
		}
	}
	if lines == nil {
		t.Fatalf("postfix log lacks delivery or reject:\n%s", in.Log())
	}
	p := New(time.UTC, nil)
	seen := map[string]bool{}
	for _, l := range lines {
		var ev event.Event
		p.Parse("postfix", []byte(l), &ev)
		if ev.Failed() {
			t.Errorf("%s: %q", ev.ParseError, l)
			continue
		}
		f := ev.Fields
		switch {
		case f[event.MailStatus] == "bounced" && f[event.MailTo] == "victim@elsewhere.example":
			seen["bounced"] = true
		case f["src_host"] == "localhost" && f[event.SrcIP] == "127.0.0.1":
			seen["smtpd"] = true
		case f[event.MailStatus] == "sent" && f[event.MailTo] == "kakari@city.lg.jp" && f[event.MailQueue] != "":
			seen["sent"] = true
		case f[event.MailFrom] == "a@good.example" && f["size"] != "":
			seen["qmgr"] = true
		case f[event.MailMsgID] != "":
			seen["cleanup"] = true
		}
	}
	for _, k := range []string{"bounced", "sent", "qmgr", "cleanup", "smtpd"} {
		if !seen[k] {
			t.Errorf("no %s line recognised in:\n%s", k, strings.Join(lines, "\n"))
		}
	}
}
