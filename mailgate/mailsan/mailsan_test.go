package mailsan

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite golden files")

// jaText has the characters that break naive decoders: circled digits
// (NEC row 13 of CP932), the wave dash (U+301C in UTF-8 mail, U+FF5E in
// CP932) and half-width katakana.
const jaText = "お世話になっております。会議は①番会議室で、10時〜12時です。ｶﾀｶﾅも確認。"

// jaCP932 is jaText as a CP932/ISO-2022-JP sender's text decodes.
var jaCP932 = ToCP932Forms(jaText)

type goldenCase struct {
	name   string
	msg    string
	policy func(*Policy)
	want   []string // substrings the rendered output must contain
	absent []string // substrings it must not contain
}

func goldenCases(t *testing.T) []goldenCase {
	png := pngBytes(t)
	return []goldenCase{
		{name: "plain-utf8", msg: hdr("=?UTF-8?B?5Lya6K2w44Gu5qGI5YaF?=") + "Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + jaText + "\r\n",
			want: []string{jaText, "Subject: =?UTF-8?", "X-Kyojin-Sanitized: none"}, absent: []string{"無害化のお知らせ"}},
		{name: "iso-2022-jp", msg: hdr("=?ISO-2022-JP?B?"+b64s(iso2022("会議のご案内"))+"?=") + "Content-Type: text/plain; charset=ISO-2022-JP\r\nContent-Transfer-Encoding: 7bit\r\n\r\n" + string(iso2022("お世話になっております。10時〜12時です。")) + "\r\n",
			want: []string{ToCP932Forms("お世話になっております。10時〜12時です。")}},
		{name: "shift_jis-cp932", msg: hdr("=?Shift_JIS?B?"+b64s(sjis("①番の件"))+"?=") + "Content-Type: text/plain; charset=Shift_JIS\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(sjis(jaText)),
			want: []string{jaCP932}},
		{name: "euc-jp", msg: hdr("test") + "Content-Type: text/plain; charset=EUC-JP\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + string(eucjp("日本語のメールです。〜テスト")) + "\r\n",
			want: []string{ToCP932Forms("日本語のメールです。〜テスト")}},
		{name: "mislabelled-sjis-as-iso2022", msg: hdr("test") + "Content-Type: text/plain; charset=iso-2022-jp\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + string(sjis(jaText)) + "\r\n",
			want: []string{jaCP932}},
		{name: "mislabelled-utf8-as-ascii", msg: hdr("test") + "Content-Type: text/plain; charset=us-ascii\r\n\r\n" + jaText + "\r\n",
			want: []string{jaText}},
		{name: "unlabelled-8bit-subject", msg: "From: a@example.jp\r\nTo: b@city.lg.jp\r\nSubject: " + string(sjis("生の８ビット件名①")) + "\r\n\r\n" + string(eucjp("ラベルなしの本文です")) + "\r\n",
			want: []string{"ラベルなしの本文です"}},
		{name: "html-links", msg: hdr("html") + "Content-Type: text/html; charset=utf-8\r\n\r\n<html><head><style>p{}</style><script>alert(1)</script></head><body><p>詳細は<a href=\"https://evil.example.com/login?x=1\">こちら</a>へ。</p><img src=\"http://tracker.example.net/p.gif\" alt=\"logo\"><a href=\"javascript:alert(1)\">click</a></body></html>\r\n",
			want: []string{"詳細はこちら [1]へ。", "hxxps://evil[.]example[.]com/login?x=1", "javascript リンクを削除", "html-to-text=1", "[画像: logo]"}, absent: []string{"<script", "alert(1)</", "https://evil"}},
		{name: "html-links-defang", policy: func(p *Policy) { p.Links = LinksDefang }, msg: hdr("html") + "Content-Type: text/html; charset=utf-8\r\n\r\n<p>see <a href=\"http://a.example/x\">site</a></p>\r\n",
			want: []string{"site <hxxp://a[.]example/x>"}},
		{name: "alternative-related", msg: hdr("alt") + "Content-Type: multipart/alternative; boundary=\"A\"\r\n\r\n--A\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nテキスト版\r\n--A\r\nContent-Type: multipart/related; boundary=\"R\"\r\n\r\n--R\r\nContent-Type: text/html\r\n\r\n<p>HTML版<img src=cid:x></p>\r\n--R\r\nContent-Type: image/png\r\nContent-ID: <x>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(png) + "--R--\r\n--A--\r\n",
			want: []string{"テキスト版"}, absent: []string{"HTML版"}},
		{name: "html-related-inline-image", msg: hdr("rel") + "Content-Type: multipart/related; boundary=\"R\"\r\n\r\n--R\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>本文<img src=cid:x></p>\r\n--R\r\nContent-Type: image/png\r\nContent-ID: <x>\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(png) + "--R--\r\n",
			want: []string{"本文", "inline-removed=1", "本文中の画像（image/png）を削除しました"}},
		{name: "attachments-sanitized", msg: hdr("att") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n添付します\r\n--M\r\nContent-Type: image/png; name=\"図1.png\"\r\nContent-Disposition: attachment; filename*=UTF-8''%E5%9B%B31.png\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(png) + "--M\r\nContent-Type: text/plain; charset=Shift_JIS; name=\"memo.txt\"\r\nContent-Disposition: attachment; filename=\"memo.txt\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(sjis(jaText)) + "--M--\r\n",
			want: []string{"part 2: image/png name=\"図1.png\"", "part 3: text/plain name=\"memo.txt\"", "attachment-sanitized=2"}},
		{name: "attachment-blocked-exe", msg: hdr("exe") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\nsee attached\r\n--M\r\nContent-Type: application/octet-stream; name=\"invoice.pdf.exe\"\r\nContent-Disposition: attachment; filename=\"invoice.pdf.exe\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64([]byte("MZ\x90\x00\x03\x00\x00\x00 this program cannot be run in DOS mode")) + "--M--\r\n",
			want: []string{"invoice.pdf.exe", "attachment-quarantined=1", "X-Kyojin-Original: q-REF"}, absent: []string{"part 2"}},
		{name: "password-zip", msg: hdr("zip") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\npassword follows\r\n--M\r\nContent-Type: application/zip; name=\"data.zip\"\r\nContent-Disposition: attachment; filename=\"data.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(encryptedZip(t)) + "--M--\r\n",
			want: []string{"パスワード付き圧縮ファイル", "encrypted-archive-quarantined=1"}},
		{name: "zip-sanitized", msg: hdr("zip") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\nzip\r\n--M\r\nContent-Type: application/zip; name=\"memo.zip\"\r\nContent-Disposition: attachment; filename=\"memo.zip\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64(plainZip(t)) + "--M--\r\n",
			want: []string{"application/zip name=\"memo.zip\""}},
		{name: "tnef", msg: hdr("tnef") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\nOutlook\r\n--M\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\nContent-Transfer-Encoding: base64\r\n\r\n" + b64([]byte("\x78\x9f\x3e\x22junk")) + "--M--\r\n",
			want: []string{"Outlook の TNEF 形式", "tnef-quarantined=1"}},
		{name: "tnef-reject", policy: func(p *Policy) { p.TNEF = ActReject }, msg: hdr("tnef") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: application/ms-tnef; name=\"winmail.dat\"\r\n\r\nx\r\n--M--\r\n"},
		{name: "smime-signed", msg: hdr("signed") + "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"S\"\r\n\r\n--S\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n署名付き本文\r\n--S\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQEx\r\n--S--\r\n",
			want: []string{"署名付き本文", "電子署名", "signature-removed=1"}},
		{name: "smime-encrypted", msg: hdr("enc") + "Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m\r\nContent-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\r\n",
			want: []string{"暗号化されたメール部分", "encrypted-quarantined=1"}},
		{name: "pgp-encrypted", msg: hdr("pgp") + "Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"P\"\r\n\r\n--P\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--P\r\nContent-Type: application/octet-stream\r\n\r\n-----BEGIN PGP MESSAGE-----\r\nhQEMA\r\n-----END PGP MESSAGE-----\r\n--P--\r\n",
			want: []string{"encrypted-quarantined=1"}, absent: []string{"BEGIN PGP"}},
		{name: "calendar", msg: hdr("invite") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\ninvite\r\n--M\r\nContent-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\nBEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:定例会議\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n--M--\r\n",
			want: []string{"予定表の招待", "calendar-quarantined=1"}},
		{name: "calendar-as-text", policy: func(p *Policy) { p.Calendar = ActSanitize }, msg: hdr("invite") + "Content-Type: text/calendar; method=REQUEST; charset=utf-8\r\n\r\nBEGIN:VCALENDAR\r\nSUMMARY:定例会議\r\nEND:VCALENDAR\r\n",
			want: []string{"part 2: text/plain name=\"invitation.ics.txt\"", "SUMMARY:定例会議"}},
		{name: "forwarded", msg: hdr("fwd") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\nFYI\r\n--M\r\nContent-Type: message/rfc822\r\n\r\nFrom: x@example.org\r\nSubject: =?UTF-8?B?5YWD44Gu5Lu25ZCN?=\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<b>内側のHTML</b><script>x()</script>\r\n--M--\r\n",
			want: []string{"転送されたメッセージ", "Subject: 元の件名", "内側のHTML"}, absent: []string{"x()"}},
		{name: "header-injection", msg: "From: a@example.jp\r\nTo: b@city.lg.jp\r\nSubject: =?UTF-8?B?" + b64s([]byte("hi\r\nBcc: victim@example.com\r\n\r\n<html>")) + "?=\r\nMessage-ID: <ok@x> <bad\r\n\r\nbody\r\n",
			want: []string{"Subject: hi  Bcc: victim@example.com    <html>"}, absent: []string{"\nBcc:"}},
		{name: "iso-2022-jp-output", policy: func(p *Policy) { p.Charset = "iso-2022-jp" }, msg: hdr("=?UTF-8?B?5Lya6K2w?=") + "Content-Type: text/html; charset=utf-8\r\n\r\n<p>" + jaText + "</p>\r\n",
			want: []string{"charset=\"ISO-2022-JP\"", jaCP932}},
		{name: "zero-length-parts", msg: hdr("zero") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\n\r\n--M\r\nContent-Type: application/pdf; name=\"empty.pdf\"\r\nContent-Disposition: attachment; filename=\"empty.pdf\"\r\n\r\n--M--\r\n",
			want: []string{"empty.pdf"}},
	}
}

