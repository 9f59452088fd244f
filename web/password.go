package web

import (
	"errors"
	"net/http"
	"strconv"

	"github.com/kyojin/kyojin/auth"
)

// Password change by the user (current password required) and reset by an
// administrator (users.manage; the user must choose a new password at the
// next login). Both are audited by the auth service.

func (s *Server) passwordPage(w http.ResponseWriter, r *http.Request) error {
	return s.renderPassword(w, r, "")
}

func (s *Server) renderPassword(w http.ResponseWriter, r *http.Request, errMsg string) error {
	return s.render(w, r, "password", "パスワードの変更", map[string]any{
		"Must": state(r).subject.User.MustChangePassword, "Error": errMsg, "Min": auth.MinPasswordLen})
}

func (s *Server) passwordPost(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	u := st.subject.User
	current, pw, confirm := r.PostFormValue("current"), r.PostFormValue("new"), r.PostFormValue("confirm")
	fail := func(msg string) error {
		w.WriteHeader(http.StatusBadRequest)
		return s.renderPassword(w, r, msg)
	}
	if pw != confirm {
		return fail("新しいパスワードと確認用の入力が一致しません。")
	}
	err := s.o.Auth.ChangePassword(r.Context(), u, current, pw, clientIP(r))
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrLocked):
		// Repeated wrong current passwords lock the account like failed
		// logins; the session ends with it.
		if err := s.endSession(w, r); err != nil {
			return err
		}
		http.Redirect(w, r, "/login?m=locked", http.StatusSeeOther)
		return nil
	case errors.Is(err, auth.ErrBadCredentials):
		return fail("現在のパスワードが正しくありません。")
	case errors.Is(err, auth.ErrPasswordIsName):
		return fail("ユーザー名と同じパスワードは使えません。")
	case errors.Is(err, auth.ErrSamePassword):
		return fail("現在と同じパスワードは使えません。")
	case errors.Is(err, auth.ErrWeakPassword):
		return fail("パスワードは " + strconv.Itoa(auth.MinPasswordLen) + " 文字以上にしてください。")
	default:
		return err
	}
	// Every session of the user ended with the change; this browser gets a
	// fresh one (new id and CSRF token) in the state it had.
	if _, err := s.newSession(w, r, u.ID, st.session.State); err != nil {
		return err
	}
	next := "/?m=password"
	if st.session.State != stOK {
		next = "/account/mfa?m=password"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
	return nil
}

// userResetPassword sets a generated password shown once to the
// administrator; never on oneself (use the change form) and never on an
// account holding a role the actor could not grant.
func (s *Server) userResetPassword(w http.ResponseWriter, r *http.Request) error {
	u, err := s.target(r, true)
	if err != nil {
		return err
	}
	if err := s.checkOutranks(r, u); err != nil {
		return err
	}
	pw, err := s.o.Auth.ResetPassword(r.Context(), state(r).subject.User.Name, u)
	if err != nil {
		return err
	}
	return s.render(w, r, "password_reset", "パスワードの再設定: "+u.Name, map[string]any{"U": u, "Password": pw})
}
