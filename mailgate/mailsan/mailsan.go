// Package mailsan sanitizes one Internet mail message for delivery into the
// LGWAN zone (MIC guideline clause 3(2)①(ア): mail from the Internet reaches
// LGWAN terminals only after 無害化). The message is parsed leniently but
// rebuilt strictly: the output is always freshly written MIME with a plain
// text body in UTF-8 (or ISO-2022-JP), a notice of what was changed, and
// only attachments that went through the sanitization engine. Structure
// that cannot be understood is rejected, never passed through.
package mailsan

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"os"
	"path"
	"strings"

	"github.com/emersion/go-message/textproto"

	"github.com/kyojin/kyojin/sanitize"
)

// Action is what the policy does with a category of part.
type Action string

const (
	ActSanitize   Action = "sanitize"   // through the sanitization engine; the sanitized file is attached
	ActQuarantine Action = "quarantine" // removed; the original is kept in the quarantine
	ActRemove     Action = "remove"     // removed, not kept
	ActReject     Action = "reject"     // the whole message is refused (SMTP 550)
)

// Policy decides what happens to each kind of content.
type Policy struct {
	Links   string // LinksList, LinksDefang, LinksRemove
	Charset string // "utf-8" or "iso-2022-jp" for the rebuilt text
	// Attachments is the rule for ordinary attachments; the others are the
	// explicit rules for the special kinds the issue names.
	Attachments      Action // sanitize | quarantine | remove | reject
	TNEF             Action // winmail.dat: quarantine | remove | reject
	Encrypted        Action // S/MIME enveloped, PGP/MIME encrypted: quarantine | remove | reject
	Signatures       Action // S/MIME and PGP signatures (invalid after rebuilding): remove | quarantine | reject
	Calendar         Action // text/calendar invitations: quarantine | remove | reject | sanitize (as text)
	EncryptedArchive Action // password-protected archives held by the engine: quarantine | remove | reject
	Forwarded        Action // nested message/rfc822: sanitize (flattened) | quarantine | remove | reject
	// KeepOriginal stores the whole original message in the quarantine
	// whenever anything was removed or changed.
	KeepOriginal bool
	// Contact is named in the notice as where to ask for originals.
	Contact      string
	MaxDepth     int   // MIME nesting limit (boundary nesting bombs)
	MaxParts     int   // parts per message
	MaxTextBytes int64 // body text kept; the rest is cut with a note
}

// DefaultPolicy is the strict default.
func DefaultPolicy() Policy {
	return Policy{
		Links: LinksList, Charset: "utf-8", Attachments: ActSanitize, TNEF: ActQuarantine, Encrypted: ActQuarantine,
		Signatures: ActRemove, Calendar: ActQuarantine, EncryptedArchive: ActQuarantine, Forwarded: ActSanitize,
		KeepOriginal: true, Contact: "情報システム担当", MaxDepth: 12, MaxParts: 500, MaxTextBytes: 4 << 20,
	}
}

// Engine is the sanitization engine (sanitize.Engine).
type Engine interface {
	Process(ctx context.Context, s sanitize.Submission) (*sanitize.Outcome, error)
}

// Sanitizer rebuilds messages. It is safe for concurrent use.
type Sanitizer struct {
	Policy  Policy
	Engine  Engine         // nil: every attachment the policy would sanitize is removed instead
	Vault   sanitize.Vault // nil: quarantine actions fail (temporary error) — originals are never silently lost
	Log     *slog.Logger   // nil: discard
	TempDir string         // spool for attachments
	// Scanner, when set, scans the whole original message first (clause
	// 3(2): virus check before entry); a scan failure is a temporary error
	// unless ScanOptional.
	Scanner      sanitize.Scanner
	ScanOptional bool
}

