package mailsan

import (
	"archive/zip"
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/emersion/go-message/textproto"
	"golang.org/x/text/encoding/japanese"

	"github.com/kyojin/kyojin/quarantine"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/std"
)

// newTestSanitizer wires the real engine (std handlers) and a real
// quarantine store in a temp dir. clamd is off here: the relay's clamd path
// is the engine's and is tested there against a real clamd.
func newTestSanitizer(t testing.TB, pol Policy) (*Sanitizer, *quarantine.Store) {
	t.Helper()
	dir := t.TempDir()
	store, err := quarantine.Open(dir+"/q", bytes.Repeat([]byte{7}, 32), 0)
	if err != nil {
		t.Fatal(err)
	}
	p := sanitize.DefaultPolicy()
	p.Clamd.Enabled = false
	eng, err := sanitize.New(sanitize.Config{Policy: p, Handlers: std.Handlers(dir), Inspectors: std.Inspectors(dir), Vault: store, TempDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	return &Sanitizer{Policy: pol, Engine: eng, Vault: store, TempDir: dir}, store
}

func run1(t testing.TB, s *Sanitizer, msg []byte) ([]byte, *Result, error) {
	t.Helper()
	var out bytes.Buffer
	res, err := s.Sanitize(context.Background(), bytes.NewReader(msg), int64(len(msg)), [][2]string{{"Authentication-Results", "mx.test; spf=pass smtp.mailfrom=example.jp"}}, &out)
	return out.Bytes(), res, err
}

// --- fixture builders (fixtures are generated, never committed) ---

func sjis(s string) []byte {
	b, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte(ToCP932Forms(s)))
	if err != nil {
		panic(err)
	}
	return b
}

func eucjp(s string) []byte {
	b, err := japanese.EUCJP.NewEncoder().Bytes([]byte(ToCP932Forms(s)))
	if err != nil {
		panic(err)
	}
	return b
}

func iso2022(s string) []byte {
	b, err := japanese.ISO2022JP.NewEncoder().Bytes([]byte(ToCP932Forms(s)))
	if err != nil {
		panic(err)
	}
	return b
}

func b64(b []byte) string {
	var sb strings.Builder
	e := base64.StdEncoding.EncodeToString(b)
	for len(e) > 76 {
		sb.WriteString(e[:76] + "\r\n")
		e = e[76:]
	}
	sb.WriteString(e + "\r\n")
	return sb.String()
}

func hdr(subject string) string {
	return "From: 山田太郎 <taro@example.jp>\r\nTo: kakari@city.lg.jp\r\nDate: Mon, 02 Nov 2026 10:00:00 +0900\r\nMessage-ID: <m1@example.jp>\r\nSubject: " + subject + "\r\nMIME-Version: 1.0\r\n"
}

func pngBytes(t testing.TB) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 12))
	for y := range 12 {
		for x := range 16 {
			img.Set(x, y, color.RGBA{uint8(x * 9), uint8(y * 11), 80, 255})
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// encryptedZip has one member with the traditional-encryption flag set.
func encryptedZip(t testing.TB) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	data := []byte("0123456789abcdef0123456789abcdef")
	w, err := zw.CreateRaw(&zip.FileHeader{Name: "secret.txt", Method: zip.Store, Flags: 0x1, CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)), CRC32: 0x12345678})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	zw.Close()
	return b.Bytes()
}

func plainZip(t testing.TB) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	w, _ := zw.Create("memo.txt")
	io.WriteString(w, "会議は①番会議室です〜\n")
	zw.Close()
	return b.Bytes()
}

// --- rendering and invariants ---

var (
	refRE      = regexp.MustCompile(`q-[0-9]{8}-[0-9a-f]{16}`)
	boundaryRE = regexp.MustCompile(`kyojin-[0-9a-f]{24}`)
	idRE       = regexp.MustCompile(`<[0-9a-f]{24}@kyojin\.invalid>`)
)