func b64s(b []byte) string { return strings.TrimSpace(strings.ReplaceAll(b64(b), "\r\n", "")) }

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			pol := DefaultPolicy()
			if tc.policy != nil {
				tc.policy(&pol)
			}
			s, _ := newTestSanitizer(t, pol)
			out, _, err := run1(t, s, []byte(tc.msg))
			golden := filepath.Join("testdata", "golden", tc.name+".txt")
			var got string
			if err != nil {
				got = "ERROR: " + err.Error() + "\n"
			} else {
				if err := checkInvariants(out); err != nil {
					t.Fatalf("invariant: %v\n%s", err, out)
				}
				got = render(t, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("output lacks %q", w)
				}
			}
			for _, a := range tc.absent {
				if strings.Contains(got, a) {
					t.Errorf("output contains %q", a)
				}
			}
			if *update {
				os.WriteFile(golden, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s (run with -update to accept):\n%s", golden, got)
			}
		})
	}
}

// TestMalformed: each input is refused with the error class the SMTP layer
// maps to a reply code.
func TestMalformed(t *testing.T) {
	// A well-formed boundary nesting bomb: 40 levels, each closed properly.
	inner := "Content-Type: text/plain\r\n\r\ndeep\r\n"
	for i := range 40 {
		b := fmt.Sprintf("b%d", i)
		inner = "Content-Type: multipart/mixed; boundary=\"" + b + "\"\r\n\r\n--" + b + "\r\n" + inner + "\r\n--" + b + "--\r\n"
	}
	nest := hdr("bomb") + inner
	manyParts := hdr("many") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n" + strings.Repeat("--M\r\nContent-Type: text/plain\r\n\r\nx\r\n", 600) + "--M--\r\n"
	tests := []struct {
		name string
		msg  string
		want error
		text string
	}{
		{"no-boundary", hdr("x") + "Content-Type: multipart/mixed\r\n\r\n--M\r\n\r\nx\r\n--M--\r\n", ErrMalformed, "without a valid boundary"},
		{"nesting-bomb", nest, ErrMalformed, "nesting deeper than 12"},
		{"too-many-parts", manyParts, ErrMalformed, "more than 500 parts"},
		{"bad-header-line", "From a@b\r\n\r\nbody", ErrMalformed, "header"},
		{"reject-policy", hdr("x") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: application/pgp-encrypted\r\n\r\nx\r\n--M--\r\n", ErrPolicy, "encrypted part"},
	}
	pol := DefaultPolicy()
	pol.Encrypted = ActReject
	s, _ := newTestSanitizer(t, pol)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, _, err := run1(t, s, []byte(tc.msg))
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.text) {
				t.Fatalf("err = %v, want %v containing %q; output:\n%s", err, tc.want, tc.text, out)
			}
		})
	}
}

