package auth

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/kyojin/kyojin/store"
)

// Role is one of the guideline's security roles (standards clause 1,
// 組織体制). Roles held by people who decide on, administer or audit
// security are privileged and require MFA.
type Role string

const (
	// RoleCISO is the 最高情報セキュリティ責任者 (clause 1(1)).
	RoleCISO Role = "ciso"
	// RoleChiefOfficer is the 統括情報セキュリティ責任者 (clause 1(2)).
	RoleChiefOfficer Role = "chief-officer"
	// RoleSecurityOfficer is the 情報セキュリティ責任者 of a department (clause 1(3)).
	RoleSecurityOfficer Role = "security-officer"
	// RoleSecurityManager is the 情報セキュリティ管理者 of a division (clause 1(4)).
	RoleSecurityManager Role = "security-manager"
	// RoleSystemAdministrator is the 情報システム管理者 of a system (clause 1(5)).
	RoleSystemAdministrator Role = "system-administrator"
	// RoleStaff is a 職員等 (clause 1(6)).
	RoleStaff Role = "staff"
	// RoleAuditor is an 監査人 (clause 7): reads everything, changes nothing.
	RoleAuditor Role = "auditor"
	// RoleSOCOperator is an operator of the prefecture's security cloud
	// (自治体情報セキュリティクラウド, seed 004 Appendix 3): sees and handles
	// the alerts and incidents of every member body.
	RoleSOCOperator Role = "soc-operator"
	// RoleCSIRT is a CSIRT member of one body (clause 1(9)); the grant is
	// scoped "tenant:ID" to that body's security-cloud tenant.
	RoleCSIRT Role = "csirt"
)

// RoleInfo describes a role.
type RoleInfo struct {
	Role       Role
	JA, EN     string
	Clause     string
	ScopeKind  string // "", "department", "division" or "system"
	Privileged bool
}

// Roles lists every role, most senior first.
var Roles = []RoleInfo{
	{RoleCISO, "最高情報セキュリティ責任者（CISO）", "Chief Information Security Officer", "1(1)", "", true},
	{RoleChiefOfficer, "統括情報セキュリティ責任者", "Chief Information Security Officer's deputy", "1(2)", "", true},
	{RoleSecurityOfficer, "情報セキュリティ責任者", "Department security officer", "1(3)", "department", true},
	{RoleSecurityManager, "情報セキュリティ管理者", "Division security manager", "1(4)", "division", true},
	{RoleSystemAdministrator, "情報システム管理者", "System administrator", "1(5)", "system", true},
	{RoleStaff, "職員", "Staff", "1(6)", "", false},
	{RoleAuditor, "監査人（閲覧のみ）", "Auditor (read-only)", "7", "", true},
	{RoleSOCOperator, "セキュリティクラウド運用者", "Security cloud operator", "Appendix 3", "", true},
	{RoleCSIRT, "CSIRT要員", "CSIRT member", "1(9)", "tenant", true},
}

// Info returns the description of r, or false for an unknown role.
func Info(r Role) (RoleInfo, bool) {
	for _, ri := range Roles {
		if ri.Role == r {
			return ri, true
		}
	}
	return RoleInfo{}, false
}

// OptionalScopeKind is the scope a role may carry without needing one:
// a member of staff may be placed in their division ("division:ID", the
// 課室 of clause 1(4)), which decides who approves their file transfers.
func OptionalScopeKind(r Role) string {
	if r == RoleStaff {
		return "division"
	}
	return ""
}

// ValidateGrant checks that a grant names a known role with the scope kind
// the role needs ("department:ID" for officers, and so on).
func ValidateGrant(g store.Grant) error {
	ri, ok := Info(Role(g.Role))
	if !ok {
		return fmt.Errorf("unknown role %q", g.Role)
	}
	kind, id, _ := strings.Cut(g.Scope, ":")
	switch {
	case ri.ScopeKind == "" && g.Scope != "" && OptionalScopeKind(ri.Role) != "":
		if k := OptionalScopeKind(ri.Role); kind != k || id == "" {
			return fmt.Errorf("role %s takes no scope or %s:ID (got %q)", g.Role, k, g.Scope)
		}
	case ri.ScopeKind == "" && g.Scope != "":
		return fmt.Errorf("role %s is organisation-wide and takes no scope (got %q)", g.Role, g.Scope)
	case ri.ScopeKind != "" && (kind != ri.ScopeKind || id == ""):
		return fmt.Errorf("role %s needs a scope %s:ID (got %q)", g.Role, ri.ScopeKind, g.Scope)
	}
	return nil
}

// Permission is something a page or action requires.
type Permission string

