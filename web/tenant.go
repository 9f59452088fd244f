package web

import (
	"net/http"

	"github.com/kyojin/kyojin/auth"
)

// tenants is the set of security-cloud tenants whose data the requesting
// user may see for permission p. Every alert, event and incident query is
// filtered by it; the zero scope sees nothing.
func (s *Server) tenants(r *http.Request, p auth.Permission) auth.TenantScope {
	st := state(r)
	if st == nil || st.subject == nil {
		return auth.TenantScope{}
	}
	return st.subject.TenantsFor(p, s.o.HomeTenant)
}
