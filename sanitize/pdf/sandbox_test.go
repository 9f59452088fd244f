package pdf

import (
	"context"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSandbox checks the confinement the renderer runs under: empty
// environment, address-space limit, no network interfaces but loopback
// (when namespaces work) and user nobody (when running as root).
func TestSandbox(t *testing.T) {
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Skip("prlimit (util-linux) not installed")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	findRenderers()
	dir := t.TempDir()
	if setprivOK {
		os.Chown(dir, nobody, nobody)
	}
	sb := &sandbox{dir: dir, cpuSecs: 10}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := sb.run(ctx, sh, "-c", "env; echo uid=$(id -u); echo as=$(ulimit -v); tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | tr '\\n' ' '")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	got := map[string]string{}
	for _, l := range lines {
		if k, v, ok := strings.Cut(l, "="); ok && (k == "uid" || k == "as") {
			got[k] = v
		} else if !strings.Contains(l, " ") && strings.Contains(l, "=") {
			// sh itself may export PWD; anything else leaked from our environment.
			if !strings.HasPrefix(l, "PWD=") && !strings.HasPrefix(l, "OLDPWD=") && !strings.HasPrefix(l, "SHLVL=") && !strings.HasPrefix(l, "_=") {
				t.Errorf("environment leaks %q", l)
			}
		}
	}
	if want := strconv.Itoa(rendererMemory / 1024); got["as"] != want {
		t.Errorf("address-space limit = %q KiB, want %s", got["as"], want)
	}
	if setprivOK && got["uid"] != strconv.Itoa(nobody) {
		t.Errorf("renderer runs as uid %s, want nobody", got["uid"])
	}
	net := lines[len(lines)-1]
	if unshareOK && strings.TrimSpace(net) != "lo" {
		t.Errorf("network interfaces visible: %q", net)
	}
	t.Logf("uid=%s unshare=%v setpriv=%v net=%q", got["uid"], unshareOK, setprivOK, net)
}