// Errors the SMTP layer maps to reply codes.
var (
	// ErrMalformed: the structure cannot be parsed safely (554 5.6.0).
	ErrMalformed = errors.New("malformed message")
	// ErrPolicy: the policy refuses the message (550 5.7.1).
	ErrPolicy = errors.New("refused by policy")
	// ErrVirus: the virus scanner found a signature (554 5.7.1).
	ErrVirus = errors.New("virus found")
	// ErrLoop: too many Received fields, a mail loop (554 5.4.6, RFC 5321 §6.3).
	ErrLoop = errors.New("mail loop")
)

// maxHops is the Received count treated as a loop (RFC 5321 §6.3 suggests
// at least 100 for a hard limit; real paths stay far below 30).
const maxHops = 50

// Part reports what happened to one MIME part (for audit and the notice).
type Part struct {
	Path        string             `json:"path"`
	ContentType string             `json:"content_type"`
	Name        string             `json:"name,omitempty"`
	Kind        string             `json:"kind"` // body, html, attachment, inline-image, tnef, encrypted, signature, calendar, forwarded, alternative
	Size        int64              `json:"size"`
	Action      string             `json:"action"` // kept, converted, sanitized, quarantined, removed, rejected
	Verdict     sanitize.Verdict   `json:"verdict,omitempty"`
	Reason      string             `json:"reason,omitempty"`
	OutName     string             `json:"out_name,omitempty"`
	OutSize     int64              `json:"out_size,omitempty"`
	Quarantine  string             `json:"quarantine,omitempty"`
	Records     []*sanitize.Record `json:"records,omitempty"`
}

// Result describes the rebuilt message.
type Result struct {
	MessageID string   `json:"message_id"`
	Subject   string   `json:"-"`
	Parts     []*Part  `json:"parts"`
	Actions   []string `json:"actions"` // summary, as in X-Kyojin-Sanitized
	Original  string   `json:"original,omitempty"`
	SizeOut   int64    `json:"size_out"`
}

// Changed reports whether anything was removed or converted.
func (r *Result) Changed() bool { return len(r.Actions) > 0 }

// run is the state of one Sanitize call.
type run struct {
	s      *Sanitizer
	ctx    context.Context
	body   strings.Builder
	cut    bool
	atts   []attachment
	res    *Result
	parts  int
	counts map[string]int
	temps  []string
	budget int64 // bytes the multipart walk may still copy (nesting bombs re-read the same bytes per level)
}

type attachment struct {
	name, ctype string
	file        *os.File
	size        int64
}

// Sanitize reads the message in src and writes the rebuilt message to w.
// extra header fields (Received, Authentication-Results) are written first.
// On error nothing usable has been written and the message must be refused.
func (s *Sanitizer) Sanitize(ctx context.Context, src io.ReaderAt, size int64, extra [][2]string, w io.Writer) (res *Result, err error) {
	rn := &run{s: s, ctx: ctx, res: &Result{}, counts: map[string]int{}, budget: 4*size + 1<<20}
	defer rn.cleanup()
	defer func() {
		// A parser bug must not take the relay down; it refuses the message.
		if v := recover(); v != nil {
			s.log().Error("mail sanitizer panic", "panic", fmt.Sprint(v))
			res, err = nil, fmt.Errorf("%w: internal parser failure", ErrMalformed)
		}
	}()
	if s.Scanner != nil {
		virus, err := s.Scanner.Scan(ctx, io.NewSectionReader(src, 0, size))
		switch {
		case err != nil && !s.ScanOptional:
			return nil, fmt.Errorf("virus scan unavailable: %w", err)
		case err != nil:
			s.log().Warn("virus scan unavailable; policy allows", "err", err)
		case virus != "":
			return nil, fmt.Errorf("%w: %s", ErrVirus, virus)
		}
	}
	br := bufio.NewReaderSize(io.NewSectionReader(src, 0, size), 64<<10)
	h, err := textproto.ReadHeader(br)
	if err != nil {
		return nil, fmt.Errorf("%w: header: %v", ErrMalformed, err)
	}
	if n := len(h.Values("Received")); n > maxHops {
		return nil, fmt.Errorf("%w: %d Received fields", ErrLoop, n)
	}
	if err := rn.entity(h, br, 0, "1"); err != nil {
		return nil, err
	}
	if len(rn.counts) > 0 && s.Policy.KeepOriginal {
		ref, err := rn.vault(io.NewSectionReader(src, 0, size), "original.eml", size)
		if err != nil {
			return nil, err
		}
		rn.res.Original = ref
	}
	rn.res.Actions = rn.summary()
	cw := &countWriter{w: w}
	if err := rn.write(h, extra, cw); err != nil {
		return nil, fmt.Errorf("writing the rebuilt message: %w", err)
	}
	rn.res.SizeOut = cw.n
	return rn.res, nil
}

