package cloud

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/event"
	"github.com/kyojin/kyojin/eventstore"
)

// pki writes a CA, a server certificate for 127.0.0.1 and client
// certificates for the given CNs; returns the directory.
func pki(t *testing.T, cns ...string) string {
	t.Helper()
	dir := t.TempDir()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	caDER, _ := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	ca, _ := x509.ParseCertificate(caDER)
	write := func(name string, der []byte, key *ecdsa.PrivateKey) {
		os.WriteFile(filepath.Join(dir, name+".crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
		if key != nil {
			kb, _ := x509.MarshalECPrivateKey(key)
			os.WriteFile(filepath.Join(dir, name+".key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
		}
	}
	write("ca", caDER, nil)
	issue := func(name, cn string, usage x509.ExtKeyUsage, serial int64) {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn}, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
		der, _ := x509.CreateCertificate(rand.Reader, tpl, ca, &k.PublicKey, caKey)
		write(name, der, k)
	}
	issue("server", "127.0.0.1", x509.ExtKeyUsageServerAuth, 2)
	for i, cn := range cns {
		issue(cn, cn, x509.ExtKeyUsageClientAuth, int64(10+i))
	}
	return dir
}

func writeConfig(t *testing.T, dir, body string) string {
	t.Helper()
	p := filepath.Join(dir, "cloud.yaml")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

const testConfig = `store: store
timezone: UTC
queue: %d
listeners:
  - {name: udp, type: udp, address: "127.0.0.1:0"}
  - {name: tcp, type: tcp, address: "127.0.0.1:0"}
  - {name: squid-a, type: tcp, address: "127.0.0.1:0", format: squid}
  - {name: tls, type: tls, address: "127.0.0.1:0", cert: server.crt, key: server.key, client_ca: ca.crt}
  - {name: http, type: http, address: "127.0.0.1:0", format: kyojin}
tenants:
  - id: pref
    name: 県
    sources:
      - {cidr: 127.0.0.0/8}
      - {token: pref-token}
  - id: city-a
    name: A市
    sources:
      - {listener: squid-a}
      - {cert_cn: city-a-relay}
      - {token: city-a-token, format: web}
`

type rig struct {
	cfg     *Config
	store   *eventstore.Store
	in      *Intake
	srv     *Server
	cancel  context.CancelFunc
	stopped bool
}

func start(t *testing.T, queue int) (*rig, string) {
	t.Helper()
	dir := pki(t, "city-a-relay", "stranger")
	cfg, diags := LoadConfig(writeConfig(t, dir, fmt.Sprintf(testConfig, queue)))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	st, err := eventstore.Open(cfg.Store)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	in := NewIntake(cfg, st, log)
	srv := NewServer(cfg, in)
	ctx, cancel := context.WithCancel(context.Background())
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	return &rig{cfg: cfg, store: st, in: in, srv: srv, cancel: cancel}, dir
}

func (r *rig) stop(t *testing.T) {
	if r.stopped {
		return
	}
	r.stopped = true
	r.cancel()
	r.srv.Wait()
	if err := r.in.Close(); err != nil {
		t.Fatal(err)
	}
}

func search(t *testing.T, st *eventstore.Store, tenant string, filters ...string) []*event.Event {
	t.Helper()
	q := eventstore.Query{Tenant: tenant}
	for _, f := range filters {
		fl, err := eventstore.ParseFilter(f)
		if err != nil {
			t.Fatal(err)
		}
		q.Filters = append(q.Filters, fl)
	}
	var out []*event.Event
	if err := st.Search(q, func(ev *event.Event) bool { out = append(out, ev); return true }); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestEndToEnd(t *testing.T) {
	r, dir := start(t, 1024)
	r.in.Start(2)
	// TCP: octet counting and newline framing on one stream (RFC 6587)
	c, err := net.Dial("tcp", r.srv.Addr("tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	m1 := `<13>Nov 22 05:00:00 fw kernel: [1.0] DROP IN=eth0 OUT= SRC=10.9.9.9 DST=203.0.113.1 PROTO=TCP SPT=1 DPT=445`
	m2 := `<30>Nov 22 05:00:01 dns1 named[1]: client @0x1 10.1.1.1#5353 (evil.example): query: evil.example IN A + (10.0.0.53)`
	fmt.Fprintf(c, "%d %s%s\n", len(m1), m1, m2)
	fmt.Fprintf(c, "garbage line that is no syslog\n")
	c.Close()
	// Squid listener belongs to city-a regardless of the 127/8 CIDR rule
	c, _ = net.Dial("tcp", r.srv.Addr("squid-a").String())
	fmt.Fprintf(c, "1700000000.123 5 10.20.0.7 TCP_MISS/200 10 GET http://bad.example/x.exe - HIER_DIRECT/198.51.100.1 application/octet-stream\n")
	c.Close()
	// UDP
	u, _ := net.Dial("udp", r.srv.Addr("udp").String())
	fmt.Fprintf(u, "<165>1 2026-11-22T05:00:02Z web1 nginx - - - hello over udp")
	u.Close()
	// TLS with client certificate → city-a by CN
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "city-a-relay.crt"), filepath.Join(dir, "city-a-relay.key"))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	caPEM, _ := os.ReadFile(filepath.Join(dir, "ca.crt"))
	pool.AppendCertsFromPEM(caPEM)
	tc, err := tls.Dial("tcp", r.srv.Addr("tls").String(), &tls.Config{Certificates: []tls.Certificate{cert}, RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	m3 := `<22>1 2026-11-22T05:00:03Z mx postfix/smtpd 1 - - NOQUEUE: reject: RCPT from unknown[192.0.2.1]: 554 5.7.1 denied; from=<a@x.test> to=<b@lg.jp> proto=ESMTP helo=<h>`
	fmt.Fprintf(tc, "%d %s", len(m3), m3)
	tc.Close()
	// TLS without a client certificate is refused at the handshake
	if tc2, err := tls.Dial("tcp", r.srv.Addr("tls").String(), &tls.Config{RootCAs: pool}); err == nil {
		tc2.Write([]byte("<13>Nov 22 05:00:00 h x: sneaky\n"))
		io.Copy(io.Discard, tc2)
		tc2.Close()
	}
	// HTTP: city-a token, format web from the source rule
	post := func(tok, body string) *http.Response {
		req, _ := http.NewRequest("POST", "http://"+r.srv.Addr("http").String()+"/v1/events", strings.NewReader(body))
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post("city-a-token", `10.20.0.8 - - [22/Nov/2026:05:00:04 +0000] "GET /?q=union%20select HTTP/1.1" 200 5 "-" "sqlmap"`+"\n"); resp.StatusCode != 202 {
		t.Errorf("http: %d", resp.StatusCode)
	}
	if resp := post("pref-token", `[{"time":"2026-11-22T05:00:05Z","event":"rejected","client_ip":"198.51.100.9"}]`); resp.StatusCode != 202 {
		t.Errorf("http json: %d", resp.StatusCode)
	}
	if resp := post("wrong", "x\n"); resp.StatusCode != 401 {
		t.Errorf("bad token: %d", resp.StatusCode)
	}
	if resp := post("", "x\n"); resp.StatusCode != 401 {
		t.Errorf("no token: %d", resp.StatusCode)
	}
	time.Sleep(300 * time.Millisecond) // let UDP and the last TCP frames reach the queue
	r.stop(t)

	pref := search(t, r.store, "pref")
	cityA := search(t, r.store, "city-a")
	if got := search(t, r.store, "pref", "src_ip=10.9.9.9", "dst_port=445", "source=netfilter"); len(got) != 1 {
		t.Errorf("netfilter over tcp octet-counted: %d (pref: %v)", len(got), raws(pref))
	}
	if got := search(t, r.store, "pref", "query=evil.example", "source=bind"); len(got) != 1 {
		t.Errorf("bind over tcp newline: %d", len(got))
	}
	if got := search(t, r.store, "pref", "parse_error~syslog"); len(got) != 1 || got[0].Raw != "garbage line that is no syslog" {
		t.Errorf("failure kept raw: %v", raws(got))
	}
	if got := search(t, r.store, "pref", "message=hello over udp"); len(got) != 1 {
		t.Errorf("udp: %d", len(got))
	}
	if got := search(t, r.store, "pref", "action=rejected", "src_ip=198.51.100.9"); len(got) != 1 {
		t.Errorf("http json: %d", len(got))
	}
	if got := search(t, r.store, "city-a", "c-uri-extension=exe", "source=squid"); len(got) != 1 {
		t.Errorf("squid listener: %d (%v)", len(got), raws(cityA))
	}
	if got := search(t, r.store, "city-a", "mail_from=a@x.test", "action=reject"); len(got) != 1 {
		t.Errorf("tls: %d", len(got))
	}
	if got := search(t, r.store, "city-a", "c-useragent=sqlmap"); len(got) != 1 {
		t.Errorf("http ndjson: %d", len(got))
	}
	// isolation: nothing of one tenant is found under the other
	for _, ev := range pref {
		if ev.Tenant != "pref" || strings.Contains(ev.Raw, "sqlmap") || strings.Contains(ev.Raw, "bad.example") {
			t.Errorf("pref search returned %q of %s", ev.Raw, ev.Tenant)
		}
	}
	for _, ev := range cityA {
		if ev.Tenant != "city-a" || strings.Contains(ev.Raw, "evil.example") {
			t.Errorf("city-a search returned %q of %s", ev.Raw, ev.Tenant)
		}
	}
	if len(pref) != 5 || len(cityA) != 3 {
		t.Errorf("counts pref %d city-a %d: %v / %v", len(pref), len(cityA), raws(pref), raws(cityA))
	}
	st := r.in.Stats()
	if st["pref"].Received != 5 || st["pref"].Failed != 1 || st["pref"].Parsed != 4 || st["city-a"].Parsed != 3 {
		t.Errorf("stats %+v", st)
	}
	if st[Unassigned].Dropped < 2 { // two bad HTTP tokens (the cert-less TLS client never gets a session)
		t.Errorf("unassigned %+v", st[Unassigned])
	}
}

func raws(evs []*event.Event) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Raw)
	}
	return out
}

// TestBackpressure: with no workers draining, TCP blocks (nothing dropped),
// HTTP answers 429, UDP drops and counts.
func TestBackpressure(t *testing.T) {
	r, _ := start(t, 4)
	c, _ := net.Dial("tcp", r.srv.Addr("tcp").String())
	go func() {
		// one line at a time: each arrives as a batch of its own, so the
		// lane fills (a batch larger than the lane would go in whole)
		for i := range 10 {
			fmt.Fprintf(c, "<13>Nov 22 05:00:00 h app: line %d\n", i)
			time.Sleep(5 * time.Millisecond)
		}
		c.Close()
	}()
	deadline := time.Now().Add(2 * time.Second)
	for r.in.Free("pref") > 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	req, _ := http.NewRequest("POST", "http://"+r.srv.Addr("http").String()+"/v1/events", strings.NewReader("{}\n"))
	req.Header.Set("Authorization", "Bearer pref-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		t.Errorf("http with full queue: %d", resp.StatusCode)
	}
	u, _ := net.Dial("udp", r.srv.Addr("udp").String())
	u.Write([]byte("<13>Nov 22 05:00:00 h app: udp"))
	u.Close()
	time.Sleep(100 * time.Millisecond)
	if d := r.in.Counter("pref").Dropped.Load(); d != 1 {
		t.Errorf("udp drop not counted: %d", d)
	}
	// now drain: every TCP line arrives
	r.in.Start(1)
	time.Sleep(300 * time.Millisecond)
	r.stop(t)
	if got := search(t, r.store, "pref", "program=app", "message~line"); len(got) != 10 {
		t.Errorf("tcp lines after backpressure: %d, want 10", len(got))
	}
}

func TestReadFrames(t *testing.T) {
	long := strings.Repeat("x", 70000)
	in := "5 hello6 world!\nplain line\r\n" + fmt.Sprintf("%d %s", len(long), long) + long + "\n1700000000.1 squid\nlast"
	var got []string
	err := ReadFrames(bufio.NewReaderSize(strings.NewReader(in), 4096), func(b []byte) error {
		got = append(got, string(b))
		return nil
	})
	if err != io.EOF {
		t.Fatal(err)
	}
	want := []string{"hello", "world!", "\n", "plain line\r\n", long[:65537], long[:65537], "1700000000.1 squid\n", "last"}
	// "6 world!" is octet counted; the following "\n" is a blank newline frame, skipped
	want = append(want[:2], want[3:]...)
	if len(got) != len(want) {
		t.Fatalf("frames %d, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("frame %d = %.40q, want %.40q", i, got[i], want[i])
		}
	}
	if err := ReadFrames(bufio.NewReader(strings.NewReader("2000000000 x")), func([]byte) error { return nil }); !errors.Is(err, ErrFraming) {
		t.Error("absurd octet count accepted")
	}
}

func TestConfigErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct{ body, want string }{
		{"store: s\ntenants:\n  - {id: A, name: a, sources: [{cidr: 10.0.0.0/8}]}\n", "cloud.yaml:3"},
		{"store: s\ntenants:\n  - id: a\n    name: a\n    sources:\n      - {cidr: 10.0.0.0/8, token: x}\n", "exactly one"},
		{"store: s\ntenants:\n  - id: a\n    name: a\n    sources:\n      - {listener: nope}\n", "no listener named nope"},
		{"store: s\nlisteners:\n  - {name: l, type: tls, address: ':1'}\ntenants: []\n", "RFC 5425"},
		{"store: s\nbogus: 1\ntenants: []\n", "bogus"},
		{"store: s\ntenants:\n  - {id: a, name: a, sources: [{token: t}]}\n  - {id: b, name: b, sources: [{token: t}]}\n", "token shared"},
		{"store: s\nlisteners:\n  - {name: l, type: udp, address: ':1', format: cisco}\ntenants: []\n", "unknown format cisco"},
	}
	for _, c := range cases {
		_, diags := LoadConfig(writeConfig(t, dir, c.body))
		var b bytes.Buffer
		diags.Write(&b, "en")
		if !diags.HasErrors() || !strings.Contains(b.String(), c.want) {
			t.Errorf("%q: got %q, want %q", c.body, b.String(), c.want)
		}
	}
}

func TestApplyRetention(t *testing.T) {
	dir := t.TempDir()
	cfg, diags := LoadConfig(writeConfig(t, dir, "store: s\ntenants:\n  - {id: a, name: a, retention_days: 30, sources: [{cidr: 10.0.0.0/8}]}\n  - {id: b, name: b, sources: [{cidr: 10.1.0.0/16}]}\n"))
	if diags.HasErrors() {
		t.Fatal(diags.Err())
	}
	st, _ := eventstore.Open(cfg.Store)
	now := time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)
	for _, tn := range []string{"a", "b"} {
		for _, age := range []int{0, 29, 31, 100} {
			st.Append(&event.Event{Tenant: tn, Time: now.AddDate(0, 0, -age), Raw: "x"})
		}
	}
	removed, err := cfg.ApplyRetention(st, now)
	if err != nil || removed["a"] != 2 || removed["b"] != 0 {
		t.Fatalf("removed %v %v", removed, err)
	}
	if got := search(t, st, "a"); len(got) != 2 {
		t.Errorf("a keeps %d, want 2", len(got))
	}
	if got := search(t, st, "b"); len(got) != 4 {
		t.Errorf("b keeps %d, want 4 (no retention configured)", len(got))
	}
}