// TestBigMessage: a 50 MB message with a large attachment is processed
// (removed or sanitized), not crashed on, with bounded output.
func TestBigMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	var b bytes.Buffer
	b.WriteString(hdr("big") + "Content-Type: multipart/mixed; boundary=\"M\"\r\n\r\n--M\r\nContent-Type: text/plain\r\n\r\nbig\r\n--M\r\nContent-Type: application/octet-stream; name=\"big.bin\"\r\nContent-Disposition: attachment; filename=\"big.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n")
	line := strings.Repeat("QUFB", 19) + "\r\n"
	for b.Len() < 50<<20 {
		b.WriteString(line)
	}
	b.WriteString("--M--\r\n")
	pol := DefaultPolicy()
	pol.KeepOriginal = false
	s, _ := newTestSanitizer(t, pol)
	out, res, err := run1(t, s, b.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if err := checkInvariants(out); err != nil {
		t.Fatal(err)
	}
	if len(out) > 1<<20 || res.Parts[len(res.Parts)-1].Action != "quarantined" {
		t.Fatalf("out %d bytes, parts %+v", len(out), res.Parts[len(res.Parts)-1])
	}
}

func TestDefang(t *testing.T) {
	for in, want := range map[string]string{
		"https://www.example.co.jp/a?b=c#d": "hxxps://www[.]example[.]co[.]jp/a?b=c#d",
		"http://1.2.3.4:8080/":              "hxxp://1[.]2[.]3[.]4:8080/",
		"ftp://f.example/x":                 "fxp://f[.]example/x",
		"mailto:a@b.example":                "mailto[:]a[@]b[.]example",
		"javascript:alert(1)":               "(javascript リンクを削除 / javascript link removed)",
		"/relative":                         "(相対リンクを削除 / relative link removed)",
		"http://a.example/\u202eexe.pdf":    "hxxp://a[.]example/exe.pdf",
	} {
		if got := Defang(in); got != want {
			t.Errorf("Defang(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestDecodeText(t *testing.T) {
	for _, tc := range []struct {
		name, label string
		in          []byte
		want        string
	}{
		{"sjis-cp932-circled", "shift_jis", sjis("①②③〜"), "①②③～"},
		{"sjis-labelled-cp932", "windows-31j", sjis("ﾃｽﾄ①"), "ﾃｽﾄ①"},
		{"sjis-unlabelled", "", sjis("これはテストです①"), "これはテストです①"},
		{"euc-as-sjis", "shift_jis", eucjp("これはテストです"), "これはテストです"},
		{"iso2022-unlabelled", "", iso2022("これはテストです"), "これはテストです"},
		{"utf8-as-sjis", "shift_jis", []byte("これはUTF-8です①"), "これはUTF-8です①"},
		{"latin1", "iso-8859-1", []byte("caf\xe9"), "café"},
	} {
		got, ok := decodeText(tc.in, tc.label)
		if got != tc.want || !ok {
			t.Errorf("%s: got %q ok=%v, want %q", tc.name, got, ok, tc.want)
		}
	}
	if got, ok := decodeText([]byte("\xff\xfe\x00garbage\x80"), "utf-8"); ok || strings.ContainsRune(got, 0x80) {
		t.Errorf("garbage: %q ok=%v", got, ok)
	}
}
