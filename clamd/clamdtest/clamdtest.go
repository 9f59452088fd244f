// Package clamdtest starts a real clamd for tests, with its own
// configuration and a signature database holding only the EICAR test
// signature (built at run time: there is no Internet for freshclam, and the
// EICAR string is never stored in the repository in one piece).
package clamdtest

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/kyojin/kyojin/clamd"
)

// EICAR returns the EICAR anti-virus test string, assembled at run time.
func EICAR() []byte {
	parts := []string{`X5O!P%@AP[4\PZX54(P^)7CC)7}`, "$EICAR-STANDARD", "-ANTIVIRUS-TEST-FILE!", "$H+H*"}
	var b []byte
	for _, p := range parts {
		b = append(b, p...)
	}
	return b
}

// SignatureName is what clamd reports for the EICAR string with this database.
const SignatureName = "Kyojin.Test.EICAR.UNOFFICIAL"

func findClamd() string {
	if p, err := exec.LookPath("clamd"); err == nil {
		return p
	}
	for _, p := range []string{"/usr/sbin/clamd", "/sbin/clamd"} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

// Start runs clamd for the test and returns its address ("unix:/path").
// It skips the test when the clamd binary is absent.
func Start(t testing.TB) string {
	t.Helper()
	bin := findClamd()
	if bin == "" {
		t.Skip("clamd not installed (Debian package clamav-daemon); skipping the real-clamd test")
	}
	// Unix socket paths are limited to ~108 bytes, so use a short temp dir.
	dir, err := os.MkdirTemp("", "kyclamd")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	db := filepath.Join(dir, "db")
	tmp := filepath.Join(dir, "tmp")
	for _, d := range []string{db, tmp} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	sig := fmt.Sprintf("Kyojin.Test.EICAR:0:*:%s\n", hex.EncodeToString(EICAR()))
	if err := os.WriteFile(filepath.Join(db, "local.ndb"), []byte(sig), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "clamd.sock")
	conf := fmt.Sprintf(`LocalSocket %s
DatabaseDirectory %s
TemporaryDirectory %s
LogFile %s
Foreground yes
StreamMaxLength 400M
MaxScanSize 400M
MaxFileSize 400M
`, sock, db, tmp, filepath.Join(dir, "clamd.log"))
	if os.Getuid() == 0 {
		conf += "User root\n"
	}
	confPath := filepath.Join(dir, "clamd.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-c", confPath)
	// clamd also logs to LogFile, which is shown when it fails to start.
	if err := cmd.Start(); err != nil {
		t.Fatalf("start clamd: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	addr := "unix:" + sock
	c, err := clamd.New(addr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if err := c.Ping(context.Background()); err == nil {
			return addr
		} else if time.Now().After(deadline) {
			log, _ := os.ReadFile(filepath.Join(dir, "clamd.log"))
			t.Fatalf("clamd did not answer PONG within 60s: %v\nlog:\n%s", err, log)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