func (s *Sanitizer) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

func (rn *run) cleanup() {
	for _, a := range rn.atts {
		if a.file != nil {
			a.file.Close()
		}
	}
	for _, t := range rn.temps {
		os.Remove(t)
	}
}

func (rn *run) note(kind string) { rn.counts[kind]++ }

// entity handles one MIME entity with header h and raw body r.
func (rn *run) entity(h textproto.Header, r io.Reader, depth int, p string) error {
	if err := rn.ctx.Err(); err != nil {
		return err
	}
	rn.parts++
	if rn.parts > rn.s.Policy.MaxParts {
		return fmt.Errorf("%w: more than %d parts", ErrMalformed, rn.s.Policy.MaxParts)
	}
	if depth > rn.s.Policy.MaxDepth {
		return fmt.Errorf("%w: MIME nesting deeper than %d", ErrMalformed, rn.s.Policy.MaxDepth)
	}
	ctype, params := contentType(h)
	disp, dparams, _ := mime.ParseMediaType(h.Get("Content-Disposition"))
	name := fileName(params, dparams)
	if strings.HasPrefix(ctype, "multipart/") {
		return rn.multipart(ctype, params, r, depth, p)
	}
	if ctype == "message/rfc822" || ctype == "message/global" {
		return rn.forwarded(h, r, depth, p, name)
	}
	data, err := rn.decodeBody(h, r)
	if err != nil {
		return err
	}
	part := &Part{Path: p, ContentType: ctype, Name: name, Size: int64(len(data))}
	attached := disp == "attachment" || (name != "" && !strings.HasPrefix(ctype, "text/plain") && !strings.HasPrefix(ctype, "text/html"))
	lname := strings.ToLower(name)
	switch {
	case ctype == "application/ms-tnef" || ctype == "application/vnd.ms-tnef" || lname == "winmail.dat":
		part.Kind = "tnef"
		return rn.special(part, data, rn.s.Policy.TNEF, "tnef")
	case ctype == "application/pkcs7-signature" || ctype == "application/x-pkcs7-signature" || ctype == "application/pgp-signature":
		part.Kind = "signature"
		return rn.special(part, data, rn.s.Policy.Signatures, "signature")
	case ctype == "application/pkcs7-mime" || ctype == "application/x-pkcs7-mime" || ctype == "application/pgp-encrypted" || ctype == "application/pgp-keys":
		part.Kind = "encrypted"
		return rn.special(part, data, rn.s.Policy.Encrypted, "encrypted")
	case ctype == "text/calendar" || ctype == "application/ics" || strings.HasSuffix(lname, ".ics") || strings.HasSuffix(lname, ".vcs"):
		part.Kind = "calendar"
		if rn.s.Policy.Calendar == ActSanitize {
			txt, _ := decodeText(data, params["charset"])
			if name == "" {
				name = "invitation.ics"
			}
			part.Name = name
			return rn.attach(part, []byte(cleanText(txt)), name+".txt", "text/plain")
		}
		return rn.special(part, data, rn.s.Policy.Calendar, "calendar")
	case !attached && (ctype == "text/plain" || ctype == ""):
		part.Kind, part.Action = "body", "kept"
		txt, ok := decodeText(data, params["charset"])
		if !ok {
			part.Action = "converted"
			part.Reason = "undecodable bytes replaced"
			rn.note("undecodable-text")
		}
		rn.addText(cleanText(txt))
		rn.res.Parts = append(rn.res.Parts, part)
		return nil
	case !attached && ctype == "text/html":
		part.Kind, part.Action = "html", "converted"
		txt, _ := decodeText(data, params["charset"])
		text, nl, ni := htmlToText(strings.NewReader(txt), rn.s.Policy.Links)
		rn.note("html-to-text")
		if nl > 0 {
			rn.counts["links-"+rn.linkWord()] += nl
		}
		if ni > 0 {
			rn.counts["remote-images-removed"] += ni
		}
		rn.addText(cleanText(text))
		rn.res.Parts = append(rn.res.Parts, part)
		return nil
	case !attached && (strings.HasPrefix(ctype, "image/") || strings.HasPrefix(ctype, "audio/") || strings.HasPrefix(ctype, "video/")):
		part.Kind, part.Action = "inline-image", "removed"
		rn.note("inline-removed")
		rn.res.Parts = append(rn.res.Parts, part)
		return nil
	}
	part.Kind = "attachment"
	if name == "" {
		name = "attachment-" + strings.ReplaceAll(p, ".", "-")
		if strings.HasPrefix(ctype, "text/") {
			name += ".txt"
		}
		part.Name = name
	}
	switch act := rn.s.Policy.Attachments; act {
	case ActSanitize:
		return rn.engine(part, data)
	default:
		return rn.special(part, data, act, "attachment")
	}
}

