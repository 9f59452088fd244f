package std_test

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/japanese"

	"github.com/kyojin/kyojin/clamd"
	"github.com/kyojin/kyojin/clamd/clamdtest"
	"github.com/kyojin/kyojin/quarantine"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/std"
)

type setup struct {
	policy  func(p *sanitize.Policy)
	scanner sanitize.Scanner
	vault   sanitize.Vault
}

func newEngine(t testing.TB, s setup) *sanitize.Engine {
	t.Helper()
	p := sanitize.DefaultPolicy()
	p.Clamd.Enabled = s.scanner != nil
	p.Quarantine.Enabled = s.vault != nil
	if s.policy != nil {
		s.policy(p)
	}
	dir := t.TempDir()
	e, err := sanitize.New(sanitize.Config{
		Policy: p, Handlers: std.Handlers(dir), Inspectors: std.Inspectors(dir),
		Scanner: s.scanner, Vault: s.vault, TempDir: dir,
	})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func process(t testing.TB, e *sanitize.Engine, name, mime string, data []byte) *sanitize.Outcome {
	t.Helper()
	out, err := e.Process(context.Background(), sanitize.Submission{Name: name, MIME: mime, R: bytes.NewReader(data), Size: int64(len(data))})
	if err != nil {
		t.Fatalf("process %s: %v", name, err)
	}
	t.Cleanup(func() { out.Close() })
	return out
}

// assertInspected re-runs the independent inspector on a delivered output.
func assertInspected(t testing.TB, out *sanitize.Outcome) []byte {
	t.Helper()
	rec := out.Record()
	if out.Output == nil {
		t.Fatalf("verdict %s but no output", rec.Verdict)
	}
	b, err := io.ReadAll(io.NewSectionReader(out.Output, 0, rec.SizeOut))
	if err != nil {
		t.Fatal(err)
	}
	insp := std.Inspectors(t.TempDir())[rec.OutType]
	if insp == nil {
		t.Fatalf("no inspector for %s", rec.OutType)
	}
	findings, err := insp.Inspect(context.Background(), bytes.NewReader(b), int64(len(b)))
	if err != nil || len(findings) > 0 {
		t.Fatalf("inspector on the output: %v %+v", err, findings)
	}
	return b
}

func hasAction(rec *sanitize.Record, kind, objectPart string) bool {
	return slices.ContainsFunc(rec.Actions, func(a sanitize.Action) bool {
		return a.Kind == kind && strings.Contains(a.Object, objectPart)
	})
}

func TestPipeline(t *testing.T) {
	sjis, _ := japanese.ShiftJIS.NewEncoder().Bytes([]byte("①～お知らせ：令和８年度 予算\r\n"))
	euc, _ := japanese.EUCJP.NewEncoder().Bytes([]byte("議事録です。ひらがなとカタカナ。\n"))
	iso, _ := japanese.ISO2022JP.NewEncoder().Bytes([]byte("件名：会議のご案内\n"))
	tests := []struct {
		name, file, mime string
		data             []byte
		verdict          sanitize.Verdict
		reason           string
		actions          [][2]string // kind, object substring
		outType          sanitize.Type
		outName          string
		check            func(t *testing.T, out []byte)
	}{
		{name: "utf-8 text", file: "memo.txt", data: []byte("普通のメモ\n"), verdict: sanitize.VerdictClean, outType: sanitize.TypeText, outName: "memo.txt"},
		{name: "utf-8 BOM", file: "memo.txt", data: append([]byte{0xEF, 0xBB, 0xBF}, "メモ\n"...), verdict: sanitize.VerdictSanitized,
			actions: [][2]string{{"removed", "BOM"}}, outType: sanitize.TypeText,
			check: func(t *testing.T, out []byte) { expect(t, string(out), "メモ\n") }},
		{name: "shift_jis as cp932", file: "notice.txt", data: sjis, verdict: sanitize.VerdictSanitized,
			actions: [][2]string{{"normalized", "shift_jis"}}, outType: sanitize.TypeText,
			check: func(t *testing.T, out []byte) {
				expect(t, string(out), "①～お知らせ：令和８年度 予算\r\n")
			}},
		{name: "euc-jp", file: "minutes.txt", data: euc, verdict: sanitize.VerdictSanitized,
			actions: [][2]string{{"normalized", "euc-jp"}}, outType: sanitize.TypeText,
			check: func(t *testing.T, out []byte) {
				expect(t, string(out), "議事録です。ひらがなとカタカナ。\n")
			}},
		{name: "iso-2022-jp", file: "mail.txt", data: iso, verdict: sanitize.VerdictSanitized,
			actions: [][2]string{{"normalized", "iso-2022-jp"}}, outType: sanitize.TypeText,
			check: func(t *testing.T, out []byte) { expect(t, string(out), "件名：会議のご案内\n") }},
		{name: "csv injection", file: "list.csv", mime: "text/csv",
			data:    []byte("name,value\r\n=cmd|' /C calc'!A0,-5\r\n@SUM(A1),+81-3-0000\r\n\"\tx\",ok\r\n"),
			verdict: sanitize.VerdictSanitized, actions: [][2]string{{"defanged", "csv"}}, outType: sanitize.TypeCSV,
			check: func(t *testing.T, out []byte) {
				expect(t, string(out), "name,value\r\n'=cmd|' /C calc'!A0,-5\r\n'@SUM(A1),'+81-3-0000\r\n'\tx,ok\r\n")
			}},
		{name: "png metadata", file: "photo.png", data: pngWithMetadata(t), verdict: sanitize.VerdictSanitized,
			actions: [][2]string{{"removed", "png:tEXt"}, {"removed", "png:eXIf"}, {"re-encoded", "image"}}, outType: sanitize.TypePNG},
		{name: "png claims 100000x100000", file: "huge.png", data: pngHugeHeader(), verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonLimit},
		{name: "jpeg exif", file: "photo.jpg", mime: "image/jpeg", data: jpegWithMetadata(t), verdict: sanitize.VerdictSanitized,
			actions: [][2]string{{"removed", "jpeg:APP1"}, {"removed", "jpeg:COM"}}, outType: sanitize.TypeJPEG},
		{name: "gif comment", file: "anim.gif", data: gifWithComment(t), verdict: sanitize.VerdictSanitized,
			actions: [][2]string{{"removed", "gif:comment"}, {"re-encoded", "image"}}, outType: sanitize.TypeGIF},
		{name: "bmp to png", file: "scan.bmp", data: bmpBytes(t), verdict: sanitize.VerdictConverted,
			actions: [][2]string{{"converted", "bmp→png"}}, outType: sanitize.TypePNG, outName: "scan.png"},
		{name: "tiff to png", file: "scan.tiff", data: tiffBytes(t), verdict: sanitize.VerdictConverted,
			actions: [][2]string{{"converted", "tiff→png"}}, outType: sanitize.TypePNG, outName: "scan.png"},
		{name: "webp lossless to png", file: "icon.webp", data: webpLossless(), verdict: sanitize.VerdictConverted,
			actions: [][2]string{{"converted", "webp→png"}}, outType: sanitize.TypePNG, outName: "icon.png"},
		{name: "webp lossy to png", file: "icon.webp", mime: "image/webp", data: webpLossy(), verdict: sanitize.VerdictConverted,
			actions: [][2]string{{"converted", "webp→png"}}, outType: sanitize.TypePNG, outName: "icon.png"},
		{name: "double extension", file: "invoice.pdf.exe", data: []byte("text\n"), verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonName},
		{name: "rtl override", file: "report\u202Etxt.exe", data: []byte("text\n"), verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonName},
		{name: "no extension", file: "README", data: []byte("text\n"), verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonName},
		{name: "extension mismatch", file: "photo.jpg", data: pngWithMetadata(t), verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonName},
		{name: "mime mismatch", file: "photo.png", mime: "application/pdf", data: pngWithMetadata(t), verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonName},
		{name: "polyglot png+zip", file: "photo.png", data: append(pngWithMetadata(t), zipBytes(t, zipMember{name: "x.txt", data: []byte("hi")})...),
			verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonName},
		{name: "executable", file: "setup.txt", data: append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 64)...), verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonPolicy},
		{name: "html", file: "page.html", data: []byte("<script>alert(1)</script>"), verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonName},
		{name: "empty file", file: "empty.txt", data: nil, verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonPolicy},
		{name: "zip with members", file: "docs.zip", data: zipBytes(t,
			zipMember{name: "a/memo.txt", data: []byte("memo\n")}, zipMember{name: "a/photo.png", data: pngWithMetadata(t)},
			zipMember{name: "list.csv", data: []byte("=1+1\n")}),
			verdict: sanitize.VerdictSanitized, actions: [][2]string{{"rebuilt", "zip"}}, outType: sanitize.TypeZIP,
			check: func(t *testing.T, out []byte) { expectMembers(t, out, "a/memo.txt", "a/photo.png", "list.csv") }},
		{name: "zip partial", file: "mixed.zip", data: zipBytes(t,
			zipMember{name: "memo.txt", data: []byte("memo\n")}, zipMember{name: "tool.exe", data: []byte("MZ\x00\x00binary")},
			zipMember{name: "invoice.pdf.exe", data: []byte("x")}),
			verdict: sanitize.VerdictPartial, reason: sanitize.ReasonMembers, actions: [][2]string{{"removed", "tool.exe"}, {"removed", "invoice.pdf.exe"}},
			outType: sanitize.TypeZIP, check: func(t *testing.T, out []byte) { expectMembers(t, out, "memo.txt") }},
		{name: "nested partial", file: "outer.zip", data: zipBytes(t, zipMember{name: "ok.txt", data: []byte("ok\n")},
			zipMember{name: "inner.zip", data: zipBytes(t, zipMember{name: "memo.txt", data: []byte("memo\n")}, zipMember{name: "tool.exe", data: []byte("MZ\x00")})}),
			verdict: sanitize.VerdictPartial, reason: sanitize.ReasonMembers, outType: sanitize.TypeZIP,
			check: func(t *testing.T, out []byte) { expectMembers(t, out, "ok.txt", "inner.zip") }},
		{name: "zip only blocked members", file: "bad.zip", data: zipBytes(t, zipMember{name: "tool.exe", data: []byte("MZ\x00\x00")}),
			verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonRejected},
		{name: "nested zip 5 deep", file: "deep.zip", data: nestedZip(t, 5, zipMember{name: "core.txt", data: []byte("core\n")}),
			verdict: sanitize.VerdictClean, outType: sanitize.TypeZIP},
		{name: "nested zip 6 deep", file: "deeper.zip", data: nestedZip(t, 6, zipMember{name: "core.txt", data: []byte("core\n")}),
			verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonRejected}, // innermost blocked, so every level is empty
		{name: "zip bomb", file: "bomb.zip", data: zipBytes(t, zipMember{name: "zeros.txt", data: make([]byte, 50<<20)}),
			verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonLimit},
		{name: "path traversal", file: "slip.zip", data: zipBytes(t, zipMember{name: "ok.txt", data: []byte("x")}, zipMember{name: "../../etc/cron.d/x.txt", data: []byte("x")}),
			verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonRejected},
		{name: "absolute path", file: "abs.zip", data: zipBytes(t, zipMember{name: "/etc/passwd.txt", data: []byte("x")}),
			verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonRejected},
		{name: "backslash", file: "bs.zip", data: zipBytes(t, zipMember{name: "..\\..\\x.txt", data: []byte("x")}),
			verdict: sanitize.VerdictBlocked, reason: sanitize.ReasonRejected},
		{name: "encrypted zip (PPAP)", file: "ppap.zip", data: zipBytes(t, zipMember{name: "secret.txt", data: []byte("x"), flags: 1}),
			verdict: sanitize.VerdictHeld, reason: sanitize.ReasonEncrypted},
	}
	e := newEngine(t, setup{})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := process(t, e, tc.file, tc.mime, tc.data)
			rec := out.Record()
			if rec.Verdict != tc.verdict {
				t.Fatalf("verdict = %s (%s: %s), want %s", rec.Verdict, rec.ReasonCode, rec.Reason, tc.verdict)
			}
			if tc.reason != "" && rec.ReasonCode != tc.reason {
				t.Errorf("reason = %s (%s), want %s", rec.ReasonCode, rec.Reason, tc.reason)
			}
			for _, a := range tc.actions {
				if !hasAction(rec, a[0], a[1]) {
					t.Errorf("missing action %s %s in %+v", a[0], a[1], rec.Actions)
				}
			}
			if rec.SHA256In == "" || rec.PolicyName != "kyojin-default" || rec.EngineVersion == "" || rec.End.Before(rec.Start) {
				t.Errorf("incomplete record: %+v", rec)
			}
			if !tc.verdict.Delivered() {
				if out.Output != nil || rec.SHA256Out != "" {
					t.Errorf("blocked file has an output")
				}
				return
			}
			if rec.OutType != tc.outType {
				t.Errorf("out type = %s, want %s", rec.OutType, tc.outType)
			}
			if tc.outName != "" && out.OutName != tc.outName {
				t.Errorf("out name = %q, want %q", out.OutName, tc.outName)
			}
			b := assertInspected(t, out)
			if tc.check != nil {
				tc.check(t, b)
			}
		})
	}
}

