package mailgate

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/mailgate/postfixtest"
)

// Integration with real Postfix (private instances, see postfixtest) as
// the downstream LGWAN server and as the sending MTA, and swaks as the
// client. Skipped when Postfix or swaks is absent or not root.

func needSwaks(t *testing.T) {
	if _, err := exec.LookPath("swaks"); err != nil {
		t.Skip("swaks not installed; CI installs it via scripts/test")
	}
}

func waitIDs(t testing.TB, in *postfixtest.Instance, ids []string, timeout time.Duration) map[string]int {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		got := in.MessageIDs()
		missing := 0
		for _, id := range ids {
			if got[id] == 0 {
				missing++
			}
		}
		if missing == 0 {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d messages not delivered downstream", missing, len(ids))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// docxBytes is a minimal Word document (generated, never committed).
func docxBytes() []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	files := map[string]string{
		"[Content_Types].xml": `<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>`,
		"_rels/.rels":         `<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/></Relationships>`,
		"word/document.xml":   `<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r><w:t>会議資料</w:t></w:r></w:p></w:body></w:document>`,
	}
	for _, n := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		w, _ := zw.Create(n)
		w.Write([]byte(files[n]))
	}
	zw.Close()
	return b.Bytes()
}

func b64lines(b []byte) string {
	var s strings.Builder
	e := base64.StdEncoding.EncodeToString(b)
	for len(e) > 76 {
		s.WriteString(e[:76] + "\r\n")
		e = e[76:]
	}
	return s.String() + e + "\r\n"
}

// mixMessage returns message i of the benchmark mix: plain Japanese text,
// HTML, HTML with a docx attachment, ISO-2022-JP.
func mixMessage(i int, from, id string) string {
	h := fmt.Sprintf("From: %s\r\nTo: kakari@city.lg.jp\r\nDate: Mon, 02 Nov 2026 10:00:00 +0900\r\nMessage-ID: %s\r\nMIME-Version: 1.0\r\n", from, id)
	switch i % 4 {
	case 0:
		return h + "Subject: =?UTF-8?B?5Lya6K2w44Gu5qGI5YaF?=\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + strings.Repeat("お世話になっております。会議は①番会議室で10時〜です。\r\n", 20)
	case 1:
		return h + "Subject: html\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<html><body>" + strings.Repeat("<p>ご案内 <a href=\"https://example.com/x\">詳細</a><img src=\"http://t.example/p.gif\"></p>\r\n", 20) + "</body></html>\r\n"
	case 2:
		return h + "Subject: attach\r\nContent-Type: multipart/mixed; boundary=\"B\"\r\n\r\n--B\r\nContent-Type: text/html; charset=UTF-8\r\n\r\n<p>資料を添付します</p>\r\n--B\r\nContent-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document; name=\"shiryo.docx\"\r\nContent-Disposition: attachment; filename=\"shiryo.docx\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64lines(docxBytes()) + "--B--\r\n"
	default:
		return h + "Subject: =?ISO-2022-JP?B?GyRCMnFEKxsoQg==?=\r\nContent-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + strings.Repeat("\x1b$B$*@$OC$K$J$C$F$*$j$^$9!#\x1b(B\r\n", 20)
	}
}

// TestPostfixChain: swaks → Postfix (sending MTA, relayhost = relay) →
// kyojin relay → Postfix (LGWAN downstream, maildir). Every message of the
// mix arrives sanitized; swaks straight at the relay cannot relay.
func TestPostfixChain(t *testing.T) {
	needSwaks(t)
	down := postfixtest.Start(t, postfixtest.Options{Name: "down", Domains: []string{"city.lg.jp"}})
	r, addr, dir := startRelay(t, down.Addr, "")
	_ = r
	up := postfixtest.Start(t, postfixtest.Options{Name: "up", Relayhost: addr})
	var ids []string
	for i := range 8 {
		id := fmt.Sprintf("<chain-%d@good.example>", i)
		ids = append(ids, id)
		f := filepath.Join(dir, fmt.Sprintf("m%d.eml", i))
		os.WriteFile(f, []byte(mixMessage(i, "a@good.example", id)), 0o600)
		out, err := exec.Command("swaks", "--server", up.Addr, "--from", "a@good.example", "--to", "kakari@city.lg.jp", "--data", f, "--silent", "2").CombinedOutput()
		if err != nil {
			t.Fatalf("swaks: %v\n%s", err, out)
		}
	}
	waitIDs(t, down, ids, 60*time.Second)
	for i, id := range ids {
		m := string(down.Delivered(id))
		if !strings.Contains(m, "X-Kyojin-Sanitized:") || strings.Contains(strings.ToLower(m), "text/html") {
			t.Errorf("%s not sanitized:\n%s", id, m)
		}
		// The .docx goes through the engine's OOXML handler and is attached.
		if i%4 == 2 && !strings.Contains(m, `filename="shiryo.docx"`) {
			t.Errorf("%s: sanitized docx not attached:\n%s", id, m)
		}
	}
	// Open relay check with swaks directly against the relay.
	out, err := exec.Command("swaks", "--server", addr, "--from", "a@good.example", "--to", "victim@gmail.example", "--quit-after", "RCPT").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "550 5.7.1") {
		t.Fatalf("relay accepted a foreign recipient: %v\n%s", err, out)
	}
}

// buildKyojin builds the command once per test binary.
func buildKyojin(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "kyojin")
	cmd := exec.Command("go", "build", "-o", bin, "../cmd/kyojin")
	cmd.Env = append(os.Environ(), "GOFLAGS=-p=1")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}