func (rn *run) linkWord() string {
	switch rn.s.Policy.Links {
	case LinksRemove:
		return "removed"
	case LinksDefang:
		return "defanged"
	}
	return "listed"
}

func contentType(h textproto.Header) (string, map[string]string) {
	raw := h.Get("Content-Type")
	if strings.TrimSpace(raw) == "" {
		return "text/plain", map[string]string{} // RFC 2045 §5.2 default
	}
	t, params, err := mime.ParseMediaType(raw)
	if err != nil {
		// Unparseable: keep the bare type if it looks like one, so the part
		// is still classified; parameters (boundary) are lost and a multipart
		// without a boundary is rejected below.
		t = strings.ToLower(strings.TrimSpace(strings.SplitN(raw, ";", 2)[0]))
		params = map[string]string{}
		if !strings.Contains(t, "/") {
			t = "application/octet-stream"
		}
	}
	return strings.ToLower(t), params
}

// fileName takes the claimed name from the disposition or the type,
// decoded and reduced to its last path element.
func fileName(params, dparams map[string]string) string {
	n := dparams["filename"]
	if n == "" {
		n = params["name"]
	}
	n = decodeHeader(n)
	n = strings.ReplaceAll(n, "\\", "/")
	n = path.Base(n)
	if n == "." || n == "/" || n == ".." {
		return ""
	}
	if len(n) > 200 {
		n = n[:200]
	}
	return strings.ToValidUTF8(n, "")
}

// decodeBody undoes the transfer encoding. Base64 is decoded leniently
// (stray characters skipped), as real mailers produce them.
func (rn *run) decodeBody(h textproto.Header, r io.Reader) ([]byte, error) {
	limit := int64(256 << 20)
	var dec io.Reader
	switch cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding"))); cte {
	case "base64":
		dec = base64.NewDecoder(base64.StdEncoding, &b64filter{r: r})
	case "quoted-printable":
		dec = quotedprintable.NewReader(r)
	default:
		dec = r
	}
	b, err := io.ReadAll(io.LimitReader(dec, limit))
	if err != nil {
		var ce base64.CorruptInputError
		if errors.As(err, &ce) || strings.Contains(err.Error(), "quotedprintable") {
			// Truncated or damaged encoding: keep what decoded; it is
			// sanitized like any other content.
			rn.note("damaged-encoding")
			return b, nil
		}
		return nil, fmt.Errorf("%w: body: %v", ErrMalformed, err)
	}
	return b, nil
}

// b64filter passes only base64 alphabet characters and stops at padding.
type b64filter struct {
	r   io.Reader
	end bool
}

