package web

import (
	"bufio"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
)

// sideKey keys the zone a request arrived on. Only SideHandler sets it, from
// the listener the server was started with; no header can change it.
type sideKey struct{}

// SideHandler returns the console for one transfer listener: the same pages,
// plus the transfer pages with the side fixed to side.
func (s *Server) SideHandler(side transfer.Side) http.Handler {
	h := s.Handler()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), sideKey{}, side)))
	})
}

func sideOf(r *http.Request) transfer.Side {
	side, _ := r.Context().Value(sideKey{}).(transfer.Side)
	return side
}

func (s *Server) transferRoutes() {
	m := s.mux
	m.Handle("GET /transfer", s.transferOn("", auth.PermTransferUse, s.transferHome))
	m.Handle("POST /transfer/upload", s.transferOn("", auth.PermTransferUse, s.transferUpload))
	m.Handle("GET /transfer/t/{id}", s.transferOn("", auth.PermTransferUse, s.transferDetail))
	m.Handle("POST /transfer/t/{id}/decide", s.transferOn(transfer.SideLGWAN, auth.PermTransferApprove, s.transferDecide))
	m.Handle("POST /transfer/t/{id}/files/{seq}/link", s.transferOn("", auth.PermTransferUse, s.transferLink))
	m.Handle("POST /transfer/t/{id}/files/{seq}/original", s.transferOn(transfer.SideLGWAN, auth.PermTransferRelease, s.transferOriginal))
	m.Handle("GET /transfer/dl/{secret}", s.transferOn("", auth.PermTransferUse, s.transferDownload))
}

var errNoTransfer = errStatus(http.StatusNotFound, "ファイル転送はこのアドレスでは提供していません。")

// transferOn guards a transfer page: it exists only on a transfer listener,
// needs permission p, and, when only is set, runs only on that side.
// Wrong-side requests get a generic page; the details go to the log and the
// audit trail.
func (s *Server) transferOn(only transfer.Side, p auth.Permission, h handlerFunc) http.Handler {
	return s.require(p, func(w http.ResponseWriter, r *http.Request) error {
		side := sideOf(r)
		if side == "" || s.o.Transfer == nil {
			return errNoTransfer
		}
		if only != "" && side != only {
			return s.wrongSide(r, fmt.Errorf("%s %s needs side %s", r.Method, r.URL.Path, only))
		}
		err := h(w, r)
		if errors.Is(err, transfer.ErrWrongSide) {
			return s.wrongSide(r, err)
		}
		var ue *transfer.Error
		if errors.As(err, &ue) {
			return &HTTPError{Status: http.StatusBadRequest, Msg: ue.Msg, Err: err}
		}
		if errors.Is(err, store.ErrNotFound) {
			return &HTTPError{Status: http.StatusNotFound, Msg: "転送が見つかりません。", Err: err}
		}
		return err
	})
}

func (s *Server) wrongSide(r *http.Request, err error) error {
	side := sideOf(r)
	s.o.Transfer.RefuseWrongSide(r.Context(), side, state(r).subject.User.Name, r.Method+" "+r.URL.Path)
	return &HTTPError{Status: http.StatusForbidden, Msg: "この操作は" + side.JA() + "では行えません。", Err: err}
}

func (s *Server) transferHome(w http.ResponseWriter, r *http.Request) error {
	return s.renderTransferHome(w, r, "")
}

type transferRow struct {
	T      store.Transfer
	Status string
}

