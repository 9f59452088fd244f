// Package transfer is the zone-to-zone file transfer (ファイル無害化転送):
// files uploaded on the Internet side pass the sanitization engine before
// LGWAN users may download them, exports from LGWAN need a superior's
// approval (上長承認), originals stay in the encrypted quarantine, and every
// step is written to the audit log. It implements the guideline's rule that
// data enters LGWAN from the Internet only after 無害化 (standards clause
// 3(1), the three-layer model) and Reference 5 items 4 and 8 (media and data
// carried under control: approval, approval records, history kept).
//
// The package knows nothing of HTTP: package web calls the Service with the
// side a request arrived on, which the server takes from the listener.
package transfer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer/aeszip"
)

// Side is the network zone a request arrived from. The server sets it per
// listener; nothing a client sends can change it.
type Side string

const (
	SideInternet Side = "internet"
	SideLGWAN    Side = "lgwan"
)

// JA names the side for messages.
func (s Side) JA() string {
	if s == SideLGWAN {
		return "LGWAN 側"
	}
	return "インターネット側"
}

// Direction of a transfer.
type Direction string

const (
	// In is Internet → LGWAN: sanitized before anyone in LGWAN sees it.
	In Direction = "in"
	// Out is LGWAN → Internet: always approved, classification stated.
	Out Direction = "out"
)

// From is the side where a transfer of direction d is uploaded.
func (d Direction) From() Side {
	if d == Out {
		return SideLGWAN
	}
	return SideInternet
}

// To is the side where it is downloaded.
func (d Direction) To() Side {
	if d == Out {
		return SideInternet
	}
	return SideLGWAN
}

// Statuses of a transfer.
const (
	StatusPending   = "pending"   // waiting for approval
	StatusAvailable = "available" // recipients may download
	StatusRejected  = "rejected"
	StatusExpired   = "expired"
)

// Audit actions.
const (
	ActSubmit    = "transfer.submit"
	ActApprove   = "transfer.approve"
	ActReject    = "transfer.reject"
	ActLink      = "transfer.link"
	ActDownload  = "transfer.download"
	ActLinkFail  = "transfer.link_refused"
	ActRelease   = "transfer.release"
	ActWrongSide = "transfer.wrong_side"
	ActExpire    = "transfer.expire"
)

// Policy decides limits and when a superior must approve.
type Policy struct {
	MaxFiles      int
	MaxFileBytes  int64
	MaxTotalBytes int64
	// Approval for Internet → LGWAN: every transfer, above a total size,
	// or when a file's detected type is listed (e.g. "docm", "zip").
	// LGWAN → Internet always needs approval.
	ApproveAll        bool
	ApproveAboveBytes int64 // 0 = no size rule
	ApproveTypes      []string
	// EncryptFromRank: exports classified at this rank (model.Confidentiality.Rank)
	// or above must be encrypted for download; 0 = never.
	EncryptFromRank int
	Retention       time.Duration // how long a transfer stays downloadable
	LinkTTL         time.Duration // lifetime of a download link
}

// DefaultPolicy is a conservative start: approval for macro-capable and
// archive types, 機密性2 exports encrypted.
func DefaultPolicy() Policy {
	return Policy{MaxFiles: 20, MaxFileBytes: 100 << 20, MaxTotalBytes: 500 << 20,
		ApproveTypes:    []string{"docm", "xlsm", "pptm", "zip", "7z"},
		EncryptFromRank: 2, Retention: 7 * 24 * time.Hour, LinkTTL: 15 * time.Minute}
}

// Engine is the sanitization engine (sanitize.Engine).
type Engine interface {
	Process(ctx context.Context, s sanitize.Submission) (*sanitize.Outcome, error)
}

// Originals writes a quarantined original to w (quarantine.Store.Extract
// wrapped by the caller).
type Originals func(ref string, w io.Writer) error

// Notifier sends mail to users (by login name).
type Notifier interface {
	Notify(ctx context.Context, users []string, subject, body string) error
}