func (f *b64filter) Read(p []byte) (int, error) {
	for {
		if f.end {
			return 0, io.EOF
		}
		n, err := f.r.Read(p)
		j := 0
		for i := 0; i < n; i++ {
			c := p[i]
			if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '=' {
				p[j] = c
				j++
			}
		}
		if err != nil {
			f.end = true
			if j > 0 {
				return j, nil
			}
			return 0, err
		}
		if j > 0 {
			return j, nil
		}
	}
}

func (rn *run) multipart(ctype string, params map[string]string, r io.Reader, depth int, p string) error {
	boundary := params["boundary"]
	if boundary == "" || len(boundary) > 70 {
		return fmt.Errorf("%w: %s without a valid boundary", ErrMalformed, ctype)
	}
	type child struct {
		h    textproto.Header
		data []byte
	}
	mr := textproto.NewMultipartReader(r, boundary)
	var kids []child
	for i := 1; ; i++ {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			if i == 1 {
				return fmt.Errorf("%w: %s: %v", ErrMalformed, ctype, err)
			}
			// A missing closing boundary is common in real mail; what was
			// read is processed, anything malformed after it is refused.
			if errors.Is(err, io.ErrUnexpectedEOF) {
				break
			}
			return fmt.Errorf("%w: %s: %v", ErrMalformed, ctype, err)
		}
		if len(kids) >= rn.s.Policy.MaxParts {
			return fmt.Errorf("%w: more than %d parts", ErrMalformed, rn.s.Policy.MaxParts)
		}
		b, err := io.ReadAll(io.LimitReader(part, rn.budget+1))
		if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
			return fmt.Errorf("%w: %s part %d: %v", ErrMalformed, ctype, i, err)
		}
		if rn.budget -= int64(len(b)); rn.budget < 0 {
			return fmt.Errorf("%w: nested parts repeat too much data", ErrMalformed)
		}
		kids = append(kids, child{part.Header, b})
	}
	sub := func(i int) string { return fmt.Sprintf("%s.%d", p, i+1) }
	switch ctype {
	case "multipart/alternative":
		// Prefer the plain text version; HTML only when there is none.
		pick := -1
		for i, k := range kids {
			t, _ := contentType(k.h)
			if t == "text/plain" && pick < 0 {
				pick = i
			}
		}
		if pick < 0 {
			for i, k := range kids {
				t, _ := contentType(k.h)
				if t == "text/html" || strings.HasPrefix(t, "multipart/") {
					pick = i
					break
				}
			}
		}
		if pick < 0 && len(kids) > 0 {
			pick = 0
		}
		for i, k := range kids {
			if i == pick {
				if err := rn.entity(k.h, bytes.NewReader(k.data), depth+1, sub(i)); err != nil {
					return err
				}
				continue
			}
			t, _ := contentType(k.h)
			rn.res.Parts = append(rn.res.Parts, &Part{Path: sub(i), ContentType: t, Kind: "alternative", Size: int64(len(k.data)), Action: "removed"})
			if t != "text/html" && t != "text/plain" {
				rn.note("alternative-removed")
			}
		}
		return nil
	case "multipart/related":
		// The root is the first part (RFC 2387 default); the rest are
		// inline resources of an HTML body, dropped with it.
		for i, k := range kids {
			if i == 0 {
				if err := rn.entity(k.h, bytes.NewReader(k.data), depth+1, sub(i)); err != nil {
					return err
				}
				continue
			}
			t, _ := contentType(k.h)
			rn.res.Parts = append(rn.res.Parts, &Part{Path: sub(i), ContentType: t, Kind: "inline-image", Size: int64(len(k.data)), Action: "removed"})
			rn.note("inline-removed")
		}
		return nil
	case "multipart/encrypted":
		all := &bytes.Buffer{}
		for _, k := range kids {
			all.Write(k.data)
		}
		return rn.special(&Part{Path: p, ContentType: ctype, Kind: "encrypted", Size: int64(all.Len()), Name: "encrypted.asc"}, all.Bytes(), rn.s.Policy.Encrypted, "encrypted")
	}
	// mixed, signed (signature parts are classified by their own type),
	// report, digest and unknown multiparts: every part on its own.
	for i, k := range kids {
		if err := rn.entity(k.h, bytes.NewReader(k.data), depth+1, sub(i)); err != nil {
			return err
		}
	}
	return nil
}