func expect(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("output = %q, want %q", got, want)
	}
}

func expectMembers(t *testing.T, b []byte, names ...string) {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range zr.File {
		got = append(got, f.Name)
	}
	if !slices.Equal(got, names) {
		t.Errorf("members = %q, want %q", got, names)
	}
}

func TestMemberRecords(t *testing.T) {
	e := newEngine(t, setup{})
	data := zipBytes(t, zipMember{name: "memo.txt", data: []byte("memo\n")}, zipMember{name: "tool.exe", data: []byte("MZ\x00")})
	out := process(t, e, "mixed.zip", "application/zip", data)
	if len(out.Records) != 3 {
		t.Fatalf("%d records, want 3", len(out.Records))
	}
	top := out.Records[0]
	for _, r := range out.Records[1:] {
		if r.ParentID != top.ID {
			t.Errorf("member %s parent = %q, want %q", r.Name, r.ParentID, top.ID)
		}
	}
	if out.Records[1].Verdict != sanitize.VerdictClean || out.Records[2].Verdict != sanitize.VerdictBlocked {
		t.Errorf("member verdicts = %s, %s", out.Records[1].Verdict, out.Records[2].Verdict)
	}
}

func TestDepthLimitRecord(t *testing.T) {
	e := newEngine(t, setup{})
	out := process(t, e, "deeper.zip", "", nestedZip(t, 6, zipMember{name: "core.txt", data: []byte("core\n")}))
	// Members complete before their archive, so the innermost comes first.
	inner := out.Records[1]
	if len(out.Records) != 6 || inner.Detected != sanitize.TypeZIP || inner.ReasonCode != sanitize.ReasonLimit {
		t.Fatalf("%d records; innermost %s %s %s", len(out.Records), inner.Detected, inner.ReasonCode, inner.Reason)
	}
}