const (
	PermDashboard    Permission = "dashboard.view"
	PermModelView    Permission = "model.view"    // scoped for officers, managers, administrators
	PermFindingsView Permission = "findings.view" // scoped likewise
	PermAuditView    Permission = "audit.view"
	PermAuditExport  Permission = "audit.export"
	PermUsersView    Permission = "users.view"
	PermUsersManage  Permission = "users.manage" // create, disable, unlock, change roles
	PermSelfMFA      Permission = "self.mfa"     // enrol one's own MFA
	// PermAssessmentView shows the year's self-assessment (scores, answers,
	// gaps, corrective actions). Answers are not tagged with departments,
	// so the assessment cannot be scoped: only organisation-wide roles see
	// it (fail closed for scoped roles).
	PermAssessmentView Permission = "assessment.view"
	// PermActivityView shows sanitization and mail gateway activity.
	PermActivityView Permission = "activity.view"
	PermSelfPassword Permission = "self.password" // change one's own password
	// File transfer between the Internet and LGWAN zones (package transfer).
	PermTransferUse     Permission = "transfer.use"     // send and receive files
	PermTransferApprove Permission = "transfer.approve" // 上長承認 of transfers
	PermTransferRelease Permission = "transfer.release" // release a quarantined original
	PermTransferAudit   Permission = "transfer.audit"   // read-only history of every transfer, CSV export
	// Security cloud and CSIRT (packages cloud, incident). These are
	// tenant-scoped: see Subject.TenantsFor.
	PermAlertsView        Permission = "alerts.view"
	PermAlertsHandle      Permission = "alerts.handle" // acknowledge, suppress, close
	PermEventsSearch      Permission = "events.search"
	PermIncidentsView     Permission = "incidents.view"
	PermIncidentsHandle   Permission = "incidents.handle" // create, triage, transition, attach evidence
	PermIncidentsReport   Permission = "incidents.report" // staff report form (clause 5.3)
	PermIndicatorsPublish Permission = "indicators.publish"
)

// matrix is the permission matrix; docs/permissions.md shows it and
// TestPermissionMatrixDoc keeps the two in sync.
var matrix = map[Permission][]Role{
	PermDashboard:      {RoleCISO, RoleChiefOfficer, RoleSecurityOfficer, RoleSecurityManager, RoleSystemAdministrator, RoleStaff, RoleAuditor, RoleSOCOperator, RoleCSIRT},
	PermModelView:      {RoleCISO, RoleChiefOfficer, RoleSecurityOfficer, RoleSecurityManager, RoleSystemAdministrator, RoleAuditor},
	PermFindingsView:   {RoleCISO, RoleChiefOfficer, RoleSecurityOfficer, RoleSecurityManager, RoleSystemAdministrator, RoleAuditor},
	PermAuditView:      {RoleCISO, RoleChiefOfficer, RoleAuditor},
	PermAuditExport:    {RoleCISO, RoleChiefOfficer, RoleAuditor},
	PermUsersView:      {RoleCISO, RoleChiefOfficer, RoleAuditor},
	PermUsersManage:    {RoleCISO, RoleChiefOfficer},
	PermSelfMFA:        {RoleCISO, RoleChiefOfficer, RoleSecurityOfficer, RoleSecurityManager, RoleSystemAdministrator, RoleStaff, RoleAuditor, RoleSOCOperator, RoleCSIRT},
	PermAssessmentView: {RoleCISO, RoleChiefOfficer, RoleAuditor},
	PermActivityView:   {RoleCISO, RoleChiefOfficer, RoleSecurityOfficer, RoleSecurityManager, RoleSystemAdministrator, RoleAuditor},
	PermSelfPassword:   {RoleCISO, RoleChiefOfficer, RoleSecurityOfficer, RoleSecurityManager, RoleSystemAdministrator, RoleStaff, RoleAuditor, RoleSOCOperator, RoleCSIRT},
	// Auditors read the audit log of transfers; they neither send nor approve.
	PermTransferUse:     {RoleCISO, RoleChiefOfficer, RoleSecurityOfficer, RoleSecurityManager, RoleSystemAdministrator, RoleStaff},
	PermTransferApprove: {RoleCISO, RoleChiefOfficer, RoleSecurityOfficer, RoleSecurityManager},
	// Releasing an unsanitized original into LGWAN is an exception decided
	// at the top (standards clause 1(1)-(2)).
	PermTransferRelease: {RoleCISO, RoleChiefOfficer},
	// The record of every transfer (approvals, verdicts, downloads,
	// releases) is read by the auditors of clause 7 and the CISO's office
	// (Reference 5 item 8: approval records and history kept and checked).
	PermTransferAudit: {RoleCISO, RoleChiefOfficer, RoleAuditor},
	// The prefecture SOC sees every tenant; a body's CSIRT and its
	// organisation-wide officers see that body only (Subject.TenantsFor).
	PermAlertsView:      {RoleCISO, RoleChiefOfficer, RoleAuditor, RoleSOCOperator, RoleCSIRT},
	PermAlertsHandle:    {RoleCISO, RoleChiefOfficer, RoleSOCOperator, RoleCSIRT},
	PermEventsSearch:    {RoleCISO, RoleChiefOfficer, RoleAuditor, RoleSOCOperator, RoleCSIRT},
	PermIncidentsView:   {RoleCISO, RoleChiefOfficer, RoleAuditor, RoleSOCOperator, RoleCSIRT},
	PermIncidentsHandle: {RoleCISO, RoleChiefOfficer, RoleSOCOperator, RoleCSIRT},
	// Every member of staff must be able to report an incident (clause 5.3).
	PermIncidentsReport:   {RoleCISO, RoleChiefOfficer, RoleSecurityOfficer, RoleSecurityManager, RoleSystemAdministrator, RoleStaff, RoleSOCOperator, RoleCSIRT},
	PermIndicatorsPublish: {RoleSOCOperator},
}

