package sanitize

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"
)

// EngineVersion goes into every audit record.
const EngineVersion = "kyojin-sanitize/1"

// Scanner is a virus scanner (clamd INSTREAM). It returns the signature name
// when the stream is infected, "" when clean, and an error when it could not
// scan.
type Scanner interface {
	Scan(ctx context.Context, r io.Reader) (string, error)
}

// VaultMeta describes an original handed to the quarantine.
type VaultMeta struct {
	RecordID string
	Name     string
	Size     int64
	SHA256   string
	Verdict  Verdict
	Reason   string
}

// Vault keeps originals (encrypted) and returns a reference for the audit record.
type Vault interface {
	Put(ctx context.Context, r io.Reader, meta VaultMeta) (string, error)
}

// Config wires an engine. Handlers and inspectors are injected so that this
// package does not depend on the format packages (see sanitize/std).
type Config struct {
	Policy     *Policy
	Handlers   map[Type]Handler
	Inspectors map[Type]Inspector // keyed by OUTPUT type
	Scanner    Scanner            // required when Policy.Clamd.Enabled
	Vault      Vault              // required when Policy.Quarantine.Enabled
	Log        *slog.Logger
	TempDir    string // for outputs and spooled members; "" = os.TempDir()
}

// Engine runs the sanitization pipeline. It is safe for concurrent use.
type Engine struct {
	cfg Config
	log *slog.Logger
	now func() time.Time
}

// New checks the configuration and returns an engine.
func New(cfg Config) (*Engine, error) {
	if cfg.Policy == nil {
		return nil, errors.New("sanitize: no policy")
	}
	if cfg.Policy.Clamd.Enabled && cfg.Scanner == nil {
		return nil, errors.New("sanitize: policy enables clamd but no scanner is configured")
	}
	if cfg.Policy.Quarantine.Enabled && cfg.Vault == nil {
		return nil, errors.New("sanitize: policy enables the quarantine but no vault is configured")
	}
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Engine{cfg: cfg, log: log, now: time.Now}, nil
}

// Submission is one file offered for entry into LGWAN.
type Submission struct {
	Name string // claimed file name
	MIME string // declared MIME type, may be empty
	R    io.ReaderAt
	Size int64
}

// Record is the audit record of one file or archive member.
type Record struct {
	ID            string      `json:"id"`
	ParentID      string      `json:"parent_id,omitempty"`
	Start         time.Time   `json:"start"`
	End           time.Time   `json:"end"`
	Name          string      `json:"name"`
	ClaimedExt    string      `json:"claimed_ext"`
	ClaimedMIME   string      `json:"claimed_mime,omitempty"`
	Detected      Type        `json:"detected_type"`
	Charset       Charset     `json:"charset,omitempty"`
	AlsoDetected  []Type      `json:"also_detected,omitempty"`
	NameIssues    []NameIssue `json:"name_issues,omitempty"`
	SizeIn        int64       `json:"size_in"`
	SizeOut       int64       `json:"size_out"`
	SHA256In      string      `json:"sha256_in"`
	SHA256Out     string      `json:"sha256_out,omitempty"`
	OutName       string      `json:"out_name,omitempty"`
	OutType       Type        `json:"out_type,omitempty"`
	PolicyName    string      `json:"policy"`
	PolicyVersion string      `json:"policy_version"`
	EngineVersion string      `json:"engine_version"`
	Actions       []Action    `json:"actions"`
	Findings      []Finding   `json:"findings,omitempty"`
	Verdict       Verdict     `json:"verdict"`
	ReasonCode    string      `json:"reason_code,omitempty"`
	Reason        string      `json:"reason,omitempty"`
	Quarantine    string      `json:"quarantine,omitempty"`
	Virus         string      `json:"virus,omitempty"`
}

