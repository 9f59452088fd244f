package web

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
)

// messages shown after a redirect (?m=KEY); fixed texts only, so the query
// string cannot inject content.
var messages = map[string]string{
	"locked":    "ログインに繰り返し失敗したため、アカウントを一時的にロックしました。しばらくしてから再度お試しください。",
	"loggedout": "ログアウトしました。",
	"expired":   "セッションの有効期限が切れました。もう一度ログインしてください。",
	"enrolled":  "二要素認証を登録しました。",
	"saved":     "保存しました。",
	"created":   "利用者を作成しました。",
	"password":  "パスワードを変更しました。",
}

const msgBadLogin = "ユーザー名またはパスワードが正しくありません。"

func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	if st.session != nil && st.session.State == stOK {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return nil
	}
	if _, err := s.ensureSession(w, r); err != nil {
		return err
	}
	return s.render(w, r, "login", "ログイン", map[string]any{"Name": ""})
}

func (s *Server) loginPost(w http.ResponseWriter, r *http.Request) error {
	name := strings.TrimSpace(r.PostFormValue("name"))
	password := r.PostFormValue("password")
	ctx := r.Context()
	u, err := s.o.Auth.Login(ctx, name, password, clientIP(r))
	if err != nil {
		msg := msgBadLogin
		status := http.StatusUnauthorized
		switch {
		case errors.Is(err, auth.ErrRateLimited):
			msg, status = "このアドレスからのログイン失敗が多すぎます。しばらくしてから再度お試しください。", http.StatusTooManyRequests
		case errors.Is(err, auth.ErrLocked):
			msg = messages["locked"]
		case errors.Is(err, auth.ErrBadCredentials):
		default:
			return err
		}
		w.WriteHeader(status)
		return s.render(w, r, "login", "ログイン", map[string]any{"Name": name, "Error": tr(state(r).lang, msg)})
	}
	grants, err := s.o.Store.Grants(ctx, u.ID)
	if err != nil {
		return err
	}
	mfa, err := s.o.Auth.MFA(ctx, u, grants)
	if err != nil {
		return err
	}
	next, where := stOK, "/"
	switch {
	case mfa.Enrolled():
		next, where = stMFA, "/login/mfa"
	case mfa.Required:
		next, where = stEnrol, "/account/mfa"
	}
	if _, err := s.newSession(w, r, u.ID, next); err != nil {
		return err
	}
	http.Redirect(w, r, where, http.StatusSeeOther)
	return nil
}

// mfaUser returns the subject of a session waiting for its second factor.
func (s *Server) mfaSubject(r *http.Request) (*auth.Subject, error) {
	st := state(r)
	if st.session == nil || st.subject == nil || st.session.State != stMFA {
		return nil, errStatus(http.StatusUnauthorized, "ログインしてください。")
	}
	return st.subject, nil
}

func (s *Server) mfaPage(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.mfaSubject(r)
	if err != nil {
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return nil
	}
	mfa, err := s.o.Auth.MFA(r.Context(), sub.User, sub.Grants)
	if err != nil {
		return err
	}
	return s.render(w, r, "mfa", "二要素認証", map[string]any{"TOTP": mfa.TOTP, "Keys": mfa.Keys > 0 && s.o.Auth.WebAuthn != nil})
}

func (s *Server) mfaFailed(w http.ResponseWriter, r *http.Request, err error) error {
	if errors.Is(err, auth.ErrLocked) {
		if err := s.endSession(w, r); err != nil {
			return err
		}
		http.Redirect(w, r, "/login?m=locked", http.StatusSeeOther)
		return nil
	}
	if errors.Is(err, auth.ErrBadCode) || errors.Is(err, auth.ErrNoMFA) {
		w.WriteHeader(http.StatusUnauthorized)
		sub := state(r).subject
		mfa, _ := s.o.Auth.MFA(r.Context(), sub.User, sub.Grants)
		return s.render(w, r, "mfa", "二要素認証", map[string]any{"TOTP": mfa.TOTP, "Keys": mfa.Keys > 0 && s.o.Auth.WebAuthn != nil,
			"Error": "確認コードが正しくないか、すでに使用されています。"})
	}
	return err
}

func (s *Server) totpPost(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.mfaSubject(r)
	if err != nil {
		return err
	}
	code := strings.TrimSpace(r.PostFormValue("code"))
	if err := s.o.Auth.VerifyTOTP(r.Context(), sub.User, code, clientIP(r)); err != nil {
		return s.mfaFailed(w, r, err)
	}
	if _, err := s.newSession(w, r, sub.User.ID, stOK); err != nil {
		return err
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
	return nil
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

// saveCeremony keeps WebAuthn ceremony state server-side in the session.
func (s *Server) saveCeremony(r *http.Request, stateJSON string) error {
	se := state(r).session
	se.Pending = stateJSON
	return s.o.Store.UpdateSession(r.Context(), se)
}

// takeCeremony returns and clears the pending ceremony (one use only).
func (s *Server) takeCeremony(r *http.Request) (string, error) {
	se := state(r).session
	p := se.Pending
	if p == "" {
		return "", errStatus(http.StatusBadRequest, "セキュリティキーの手続きを最初からやり直してください。")
	}
	se.Pending = ""
	return p, s.o.Store.UpdateSession(r.Context(), se)
}

// limitBody bounds WebAuthn responses read by the library.
func limitBody(r *http.Request) {
	r.Body = io.NopCloser(io.LimitReader(r.Body, 64<<10))
}

func (s *Server) webauthnLoginBegin(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.mfaSubject(r)
	if err != nil {
		return err
	}
	opts, st, err := s.o.Auth.BeginWebAuthnLogin(r.Context(), sub.User)
	return s.beginCeremony(w, r, opts, st, err)
}

// beginCeremony keeps the ceremony state and sends the browser its options.
func (s *Server) beginCeremony(w http.ResponseWriter, r *http.Request, opts []byte, st string, err error) error {
	if err != nil {
		return err
	}
	if err := s.saveCeremony(r, st); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(opts)
	return err
}

func (s *Server) webauthnLoginFinish(w http.ResponseWriter, r *http.Request) error {
	sub, err := s.mfaSubject(r)
	if err != nil {
		return err
	}
	st, err := s.takeCeremony(r)
	if err != nil {
		return err
	}
	limitBody(r)
	if err := s.o.Auth.FinishWebAuthnLogin(r.Context(), sub.User, st, r, clientIP(r)); err != nil {
		if errors.Is(err, auth.ErrBadCode) {
			return errStatus(http.StatusUnauthorized, "セキュリティキーを確認できませんでした。")
		}
		return err
	}
	if _, err := s.newSession(w, r, sub.User.ID, stOK); err != nil {
		return err
	}
	return writeJSON(w, map[string]string{"redirect": "/"})
}

func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if sub := state(r).subject; sub != nil {
		s.o.Audit.Append(r.Context(), audit.Event{Actor: sub.User.Name, Action: audit.Logout, Target: "user/" + sub.User.Name})
	}
	if err := s.endSession(w, r); err != nil {
		return err
	}
	http.Redirect(w, r, "/login?m=loggedout", http.StatusSeeOther)
	return nil
}