// Permissions lists every permission in display order.
var Permissions = []Permission{PermDashboard, PermModelView, PermFindingsView, PermAuditView, PermAuditExport, PermUsersView, PermUsersManage, PermSelfMFA, PermAssessmentView, PermActivityView, PermSelfPassword, PermTransferUse, PermTransferApprove, PermTransferRelease, PermTransferAudit, PermAlertsView, PermAlertsHandle, PermEventsSearch, PermIncidentsView, PermIncidentsHandle, PermIncidentsReport, PermIndicatorsPublish}

// RoleHas reports whether role r carries permission p.
func RoleHas(r Role, p Permission) bool { return slices.Contains(matrix[p], r) }

// Subject is an authenticated user with their grants.
type Subject struct {
	User   *store.User
	Grants []store.Grant
}

// Can reports whether any of the subject's grants carries p.
func (s *Subject) Can(p Permission) bool {
	for _, g := range s.Grants {
		if RoleHas(Role(g.Role), p) {
			return true
		}
	}
	return false
}

// Privileged reports whether the subject holds a role for which MFA is
// mandatory.
func (s *Subject) Privileged() bool { return GrantsPrivileged(s.Grants) }

// GrantsPrivileged reports whether any grant is a privileged role.
func GrantsPrivileged(grants []store.Grant) bool {
	for _, g := range grants {
		if ri, ok := Info(Role(g.Role)); !ok || ri.Privileged {
			return true // unknown roles are treated as privileged: fail closed
		}
	}
	return false
}

// Scope says which parts of the model a subject may see for a scoped
// permission: everything (All) or the listed departments, divisions and
// systems.
type Scope struct {
	All         bool
	Departments map[string]bool
	Divisions   map[string]bool
	Systems     map[string]bool
}

// ScopeFor computes the subject's view of the model for permission p.
// Organisation-wide roles see everything; an officer sees their
// department's systems, a manager their division's, an administrator their
// systems.
func (s *Subject) ScopeFor(p Permission) Scope {
	sc := Scope{Departments: map[string]bool{}, Divisions: map[string]bool{}, Systems: map[string]bool{}}
	for _, g := range s.Grants {
		if !RoleHas(Role(g.Role), p) {
			continue
		}
		kind, id, _ := strings.Cut(g.Scope, ":")
		switch {
		case g.Scope == "":
			sc.All = true
		case kind == "department":
			sc.Departments[id] = true
		case kind == "division":
			sc.Divisions[id] = true
		case kind == "system":
			sc.Systems[id] = true
		}
	}
	return sc
}

// TenantScope says which security-cloud tenants a subject may see for a
// tenant-scoped permission. The zero value sees nothing (fail closed).
type TenantScope struct {
	All bool
	IDs map[string]bool
}

// Has reports whether tenant id is visible.
func (t TenantScope) Has(id string) bool { return t.All || t.IDs[id] }

// Empty reports whether nothing is visible.
func (t TenantScope) Empty() bool { return !t.All && len(t.IDs) == 0 }

// List returns the visible tenant IDs, sorted; nil with All.
func (t TenantScope) List() []string {
	if t.All {
		return nil
	}
	return slices.Sorted(maps.Keys(t.IDs))
}

// TenantsFor computes the tenants whose data the subject may see for p. A
// security cloud operator sees every tenant; a CSIRT grant scoped
// "tenant:ID" sees that tenant; other organisation-wide roles holding p
// (CISO, auditor…) see the console's home tenant, the body the console is
// deployed for. With no home tenant they see none.
func (s *Subject) TenantsFor(p Permission, home string) TenantScope {
	ts := TenantScope{IDs: map[string]bool{}}
	for _, g := range s.Grants {
		if !RoleHas(Role(g.Role), p) {
			continue
		}
		kind, id, _ := strings.Cut(g.Scope, ":")
		switch {
		case Role(g.Role) == RoleSOCOperator:
			ts.All = true
		case kind == "tenant" && id != "":
			ts.IDs[id] = true
		case g.Scope == "" && home != "":
			ts.IDs[home] = true
		}
	}
	return ts
}

// CanGrant reports whether the subject may give role r to someone. Only
// the CISO appoints another CISO; nobody changes their own roles (checked by
// the caller, who knows the target).
func (s *Subject) CanGrant(r Role) bool {
	if !s.Can(PermUsersManage) {
		return false
	}
	if r == RoleCISO {
		for _, g := range s.Grants {
			if Role(g.Role) == RoleCISO {
				return true
			}
		}
		return false
	}
	return true
}
