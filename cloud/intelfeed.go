package cloud

import (
	"net/http"
	"strings"

	"github.com/kyojin/kyojin/intel"
)

// SetIntel makes the HTTP listeners serve the shared indicators at
// GET /v1/intel to the tenants' tokens, so a municipality's firewall, DNS
// or proxy can pull the prefecture's blocklist (issue 8 §3: indicators
// reach all tenants). Call before Start.
func (s *Server) SetIntel(h *intel.Hub) { s.intel = h }

// intelHandler serves GET /v1/intel?kind=domain,ip&format=text|json with
// "Authorization: Bearer TOKEN" of any tenant.
func (s *Server) intelHandler(l *Listener) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if rec := recover(); rec != nil {
				s.in.log.Error("cloud: intel feed panic", "panic", rec)
				http.Error(w, "internal error", http.StatusInternalServerError)
			}
		}()
		if s.intel == nil {
			http.NotFound(w, r)
			return
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		tenant, _, found := s.cfg.Resolve(Peer{Token: tok}, l.Format)
		if !ok || tok == "" || !found || !s.tokenTenant(tok, tenant) {
			w.Header().Set("WWW-Authenticate", "Bearer")
			http.Error(w, "unauthorized", http.StatusUnauthorized)
			return
		}
		var kinds []intel.Kind
		if k := r.URL.Query().Get("kind"); k != "" {
			for _, x := range strings.Split(k, ",") {
				switch kd := intel.Kind(strings.TrimSpace(x)); kd {
				case intel.Domain, intel.IP, intel.CIDR, intel.URL:
					kinds = append(kinds, kd)
				default:
					http.Error(w, "unknown kind (domain, ip, cidr, url)", http.StatusBadRequest)
					return
				}
			}
		}
		format := r.URL.Query().Get("format")
		switch format {
		case "", "text":
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		case "json":
			w.Header().Set("Content-Type", "application/x-ndjson")
		default:
			http.Error(w, "unknown format (text, json)", http.StatusBadRequest)
			return
		}
		if err := s.intel.WriteFeed(w, format, kinds...); err != nil {
			s.in.log.Warn("cloud: intel feed", "tenant", tenant, "err", err)
		}
	})
}