func TestNestedBombBudget(t *testing.T) {
	// Ten members of 3 MiB each, nested in two levels: every archive is
	// within max_compression_ratio once the limit is raised, but the shared
	// budget of 16 MiB stops the submission as a whole.
	payload := make([]byte, 3<<20)
	rand.Read(payload)
	text := []byte(hex.EncodeToString(payload[:1<<20]))
	var members []zipMember
	for i := range 10 {
		members = append(members, zipMember{name: "part" + string(rune('a'+i)) + ".txt", data: text})
	}
	inner := zipBytes(t, members...)
	outer := zipBytes(t, zipMember{name: "one.zip", data: inner}, zipMember{name: "two.zip", data: inner})
	e := newEngine(t, setup{policy: func(p *sanitize.Policy) { p.Limits.MaxDecompressedBytes = 16 << 20 }})
	rec := process(t, e, "outer.zip", "", outer).Record()
	if rec.Verdict != sanitize.VerdictBlocked || rec.ReasonCode != sanitize.ReasonBudget {
		t.Fatalf("verdict = %s %s (%s), want BLOCKED %s", rec.Verdict, rec.ReasonCode, rec.Reason, sanitize.ReasonBudget)
	}
}

func TestSevenZip(t *testing.T) {
	bin, err := exec.LookPath("7zz")
	if err != nil {
		if bin, err = exec.LookPath("7z"); err != nil {
			t.Skip("7-Zip not installed (Debian package 7zip); skipping 7z fixtures")
		}
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "memo.txt"), []byte("メモ\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "photo.png"), pngWithMetadata(t), 0o644)
	build := func(name string, args ...string) []byte {
		arc := filepath.Join(dir, name)
		cmd := exec.Command(bin, append(append([]string{"a", "-bso0", "-bsp0"}, args...), arc, "memo.txt", "photo.png")...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("7z: %v\n%s", err, out)
		}
		b, _ := os.ReadFile(arc)
		return b
	}
	e := newEngine(t, setup{})
	tests := []struct {
		name    string
		data    []byte
		verdict sanitize.Verdict
	}{
		{"plain", build("plain.7z"), sanitize.VerdictConverted},
		{"encrypted headers", build("eh.7z", "-psecret", "-mhe=on"), sanitize.VerdictHeld},
		{"encrypted data", build("ed.7z", "-psecret", "-mhe=off"), sanitize.VerdictHeld},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out := process(t, e, "archive.7z", "", tc.data)
			rec := out.Record()
			if rec.Verdict != tc.verdict {
				t.Fatalf("verdict = %s (%s), want %s", rec.Verdict, rec.Reason, tc.verdict)
			}
			if tc.verdict.Delivered() {
				b := assertInspected(t, out)
				expectMembers(t, b, "memo.txt", "photo.png")
				if out.OutName != "archive.zip" || !hasAction(rec, "converted", "7z→zip") {
					t.Errorf("out name %q, actions %+v", out.OutName, rec.Actions)
				}
			}
		})
	}
}

