// Package postfixtest runs private Postfix instances for integration
// tests: each has its own config_directory, queue_directory and
// data_directory under a temporary directory, listens only on a loopback
// port, and is stopped by the test's cleanup. It never touches the
// system instance.
package postfixtest

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Instance is one running private Postfix.
type Instance struct {
	Dir     string // root of the instance
	Addr    string // smtpd host:port
	Maildir string // virtual delivery target (downstream role)
	etc     string
}

// Options select the role.
type Options struct {
	Name string
	// Domains are delivered locally into Maildir (downstream role).
	Domains []string
	// Relayhost sends everything else there (sending-MTA role), host:port.
	Relayhost string
	// Extra main.cf lines.
	Extra []string
	// Master are extra master.cf lines (e.g. tlsmgr for a TLS server).
	Master []string
}

// Available reports why Postfix cannot run here ("" when it can).
func Available() string {
	if _, err := os.Stat("/usr/sbin/postfix"); err != nil {
		return "postfix not installed (/usr/sbin/postfix); CI installs it via scripts/test"
	}
	if os.Geteuid() != 0 {
		return "postfix instances need root (mail_owner=postfix)"
	}
	if _, err := user.Lookup("postfix"); err != nil {
		return "no postfix user"
	}
	return ""
}

// FreePort returns an unused loopback port.
func FreePort(t testing.TB) int {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// Start writes the configuration and starts the instance.
func Start(t testing.TB, o Options) *Instance {
	t.Helper()
	if why := Available(); why != "" {
		t.Skip(why)
	}
	pu, _ := user.Lookup("postfix")
	// The daemons run as postfix: every parent directory must be traversable.
	root, err := os.MkdirTemp("/tmp", "kyojin-postfix-"+o.Name+"-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(root, 0o755)
	in := &Instance{Dir: root, etc: filepath.Join(root, "etc"), Maildir: filepath.Join(root, "mail", "Maildir")}
	for _, d := range []string{"etc", "spool", "data", "mail"} {
		os.MkdirAll(filepath.Join(root, d), 0o755)
	}
	run(t, "chown", pu.Uid+":"+pu.Gid, filepath.Join(root, "data"), filepath.Join(root, "mail"))
	port := FreePort(t)
	in.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	main := []string{
		"compatibility_level = 3.6",
		"queue_directory = " + filepath.Join(root, "spool"),
		"data_directory = " + filepath.Join(root, "data"),
		"mail_owner = postfix",
		"setgid_group = postdrop",
		"myhostname = " + o.Name + ".test",
		"mydomain = " + o.Name + ".test",
		"myorigin = $myhostname",
		"mydestination =",
		"inet_interfaces = 127.0.0.1",
		"inet_protocols = ipv4",
		"mynetworks = 127.0.0.0/8",
		"smtpd_relay_restrictions = permit_mynetworks, reject",
		"smtpd_recipient_restrictions = permit_mynetworks, reject",
		"alias_maps =",
		"alias_database =",
		"local_recipient_maps =",
		"biff = no",
		"smtputf8_enable = yes",
		"message_size_limit = 80000000",
		"maillog_file_prefixes = " + root,
		"maillog_file = " + filepath.Join(root, "maillog"),
		"syslog_name = kyojin-" + o.Name,
		"default_process_limit = 100",
		"smtpd_client_connection_count_limit = 0",
		"smtpd_client_message_rate_limit = 0",
		"smtpd_client_connection_rate_limit = 0",
		"anvil_rate_time_unit = 60s",
		"smtp_tls_security_level = none",
		"smtpd_tls_security_level = none",
		"notify_classes =",
		"delay_warning_time = 0",
		"smtp_destination_concurrency_limit = 50",
		"default_destination_concurrency_limit = 50",
		"queue_run_delay = 1s",
		"minimal_backoff_time = 1s",
		"maximal_backoff_time = 2s",
		"in_flow_delay = 0",
	}
	if len(o.Domains) > 0 {
		main = append(main,
			"virtual_mailbox_domains = "+strings.Join(o.Domains, " "),
			"virtual_mailbox_base = "+filepath.Join(root, "mail"),
			"virtual_mailbox_maps = static:Maildir/",
			"virtual_uid_maps = static:"+pu.Uid,
			"virtual_gid_maps = static:"+pu.Gid,
			"virtual_minimum_uid = 1",
			"virtual_mailbox_limit = 0",
			"virtual_destination_concurrency_limit = 50",
		)
	}
	if o.Relayhost != "" {
		main = append(main, "relayhost = ["+strings.Replace(o.Relayhost, ":", "]:", 1), "smtp_host_lookup = native")
	}
	main = append(main, o.Extra...)
	master := []string{
		fmt.Sprintf("%s inet n - n - - smtpd", in.Addr),
		"pickup unix n - n 60 1 pickup",
		"cleanup unix n - n - 0 cleanup",
		"qmgr unix n - n 300 1 qmgr",
		"rewrite unix - - n - - trivial-rewrite",
		"bounce unix - - n - 0 bounce",
		"defer unix - - n - 0 bounce",
		"trace unix - - n - 0 bounce",
		"verify unix - - n - 1 verify",
		"flush unix n - n 1000? 0 flush",
		"proxymap unix - - n - - proxymap",
		"smtp unix - - n - - smtp",
		"relay unix - - n - - smtp",
		"showq unix n - n - - showq",
		"error unix - - n - - error",
		"retry unix - - n - - error",
		"discard unix - - n - - discard",
		"local unix - n n - - local",
		"virtual unix - n n - - virtual",
		"lmtp unix - - n - - lmtp",
		"anvil unix - - n - 1 anvil",
		"scache unix - - n - 1 scache",
		"postlog unix-dgram n - n - 1 postlogd",
	}
	master = append(master, o.Master...)
	os.WriteFile(filepath.Join(in.etc, "main.cf"), []byte(strings.Join(main, "\n")+"\n"), 0o644)
	os.WriteFile(filepath.Join(in.etc, "master.cf"), []byte(strings.Join(master, "\n")+"\n"), 0o644)
	run(t, "/usr/sbin/postfix", "-c", in.etc, "start")
	t.Cleanup(func() {
		exec.Command("/usr/sbin/postfix", "-c", in.etc, "stop").Run()
		time.Sleep(300 * time.Millisecond)
		if !t.Failed() {
			os.RemoveAll(root)
		} else {
			t.Logf("postfix %s kept for inspection: %s", o.Name, root)
		}
	})
	// Wait for smtpd.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", in.Addr, time.Second)
		if err == nil {
			line, _ := bufio.NewReader(c).ReadString('\n')
			c.Close()
			if strings.HasPrefix(line, "220") {
				break
			}
		}
		if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(root, "maillog"))
			t.Fatalf("postfix %s did not start on %s:\n%s", o.Name, in.Addr, log)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return in
}

func run(t testing.TB, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// Log returns the instance's mail log.
func (in *Instance) Log() string {
	b, _ := os.ReadFile(filepath.Join(in.Dir, "maillog"))
	return string(b)
}

// MessageIDs returns the Message-Id of every delivered message (maildir
// new/ and cur/), counted.
func (in *Instance) MessageIDs() map[string]int {
	ids := map[string]int{}
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(in.Maildir, sub))
		for _, e := range ents {
			f, err := os.Open(filepath.Join(in.Maildir, sub, e.Name()))
			if err != nil {
				continue
			}
			sc := bufio.NewScanner(f)
			for sc.Scan() {
				line := sc.Text()
				if line == "" {
					break
				}
				if k, v, ok := strings.Cut(line, ":"); ok && strings.EqualFold(k, "Message-Id") {
					ids[strings.TrimSpace(v)]++
					break
				}
			}
			f.Close()
		}
	}
	return ids
}

// Delivered reads one delivered message by Message-Id.
func (in *Instance) Delivered(msgID string) []byte {
	for _, sub := range []string{"new", "cur"} {
		ents, _ := os.ReadDir(filepath.Join(in.Maildir, sub))
		for _, e := range ents {
			b, _ := os.ReadFile(filepath.Join(in.Maildir, sub, e.Name()))
			if strings.Contains(string(b), "Message-Id: "+msgID) || strings.Contains(string(b), "Message-ID: "+msgID) {
				return b
			}
		}
	}
	return nil
}