// Service runs transfers.
type Service struct {
	Store     store.TransferStore
	Audit     *audit.Log
	Engine    Engine
	Originals Originals // nil: originals cannot be released
	Notifier  Notifier  // nil: no mail
	// Users knows the users and their grants: who may approve a transfer
	// depends on where its sender sits in the organisation.
	Users Users
	// DepartmentOf maps a division to its department (from the model), so
	// that a department's security officer approves for its divisions; nil
	// or "" when unknown (then only the division's manager and the
	// organisation-wide roles approve).
	DepartmentOf func(division string) string
	Dir          string // sanitized outputs, one directory per transfer
	Policy       Policy
	Log          *slog.Logger
	Now          func() time.Time
}

// Users is the part of the store holding users and their grants.
type Users interface {
	UserByName(ctx context.Context, name string) (*store.User, error)
	ListUsers(ctx context.Context) ([]store.User, error)
	Grants(ctx context.Context, userID int64) ([]store.Grant, error)
}

// Error is a problem the user can fix; Msg is Japanese and safe to show.
type Error struct {
	Msg string
	Err error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}
func (e *Error) Unwrap() error { return e.Err }

func userErr(format string, a ...any) error { return &Error{Msg: fmt.Sprintf(format, a...)} }

// ErrWrongSide is returned when an action is attempted from the other zone.
var ErrWrongSide = errors.New("transfer: action not allowed on this side")

// Upload is one received file, already spooled to a temporary file.
type Upload struct {
	Name string
	MIME string
	Path string
	Size int64
}

// Request is a new transfer.
type Request struct {
	Side           Side // where the upload arrived
	Sender         string
	Recipients     []string
	Purpose        string
	Classification string // model.Confidentiality; required for exports
	Files          []Upload
}

