package mailsan

import (
	"bufio"
	"encoding/base64"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"sort"
	"strings"
	"time"

	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding/japanese"
)

// Header fields copied (decoded, cleaned, re-encoded) into the rebuilt
// message. Everything else — including any Received, DKIM or
// X- headers of the sender — is left out.
var keptHeaders = []string{"From", "To", "Cc", "Reply-To", "Date", "Subject", "Message-Id", "In-Reply-To", "References"}

var addressHeaders = map[string]bool{"From": true, "To": true, "Cc": true, "Reply-To": true}

// summary is the list of actions for X-Kyojin-Sanitized, sorted.
func (rn *run) summary() []string {
	out := make([]string, 0, len(rn.counts))
	for k, n := range rn.counts {
		out = append(out, fmt.Sprintf("%s=%d", k, n))
	}
	sort.Strings(out)
	return out
}

func (rn *run) iso2022() bool { return strings.EqualFold(rn.s.Policy.Charset, "iso-2022-jp") }

// encodeWord encodes a header text for the output charset.
func (rn *run) encodeWord(s string) string {
	if isASCII(s) {
		return s
	}
	if rn.iso2022() {
		if b, err := japanese.ISO2022JP.NewEncoder().String(ToCP932Forms(s)); err == nil {
			return mime.BEncoding.Encode("ISO-2022-JP", b)
		}
	}
	return mime.BEncoding.Encode("UTF-8", s)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// header builds the rebuilt header.
func (rn *run) header(src textproto.Header, extra [][2]string, ctype, cte string) textproto.Header {
	var h textproto.Header
	add := func(k, v string) { h.Add(k, v) } // go-message keeps fields in reverse; we build in order below
	var fields [][2]string
	for _, e := range extra {
		fields = append(fields, [2]string{e[0], cleanLine(e[1])})
	}
	msgID := ""
	for _, k := range keptHeaders {
		raw := src.Get(k)
		if raw == "" {
			continue
		}
		v := decodeHeader(raw)
		switch {
		case addressHeaders[k]:
			v = rn.addresses(v)
		case k == "Message-Id" || k == "In-Reply-To" || k == "References":
			v = msgIDs(v)
			if k == "Message-Id" {
				msgID = v
			}
		case k == "Date":
			if t, err := mail.ParseDate(v); err == nil {
				v = t.Format(time.RFC1123Z)
			} else {
				v = ""
			}
		default:
			v = rn.encodeWord(v)
		}
		if v != "" {
			fields = append(fields, [2]string{k, v})
		}
		if k == "Subject" {
			rn.res.Subject = decodeHeader(raw)
		}
	}
	if msgID == "" {
		msgID = "<" + newID() + "@kyojin.invalid>"
		fields = append(fields, [2]string{"Message-Id", msgID})
	}
	rn.res.MessageID = msgID
	fields = append(fields, [2]string{"MIME-Version", "1.0"})
	act := "none"
	if len(rn.res.Actions) > 0 {
		act = strings.Join(rn.res.Actions, "; ")
	}
	fields = append(fields, [2]string{"X-Kyojin-Sanitized", act})
	if rn.res.Original != "" {
		fields = append(fields, [2]string{"X-Kyojin-Original", rn.res.Original})
	}
	fields = append(fields, [2]string{"Content-Type", ctype})
	if cte != "" {
		fields = append(fields, [2]string{"Content-Transfer-Encoding", cte})
	}
	for i := len(fields) - 1; i >= 0; i-- {
		add(fields[i][0], fields[i][1])
	}
	return h
}

// addresses re-renders an address list; unparseable lists are kept as
// encoded text so that nothing raw passes.
func (rn *run) addresses(v string) string {
	list, err := mail.ParseAddressList(v)
	if err != nil {
		return rn.encodeWord(v)
	}
	parts := make([]string, 0, len(list))
	for _, a := range list {
		addr := cleanLine(a.Address)
		if !isASCII(addr) {
			// An internationalised address (RFC 6532) cannot travel in the
			// 7-bit header old LGWAN mailers read; it is kept as text.
			return rn.encodeWord(v)
		}
		if a.Name == "" {
			parts = append(parts, "<"+addr+">")
			continue
		}
		name := cleanLine(a.Name)
		if isASCII(name) {
			name = quoteName(name)
		} else {
			name = rn.encodeWord(name)
		}
		parts = append(parts, name+" <"+addr+">")
	}
	return strings.Join(parts, ", ")
}

func quoteName(s string) string {
	if strings.ContainsAny(s, "()<>[]:;@\\,.\"") {
		return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(s) + `"`
	}
	return s
}

// msgIDs keeps only <...> tokens made of safe characters.
func msgIDs(v string) string {
	var out []string
	for _, f := range strings.Fields(v) {
		if strings.HasPrefix(f, "<") && strings.HasSuffix(f, ">") && len(f) < 250 && isASCII(f) && !strings.ContainsAny(f[1:len(f)-1], "<> ") {
			out = append(out, f)
		}
	}
	return strings.Join(out, " ")
}

// notice is the Japanese note at the top of the body.
func (rn *run) notice() string {
	if len(rn.counts) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("【無害化のお知らせ】このメールはインターネットから届いたため、安全のため次の処理を行いました。\n")
	for _, p := range rn.res.Parts {
		name := p.Name
		if name == "" {
			name = p.ContentType
		}
		ref := ""
		if p.Quarantine != "" {
			ref = "（原本は隔離保管中: 参照 " + p.Quarantine + "）"
		}
		switch {
		case p.Kind == "html":
			b.WriteString("・HTML 形式の本文をテキストに変換しました（画像・外部参照は削除、リンクは無効化）。\n")
		case p.Kind == "inline-image":
			b.WriteString("・本文中の画像（" + p.ContentType + "）を削除しました。\n")
		case p.Kind == "body" && p.Action == "converted":
			b.WriteString("・本文の読めない文字を〓に置き換えました。\n")
		case p.Kind == "forwarded" && p.Action == "flattened":
			b.WriteString("・転送されたメッセージを本文に展開しました。\n")
		case p.Action == "sanitized":
			b.WriteString("・添付ファイル「" + name + "」を無害化し「" + p.OutName + "」として添付しました。\n")
		case p.Action == "converted":
			b.WriteString("・添付ファイル「" + name + "」をテキストに変換して添付しました。\n")
		case p.Action == "quarantined":
			b.WriteString("・添付ファイル「" + name + "」を削除しました（" + kindJA(p) + "）" + ref + "。\n")
		case p.Action == "removed" && p.Kind != "alternative":
			b.WriteString("・「" + name + "」を削除しました（" + kindJA(p) + "）。\n")
		}
	}
	if rn.cut {
		b.WriteString("・本文が長すぎるため途中で切り詰めました。\n")
	}
	if rn.res.Original != "" {
		b.WriteString("元のメールは隔離保管庫にあります（参照 " + rn.res.Original + "）。")
	}
	b.WriteString("原本が必要な場合は参照番号を添えて" + rn.s.Policy.Contact + "へ連絡してください。\n")
	b.WriteString("(This message was sanitized; originals are kept in quarantine.)\n")
	b.WriteString("────────────────────────────────\n\n")
	return b.String()
}

func kindJA(p *Part) string {
	switch p.Kind {
	case "tnef":
		return "Outlook の TNEF 形式"
	case "encrypted":
		return "暗号化されたメール部分"
	case "signature":
		return "電子署名（無害化後は検証できません）"
	case "calendar":
		return "予定表の招待"
	case "encrypted-archive":
		return "パスワード付き圧縮ファイル"
	case "forwarded":
		return "転送されたメッセージ"
	}
	if p.Reason != "" {
		return "無害化できないファイル: " + p.Reason
	}
	return "ポリシーにより削除"
}

// write emits the rebuilt message.
func (rn *run) write(src textproto.Header, extra [][2]string, w io.Writer) error {
	bw := bufio.NewWriter(w)
	text := rn.notice() + rn.body.String()
	text = strings.ReplaceAll(text, "\uFFFD", "〓")
	boundary := "kyojin-" + newID()
	ctype := rn.textType()
	if len(rn.atts) > 0 {
		ctype = `multipart/mixed; boundary="` + boundary + `"`
	}
	cte := ""
	if len(rn.atts) == 0 {
		cte = rn.textCTE()
	}
	h := rn.header(src, extra, ctype, cte)
	if err := textproto.WriteHeader(bw, h); err != nil {
		return err
	}
	if len(rn.atts) == 0 {
		if err := rn.writeText(bw, text); err != nil {
			return err
		}
		return bw.Flush()
	}
	fmt.Fprintf(bw, "This is a multi-part message in MIME format.\r\n--%s\r\n", boundary)
	fmt.Fprintf(bw, "Content-Type: %s\r\nContent-Transfer-Encoding: %s\r\n\r\n", rn.textType(), rn.textCTE())
	if err := rn.writeText(bw, text); err != nil {
		return err
	}
	for _, a := range rn.atts {
		fmt.Fprintf(bw, "\r\n--%s\r\n", boundary)
		name := rn.encodeParam(a.name)
		ctype := a.ctype
		if strings.HasPrefix(ctype, "text/") {
			ctype += `; charset="UTF-8"` // the engine's text output is UTF-8
		}
		fmt.Fprintf(bw, "Content-Type: %s; name=%s\r\nContent-Disposition: attachment; filename=%s\r\nContent-Transfer-Encoding: base64\r\n\r\n", ctype, name, name)
		if _, err := a.file.Seek(0, io.SeekStart); err != nil {
			return err
		}
		if err := writeBase64(bw, io.LimitReader(a.file, a.size)); err != nil {
			return err
		}
	}
	fmt.Fprintf(bw, "\r\n--%s--\r\n", boundary)
	return bw.Flush()
}

func (rn *run) encodeParam(name string) string {
	name = cleanLine(name)
	if isASCII(name) {
		return `"` + strings.NewReplacer(`"`, "_", `\`, "_").Replace(name) + `"`
	}
	return `"` + mime.BEncoding.Encode("UTF-8", name) + `"`
}

func (rn *run) textType() string {
	if rn.iso2022() {
		return `text/plain; charset="ISO-2022-JP"`
	}
	return `text/plain; charset="UTF-8"`
}

func (rn *run) textCTE() string {
	if rn.iso2022() {
		return "7bit"
	}
	return "base64"
}

// writeText writes the body. ISO-2022-JP cannot carry every character
// (① is outside JIS X 0208 proper); such characters become 〓 rather than
// switching the declared charset.
func (rn *run) writeText(w io.Writer, text string) error {
	text = strings.ReplaceAll(text, "\n", "\r\n")
	if rn.iso2022() {
		text = ToCP932Forms(text)
		enc := japanese.ISO2022JP.NewEncoder()
		var b strings.Builder
		for _, line := range strings.SplitAfter(text, "\r\n") {
			s, err := enc.String(line)
			if err != nil {
				s = encodeLossy(line)
			}
			b.WriteString(s)
		}
		_, err := io.WriteString(w, b.String())
		return err
	}
	return writeBase64(w, strings.NewReader(text))
}

// cp932Forms maps the Unicode characters of JIS X 0208 that CP932 (and
// golang.org/x/text) encode under a different code point: a UTF-8 sender's
// WAVE DASH 〜 must still reach an ISO-2022-JP reader as 〜, not 〓.
var cp932Forms = strings.NewReplacer("\u301c", "\uff5e", "\u2016", "\u2225", "\u2212", "\uff0d", "\u00a2", "\uffe0", "\u00a3", "\uffe1", "\u00ac", "\uffe2")

// ToCP932Forms rewrites text into the code points CP932 uses.
func ToCP932Forms(s string) string { return cp932Forms.Replace(s) }

func encodeLossy(line string) string {
	var b strings.Builder
	for _, r := range line {
		if _, err := japanese.ISO2022JP.NewEncoder().String(string(r)); err != nil {
			r = '〓'
		}
		b.WriteRune(r)
	}
	s, _ := japanese.ISO2022JP.NewEncoder().String(b.String())
	return s
}

func writeBase64(w io.Writer, r io.Reader) error {
	buf := make([]byte, 57*64)
	line := make([]byte, 80)
	for {
		n, err := io.ReadFull(r, buf)
		for i := 0; i < n; i += 57 {
			end := min(i+57, n)
			m := base64.StdEncoding.EncodedLen(end - i)
			base64.StdEncoding.Encode(line, buf[i:end])
			line[m], line[m+1] = '\r', '\n'
			if _, werr := w.Write(line[:m+2]); werr != nil {
				return werr
			}
		}
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return nil
		}
		if err != nil {
			return err
		}
	}
}
