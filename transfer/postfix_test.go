package transfer_test

import (
	"mime"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/mailgate/postfixtest"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
	"github.com/kyojin/kyojin/transfer/transfertest"
)

// TestMailThroughPostfix: the notices of an encrypted export travel
// through a real Postfix to the approver entitled for the sender (only),
// then to the recipient and the sender; none carries the ZIP password.
func TestMailThroughPostfix(t *testing.T) {
	if why := postfixtest.Available(); why != "" {
		t.Skip(why)
	}
	in := postfixtest.Start(t, postfixtest.Options{Name: "transfer", Domains: []string{"city.lg.jp"}})
	env := transfertest.New(t, transfer.DefaultPolicy())
	env.User(t, "alice", store.Grant{Role: "staff", Scope: "division:jumin"})
	env.User(t, "boss", store.Grant{Role: "security-manager", Scope: "division:jumin"})
	env.User(t, "other", store.Grant{Role: "security-manager", Scope: "division:zeimu"})
	env.Service.Notifier = &transfer.SMTPNotifier{Addr: in.Addr, From: "kyojin@city.lg.jp", Domain: "city.lg.jp"}
	res, err := env.Service.Submit(ctx, &transfer.Request{Side: transfer.SideLGWAN, Sender: "alice", Recipients: []string{"vendor"},
		Purpose: "仕様書の送付", Classification: "2", Files: []transfer.Upload{spool(t, "spec.txt", []byte("仕様\n"))}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.Service.Decide(ctx, transfer.SideLGWAN, "boss", res.Transfer.ID, true, "委託契約に基づく"); err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for end := time.Now().Add(20 * time.Second); time.Now().Before(end) && len(msgs) < 3; time.Sleep(200 * time.Millisecond) {
		msgs = msgs[:0]
		files, _ := filepath.Glob(filepath.Join(in.Maildir, "new", "*"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			msgs = append(msgs, string(b))
		}
	}
	if len(msgs) != 3 {
		t.Fatalf("%d messages delivered, want 3\n%s", len(msgs), in.Log())
	}
	dec := new(mime.WordDecoder)
	got := map[string]string{} // To → decoded subject
	for _, m := range msgs {
		if strings.Contains(m, res.Password) {
			t.Fatal("the ZIP password was mailed")
		}
		var to, subj string
		for _, line := range strings.Split(m, "\n") {
			line = strings.TrimRight(line, "\r")
			if v, ok := strings.CutPrefix(line, "To: "); ok {
				to = v
			}
			if v, ok := strings.CutPrefix(line, "Subject: "); ok {
				subj, _ = dec.DecodeHeader(v)
			}
		}
		got[to] = subj
	}
	want := map[string]string{"boss@city.lg.jp": "[kyojin] 転送の承認依頼", "vendor@city.lg.jp": "[kyojin] ファイルが承認されました",
		"alice@city.lg.jp": "[kyojin] 転送の承認結果"}
	for to, subj := range want {
		if got[to] != subj {
			t.Errorf("to %s: subject %q, want %q (all: %v)", to, got[to], subj, got)
		}
	}
	if _, ok := got["other@city.lg.jp"]; ok {
		t.Error("the manager of another division was asked to approve")
	}
}