// CheckName refuses names that could escape a directory or confuse a
// reader: path separators, "..", control and bidi-override characters.
func CheckName(name string) error {
	switch {
	case name == "" || strings.TrimSpace(name) == "":
		return userErr("ファイル名が空です。")
	case !utf8.ValidString(name):
		return userErr("ファイル名の文字コードが不正です。")
	case len(name) > 255:
		return userErr("ファイル名が長すぎます（255 バイトまで）。")
	case strings.ContainsAny(name, `/\`) || name == "." || name == ".." || strings.HasPrefix(name, ".."):
		return userErr("ファイル名「%s」にパス（/ \\ ..）が含まれています。ファイル名だけを指定してください。", printable(name))
	}
	for _, r := range name {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) || r == '\u2028' || r == '\u2029' {
			return userErr("ファイル名「%s」に制御文字が含まれています。", printable(name))
		}
	}
	return nil
}

// printable replaces control characters for display in a message.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Bidi_Control, r) {
			return '?'
		}
		return r
	}, s)
}

// Validate checks a request before any file reaches the engine, so that
// a bad request stores nothing.
func (s *Service) Validate(req *Request) (Direction, error) {
	dir := In
	if req.Side == SideLGWAN {
		dir = Out
	}
	if req.Side != SideInternet && req.Side != SideLGWAN {
		return "", ErrWrongSide
	}
	p := s.Policy
	if len(req.Files) == 0 {
		return "", userErr("ファイルを選択してください。")
	}
	if p.MaxFiles > 0 && len(req.Files) > p.MaxFiles {
		return "", userErr("一度に送れるファイルは %d 個までです。", p.MaxFiles)
	}
	var total int64
	seen := map[string]bool{}
	for _, f := range req.Files {
		if err := CheckName(f.Name); err != nil {
			return "", err
		}
		key := strings.ToLower(f.Name)
		if seen[key] {
			return "", userErr("同じ名前のファイル「%s」が複数あります。名前を変えてから送ってください。", f.Name)
		}
		seen[key] = true
		if f.Size == 0 {
			return "", userErr("ファイル「%s」は空（0 バイト）です。", f.Name)
		}
		if p.MaxFileBytes > 0 && f.Size > p.MaxFileBytes {
			return "", userErr("ファイル「%s」が大きすぎます（上限 %s）。", f.Name, humanBytes(p.MaxFileBytes))
		}
		total += f.Size
	}
	if p.MaxTotalBytes > 0 && total > p.MaxTotalBytes {
		return "", userErr("ファイルの合計が大きすぎます（上限 %s）。", humanBytes(p.MaxTotalBytes))
	}
	if len(req.Recipients) == 0 {
		return "", userErr("受取人を指定してください。")
	}
	for _, r := range req.Recipients {
		if r == "" || strings.ContainsFunc(r, func(c rune) bool { return unicode.IsControl(c) || unicode.IsSpace(c) }) {
			return "", userErr("受取人の指定が不正です。")
		}
	}
	if strings.TrimSpace(req.Purpose) == "" {
		return "", userErr("利用目的を入力してください。")
	}
	if dir == Out {
		// Exports carry LGWAN data out: the classification must be stated
		// (standards clause 2, information asset classification).
		if model.Confidentiality(req.Classification).Rank() == 0 {
			return "", userErr("LGWAN からの持ち出しには機密性の分類（1、2、3A、3B、3C）の指定が必要です。")
		}
		if model.Confidentiality(req.Classification).Rank() >= 3 {
			return "", userErr("機密性3 の情報はインターネット側へ持ち出せません。")
		}
	} else if req.Classification != "" && model.Confidentiality(req.Classification).Rank() == 0 {
		return "", userErr("機密性の分類が不正です。")
	}
	return dir, nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<20:
		return fmt.Sprintf("%d MB", n>>20)
	case n >= 1<<10:
		return fmt.Sprintf("%d KB", n>>10)
	}
	return fmt.Sprintf("%d バイト", n)
}

func newID() string {
	b := make([]byte, 12)
	rand.Read(b)
	return hex.EncodeToString(b)
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.New(slog.DiscardHandler)
}

// Result is a stored transfer with its files and the engine's full records
// (members included) for the sender's immediate report.
type Result struct {
	Transfer *store.Transfer
	Files    []store.TransferFile
	Records  [][]*sanitize.Record
	// Password opens the encrypted download of an export (Transfer.Encrypt).
	// It exists only here: shown once to the exporter, who hands it to the
	// recipient by another channel; it is never stored, logged or mailed.
	Password string
}

// NewPassword returns a random password for an encrypted export: 20
// characters without look-alikes (about 117 bits), easy to read out.
func NewPassword() string { return auth.GeneratePassword() }

// Submit validates the request, runs every file through the engine, keeps
// the sanitized outputs and stores the transfer. On any error nothing is
// stored and the outputs written so far are removed; the originals remain
// in the quarantine, which the engine filled, as evidence.
func (s *Service) Submit(ctx context.Context, req *Request) (res *Result, err error) {
	dir, err := s.Validate(req)
	if err != nil {
		return nil, err
	}
	now := s.now()
	t := &store.Transfer{ID: newID(), Direction: string(dir), Sender: req.Sender, Recipients: req.Recipients,
		Purpose: strings.TrimSpace(req.Purpose), Classification: req.Classification, Status: StatusAvailable,
		CreatedAt: now, ExpiresAt: now.Add(s.Policy.Retention)}
	outDir := filepath.Join(s.Dir, t.ID)
	if err := os.MkdirAll(outDir, 0o700); err != nil {
		return nil, fmt.Errorf("transfer output directory: %w", err)
	}
	defer func() {
		if err != nil {
			os.RemoveAll(outDir)
		}
	}()
	res = &Result{Transfer: t}
	if dir == Out && s.Policy.EncryptFromRank > 0 && model.Confidentiality(t.Classification).Rank() >= s.Policy.EncryptFromRank {
		// The download leaves as an AES-256 ZIP whose password is shown
		// once to the exporter and kept nowhere (Result.Password).
		t.Encrypt = true
		res.Password = NewPassword()
	}
	var total int64
	var types []string
	for i, u := range req.Files {
		f, recs, err := s.sanitizeOne(ctx, u, outDir, i+1, res.Password)
		if err != nil {
			return nil, err
		}
		f.TransferID = t.ID
		res.Files = append(res.Files, *f)
		res.Records = append(res.Records, recs)
		total += u.Size
		types = append(types, f.Type)
	}
	t.ApprovalReason = s.approvalReason(dir, total, types)
	if t.ApprovalReason != "" {
		t.Status = StatusPending
	}
	if err := s.Store.CreateTransfer(ctx, t, res.Files); err != nil {
		return nil, fmt.Errorf("store transfer: %w", err)
	}
	units, uerr := s.UnitsOf(ctx, req.Sender)
	if uerr != nil {
		s.log().Warn("sender's organisational units unknown", "sender", req.Sender, "err", uerr)
	}
	verdicts := make([]map[string]any, len(res.Files))
	for i, f := range res.Files {
		verdicts[i] = map[string]any{"name": f.Name, "sha256": f.SHA256, "verdict": f.Verdict, "quarantine": f.Quarantine}
	}
	s.audit(ctx, req.Sender, ActSubmit, t.ID, map[string]any{"direction": t.Direction, "side": req.Side,
		"recipients": t.Recipients, "purpose": t.Purpose, "classification": t.Classification,
		"status": t.Status, "approval": t.ApprovalReason, "files": verdicts, "sender_units": units})
	if t.Status == StatusPending {
		s.notifyApprovers(ctx, t)
	} else {
		s.notify(ctx, t.Recipients, "ファイルが届きました", fmt.Sprintf("%s さんからファイルが届きました（%s）。\n目的: %s\n受付番号: %s\n", t.Sender, dir.To().JA(), t.Purpose, t.ID))
	}
	return res, nil
}

// sanitizeOne runs one upload through the engine and copies a delivered
// output into outDir/<seq>, inside an AES-256 ZIP when password is set.
func (s *Service) sanitizeOne(ctx context.Context, u Upload, outDir string, seq int, password string) (*store.TransferFile, []*sanitize.Record, error) {
	in, err := os.Open(u.Path)
	if err != nil {
		return nil, nil, fmt.Errorf("open upload: %w", err)
	}
	defer in.Close()
	out, err := s.Engine.Process(ctx, sanitize.Submission{Name: u.Name, MIME: u.MIME, R: in, Size: u.Size})
	if err != nil {
		return nil, nil, fmt.Errorf("sanitize %q: %w", u.Name, err)
	}
	defer out.Close()
	rec := out.Record()
	actions := []sanitize.Action{}
	for _, r := range out.Records {
		actions = append(actions, r.Actions...)
	}
	aj, _ := json.Marshal(actions)
	f := &store.TransferFile{Seq: seq, Name: u.Name, Size: u.Size, SHA256: rec.SHA256In, Type: string(rec.Detected),
		Verdict: string(rec.Verdict), Reason: rec.Reason, Actions: string(aj), Quarantine: rec.Quarantine}
	if out.Output != nil && rec.Verdict.Delivered() {
		dst := filepath.Join(outDir, fmt.Sprint(seq))
		f.OutName = cleanOutName(out.OutName, u.Name)
		var err error
		if password != "" {
			f.OutSize, f.OutSHA256, err = encryptFile(dst, out.Output, f.OutName, password, s.now())
			f.OutName += ".zip"
		} else {
			f.OutSHA256, f.OutSize, err = copyFile(dst, out.Output)
		}
		if err != nil {
			return nil, nil, err
		}
	}
	return f, out.Records, nil
}

// cleanOutName keeps the engine's output name when it passes the name
// rules, and falls back to the upload name.
func cleanOutName(out, in string) string {
	if out != "" && CheckName(out) == nil {
		return out
	}
	return in
}

func copyFile(dst string, src *os.File) (string, int64, error) {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return "", 0, fmt.Errorf("rewind output: %w", err)
	}
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", 0, fmt.Errorf("store output: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), src)
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", 0, fmt.Errorf("store output: %w", err)
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// encryptFile writes src as the single entry name of an AES-256 ZIP at dst
// and returns the archive's size and SHA-256.
func encryptFile(dst string, src *os.File, name, password string, now time.Time) (int64, string, error) {
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		return 0, "", fmt.Errorf("rewind output: %w", err)
	}
	w, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return 0, "", fmt.Errorf("store output: %w", err)
	}
	h := sha256.New()
	zw := aeszip.NewWriter(io.MultiWriter(w, h), password)
	zw.TempDir = filepath.Dir(dst)
	err = zw.Add(name, now, src)
	if err == nil {
		err = zw.Close()
	}
	var size int64
	if err == nil {
		size, err = w.Seek(0, io.SeekCurrent)
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return 0, "", fmt.Errorf("encrypt output: %w", err)
	}
	return size, hex.EncodeToString(h.Sum(nil)), nil
}

// approvalReason says why a transfer needs approval, "" when it does not.
func (s *Service) approvalReason(dir Direction, total int64, types []string) string {
	p := s.Policy
	switch {
	case dir == Out:
		return "LGWAN からの持ち出しは常に承認が必要です"
	case p.ApproveAll:
		return "すべての転送に承認が必要です（ポリシー）"
	case p.ApproveAboveBytes > 0 && total > p.ApproveAboveBytes:
		return fmt.Sprintf("合計 %s を超える転送には承認が必要です（ポリシー）", humanBytes(p.ApproveAboveBytes))
	}
	for _, t := range types {
		if slices.Contains(p.ApproveTypes, t) {
			return fmt.Sprintf("種類 %s のファイルには承認が必要です（ポリシー）", t)
		}
	}
	return ""
}

// Get returns a transfer and its files.
func (s *Service) Get(ctx context.Context, id string) (*store.Transfer, []store.TransferFile, error) {
	t, err := s.Store.Transfer(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	files, err := s.Store.TransferFiles(ctx, id)
	return t, files, err
}

// Decide approves or rejects a pending transfer. Approval is always an
// LGWAN-side action: the superior works in LGWAN for imports and exports
// alike. The sender cannot approve their own transfer (separation of duties).
func (s *Service) Decide(ctx context.Context, side Side, approver, id string, approve bool, reason string) (*store.Transfer, error) {
	if side != SideLGWAN {
		return nil, ErrWrongSide
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return nil, userErr("承認・却下の理由を入力してください。")
	}
	t, err := s.Store.Transfer(ctx, id)
	if err != nil {
		return nil, err
	}
	if t.Sender == approver {
		return nil, userErr("自分が送った転送は承認できません。")
	}
	if t.Status != StatusPending {
		return nil, userErr("この転送は承認待ちではありません（状態: %s）。", StatusJA(t.Status))
	}
	units, err := s.UnitsOf(ctx, t.Sender)
	if err != nil {
		return nil, err
	}
	if ok, err := s.MayApprove(ctx, approver, t); err != nil {
		return nil, err
	} else if !ok {
		s.log().Warn("transfer decision refused: approver not entitled", "approver", approver, "transfer", t.ID, "sender", t.Sender)
		return nil, notEntitled(t.Sender, units)
	}
	t.Status, t.Approver, t.Decision, t.DecidedAt = StatusRejected, approver, reason, s.now()
	act := ActReject
	if approve {
		t.Status, act = StatusAvailable, ActApprove
	}
	if err := s.Store.DecideTransfer(ctx, t, StatusPending); errors.Is(err, store.ErrStale) {
		return nil, userErr("この転送は既に他の承認者が処理しました。")
	} else if err != nil {
		return nil, err
	}
	s.audit(ctx, approver, act, t.ID, map[string]any{"reason": reason, "direction": t.Direction, "sender": t.Sender, "sender_units": units})
	if approve {
		body := fmt.Sprintf("%s さんからの転送（%s）が承認され、受け取れます。\n受付番号: %s\n", t.Sender, t.Purpose, t.ID)
		if t.Encrypt {
			// The password never travels with the link (it is not even known here).
			body += "ファイルはパスワード付き ZIP（AES-256）です。パスワードは送信者から別の方法で伝えられます。\n"
		}
		s.notify(ctx, t.Recipients, "ファイルが承認されました", body)
	}
	s.notify(ctx, []string{t.Sender}, "転送の承認結果", fmt.Sprintf("転送 %s は%sされました。理由: %s\n", t.ID, map[bool]string{true: "承認", false: "却下"}[approve], reason))
	return t, nil
}

// Units is where a user sits in the organisation: the divisions (課室)
// and departments (部局) named by the scopes of their grants.
type Units struct {
	Divisions   []string `json:"divisions,omitempty"`
	Departments []string `json:"departments,omitempty"`
}

func (u Units) String() string {
	var parts []string
	for _, d := range u.Divisions {
		parts = append(parts, "課室 "+d)
	}
	for _, d := range u.Departments {
		parts = append(parts, "部局 "+d)
	}
	return strings.Join(parts, "、")
}

func (s *Service) subject(ctx context.Context, name string) (*auth.Subject, error) {
	if s.Users == nil {
		return nil, errors.New("transfer: no user directory configured")
	}
	u, err := s.Users.UserByName(ctx, name)
	if err != nil {
		return nil, err
	}
	g, err := s.Users.Grants(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	return &auth.Subject{User: u, Grants: g}, nil
}

// UnitsOf returns where user sits: a staff or manager grant scoped
// "division:ID" places them in that division (and its department), an
// officer's "department:ID" in that department. An unknown user sits nowhere.
func (s *Service) UnitsOf(ctx context.Context, user string) (Units, error) {
	var u Units
	sub, err := s.subject(ctx, user)
	if errors.Is(err, store.ErrNotFound) {
		return u, nil
	} else if err != nil {
		return u, err
	}
	add := func(l *[]string, v string) {
		if v != "" && !slices.Contains(*l, v) {
			*l = append(*l, v)
		}
	}
	for _, g := range sub.Grants {
		kind, id, _ := strings.Cut(g.Scope, ":")
		switch kind {
		case "division":
			add(&u.Divisions, id)
			if s.DepartmentOf != nil {
				add(&u.Departments, s.DepartmentOf(id))
			}
		case "department":
			add(&u.Departments, id)
		}
	}
	return u, nil
}

// MayApprove reports whether approver is entitled to decide on t: the
// 情報セキュリティ管理者 of the sender's division, the 情報セキュリティ責任者
// of its department, or an organisation-wide role (CISO, 統括情報セキュリティ
// 責任者), following the line of responsibility of standards clause 1(1)-(4).
// The sender never approves their own transfer.
func (s *Service) MayApprove(ctx context.Context, approver string, t *store.Transfer) (bool, error) {
	if approver == t.Sender {
		return false, nil
	}
	sub, err := s.subject(ctx, approver)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	} else if err != nil {
		return false, err
	}
	if sub.User.Disabled || !sub.Can(auth.PermTransferApprove) {
		return false, nil
	}
	sc := sub.ScopeFor(auth.PermTransferApprove)
	if sc.All {
		return true, nil
	}
	units, err := s.UnitsOf(ctx, t.Sender)
	if err != nil {
		return false, err
	}
	return slices.ContainsFunc(units.Divisions, func(d string) bool { return sc.Divisions[d] }) ||
		slices.ContainsFunc(units.Departments, func(d string) bool { return sc.Departments[d] }), nil
}

// approversFor lists the enabled users entitled to decide on t.
func (s *Service) approversFor(ctx context.Context, t *store.Transfer) ([]string, error) {
	if s.Users == nil {
		return nil, errors.New("transfer: no user directory configured")
	}
	users, err := s.Users.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, u := range users {
		if u.Disabled {
			continue
		}
		if ok, err := s.MayApprove(ctx, u.Name, t); err != nil {
			return nil, err
		} else if ok {
			out = append(out, u.Name)
		}
	}
	return out, nil
}

// notEntitled explains who may approve a transfer from units.
func notEntitled(sender string, units Units) error {
	if len(units.Divisions)+len(units.Departments) == 0 {
		return userErr("この転送を承認する権限がありません。送信者 %s の所属（課室）が登録されていないため、CISO または統括情報セキュリティ責任者だけが承認できます。", sender)
	}
	return userErr("この転送を承認する権限がありません。承認できるのは送信者 %s の所属（%s）の情報セキュリティ管理者・情報セキュリティ責任者、CISO または統括情報セキュリティ責任者です。", sender, units)
}

// StatusJA names a status.
func StatusJA(st string) string {
	switch st {
	case StatusPending:
		return "承認待ち"
	case StatusAvailable:
		return "受け取り可能"
	case StatusRejected:
		return "却下"
	case StatusExpired:
		return "期限切れ"
	}
	return st
}

// IssueLink creates an expiring single-use link to a sanitized file for a
// recipient on the destination side. It returns the secret for the URL.
func (s *Service) IssueLink(ctx context.Context, side Side, user, id string, seq int) (string, error) {
	t, err := s.Store.Transfer(ctx, id)
	if err != nil {
		return "", err
	}
	if side != Direction(t.Direction).To() {
		return "", ErrWrongSide
	}
	if !slices.Contains(t.Recipients, user) {
		return "", userErr("この転送の受取人ではありません。")
	}
	if t.Status != StatusAvailable || !s.now().Before(t.ExpiresAt) {
		return "", userErr("この転送はまだ受け取れないか、期限が切れています（状態: %s）。", StatusJA(t.Status))
	}
	files, err := s.Store.TransferFiles(ctx, id)
	if err != nil {
		return "", err
	}
	i := slices.IndexFunc(files, func(f store.TransferFile) bool { return f.Seq == seq })
	if i < 0 || files[i].OutName == "" {
		return "", userErr("このファイルは無害化できなかったため受け取れません。")
	}
	b := make([]byte, 32)
	rand.Read(b)
	secret := base64.RawURLEncoding.EncodeToString(b)
	now := s.now()
	if err := s.Store.CreateDownloadLink(ctx, &store.DownloadLink{Token: TokenHash(secret), TransferID: id, Seq: seq,
		User: user, CreatedAt: now, ExpiresAt: now.Add(s.Policy.LinkTTL)}); err != nil {
		return "", err
	}
	s.audit(ctx, user, ActLink, id, map[string]any{"seq": seq, "expires": now.Add(s.Policy.LinkTTL)})
	return secret, nil
}

// TokenHash is what the store keeps of a link secret.
func TokenHash(secret string) string {
	h := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(h[:])
}

// Download is an opened sanitized file.
type Download struct {
	Name string
	Size int64
	File *os.File
}

// Redeem uses a link once and opens the sanitized file. The link is bound
// to the user who asked for it and to the destination side.
func (s *Service) Redeem(ctx context.Context, side Side, user, secret string) (*Download, error) {
	if secret == "" || len(secret) > 100 {
		return nil, userErr("ダウンロードのリンクが正しくありません。")
	}
	l, err := s.Store.RedeemDownloadLink(ctx, TokenHash(secret), s.now())
	if err != nil {
		msg := map[error]string{
			store.ErrNotFound: "ダウンロードのリンクが正しくありません。",
			store.ErrExpired:  "ダウンロードのリンクの有効期限が切れています。受信一覧からもう一度ダウンロードしてください。",
			store.ErrUsed:     "このダウンロードのリンクは使用済みです（リンクは一度だけ使えます）。",
		}
		for e, m := range msg {
			if errors.Is(err, e) {
				s.audit(ctx, user, ActLinkFail, "", map[string]any{"why": e.Error()})
				return nil, &Error{Msg: m, Err: err}
			}
		}
		return nil, err
	}
	t, files, err := s.Get(ctx, l.TransferID)
	if err != nil {
		return nil, err
	}
	if side != Direction(t.Direction).To() {
		return nil, ErrWrongSide
	}
	if l.User != user {
		s.audit(ctx, user, ActLinkFail, t.ID, map[string]any{"why": "link of another user", "owner": l.User})
		return nil, userErr("このリンクは別の利用者のものです。")
	}
	if t.Status != StatusAvailable {
		return nil, userErr("この転送は受け取れません（状態: %s）。", StatusJA(t.Status))
	}
	i := slices.IndexFunc(files, func(f store.TransferFile) bool { return f.Seq == l.Seq })
	if i < 0 || files[i].OutName == "" {
		return nil, userErr("このファイルは受け取れません。")
	}
	if t.Encrypt && !strings.HasSuffix(files[i].OutName, ".zip") {
		// Fail closed: an export that must be encrypted never leaves in clear.
		return nil, fmt.Errorf("transfer %s file %d: encryption required but output is not an encrypted archive", t.ID, l.Seq)
	}
	f, err := os.Open(filepath.Join(s.Dir, t.ID, fmt.Sprint(l.Seq)))
	if err != nil {
		return nil, fmt.Errorf("open output: %w", err)
	}
	s.audit(ctx, user, ActDownload, t.ID, map[string]any{"seq": l.Seq, "name": files[i].OutName, "sha256": files[i].OutSHA256})
	return &Download{Name: files[i].OutName, Size: files[i].OutSize, File: f}, nil
}

// ReleaseOriginal writes a quarantined original to w. Only a privileged
// role may call it (checked by the caller, which knows the subject); a
// reason is mandatory and the release is audited before any byte leaves.
func (s *Service) ReleaseOriginal(ctx context.Context, side Side, operator, id string, seq int, reason string, w io.Writer) (string, error) {
	if side != SideLGWAN {
		return "", ErrWrongSide
	}
	reason = strings.TrimSpace(reason)
	if reason == "" {
		return "", userErr("原本を取り出す理由を入力してください。")
	}
	if s.Originals == nil {
		return "", userErr("原本の保管（隔離）が設定されていません。")
	}
	t, files, err := s.Get(ctx, id)
	if err != nil {
		return "", err
	}
	if t.Direction != string(In) {
		return "", userErr("原本の取り出しはインターネットからの転送にだけ使えます。")
	}
	i := slices.IndexFunc(files, func(f store.TransferFile) bool { return f.Seq == seq })
	if i < 0 || files[i].Quarantine == "" {
		return "", userErr("このファイルの原本は保管されていません。")
	}
	if _, err := s.Audit.Append(ctx, audit.Event{Actor: operator, Action: ActRelease, Target: id,
		Details: map[string]any{"seq": seq, "name": files[i].Name, "sha256": files[i].SHA256, "quarantine": files[i].Quarantine, "reason": reason}}); err != nil {
		return "", fmt.Errorf("audit release: %w", err)
	}
	if err := s.Originals(files[i].Quarantine, w); err != nil {
		return "", fmt.Errorf("extract original: %w", err)
	}
	return files[i].Name, nil
}

// RefuseWrongSide records an attempt to use an action from the other zone.
func (s *Service) RefuseWrongSide(ctx context.Context, side Side, user, what string) {
	s.log().Warn("transfer action refused on this side", "side", side, "user", user, "action", what)
	s.audit(ctx, user, ActWrongSide, what, map[string]any{"side": side})
}

// Expire marks transfers past their retention as expired and removes
// their sanitized outputs (originals follow the quarantine's retention).
func (s *Service) Expire(ctx context.Context) error {
	ids, err := s.Store.ExpireTransfers(ctx, s.now())
	for _, id := range ids {
		os.RemoveAll(filepath.Join(s.Dir, id))
		s.audit(ctx, "system", ActExpire, id, nil)
	}
	return err
}

func (s *Service) audit(ctx context.Context, actor, action, target string, details map[string]any) {
	if s.Audit == nil {
		return
	}
	if details == nil {
		details = map[string]any{}
	}
	if _, err := s.Audit.Append(ctx, audit.Event{Actor: cmpOr(actor, "anonymous"), Action: action, Target: target, Details: details}); err != nil {
		s.log().Error("transfer audit failed", "action", action, "target", target, "err", err)
	}
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func (s *Service) notifyApprovers(ctx context.Context, t *store.Transfer) {
	names, err := s.approversFor(ctx, t)
	if err != nil {
		s.log().Warn("approver lookup failed", "err", err)
		return
	}
	if len(names) == 0 {
		s.log().Warn("no approver is entitled for a pending transfer", "transfer", t.ID, "sender", t.Sender)
	}
	s.notify(ctx, names, "転送の承認依頼", fmt.Sprintf("%s さんからの転送の承認をお願いします。\n理由: %s\n目的: %s\n受付番号: %s\n", t.Sender, t.ApprovalReason, t.Purpose, t.ID))
}

func (s *Service) notify(ctx context.Context, users []string, subject, body string) {
	if s.Notifier == nil || len(users) == 0 {
		return
	}
	if err := s.Notifier.Notify(ctx, users, "[kyojin] "+subject, body); err != nil {
		// A failed notice does not undo the transfer; it is visible in the UI.
		s.log().Warn("transfer notification failed", "subject", subject, "err", err)
	}
}
