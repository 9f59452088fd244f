package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/store"
)

// Session states.
const (
	stAnon  = "anonymous" // no user yet (login form)
	stMFA   = "mfa"       // password accepted, second factor pending
	stEnrol = "enrol"     // password accepted, privileged user must enrol MFA first
	stOK    = "ok"        // fully authenticated
)

func (s *Server) cookieName() string {
	if s.o.Secure {
		// __Host- binds the cookie to this host, path / and HTTPS.
		return "__Host-kyojin"
	}
	return "kyojin"
}

func hashToken(tok string) string {
	h := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(h[:])
}

func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // the system's randomness failing is not recoverable
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) setCookie(w http.ResponseWriter, tok string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(), Value: tok, Path: "/", MaxAge: maxAge,
		Secure: s.o.Secure, HttpOnly: true, SameSite: http.SameSiteStrictMode})
}

// loadSession finds the request's session; an expired or unknown cookie is
// treated as none. Users and grants are read fresh on every request so
// that a disabled account or a removed role takes effect at once.
func (s *Server) loadSession(w http.ResponseWriter, r *http.Request, st *reqState) error {
	c, err := r.Cookie(s.cookieName())
	if err != nil || c.Value == "" || len(c.Value) > 100 {
		return nil
	}
	ctx := r.Context()
	se, err := s.o.Store.Session(ctx, hashToken(c.Value))
	if errors.Is(err, store.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	now := s.o.Now()
	pol := s.o.Auth.Policy
	if now.After(se.ExpiresAt) || now.Sub(se.SeenAt) > pol.SessionIdle {
		s.o.Store.DeleteSession(ctx, se.ID)
		return nil
	}
	if se.UserID != 0 {
		u, err := s.o.Store.UserByID(ctx, se.UserID)
		if errors.Is(err, store.ErrNotFound) || (err == nil && u.Disabled) {
			s.o.Store.DeleteSession(ctx, se.ID)
			return nil
		} else if err != nil {
			return err
		}
		grants, err := s.o.Store.Grants(ctx, u.ID)
		if err != nil {
			return err
		}
		st.subject = &auth.Subject{User: u, Grants: grants}
	}
	// Writing on every request would make the store the bottleneck; a
	// minute's resolution is enough for the idle timeout.
	if now.Sub(se.SeenAt) > time.Minute {
		se.SeenAt = now
		if err := s.o.Store.UpdateSession(ctx, se); err != nil {
			return err
		}
	}
	st.session = se
	return nil
}

// ensureSession gives an anonymous visitor a session (for the login form's
// CSRF token).
func (s *Server) ensureSession(w http.ResponseWriter, r *http.Request) (*store.Session, error) {
	st := state(r)
	if st.session != nil {
		return st.session, nil
	}
	return s.newSession(w, r, 0, stAnon)
}

// newSession creates a session with a fresh id and CSRF token and sets the
// cookie. Called at every privilege change (password accepted, second
// factor accepted): a session id known before login is worthless after it
// (session fixation, OWASP ASVS 3.2.1).
func (s *Server) newSession(w http.ResponseWriter, r *http.Request, userID int64, stateName string) (*store.Session, error) {
	st := state(r)
	ctx := r.Context()
	if st.session != nil {
		if err := s.o.Store.DeleteSession(ctx, st.session.ID); err != nil {
			return nil, err
		}
	}
	now := s.o.Now().UTC().Truncate(time.Microsecond)
	tok := randomToken()
	se := &store.Session{ID: hashToken(tok), UserID: userID, State: stateName, CSRF: randomToken(),
		CreatedAt: now, SeenAt: now, ExpiresAt: now.Add(s.o.Auth.Policy.SessionTTL)}
	if err := s.o.Store.CreateSession(ctx, se); err != nil {
		return nil, err
	}
	s.setCookie(w, tok, int(s.o.Auth.Policy.SessionTTL.Seconds()))
	st.session, st.token = se, tok
	return se, nil
}

// endSession deletes the session and the cookie.
func (s *Server) endSession(w http.ResponseWriter, r *http.Request) error {
	st := state(r)
	if st.session != nil {
		if err := s.o.Store.DeleteSession(r.Context(), st.session.ID); err != nil {
			return err
		}
	}
	st.session, st.subject = nil, nil
	s.setCookie(w, "", -1)
	return nil
}

// checkCSRF requires the session's token in the form field "csrf" or the
// X-CSRF-Token header, and refuses cross-site requests outright. SameSite
// cookies alone do not cover every browser or same-site subdomain attack.
func (s *Server) checkCSRF(r *http.Request, st *reqState) error {
	if site := r.Header.Get("Sec-Fetch-Site"); site == "cross-site" || site == "same-site" {
		return errCSRF
	}
	if o := r.Header.Get("Origin"); o != "" && o != "null" {
		u, err := url.Parse(o)
		if err != nil || u.Host != r.Host {
			return errCSRF
		}
	}
	if st.session == nil {
		return errCSRF
	}
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" && (r.URL.Path == "/transfer/upload" || evidencePath.MatchString(r.URL.Path)) && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
		// A large upload is not parsed here: the handler checks the csrf
		// field, which the form sends before the files, and refuses any
		// file part that comes before a valid token.
		return nil
	}
	if tok == "" {
		r.Body = http.MaxBytesReader(nil, r.Body, 1<<20)
		tok = r.PostFormValue("csrf")
	}
	if tok == "" || subtle.ConstantTimeCompare([]byte(tok), []byte(st.session.CSRF)) != 1 {
		return errCSRF
	}
	st.csrfChecked = true
	return nil
}

// require wraps h so that it runs only for a fully logged-in subject with
// permission p. Anonymous users are sent to the login page; users in the
// middle of logging in are sent to the step they have to finish.
func (s *Server) require(p auth.Permission, h handlerFunc) http.Handler {
	return s.adapt(func(w http.ResponseWriter, r *http.Request) error {
		st := state(r)
		if st.session == nil || st.subject == nil {
			return s.toLogin(w, r)
		}
		switch st.session.State {
		case stMFA:
			http.Redirect(w, r, "/login/mfa", http.StatusSeeOther)
			return nil
		case stEnrol:
			http.Redirect(w, r, "/account/mfa", http.StatusSeeOther)
			return nil
		case stOK:
		default:
			return s.toLogin(w, r)
		}
		// After an administrator's reset the user may do nothing but
		// choose a new password.
		if st.subject.User.MustChangePassword {
			if r.Method != http.MethodGet {
				return errStatus(http.StatusForbidden, "パスワードを変更してから操作してください。")
			}
			http.Redirect(w, r, "/account/password", http.StatusSeeOther)
			return nil
		}
		if p != "" && !st.subject.Can(p) {
			return errForbidden
		}
		return h(w, r)
	})
}

func (s *Server) toLogin(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodGet {
		return errStatus(http.StatusUnauthorized, "ログインしてください。")
	}
	http.Redirect(w, r, "/login", http.StatusSeeOther)
	return nil
}
