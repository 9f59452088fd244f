package notify

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func TestExampleConfig(t *testing.T) {
	c, diags := LoadConfig("testdata/example.yaml")
	if diags.HasErrors() {
		var b bytes.Buffer
		diags.Write(&b, "en")
		t.Fatal(b.String())
	}
	if c.Outbox.GiveUpAfter.D() != 48*time.Hour || c.Routes[0].Lang != "ja" || c.SMTP.Password.Env != "KYOJIN_SMTP_PASSWORD" {
		t.Errorf("decoded %+v", c.Outbox)
	}
	if len(c.Ladders[0].Steps) != 4 || c.Ladders[0].Steps[3].After.D() != 2*time.Hour || !c.Webhooks[0].IncludeText {
		t.Errorf("ladder %+v", c.Ladders[0])
	}
	c.SMTP.Password.Value = "inline-pa55"
	var logged bytes.Buffer
	slog.New(slog.NewTextHandler(&logged, nil)).Info("cfg", "password", c.SMTP.Password, "smtp", c.SMTP)
	j, _ := json.Marshal(c)
	for _, s := range []string{c.SMTP.Password.String(), logged.String(), string(j), fmt.Sprintf("%v %+v", c.SMTP.Password, c.SMTP)} {
		if strings.Contains(s, "inline-pa55") || strings.Contains(s, "KYOJIN_SMTP") {
			t.Errorf("secret shown: %s", s)
		}
	}
}

// TestBadConfigs: every testdata/*.bad.yaml yields exactly the diagnostics
// in its .bad.txt (English, sorted, file:line:col), all in one pass.
func TestBadConfigs(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.yaml")
	if len(files) < 3 {
		t.Fatal("bad configs missing")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			c, diags := LoadConfig(f)
			if c != nil || !diags.HasErrors() {
				t.Fatal("accepted")
			}
			var b bytes.Buffer
			diags.Write(&b, "en")
			want := strings.TrimSuffix(f, ".yaml") + ".txt"
			if *update {
				os.WriteFile(want, b.Bytes(), 0o644)
			}
			w, err := os.ReadFile(want)
			if err != nil {
				t.Fatal(err)
			}
			if b.String() != string(w) {
				t.Errorf("got\n%s\nwant\n%s", b.String(), w)
			}
		})
	}
}

func TestSecretResolve(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "s")
	os.WriteFile(f, []byte("from-file\n"), 0o600)
	t.Setenv("KYOJIN_TEST_SECRET", "from-env")
	for _, tc := range []struct {
		s       *Secret
		want    string
		wantErr string
	}{
		{&Secret{Value: "inline"}, "inline", ""},
		{&Secret{Env: "KYOJIN_TEST_SECRET"}, "from-env", ""},
		{&Secret{File: f}, "from-file", ""},
		{&Secret{Env: "KYOJIN_TEST_UNSET_X"}, "", "KYOJIN_TEST_UNSET_X is empty or unset"},
		{&Secret{File: filepath.Join(dir, "none")}, "", "no such file"},
		{nil, "", ""},
	} {
		got, err := tc.s.Resolve()
		if got != tc.want || (tc.wantErr == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%+v: %q %v", tc.s, got, err)
		}
	}
}

func FuzzParseConfig(f *testing.F) {
	for _, p := range []string{"testdata/example.yaml", "testdata/errors.bad.yaml", "testdata/semantic.bad.yaml"} {
		b, _ := os.ReadFile(p)
		f.Add(b)
	}
	f.Add([]byte("outbox: {dir: x}\nroutes: [{name: a, webhooks: [b]}]\nwebhooks: [{name: b, url: 'https://h', secret: {value: s}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, diags := ParseConfig("f.yaml", data)
		if (c == nil) != diags.HasErrors() {
			t.Fatalf("config %v with errors %v", c != nil, diags.HasErrors())
		}
		for _, d := range diags.Items {
			if d.Msg.JA == "" || d.Msg.EN == "" {
				t.Fatalf("diagnostic without message: %+v", d)
			}
		}
		if c != nil {
			for _, r := range c.Routes {
				if !validName(r.Name) {
					t.Fatalf("accepted route name %q", r.Name)
				}
			}
		}
	})
}

// TestSMTPTransportRules: plaintext only on loopback, passwords only over
// TLS (clause 6.1, RFC 8314).
func TestSMTPTransportRules(t *testing.T) {
	for _, tc := range []struct {
		smtp, want string
	}{
		{"{address: 'mail.example.lg.jp:25', from: a@b.example, tls: none}", "tls: none is only allowed for a loopback SMTP server"},
		{"{address: '192.0.2.1:25', from: a@b.example, tls: none}", "tls: none is only allowed for a loopback SMTP server"},
		{"{address: '127.0.0.1:25', from: a@b.example, tls: none}", ""},
		{"{address: 'localhost:25', from: a@b.example, tls: none}", ""},
		{"{address: '[::1]:25', from: a@b.example, tls: none, username: u, password: {value: p}}", "a password is never sent over an unencrypted connection"},
		{"{address: 'mail.example.lg.jp:587', from: a@b.example, username: u}", "write both username and password"},
		{"{address: 'mail.example.lg.jp:587', from: a@b.example, tls: ssl}", "tls must be starttls, tls or none"},
		{"{address: 'mail.example.lg.jp:587', from: a@b.example, username: u, password: {env: X}}", ""},
	} {
		y := "outbox: {dir: /tmp/x}\nsmtp: " + tc.smtp + "\nroutes: [{name: r, mail: [c@d.example]}]\n"
		_, diags := ParseConfig("t.yaml", []byte(y))
		var b bytes.Buffer
		diags.Write(&b, "en")
		if tc.want == "" && diags.HasErrors() || tc.want != "" && !strings.Contains(b.String(), tc.want) {
			t.Errorf("%s: got %q, want %q", tc.smtp, b.String(), tc.want)
		}
	}
}
