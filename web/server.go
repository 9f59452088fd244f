// Package web is the kyojin console: a server-rendered Japanese web UI
// (html/template and go:embed, no JavaScript toolchain) over the store, the
// authentication service, the audit log and the loaded municipality model.
// Every handler returns an error; one adapter turns errors into a status, a
// request id shown to the user and a log line with the details. Every
// state-changing request needs the session's CSRF token, the CSP allows no
// inline script, and cookies are Secure, HttpOnly and SameSite=Strict.
package web

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/incident"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
)

// Options configure a Server.
type Options struct {
	Store store.Store
	Auth  *auth.Service
	Audit *audit.Log
	Log   *slog.Logger
	// Model and its check result are shown by the dashboard and the model
	// browser; both may be nil when no model is loaded.
	Model  *model.Model
	Result *check.Result
	// Catalog is the guideline's control catalog (requirements pages); nil
	// hides them.
	Catalog *catalog.Catalog
	// Assessment is the evaluated self-assessment of the year (dashboard
	// and requirements pages); nil when none is loaded.
	Assessment *assess.Result
	// Activity names the sanitization and mail gateway audit files shown on
	// the dashboard.
	Activity ActivitySources
	// Transfer is the zone-to-zone file transfer; nil (or a request on
	// the console's own listener) hides its pages.
	Transfer *transfer.Service
	// Incidents is the CSIRT's incident handling; nil hides its pages.
	Incidents *incident.Service
	// HomeTenant is the security-cloud tenant this console is deployed for
	// (config home_tenant): what organisation-wide roles see on the alert,
	// event and incident pages (auth.Subject.TenantsFor).
	HomeTenant string
	// Events is the security cloud's event store (/events): the segment
	// store or PostgreSQL (eventstore/pgevents); nil hides the search.
	Events EventSearcher
	// Secure marks cookies Secure and uses the __Host- prefix. Only the
	// loopback development mode turns it off.
	Secure bool
	Now    func() time.Time
}

// Server is the console's HTTP handler.
type Server struct {
	o     Options
	mux   *http.ServeMux
	pages map[string]*template.Template
	diag  diagramCache
	cache sync.Map    // rendered page content by page and scope (see renderCached)
	av    *assessView // Japanese (requirements pages and dashboard)
	avEN  *assessView // English (dashboard)
	san   *activityFile
	mail  *activityFile
}

// diagramCache holds the diagram drawn once per language (0 Japanese, 1
// English).
type diagramCache struct {
	once [2]sync.Once
	svg  [2]template.HTML
}

// New builds the server and parses its templates.
func New(o Options) (*Server, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	s := &Server{o: o, mux: http.NewServeMux(), av: newAssessView(o.Assessment, "ja"), avEN: newAssessView(o.Assessment, "en"),
		san:  &activityFile{path: o.Activity.SanitizeAudit, parse: parseSanitize},
		mail: &activityFile{path: o.Activity.MailgateAudit, parse: parseMail}}
	if err := s.parseTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

// Handler returns the root handler with the security middleware applied.
func (s *Server) Handler() http.Handler { return s.secure(s.mux) }

// ctxKey keys the request state in a context.
type ctxKey struct{}

// reqState is what the middleware learns about a request.
type reqState struct {
	id      string
	session *store.Session
	token   string // raw cookie token, set when the session is new or rotated
	subject *auth.Subject
	lang    string // "ja" or "en" (see langOf)
	// csrfChecked is false for a multipart upload whose token the handler
	// reads from the stream itself (see transferUpload).
	csrfChecked bool
}

func state(r *http.Request) *reqState {
	st, _ := r.Context().Value(ctxKey{}).(*reqState)
	return st
}

// HTTPError carries a status and a message for the user; the wrapped error
// is logged, never shown.
type HTTPError struct {
	Status int
	Msg    string // Japanese, safe to show
	Err    error
}

func (e *HTTPError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%d %s: %v", e.Status, e.Msg, e.Err)
	}
	return fmt.Sprintf("%d %s", e.Status, e.Msg)
}
func (e *HTTPError) Unwrap() error { return e.Err }

func errStatus(status int, msg string) error { return &HTTPError{Status: status, Msg: msg} }

var (
	errForbidden = errStatus(http.StatusForbidden, "この操作を行う権限がありません。")
	errNotFound  = errStatus(http.StatusNotFound, "ページが見つかりません。")
	errCSRF      = errStatus(http.StatusForbidden, "フォームの有効期限が切れたか、不正な送信です。ページを読み込み直してから操作してください。")
)

// handlerFunc is a handler that returns an error.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// adapt turns a handlerFunc into an http.Handler: it recovers panics, maps
// errors to status codes and logs them with the request id.
func (s *Server) adapt(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := func() (err error) {
			defer func() {
				if p := recover(); p != nil {
					err = fmt.Errorf("panic: %v\n%s", p, debug.Stack())
				}
			}()
			return h(w, r)
		}()
		if err != nil {
			s.fail(w, r, err)
		}
	})
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	st := state(r)
	rid := ""
	if st != nil {
		rid = st.id
	}
	var he *HTTPError
	if !errors.As(err, &he) {
		he = &HTTPError{Status: http.StatusInternalServerError, Msg: "内部エラーが発生しました。", Err: err}
	}
	level := slog.LevelInfo
	if he.Status >= 500 {
		level = slog.LevelError
	}
	s.o.Log.Log(r.Context(), level, "request failed", "request_id", rid, "method", r.Method, "path", r.URL.Path, "status", he.Status, "err", err)
	if errors.Is(err, context.Canceled) {
		return
	}
	if strings.HasPrefix(r.Header.Get("Accept"), "application/json") || strings.HasSuffix(r.URL.Path, "/begin") || strings.HasSuffix(r.URL.Path, "/finish") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(he.Status)
		fmt.Fprintf(w, `{"error":%q,"request_id":%q}`, he.Msg, rid)
		return
	}
	w.WriteHeader(he.Status)
	msg := he.Msg
	if st != nil {
		msg = tr(st.lang, msg)
	}
	s.renderTo(w, r, "error", "エラー", map[string]any{"Status": he.Status, "Message": msg, "RequestID": rid})
}

// csp allows scripts and styles only from the console itself; images also
// from data: URLs (the TOTP QR code). No inline script, no framing.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// secure sets security headers, assigns a request id, loads the session and
// checks CSRF on every state-changing request.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
		if s.o.Secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		st := &reqState{id: newID(8), lang: "ja"}
		h.Set("X-Request-Id", st.id)
		r = r.WithContext(context.WithValue(r.Context(), ctxKey{}, st))
		if strings.HasPrefix(r.URL.Path, "/static/") || r.URL.Path == "/healthz" {
			next.ServeHTTP(w, r)
			return
		}
		h.Set("Cache-Control", "no-store")
		st.lang = langOf(w, r)
		if err := s.loadSession(w, r, st); err != nil {
			s.fail(w, r, err)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := s.checkCSRF(r, st); err != nil {
				s.fail(w, r, err)
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func newID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// clientIP is the peer address; kyojin does not trust X-Forwarded-For,
// since the rate limit must not be bypassable by a header.
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// staticFS serves the embedded CSS and JavaScript.
func (s *Server) static() http.Handler {
	sub, _ := fs.Sub(assets, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}