// Reason codes, stable for consumers of the audit log.
const (
	ReasonPolicy      = "policy"           // the type's rule blocks or holds it
	ReasonName        = "name"             // a name rule blocks it
	ReasonTooLarge    = "too_large"        // over max_input_bytes
	ReasonLimit       = "limit"            // a handler limit was breached
	ReasonRejected    = "rejected"         // hostile structure
	ReasonEncrypted   = "encrypted"        // held for a password
	ReasonHandler     = "handler_error"    // parse error and the like
	ReasonTimeout     = "timeout"          // wall time exceeded
	ReasonPanic       = "panic"            // handler crashed
	ReasonNoHandler   = "no_handler"       // policy says sanitize but nothing is wired
	ReasonNoInspector = "no_inspector"     // nothing can verify the output
	ReasonInspection  = "inspection"       // the inspector found an active construct
	ReasonVirus       = "virus"            // clamd found a signature
	ReasonScanError   = "scan_unavailable" // clamd unreachable or failing (fail closed)
	ReasonQuarantine  = "quarantine_error" // the original could not be kept
	ReasonMembers     = "members_withheld" // archive delivered without some members
	ReasonNotText     = "allow_needs_utf8" // allow was asked for non-UTF-8 text
	ReasonBudget      = "archive_budget"   // shared decompression budget spent
	ReasonInternal    = "internal_error"   // temp files and the like
)

// Outcome is the result for one submission. Records[0] is the submission
// itself, followed by one record per archive member in completion order
// (members of a nested archive before the nested archive's own record).
// Output is the delivered file (nil unless the verdict is delivered); the
// caller copies or renames it and must call Close.
type Outcome struct {
	Records []*Record
	Output  *os.File
	OutName string
}

// Record returns the top-level record.
func (o *Outcome) Record() *Record { return o.Records[0] }

// Close removes the temporary output.
func (o *Outcome) Close() error {
	if o.Output == nil {
		return nil
	}
	name := o.Output.Name()
	o.Output.Close()
	o.Output = nil
	return os.Remove(name)
}

// run is the state shared by a submission and its nested members.
type run struct {
	mu      sync.Mutex
	records []*Record
	budget  *Budget
}

func (r *run) add(rec *Record) {
	r.mu.Lock()
	r.records = append(r.records, rec)
	r.mu.Unlock()
}

// Process runs the whole pipeline on one submission. Content problems are
// verdicts, never errors; the error is for a broken environment (e.g. no
// writable temp dir), and even then the returned outcome blocks.
func (e *Engine) Process(ctx context.Context, s Submission) (*Outcome, error) {
	p := e.cfg.Policy
	rec := e.newRecord("", s.Name, s.MIME, s.Size)
	rn := &run{budget: NewBudget(p.Limits)}
	rn.add(rec)
	out := &Outcome{Records: []*Record{rec}}
	finish := func() (*Outcome, error) {
		rec.End = e.now()
		// A handler abandoned after a timeout may still add member records;
		// the outcome keeps those present now.
		rn.mu.Lock()
		out.Records = slices.Clone(rn.records)
		rn.mu.Unlock()
		e.log.Info("sanitize", "id", rec.ID, "name", rec.Name, "type", rec.Detected, "verdict", rec.Verdict, "reason", rec.ReasonCode)
		return out, nil
	}

	sum, err := hashReaderAt(s.R, s.Size)
	if err != nil {
		rec.block(VerdictFailed, ReasonInternal, "cannot read input")
		return finish()
	}
	rec.SHA256In = sum

	// The wall-time limit covers the handlers (and nested members); the
	// scans have their own clamd timeout and the quarantine must not be cut
	// short by a slow handler.
	hctx, cancel := context.WithTimeout(ctx, p.Limits.Timeout)
	defer cancel()

	if s.Size > p.Limits.MaxInputBytes {
		rec.block(VerdictBlocked, ReasonTooLarge, fmt.Sprintf("size %d over max_input_bytes %d", s.Size, p.Limits.MaxInputBytes))
	} else if e.scan(ctx, rec, io.NewSectionReader(s.R, 0, s.Size), "original") {
		// Scanning the original first means hostile content known to the
		// signature DB is never parsed by our handlers.
		res := e.core(hctx, rn, rec, s.R, s.Size, 0)
		if res != nil && rec.Verdict.Delivered() {
			if e.scan(ctx, rec, io.NewSectionReader(res.file, 0, res.size), "output") {
				out.Output, out.OutName = res.file, rec.OutName
			} else {
				res.close()
			}
		} else if res != nil {
			res.close()
		}
	}

	if p.Quarantine.Enabled {
		ref, err := e.cfg.Vault.Put(ctx, io.NewSectionReader(s.R, 0, s.Size), VaultMeta{
			RecordID: rec.ID, Name: s.Name, Size: s.Size, SHA256: rec.SHA256In, Verdict: rec.Verdict, Reason: rec.ReasonCode,
		})
		if err != nil {
			e.log.Error("quarantine failed", "id", rec.ID, "err", err)
			rec.block(VerdictFailed, ReasonQuarantine, "the original could not be quarantined")
			out.Close()
			out.OutName = ""
		} else {
			rn.mu.Lock()
			for _, r := range rn.records {
				r.Quarantine = ref
			}
			rn.mu.Unlock()
		}
	}
	if out.Output == nil {
		rec.SHA256Out, rec.SizeOut, rec.OutName = "", 0, ""
	}
	return finish()
}

