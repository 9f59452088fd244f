package mailgate

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/kyojin/kyojin/mailgate/postfixtest"
)

// lossMessages is the loss test's message count: KYOJIN_LOSS_MESSAGES,
// default 5000 (the figure; about a minute on two cores). Set it
// lower for a quick local run.
func lossMessages() int {
	if v, err := strconv.Atoi(os.Getenv("KYOJIN_LOSS_MESSAGES")); err == nil && v > 0 {
		return v
	}
	return 5000
}

// relayProc runs `kyojin mailgate serve` as a subprocess.
type relayProc struct {
	bin, cfg, addr, log string
	cmd                 *exec.Cmd
}

func (p *relayProc) start(t *testing.T) {
	t.Helper()
	if err := p.startErr(); err != nil {
		t.Fatal(err)
	}
}

// startErr may be called from any goroutine.
func (p *relayProc) startErr() error {
	lf, _ := os.OpenFile(p.log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	p.cmd = exec.Command(p.bin, "mailgate", "serve", p.cfg)
	p.cmd.Stdout, p.cmd.Stderr = lf, lf
	if err := p.cmd.Start(); err != nil {
		return err
	}
	lf.Close()
	deadline := time.Now().Add(20 * time.Second)
	for {
		if c, err := net.DialTimeout("tcp", p.addr, 200*time.Millisecond); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			b, _ := os.ReadFile(p.log)
			return fmt.Errorf("relay did not start:\n%s", b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (p *relayProc) kill9() {
	p.cmd.Process.Signal(syscall.SIGKILL)
	p.cmd.Wait()
}

// subprocessConfig writes a relay configuration for the subprocess
// tests (authentication off: no DNS here; clamd off).
func subprocessConfig(t *testing.T, dir, listen, downstream string, workers int) string {
	p := testConfig(t, dir, downstream, "")
	b := string(mustRead(t, p))
	b = strings.Replace(b, "address: 127.0.0.1:0", "address: "+listen, 1)
	b = strings.Replace(b, "auth:\n  enabled: true", "auth:\n  enabled: false", 1)
	b = strings.Replace(b, "max_recipients: 3\n  max_connections_per_ip: 5", "max_recipients: 3\n  max_connections_per_ip: 200\n  max_messages_per_ip_per_hour: 100000000", 1)
	b = strings.Replace(b, "max_message_bytes: 1048576", "max_message_bytes: 10485760", 1)
	b = strings.Replace(b, "workers: 2", fmt.Sprintf("workers: %d", workers), 1)
	b = strings.Replace(b, "retry_base: 100ms\n  retry_max: 1s", "retry_base: 200ms\n  retry_max: 2s", 1)
	os.WriteFile(p, []byte(b), 0o600)
	return p
}

// TestLossKill9: N messages under load; the relay is killed with SIGKILL
// half-way and restarted; every message that got 250 must reach the
// downstream Postfix (counted by Message-ID). Zero lost.
func TestLossKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	if why := postfixtest.Available(); why != "" {
		t.Skip(why)
	}
	n := lossMessages()
	down := postfixtest.Start(t, postfixtest.Options{Name: "loss", Domains: []string{"city.lg.jp"}})
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", postfixtest.FreePort(t))
	p := &relayProc{bin: buildKyojin(t), cfg: subprocessConfig(t, dir, addr, down.Addr, 8), addr: addr, log: filepath.Join(dir, "relay.log")}
	p.start(t)
	defer func() { p.kill9() }()

	var (
		mu       sync.Mutex
		accepted = map[string]bool{}
		count    atomic.Int64
		errs     atomic.Int64
		killed   = make(chan struct{})
		once     sync.Once
	)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var c *smtp.Client
			for i := range jobs {
				id := fmt.Sprintf("<loss-%d@good.example>", i)
				body := mixMessage(i, "a@good.example", id)
				for {
					var err error
					if c == nil {
						c, err = smtp.Dial(addr)
					}
					if err == nil {
						err = c.SendMail("a@good.example", []string{"kakari@city.lg.jp"}, strings.NewReader(body))
					}
					if err == nil {
						mu.Lock()
						accepted[id] = true
						mu.Unlock()
						if count.Add(1) == int64(n/2) {
							once.Do(func() { close(killed) })
						}
						break
					}
					// Like a real MTA: retry later (the relay may be down).
					errs.Add(1)
					if c != nil {
						c.Close()
						c = nil
					}
					time.Sleep(50 * time.Millisecond)
				}
			}
			if c != nil {
				c.Quit()
			}
		}()
	}
	go func() {
		<-killed
		p.kill9()
		t.Logf("relay killed with SIGKILL after %d accepted messages", count.Load())
		if err := p.startErr(); err != nil {
			t.Error(err)
		}
	}()
	start := time.Now()
	for i := range n {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	sendTime := time.Since(start)
	ids := make([]string, 0, len(accepted))
	for id := range accepted {
		ids = append(ids, id)
	}
	got := waitIDs(t, down, ids, time.Minute+time.Duration(n)*20*time.Millisecond)
	dups := 0
	for _, id := range ids {
		dups += got[id] - 1
	}
	t.Logf("%d messages accepted (250) in %v with one kill -9; %d client retries; all %d delivered downstream; %d duplicates (at-least-once), 0 lost",
		len(ids), sendTime.Round(time.Millisecond), errs.Load(), len(ids), dups)
	if len(ids) != n {
		t.Fatalf("only %d of %d messages accepted", len(ids), n)
	}
}