func (s *Server) renderTransferHome(w http.ResponseWriter, r *http.Request, errMsg string) error {
	side, me := sideOf(r), state(r).subject.User.Name
	all, err := s.o.Store.ListTransfers(r.Context(), 500)
	if err != nil {
		return err
	}
	var inbox, sent, pending []transferRow
	canApprove := side == transfer.SideLGWAN && state(r).subject.Can(auth.PermTransferApprove)
	for _, t := range all {
		row := transferRow{T: t, Status: transfer.StatusJA(t.Status)}
		dir := transfer.Direction(t.Direction)
		if dir.To() == side && slices.Contains(t.Recipients, me) {
			inbox = append(inbox, row)
		}
		if dir.From() == side && t.Sender == me {
			sent = append(sent, row)
		}
		if canApprove && t.Status == transfer.StatusPending {
			// Only the transfers this approver is entitled for (the
			// sender's division, department, or organisation-wide).
			if ok, err := s.o.Transfer.MayApprove(r.Context(), me, &t); err != nil {
				return err
			} else if ok {
				pending = append(pending, row)
			}
		}
	}
	p := s.o.Transfer.Policy
	return s.render(w, r, "transfer", "ファイル転送（"+side.JA()+"）", map[string]any{
		"Side": side, "SideJA": side.JA(), "Export": side == transfer.SideLGWAN, "Inbox": inbox, "Sent": sent,
		"Pending": pending, "CanApprove": canApprove, "Error": errMsg,
		"MaxFiles": p.MaxFiles, "MaxFileMB": p.MaxFileBytes >> 20, "MaxTotalMB": p.MaxTotalBytes >> 20})
}

// multipartOverhead allows for the form fields and part headers on top of
// the files themselves.
const multipartOverhead = 1 << 20

// transferUpload streams a multipart upload to temporary files (never to
// memory), checks the CSRF field before any file, and hands the files to
// the service. Any failure removes the temporary files; the service stores
// nothing for a refused request.
func (s *Server) transferUpload(w http.ResponseWriter, r *http.Request) (err error) {
	svc := s.o.Transfer
	st := state(r)
	pol := svc.Policy
	if pol.MaxTotalBytes > 0 {
		r.Body = http.MaxBytesReader(w, r.Body, pol.MaxTotalBytes+multipartOverhead)
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return errStatus(http.StatusBadRequest, "アップロードの形式が正しくありません。")
	}
	req := &transfer.Request{Side: sideOf(r), Sender: st.subject.User.Name}
	csrfOK := st.csrfChecked
	defer func() {
		for _, f := range req.Files {
			os.Remove(f.Path)
		}
	}()
	tooBig := func(e error) error {
		var mbe *http.MaxBytesError
		if errors.As(e, &mbe) {
			return &HTTPError{Status: http.StatusRequestEntityTooLarge, Err: e,
				Msg: fmt.Sprintf("アップロードが大きすぎます（合計 %d MB まで）。", pol.MaxTotalBytes>>20)}
		}
		if errors.Is(e, io.ErrUnexpectedEOF) || errors.Is(e, io.EOF) {
			return &HTTPError{Status: http.StatusBadRequest, Err: e, Msg: "アップロードが途中で切れました。もう一度送ってください（何も保存していません）。"}
		}
		return &HTTPError{Status: http.StatusBadRequest, Err: e, Msg: "アップロードの形式が正しくありません。ファイル名に制御文字などが含まれていないか確認してください（何も保存していません）。"}
	}
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return tooBig(err)
		}
		name := part.FormName()
		if part.FileName() == "" && name != "files" {
			v, err := io.ReadAll(io.LimitReader(part, 64<<10))
			if err != nil {
				return tooBig(err)
			}
			switch name {
			case "csrf":
				csrfOK = csrfOK || st.session.CSRF != "" && constantEq(string(v), st.session.CSRF)
			case "recipients":
				req.Recipients = splitRecipients(string(v))
			case "purpose":
				req.Purpose = string(v)
			case "classification":
				req.Classification = strings.TrimSpace(string(v))
			}
			continue
		}
		if !csrfOK {
			// The token must come before the files, so that a forged
			// request never gets a byte spooled.
			return errCSRF
		}
		if name != "files" {
			return errStatus(http.StatusBadRequest, "アップロードの形式が正しくありません。")
		}
		fname, err := rawFileName(part)
		if err != nil {
			return err
		}
		if fname == "" {
			continue // an empty file input
		}
		if pol.MaxFiles > 0 && len(req.Files) >= pol.MaxFiles {
			return &transfer.Error{Msg: fmt.Sprintf("一度に送れるファイルは %d 個までです。", pol.MaxFiles)}
		}
		if err := transfer.CheckName(fname); err != nil {
			return err
		}
		up, err := spoolPart(part, filepath.Join(svc.Dir, ".incoming"), fname, pol.MaxFileBytes)
		if up != nil {
			req.Files = append(req.Files, *up)
		}
		if err != nil {
			var ue *transfer.Error
			if errors.As(err, &ue) {
				return err
			}
			return tooBig(err)
		}
	}
	if !csrfOK {
		return errCSRF
	}
	for _, name := range req.Recipients {
		if _, err := s.o.Store.UserByName(r.Context(), name); errors.Is(err, store.ErrNotFound) {
			return &transfer.Error{Msg: fmt.Sprintf("受取人「%s」は登録されていません。", name)}
		} else if err != nil {
			return err
		}
	}
	res, err := svc.Submit(r.Context(), req)
	if err != nil {
		return err
	}
	return s.renderTransferDetail(w, r, res.Transfer, res.Files, res.Records, true, res.Password)
}