// scan runs clamd over r; it reports whether processing may continue and
// sets the verdict otherwise.
func (e *Engine) scan(ctx context.Context, rec *Record, r io.Reader, what string) bool {
	c := e.cfg.Policy.Clamd
	if !c.Enabled {
		return true
	}
	sctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	virus, err := e.cfg.Scanner.Scan(sctx, r)
	switch {
	case err != nil:
		e.log.Warn("clamd scan failed", "id", rec.ID, "what", what, "err", err)
		if c.Required {
			rec.block(VerdictFailed, ReasonScanError, "virus scan of the "+what+" unavailable")
			return false
		}
		rec.Actions = append(rec.Actions, Action{Kind: "skipped", Object: "clamd scan of " + what, Count: 1, Detail: "clamd unavailable; policy allows"})
	case virus != "":
		rec.Virus = virus
		rec.block(VerdictBlocked, ReasonVirus, "virus found in the "+what+": "+virus)
		return false
	}
	return true
}

// output is a handler's result spooled to a temporary file.
type output struct {
	file *os.File
	size int64
}

func (o *output) close() {
	if o == nil || o.file == nil {
		return
	}
	name := o.file.Name()
	o.file.Close()
	os.Remove(name)
	o.file = nil
}

// core runs detection, name rules, policy, handler and inspector. It fills
// rec and returns the spooled output when the verdict is delivered.
func (e *Engine) core(ctx context.Context, rn *run, rec *Record, r io.ReaderAt, size int64, depth int) *output {
	p := e.cfg.Policy
	d := Detect(r, size, rec.Name, rec.ClaimedMIME)
	rec.Detected, rec.Charset, rec.AlsoDetected = d.Type, d.Charset, d.Also
	rec.NameIssues = CheckName(rec.Name, rec.ClaimedMIME, d)
	var blocking []string
	for _, issue := range rec.NameIssues {
		if p.NameRule(issue) != ActionAllow {
			blocking = append(blocking, string(issue))
		}
	}
	if len(blocking) > 0 {
		rec.block(VerdictBlocked, ReasonName, strings.Join(blocking, ", "))
		return nil
	}
	rule := p.Rule(d.Type)
	switch rule.Action {
	case ActionBlock:
		rec.block(VerdictBlocked, ReasonPolicy, "type "+string(d.Type)+" is blocked by policy"+detailSuffix(d.Detail))
		return nil
	case ActionHold:
		rec.block(VerdictHeld, ReasonPolicy, "type "+string(d.Type)+" is held by policy")
		return nil
	case ActionAllow:
		if d.Type != TypeText {
			rec.block(VerdictBlocked, ReasonPolicy, "allow applies to plain text only")
			return nil
		}
		if d.Charset != CharsetUTF8 {
			rec.block(VerdictFailed, ReasonNotText, "allow delivers UTF-8 text only; use sanitize to convert "+string(d.Charset))
			return nil
		}
		return e.finishOutput(ctx, rec, d.Type, nil, func(w io.Writer) (*Result, error) {
			_, err := io.Copy(w, io.NewSectionReader(r, 0, size))
			return &Result{OutType: TypeText}, err
		})
	}
	h, ok := e.cfg.Handlers[d.Type]
	if !ok {
		rec.block(VerdictFailed, ReasonNoHandler, "no handler for "+string(d.Type))
		return nil
	}
	opts := map[string]string{}
	for k, v := range rule.Options {
		opts[k] = v
	}
	opts["action"] = string(rule.Action) // "sanitize" or "convert"; set last so options cannot override it
	in := &Input{
		Name: rec.Name, Type: d.Type, R: r, Size: size, Limits: p.Limits, Options: opts, Depth: depth,
		Nested: &recurser{e: e, rn: rn, parent: rec, depth: depth + 1}, Budget: rn.budget,
	}
	return e.finishOutput(ctx, rec, d.Type, d.Also, func(w io.Writer) (*Result, error) {
		return h.Sanitize(ctx, in, w)
	})
}