// forwarded handles a nested message: flattened into the body (its
// headers shown as text) with its attachments treated like ours.
func (rn *run) forwarded(h textproto.Header, r io.Reader, depth int, p, name string) error {
	data, err := rn.decodeBody(h, r)
	if err != nil {
		return err
	}
	part := &Part{Path: p, ContentType: "message/rfc822", Name: name, Kind: "forwarded", Size: int64(len(data))}
	if name == "" {
		part.Name = "forwarded.eml"
	}
	if act := rn.s.Policy.Forwarded; act != ActSanitize {
		return rn.special(part, data, act, "forwarded")
	}
	br := bufio.NewReader(bytes.NewReader(data))
	ih, err := textproto.ReadHeader(br)
	if err != nil {
		return fmt.Errorf("%w: forwarded message header: %v", ErrMalformed, err)
	}
	var b strings.Builder
	b.WriteString("\n\n──── 転送されたメッセージ (forwarded message) ────\n")
	for _, k := range []string{"From", "Date", "Subject", "To"} {
		if v := decodeHeader(ih.Get(k)); v != "" {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	rn.addText(b.String())
	part.Action = "flattened"
	rn.res.Parts = append(rn.res.Parts, part)
	rn.note("forwarded-flattened")
	return rn.entity(ih, br, depth+1, p+".1")
}

func (rn *run) addText(s string) {
	if rn.cut {
		return
	}
	if rn.body.Len() > 0 && s != "" && !strings.HasPrefix(s, "\n") {
		rn.body.WriteString("\n\n")
	}
	if room := rn.s.Policy.MaxTextBytes - int64(rn.body.Len()); int64(len(s)) > room {
		s = strings.ToValidUTF8(s[:max(room, 0)], "")
		rn.cut = true
		rn.note("text-truncated")
	}
	rn.body.WriteString(s)
}

// special applies a quarantine/remove/reject rule to a part.
func (rn *run) special(part *Part, data []byte, act Action, kind string) error {
	rn.res.Parts = append(rn.res.Parts, part)
	switch act {
	case ActReject:
		part.Action = "rejected"
		return fmt.Errorf("%w: %s part %s", ErrPolicy, kind, part.Path)
	case ActQuarantine:
		ref, err := rn.vault(bytes.NewReader(data), orDefault(part.Name, kind+".bin"), int64(len(data)))
		if err != nil {
			return err
		}
		part.Action, part.Quarantine = "quarantined", ref
		rn.note(kind + "-quarantined")
	case ActSanitize:
		return rn.engine(part, data)
	default:
		part.Action = "removed"
		rn.note(kind + "-removed")
	}
	return nil
}

func orDefault(s, d string) string {
	if s == "" {
		return d
	}
	return s
}

func (rn *run) vault(r io.Reader, name string, size int64) (string, error) {
	if rn.s.Vault == nil {
		return "", errors.New("quarantine requested but no quarantine store is configured")
	}
	h := sha256.New()
	tr := io.TeeReader(r, h)
	buf, err := io.ReadAll(tr)
	if err != nil {
		return "", fmt.Errorf("reading for the quarantine: %w", err)
	}
	ref, err := rn.s.Vault.Put(rn.ctx, bytes.NewReader(buf), sanitize.VaultMeta{
		RecordID: newID(), Name: name, Size: size, SHA256: hex.EncodeToString(h.Sum(nil)), Verdict: sanitize.VerdictHeld, Reason: "mail",
	})
	if err != nil {
		return "", fmt.Errorf("quarantine: %w", err)
	}
	return ref, nil
}

// engine sends an attachment through the sanitization engine; what it
// delivers is attached, anything else is removed (its original kept by the
// engine's own quarantine when that is enabled).
func (rn *run) engine(part *Part, data []byte) error {
	rn.res.Parts = append(rn.res.Parts, part)
	if rn.s.Engine == nil {
		part.Action, part.Reason = "removed", "no sanitization engine"
		rn.note("attachment-removed")
		return nil
	}
	f, err := os.CreateTemp(rn.s.TempDir, "kyojin-att-*")
	if err != nil {
		return fmt.Errorf("spooling an attachment: %w", err)
	}
	rn.temps = append(rn.temps, f.Name())
	defer f.Close()
	if _, err := f.Write(data); err != nil {
		return fmt.Errorf("spooling an attachment: %w", err)
	}
	out, err := rn.s.Engine.Process(rn.ctx, sanitize.Submission{Name: part.Name, MIME: part.ContentType, R: f, Size: int64(len(data))})
	if err != nil {
		rn.s.log().Warn("engine error", "err", err)
	}
	if out == nil {
		return fmt.Errorf("sanitization engine: %w", err)
	}
	rec := out.Record()
	part.Records, part.Verdict, part.Reason, part.Quarantine = out.Records, rec.Verdict, rec.Reason, rec.Quarantine
	if rec.Verdict == sanitize.VerdictHeld && rec.ReasonCode == sanitize.ReasonEncrypted {
		part.Kind = "encrypted-archive"
		out.Close()
		switch rn.s.Policy.EncryptedArchive {
		case ActReject:
			part.Action = "rejected"
			return fmt.Errorf("%w: password-protected archive %s", ErrPolicy, part.Path)
		case ActQuarantine:
			if part.Quarantine == "" {
				ref, err := rn.vault(bytes.NewReader(data), part.Name, int64(len(data)))
				if err != nil {
					return err
				}
				part.Quarantine = ref
			}
			part.Action = "quarantined"
			rn.note("encrypted-archive-quarantined")
		default:
			part.Action = "removed"
			rn.note("encrypted-archive-removed")
		}
		return nil
	}
	if out.Output == nil {
		out.Close()
		part.Action = "removed"
		if part.Quarantine != "" {
			part.Action = "quarantined"
		}
		rn.note("attachment-" + part.Action)
		return nil
	}
	part.Action, part.OutName, part.OutSize = "sanitized", out.OutName, rec.SizeOut
	rn.note("attachment-sanitized")
	// Take ownership of the output file; it is removed in cleanup.
	rn.temps = append(rn.temps, out.Output.Name())
	rn.atts = append(rn.atts, attachment{name: out.OutName, ctype: TypeForName(out.OutName), file: out.Output, size: rec.SizeOut})
	out.Output = nil
	return nil
}

// attach adds already-safe bytes (calendar as text) as an attachment.
func (rn *run) attach(part *Part, data []byte, name, ctype string) error {
	f, err := os.CreateTemp(rn.s.TempDir, "kyojin-att-*")
	if err != nil {
		return fmt.Errorf("spooling an attachment: %w", err)
	}
	rn.temps = append(rn.temps, f.Name())
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	part.Action, part.OutName, part.OutSize = "converted", name, int64(len(data))
	rn.res.Parts = append(rn.res.Parts, part)
	rn.note(part.Kind + "-as-text")
	rn.atts = append(rn.atts, attachment{name: name, ctype: ctype, file: f, size: int64(len(data))})
	return nil
}

// AllowedTypes are the only attachment content types the rebuilt message
// carries: what the engine produces.
var AllowedTypes = map[string]string{
	".pdf":  "application/pdf",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".png":  "image/png",
	".jpg":  "image/jpeg",
	".gif":  "image/gif",
	".txt":  "text/plain",
	".csv":  "text/csv",
	".zip":  "application/zip",
}

// TypeForName maps an output file name to its content type.
func TypeForName(name string) string {
	if t, ok := AllowedTypes[strings.ToLower(path.Ext(name))]; ok {
		return t
	}
	return "application/octet-stream"
}

func newID() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
