package web

import (
	"bytes"
	"encoding/base64"
	"errors"
	"html/template"
	"image/png"
	"net/http"
	"strings"

	"github.com/kyojin/kyojin/auth"
)

// requireUser admits a logged-in user who is either fully authenticated or
// obliged to enrol a second factor (the only page such a user may use).
func (s *Server) requireUser(h handlerFunc) http.Handler {
	return s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		st := state(r)
		if st.subject == nil || (st.session.State != stOK && st.session.State != stEnrol) {
			return s.toLogin(w, r)
		}
		return h(w, r)
	})
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request) error {
	sub := state(r).subject
	mfa, err := s.o.Auth.MFA(r.Context(), sub.User, sub.Grants)
	if err != nil {
		return err
	}
	keys, err := s.o.Store.WebAuthnCredentials(r.Context(), sub.User.ID)
	if err != nil {
		return err
	}
	return s.render(w, r, "account", "二要素認証の登録", map[string]any{
		"MFA": mfa, "Keys": keys, "MustEnrol": state(r).session.State == stEnrol, "WebAuthn": s.o.Auth.WebAuthn != nil})
}

func (s *Server) totpBegin(w http.ResponseWriter, r *http.Request) error {
	sub := state(r).subject
	key, err := s.o.Auth.BeginTOTP(r.Context(), sub.User)
	if err != nil {
		return err
	}
	img, err := key.Image(240, 240)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return s.render(w, r, "totp", "TOTP の登録", map[string]any{
		// The secret is shown once, to this user only, for manual entry.
		"Secret": key.Secret(),
		// A data: URL built here from our own PNG bytes, hence trusted.
		"QR": template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())),
	})
}

func (s *Server) totpConfirm(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	code := strings.TrimSpace(r.PostFormValue("code"))
	if err := s.o.Auth.ConfirmTOTP(r.Context(), st.subject.User, code); err != nil {
		if errors.Is(err, auth.ErrBadCode) {
			w.WriteHeader(http.StatusBadRequest)
			return s.render(w, r, "totp", "TOTP の登録", map[string]any{"Error": "確認コードが正しくありません。もう一度「TOTP を登録」からやり直してください。"})
		}
		return err
	}
	return s.enrolled(w, r)
}

// enrolled finishes an enrolment: a user who had to enrol is now fully
// logged in, under a new session id.
func (s *Server) enrolled(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	if st.session.State == stEnrol {
		if _, err := s.newSession(w, r, st.subject.User.ID, stOK); err != nil {
			return err
		}
	}
	if strings.HasSuffix(r.URL.Path, "/finish") {
		return writeJSON(w, map[string]string{"redirect": "/account/mfa?m=enrolled"})
	}
	http.Redirect(w, r, "/account/mfa?m=enrolled", http.StatusSeeOther)
	return nil
}

func (s *Server) webauthnRegisterBegin(w http.ResponseWriter, r *http.Request) error {
	opts, st, err := s.o.Auth.BeginWebAuthnRegistration(r.Context(), state(r).subject.User)
	return s.beginCeremony(w, r, opts, st, err)
}

func (s *Server) webauthnRegisterFinish(w http.ResponseWriter, r *http.Request) error {
	st, err := s.takeCeremony(r)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(r.URL.Query().Get("name"))
	if name == "" || len(name) > 64 {
		name = "セキュリティキー"
	}
	limitBody(r)
	if err := s.o.Auth.FinishWebAuthnRegistration(r.Context(), state(r).subject.User, st, r, name); err != nil {
		return &HTTPError{Status: http.StatusBadRequest, Msg: "セキュリティキーを登録できませんでした。", Err: err}
	}
	return s.enrolled(w, r)
}