func detailSuffix(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

// finishOutput runs produce under the limits into a temp file, then the
// inspector, and sets the verdict.
func (e *Engine) finishOutput(ctx context.Context, rec *Record, inType Type, _ []Type, produce func(io.Writer) (*Result, error)) *output {
	f, err := os.CreateTemp(e.cfg.TempDir, "kyojin-out-*")
	if err != nil {
		e.log.Error("temp file", "err", err)
		rec.block(VerdictFailed, ReasonInternal, "cannot create a temporary file")
		return nil
	}
	out := &output{file: f}
	res, err := e.runHandler(ctx, produce, &limitWriter{w: f, n: e.cfg.Policy.Limits.MaxDecompressedBytes})
	if err != nil {
		out.close()
		rec.fail(err)
		return nil
	}
	rec.Actions = append(rec.Actions, res.Actions...)
	outType := res.OutType
	if outType == "" {
		outType = inType
	}
	st, err := f.Stat()
	if err != nil {
		out.close()
		rec.block(VerdictFailed, ReasonInternal, "cannot stat output")
		return nil
	}
	out.size = st.Size()
	insp, ok := e.cfg.Inspectors[outType]
	if !ok {
		out.close()
		rec.block(VerdictFailed, ReasonNoInspector, "no inspector for "+string(outType))
		return nil
	}
	findings, err := safeInspect(ctx, insp, f, out.size)
	if err != nil || len(findings) > 0 {
		out.close()
		rec.Findings = findings
		msg := "the output could not be verified"
		if err == nil {
			names := make([]string, 0, len(findings))
			for _, fd := range findings {
				names = append(names, fd.Construct)
			}
			msg = "active content remains in the output: " + strings.Join(slices.Compact(names), ", ")
		} else {
			e.log.Warn("inspector error", "id", rec.ID, "err", err)
		}
		rec.block(VerdictFailed, ReasonInspection, msg)
		return nil
	}
	sum, err := hashReaderAt(f, out.size)
	if err != nil {
		out.close()
		rec.block(VerdictFailed, ReasonInternal, "cannot read output")
		return nil
	}
	rec.SHA256Out, rec.SizeOut, rec.OutType = sum, out.size, outType
	rec.OutName = OutputName(rec.Name, outType)
	rec.Verdict = verdictFor(res, inType, outType)
	if rec.Verdict == VerdictPartial {
		rec.ReasonCode, rec.Reason = ReasonMembers, "some archive members were withheld"
	}
	return out
}

// verdictFor picks the delivered verdict from what the handler did.
func verdictFor(res *Result, in, out Type) Verdict {
	if res.Partial {
		return VerdictPartial
	}
	if in != out {
		return VerdictConverted
	}
	changed := false
	for _, a := range res.Actions {
		switch a.Kind {
		case "converted":
			return VerdictConverted
		case "removed", "replaced", "defanged", "normalized":
			changed = true
		}
	}
	if changed {
		return VerdictSanitized
	}
	return VerdictClean
}

// runHandler runs produce in its own goroutine so that the wall-time limit
// holds even for code that never looks at ctx (image decoders); a panic is
// recovered into an error. On timeout the goroutine is abandoned: its
// writes go to a file that is removed.
func (e *Engine) runHandler(ctx context.Context, produce func(io.Writer) (*Result, error), w io.Writer) (*Result, error) {
	type ret struct {
		res *Result
		err error
	}
	ch := make(chan ret, 1)
	go func() {
		defer func() {
			if v := recover(); v != nil {
				e.log.Error("handler panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				ch <- ret{err: &panicError{v: v}}
			}
		}()
		res, err := produce(w)
		if err == nil && res == nil {
			err = errors.New("handler returned no result")
		}
		ch <- ret{res, err}
	}()
	select {
	case r := <-ch:
		if r.err == nil && ctx.Err() != nil {
			r.err = ctx.Err()
		}
		return r.res, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

type panicError struct{ v any }

func (p *panicError) Error() string { return fmt.Sprintf("handler panic: %v", p.v) }

func safeInspect(ctx context.Context, insp Inspector, r io.ReaderAt, size int64) (f []Finding, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("inspector panic: %v", v)
		}
	}()
	return insp.Inspect(ctx, r, size)
}

// limitWriter fails writes beyond n bytes so that a handler cannot fill the disk.
type limitWriter struct {
	w io.Writer
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > l.n {
		return 0, fmt.Errorf("output over max_decompressed_bytes: %w", ErrLimit)
	}
	l.n -= int64(len(p))
	return l.w.Write(p)
}

func (e *Engine) newRecord(parent, name, mimeType string, size int64) *Record {
	ext, _ := splitExt(name)
	p := e.cfg.Policy
	return &Record{
		ID: newID(), ParentID: parent, Start: e.now(), Name: name, ClaimedExt: ext, ClaimedMIME: mimeType,
		SizeIn: size, PolicyName: p.Name, PolicyVersion: p.Version, EngineVersion: EngineVersion,
		Actions: []Action{}, Detected: TypeUnknown,
	}
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40 // UUID version 4
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

// block sets a non-delivered verdict.
func (r *Record) block(v Verdict, code, reason string) {
	r.Verdict, r.ReasonCode, r.Reason = v, code, reason
	r.SHA256Out, r.SizeOut, r.OutName, r.OutType = "", 0, "", ""
}

// fail maps a handler error to its verdict.
func (r *Record) fail(err error) {
	var pe *panicError
	switch {
	case errors.Is(err, ErrEncrypted):
		r.block(VerdictHeld, ReasonEncrypted, err.Error())
	case errors.Is(err, errBudget):
		r.block(VerdictBlocked, ReasonBudget, err.Error())
	case errors.Is(err, ErrLimit):
		r.block(VerdictBlocked, ReasonLimit, err.Error())
	case errors.Is(err, ErrRejected):
		r.block(VerdictBlocked, ReasonRejected, err.Error())
	case errors.Is(err, context.DeadlineExceeded):
		r.block(VerdictFailed, ReasonTimeout, "processing time limit exceeded")
	case errors.As(err, &pe):
		r.block(VerdictFailed, ReasonPanic, "the handler crashed")
	default:
		r.block(VerdictFailed, ReasonHandler, err.Error())
	}
}

func hashReaderAt(r io.ReaderAt, size int64) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(r, 0, size)); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

// errBudget marks the shared decompression budget as spent: the whole
// submission stops, not just one member.
var errBudget = fmt.Errorf("archive decompression budget spent: %w", ErrLimit)

// recurser runs archive members through core.
type recurser struct {
	e      *Engine
	rn     *run
	parent *Record
	depth  int
}

func (rc *recurser) Member(ctx context.Context, m Member) (*MemberResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	rec := rc.e.newRecord(rc.parent.ID, m.Name, "", m.Size)
	sum, err := hashReaderAt(m.R, m.Size)
	if err != nil {
		return nil, fmt.Errorf("member %s: %w", m.Name, err)
	}
	rec.SHA256In = sum
	out := rc.e.core(ctx, rc.rn, rec, m.R, m.Size, rc.depth)
	// The record joins the outcome only once complete (so nested members
	// precede their archive), and is not written to afterwards.
	rec.End = rc.e.now()
	rc.rn.add(rec)
	if rc.rn.budget.Exhausted() {
		out.close()
		return nil, errBudget
	}
	if out == nil {
		return NewMemberResult(rec.Verdict, rec.Reason, "", nil, 0, nil), nil
	}
	return NewMemberResult(rec.Verdict, rec.Reason, rec.OutName, out.file, out.size, func() error { out.close(); return nil }), nil
}