// rawFileName is the file name as sent: mime/multipart's FileName() applies
// filepath.Base, which would hide a traversal attempt that must be refused,
// not silently repaired.
func rawFileName(p *multipart.Part) (string, error) {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "", &transfer.Error{Msg: "ファイル名に使えない文字（制御文字など）が含まれています。", Err: err}
	}
	return params["filename"], nil
}

// spoolPart copies one file part to a temporary file, stopping one byte
// past max so that an oversized file is refused without being kept.
func spoolPart(part io.Reader, dir, name string, max int64) (*transfer.Upload, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	f, err := os.CreateTemp(dir, "upload-")
	if err != nil {
		return nil, err
	}
	up := &transfer.Upload{Name: name, Path: f.Name()}
	src := part
	if max > 0 {
		src = io.LimitReader(part, max+1)
	}
	// A multipart part yields at most a few KB per read: buffer the writes
	// so that a 100 MB upload is not tens of thousands of write calls (the
	// wrapper hides bufio's ReadFrom, which would bypass the buffer).
	bw := bufio.NewWriterSize(f, 1<<20)
	up.Size, err = io.Copy(struct{ io.Writer }{bw}, src)
	if ferr := bw.Flush(); err == nil {
		err = ferr
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && max > 0 && up.Size > max {
		err = &transfer.Error{Msg: fmt.Sprintf("ファイル「%s」が大きすぎます（上限 %d MB）。", name, max>>20)}
	}
	return up, err
}

func constantEq(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

func splitRecipients(v string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == '、' || unicode.IsSpace(r) }) {
		if !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func (s *Server) transferDetail(w http.ResponseWriter, r *http.Request) error {
	t, files, err := s.o.Transfer.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	if ok, err := s.mayView(r, t); err != nil {
		return err
	} else if !ok {
		return &HTTPError{Status: http.StatusNotFound, Msg: "転送が見つかりません。", Err: errors.New("not a party to the transfer")}
	}
	return s.renderTransferDetail(w, r, t, files, nil, false, "")
}

// mayView: the sender, the recipients and, on the LGWAN side, the
// approvers entitled for the sender and the holders of the release right.
func (s *Server) mayView(r *http.Request, t *store.Transfer) (bool, error) {
	sub := state(r).subject
	me := sub.User.Name
	if t.Sender == me || slices.Contains(t.Recipients, me) {
		return true, nil
	}
	if sideOf(r) != transfer.SideLGWAN {
		return false, nil
	}
	if sub.Can(auth.PermTransferRelease) {
		return true, nil
	}
	return s.o.Transfer.MayApprove(r.Context(), me, t)
}

type fileView struct {
	store.TransferFile
	Actions   []sanitize.Action
	Delivered bool
	Members   []*sanitize.Record
}

// renderTransferDetail shows a transfer; password is set only on the page
// answering the upload of an encrypted export, the one time it is shown.
func (s *Server) renderTransferDetail(w http.ResponseWriter, r *http.Request, t *store.Transfer, files []store.TransferFile, recs [][]*sanitize.Record, fresh bool, password string) error {
	side, sub := sideOf(r), state(r).subject
	views := make([]fileView, len(files))
	for i, f := range files {
		views[i] = fileView{TransferFile: f, Delivered: f.OutName != ""}
		json.Unmarshal([]byte(f.Actions), &views[i].Actions)
		if i < len(recs) && len(recs[i]) > 1 {
			views[i].Members = recs[i][1:]
		}
	}
	dir := transfer.Direction(t.Direction)
	canDecide := false
	if side == transfer.SideLGWAN && t.Status == transfer.StatusPending && sub.Can(auth.PermTransferApprove) {
		var err error
		if canDecide, err = s.o.Transfer.MayApprove(r.Context(), sub.User.Name, t); err != nil {
			return err
		}
	}
	units, err := s.o.Transfer.UnitsOf(r.Context(), t.Sender)
	if err != nil {
		return err
	}
	return s.render(w, r, "transfer_detail", "転送 "+t.ID, map[string]any{"Units": units.String(),
		"T": t, "Files": views, "Status": transfer.StatusJA(t.Status), "Fresh": fresh, "Password": password,
		"DirJA":      map[transfer.Direction]string{transfer.In: "インターネット → LGWAN", transfer.Out: "LGWAN → インターネット"}[dir],
		"CanDecide":  canDecide,
		"CanGet":     side == dir.To() && t.Status == transfer.StatusAvailable && slices.Contains(t.Recipients, sub.User.Name),
		"CanRelease": side == transfer.SideLGWAN && dir == transfer.In && sub.Can(auth.PermTransferRelease),
	})
}

func (s *Server) transferDecide(w http.ResponseWriter, r *http.Request) error {
	approve := r.PostFormValue("decision") == "approve"
	if !approve && r.PostFormValue("decision") != "reject" {
		return errStatus(http.StatusBadRequest, "承認か却下を選んでください。")
	}
	t, err := s.o.Transfer.Decide(r.Context(), sideOf(r), state(r).subject.User.Name, r.PathValue("id"), approve, r.PostFormValue("reason"))
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/transfer/t/"+t.ID, http.StatusSeeOther)
	return nil
}

func seqOf(r *http.Request) (int, error) {
	n, err := strconv.Atoi(r.PathValue("seq"))
	if err != nil || n < 1 {
		return 0, &HTTPError{Status: http.StatusNotFound, Msg: "ファイルが見つかりません。", Err: err}
	}
	return n, nil
}

// transferLink issues a single-use link and sends the browser to it; the
// secret lives in the URL for one redirect and a few minutes at most.
func (s *Server) transferLink(w http.ResponseWriter, r *http.Request) error {
	seq, err := seqOf(r)
	if err != nil {
		return err
	}
	secret, err := s.o.Transfer.IssueLink(r.Context(), sideOf(r), state(r).subject.User.Name, r.PathValue("id"), seq)
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/transfer/dl/"+secret, http.StatusSeeOther)
	return nil
}

func (s *Server) transferDownload(w http.ResponseWriter, r *http.Request) error {
	dl, err := s.o.Transfer.Redeem(r.Context(), sideOf(r), state(r).subject.User.Name, r.PathValue("secret"))
	if err != nil {
		return err
	}
	defer dl.File.Close()
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": dl.Name}))
	h.Set("Content-Length", strconv.FormatInt(dl.Size, 10))
	_, err = io.Copy(w, dl.File)
	return err
}

func (s *Server) transferOriginal(w http.ResponseWriter, r *http.Request) error {
	seq, err := seqOf(r)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp("", "kyojin-original-")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	name, err := s.o.Transfer.ReleaseOriginal(r.Context(), sideOf(r), state(r).subject.User.Name, r.PathValue("id"), seq, r.PostFormValue("reason"), tmp)
	if err != nil {
		return err
	}
	size, _ := tmp.Seek(0, io.SeekCurrent)
	tmp.Seek(0, io.SeekStart)
	h := w.Header()
	h.Set("Content-Type", "application/octet-stream")
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": name}))
	h.Set("Content-Length", strconv.FormatInt(size, 10))
	_, err = io.Copy(w, tmp)
	return err
}