func TestClamdEICAR(t *testing.T) {
	addr := clamdtest.Start(t)
	c, err := clamd.New(addr, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, setup{scanner: c})
	eicar := clamdtest.EICAR()
	tests := []struct {
		name, file string
		data       []byte
		verdict    sanitize.Verdict
	}{
		{"eicar text", "eicar.txt", eicar, sanitize.VerdictBlocked},
		{"eicar in zip", "eicar.zip", zipBytes(t, zipMember{name: "readme.txt", data: eicar}), sanitize.VerdictBlocked},
		{"clean text", "memo.txt", []byte("普通のメモ\n"), sanitize.VerdictClean},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := process(t, e, tc.file, "", tc.data).Record()
			if rec.Verdict != tc.verdict {
				t.Fatalf("verdict = %s (%s), want %s", rec.Verdict, rec.Reason, tc.verdict)
			}
			if tc.verdict == sanitize.VerdictBlocked && (rec.ReasonCode != sanitize.ReasonVirus || rec.Virus != clamdtest.SignatureName) {
				t.Errorf("reason %s virus %q", rec.ReasonCode, rec.Virus)
			}
		})
	}
}

func TestClamdUnavailable(t *testing.T) {
	c, _ := clamd.New("unix:"+filepath.Join(t.TempDir(), "missing.sock"), time.Second)
	closed := newEngine(t, setup{scanner: c})
	rec := process(t, closed, "memo.txt", "", []byte("memo\n")).Record()
	if rec.Verdict != sanitize.VerdictFailed || rec.ReasonCode != sanitize.ReasonScanError {
		t.Errorf("fail-closed default: verdict %s %s", rec.Verdict, rec.ReasonCode)
	}
	open := newEngine(t, setup{scanner: c, policy: func(p *sanitize.Policy) { p.Clamd.Required = false }})
	rec = process(t, open, "memo.txt", "", []byte("memo\n")).Record()
	if rec.Verdict != sanitize.VerdictClean || !hasAction(rec, "skipped", "clamd") {
		t.Errorf("required=false: verdict %s actions %+v", rec.Verdict, rec.Actions)
	}
}

func TestQuarantine(t *testing.T) {
	key := make([]byte, 32)
	rand.Read(key)
	store, err := quarantine.Open(t.TempDir(), key, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	e := newEngine(t, setup{vault: store})
	orig := pngWithMetadata(t)
	out := process(t, e, "photo.png", "", orig)
	rec := out.Record()
	if rec.Quarantine == "" || rec.Verdict != sanitize.VerdictSanitized {
		t.Fatalf("record %+v", rec)
	}
	var got bytes.Buffer
	it, err := store.Extract(rec.Quarantine, &got)
	if err != nil || !bytes.Equal(got.Bytes(), orig) || it.RecordID != rec.ID || it.SHA256 != rec.SHA256In {
		t.Fatalf("quarantined original does not match: %v", err)
	}
	// Blocked files are quarantined too: the CSIRT needs them most.
	rec = process(t, e, "invoice.pdf.exe", "", []byte("x")).Record()
	if rec.Quarantine == "" {
		t.Error("blocked file not quarantined")
	}
}
