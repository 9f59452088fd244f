package web

import (
	"crypto/x509"
	"os"
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

func TestSelfSignedCertificate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tls")
	now := time.Now()
	cert, created, err := LoadOrCreateCert(dir, []string{"kyojin.example.lg.jp", "127.0.0.1"}, now)
	if err != nil || !created {
		t.Fatalf("create: %v %v", created, err)
	}
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("kyojin.example.lg.jp"); err != nil {
		t.Error(err)
	}
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Error(err)
	}
	if leaf.NotAfter.Sub(now) > 398*24*time.Hour {
		t.Errorf("validity too long: %v", leaf.NotAfter)
	}
	if fi, _ := os.Stat(filepath.Join(dir, "key.pem")); fi.Mode().Perm() != 0o600 {
		t.Errorf("key mode %v", fi.Mode())
	}
	again, created, err := LoadOrCreateCert(dir, []string{"other"}, now)
	if err != nil || created || string(again.Certificate[0]) != string(cert.Certificate[0]) {
		t.Errorf("second start did not reuse the certificate: %v %v", created, err)
	}
	fp := Fingerprint(cert.Certificate[0])
	if !regexp.MustCompile(`^([0-9A-F]{2}:){31}[0-9A-F]{2}$`).MatchString(fp) {
		t.Errorf("fingerprint %q", fp)
	}
	os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("garbage"), 0o644)
	if _, _, err := LoadOrCreateCert(dir, []string{"x"}, now); err == nil {
		t.Error("corrupt certificate accepted (or silently replaced)")
	}
}