// render turns a rebuilt message into a readable, stable text for golden
// files: headers, then each part decoded to UTF-8.
func render(t testing.TB, out []byte) string {
	t.Helper()
	parts, h, err := parseOutput(out)
	if err != nil {
		t.Fatalf("output does not parse: %v\n%s", err, out)
	}
	var b strings.Builder
	fields := h.Fields()
	for fields.Next() {
		b.WriteString(fields.Key() + ": " + fields.Value() + "\n")
	}
	for i, p := range parts {
		fmt.Fprintf(&b, "\n=== part %d: %s name=%q\n", i+1, p.ctype, p.name)
		if strings.HasPrefix(p.ctype, "text/") {
			b.WriteString(p.text)
		} else {
			fmt.Fprintf(&b, "(%d bytes)\n", len(p.data))
		}
	}
	s := refRE.ReplaceAllString(b.String(), "q-REF")
	s = boundaryRE.ReplaceAllString(s, "kyojin-BOUNDARY")
	return idRE.ReplaceAllString(s, "<ID@kyojin.invalid>")
}

type outPart struct {
	ctype, charset, name string
	data                 []byte
	text                 string
}

// parseOutput parses what Sanitize wrote, strictly.
func parseOutput(out []byte) ([]outPart, textproto.Header, error) {
	br := bufio.NewReader(bytes.NewReader(out))
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, h, err
	}
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return nil, h, err
	}
	if ct != "multipart/mixed" {
		p, err := decodePart(h, br)
		return []outPart{p}, h, err
	}
	mr := textproto.NewMultipartReader(br, params["boundary"])
	var parts []outPart
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			return parts, h, nil
		}
		if err != nil {
			return nil, h, err
		}
		p, err := decodePart(part.Header, part)
		if err != nil {
			return nil, h, err
		}
		parts = append(parts, p)
	}
}

func decodePart(h textproto.Header, r io.Reader) (outPart, error) {
	ct, params, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return outPart{}, err
	}
	p := outPart{ctype: ct, charset: strings.ToLower(params["charset"])}
	if p.name = params["name"]; p.name != "" {
		p.name, _ = new(mime.WordDecoder).DecodeHeader(p.name)
	}
	raw, err := io.ReadAll(r)
	if err != nil {
		return p, err
	}
	switch strings.ToLower(h.Get("Content-Transfer-Encoding")) {
	case "base64":
		p.data, err = base64.StdEncoding.DecodeString(strings.NewReplacer("\r", "", "\n", "").Replace(string(raw)))
		if err != nil {
			return p, err
		}
	case "7bit":
		for _, c := range raw {
			if c >= 0x80 {
				return p, fmt.Errorf("8-bit byte in a 7bit part")
			}
		}
		p.data = raw
	default:
		return p, fmt.Errorf("unexpected transfer encoding %q", h.Get("Content-Transfer-Encoding"))
	}
	if strings.HasPrefix(ct, "text/") {
		switch p.charset {
		case "iso-2022-jp":
			d, err := japanese.ISO2022JP.NewDecoder().Bytes(p.data)
			if err != nil {
				return p, err
			}
			p.text = string(d)
		case "utf-8":
			if !utf8.Valid(p.data) {
				return p, fmt.Errorf("invalid UTF-8 in a utf-8 part")
			}
			p.text = string(p.data)
		default:
			return p, fmt.Errorf("text part with charset %q", p.charset)
		}
		p.text = strings.ReplaceAll(p.text, "\r\n", "\n")
	}
	return p, nil
}

// checkInvariants is what must hold for EVERY accepted message (also in
// the fuzz target): the output parses strictly, has no HTML or other
// active part, only allow-listed attachment types, and clean headers.
func checkInvariants(out []byte) error {
	parts, h, err := parseOutput(out)
	if err != nil {
		return fmt.Errorf("output does not parse: %w", err)
	}
	if h.Get("X-Kyojin-Sanitized") == "" {
		return fmt.Errorf("no X-Kyojin-Sanitized header")
	}
	allowed := map[string]bool{"application/octet-stream": false}
	for _, v := range AllowedTypes {
		allowed[v] = true
	}
	for i, p := range parts {
		if i == 0 {
			if p.ctype != "text/plain" {
				return fmt.Errorf("first part is %s, want text/plain", p.ctype)
			}
			continue
		}
		if !allowed[p.ctype] {
			return fmt.Errorf("attachment of type %s is not allow-listed", p.ctype)
		}
	}
	hdrEnd := bytes.Index(out, []byte("\r\n\r\n"))
	for _, line := range bytes.Split(out[:hdrEnd], []byte("\r\n")) {
		if bytes.ContainsAny(line, "\r\n\x00") {
			return fmt.Errorf("control character in header line %q", line)
		}
		for _, c := range line {
			if c >= 0x80 {
				return fmt.Errorf("8-bit header line %q", line)
			}
		}
	}
	return nil
}
