package model

import (
	"fmt"
	"strings"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/strictyaml"
)

// EndpointKind tells what a flow endpoint refers to.
type EndpointKind int

const (
	EPInvalid EndpointKind = iota
	EPHost
	EPSystem
	EPZone
	EPComm
	EPService
	EPInternet // the Internet itself
	EPLGWAN    // the nationwide LGWAN beyond the body
)

// Endpoint is a resolved flow endpoint.
type Endpoint struct {
	Kind    EndpointKind
	Ref     string
	Host    *Host
	System  *System
	Zone    *Zone // the zone the endpoint sits in (nil for external endpoints)
	Comm    *Communication
	Service *Service
}

// External reports whether the endpoint lies outside the body's zones.
func (e Endpoint) External() bool {
	return e.Kind == EPComm || e.Kind == EPService || e.Kind == EPInternet || e.Kind == EPLGWAN
}

// ZoneType is the type of the endpoint's zone, or "" for external endpoints.
func (e Endpoint) ZoneType() ZoneType {
	if e.Zone == nil {
		return ""
	}
	return e.Zone.Type
}

// Resolve turns an endpoint reference into an Endpoint.
func (m *Model) Resolve(ref string) (Endpoint, bool) {
	switch ref {
	case "internet":
		return Endpoint{Kind: EPInternet, Ref: ref}, true
	case "lgwan":
		return Endpoint{Kind: EPLGWAN, Ref: ref}, true
	}
	kind, id, ok := strings.Cut(ref, "/")
	if !ok {
		return Endpoint{Ref: ref}, false
	}
	e := Endpoint{Ref: ref}
	switch kind {
	case "host":
		if h := m.HostByID[id]; h != nil {
			e.Kind, e.Host, e.Zone = EPHost, h, m.ZoneByID[h.Zone]
		}
	case "system":
		if s := m.SystemByID[id]; s != nil {
			e.Kind, e.System, e.Zone = EPSystem, s, m.ZoneByID[s.Zone]
		}
	case "zone":
		if z := m.ZoneByID[id]; z != nil {
			e.Kind, e.Zone = EPZone, z
		}
	case "comm":
		if c := m.CommByID[id]; c != nil {
			e.Kind, e.Comm = EPComm, c
		}
	case "service":
		if s := m.ServiceByID[id]; s != nil {
			e.Kind, e.Service = EPService, s
		}
	}
	return e, e.Kind != EPInvalid
}

type refCheck struct {
	diags *diag.List
}

func (r refCheck) missing(meta *strictyaml.Meta, path, field, id string, what diag.Text, hint diag.Text) {
	r.diags.Add(meta.Diag(diag.Error, path, field, "dangling-reference",
		diag.T(fmt.Sprintf("%s %q は定義されていません", what.JA, id), fmt.Sprintf("%s %q is not defined", what.EN, id)), hint))
}

func (m *Model) validate(diags *diag.List) {
	r := refCheck{diags}
	// A file that does not parse hides its organization and zones: do not
	// pile "missing" errors on top of its syntax error.
	unparsed := false
	for _, d := range diags.Items {
		if d.Code == "yaml-syntax" {
			unparsed = true
		}
	}
	if m.Org == nil && unparsed {
		return
	}
	if m.Org == nil {
		file := ""
		if len(m.Files) > 0 {
			file = m.Files[0]
		}
		diags.Add(diag.Diagnostic{File: file, Line: 1, Col: 1, Severity: diag.Error, Code: "no-organization",
			Msg:  diag.T("organization がどのファイルにもありません", "no file defines the organization"),
			Hint: diag.T("organization: に団体名・種類・団体コード・ネットワークモデルを書いてください", "add organization: with name, kind, code and network_model")})
	} else {
		m.validateOrg(r)
	}
	for _, t := range []ZoneType{ZoneMyNumber, ZoneLGWAN, ZoneInternet} {
		if len(m.ZonesOfType(t)) == 0 && len(m.Files) > 0 && !unparsed {
			diags.Add(diag.Diagnostic{File: m.Files[0], Line: 1, Col: 1, Severity: diag.Error, Code: "missing-zone",
				Msg:  diag.T(fmt.Sprintf("%s（type: %s）のゾーンがありません", ZoneTypeJA[t], t), fmt.Sprintf("no zone of type %s", t)),
				Hint: diag.T("三層の対策では3つのゾーンすべてを定義します", "the three-zone model needs all three zones")})
		}
	}
	m.checkSubnets(diags)
	person := diag.T("人", "person")
	personHint := diag.T("organization.people に定義した id を指定してください", "use an id from organization.people")
	zoneWhat, zoneHint := diag.T("ゾーン", "zone"), diag.T("zones に定義した id を指定してください", "use an id from zones")
	for _, doc := range m.Docs {
		for i := range doc.Systems {
			s := &doc.Systems[i]
			p := fmt.Sprintf("systems[%d]", i)
			if s.Zone != "" && m.ZoneByID[s.Zone] == nil {
				r.missing(&s.Meta, p, "zone", s.Zone, zoneWhat, zoneHint)
			}
			if s.Department != "" && m.DeptByID[s.Department] == nil {
				r.missing(&s.Meta, p, "department", s.Department, diag.T("部局", "department"), diag.T("organization.departments の id を指定してください", "use an id from organization.departments"))
			}
			if s.Division != "" && m.DivByID[s.Division] == nil {
				r.missing(&s.Meta, p, "division", s.Division, diag.T("課室", "division"), diag.T("departments[].divisions の id を指定してください", "use a division id"))
			}
			if s.Administrator != "" && m.PersonByID[s.Administrator] == nil {
				r.missing(&s.Meta, p, "administrator", s.Administrator, person, personHint)
			}
			if s.Vendor != "" && m.VendorByID[s.Vendor] == nil {
				r.missing(&s.Meta, p, "vendor", s.Vendor, diag.T("委託先", "vendor"), diag.T("vendors の id を指定してください", "use an id from vendors"))
			}
			for _, a := range s.Assets {
				if m.AssetByID[a] == nil {
					r.missing(&s.Meta, p, "assets", a, diag.T("情報資産", "asset"), diag.T("assets の id を指定してください", "use an id from assets"))
				}
			}
		}
		for i := range doc.Assets {
			a := &doc.Assets[i]
			p := fmt.Sprintf("assets[%d]", i)
			if a.Confidentiality == ConfLegacy3 {
				diags.Add(a.Diag(diag.Warning, p, "confidentiality", "legacy-confidentiality",
					diag.T("機密性「3」は令和6年10月改定で 3A/3B/3C に細分化されました", "confidentiality \"3\" was split into 3A/3B/3C in the R6.10 edition"),
					diag.T("特定個人情報など最も重要なものは 3A、個人情報を含むものは 3B、それ以外の機密性3は 3C に書き換えてください（当面は 3B とみなします）",
						"use 3A for the most sensitive (e.g. My Number data), 3B for personal information, 3C for other class-3 information (treated as 3B until then)")))
			}
			if a.Owner != "" && m.DivByID[a.Owner] == nil {
				r.missing(&a.Meta, p, "owner", a.Owner, diag.T("課室", "division"), diag.T("departments[].divisions の id を指定してください", "use a division id"))
			}
		}
		for i := range doc.Hosts {
			h := &doc.Hosts[i]
			p := fmt.Sprintf("hosts[%d]", i)
			if h.Zone != "" && m.ZoneByID[h.Zone] == nil {
				r.missing(&h.Meta, p, "zone", h.Zone, zoneWhat, zoneHint)
			}
			for _, s := range h.Systems {
				if m.SystemByID[s] == nil {
					r.missing(&h.Meta, p, "systems", s, diag.T("システム", "system"), diag.T("systems の id を指定してください", "use an id from systems"))
				}
			}
			if h.Division != "" && m.DivByID[h.Division] == nil {
				r.missing(&h.Meta, p, "division", h.Division, diag.T("課室", "division"), diag.T("departments[].divisions の id を指定してください", "use a division id"))
			}
			if h.Count < 0 {
				diags.Add(h.Diag(diag.Error, p, "count", "value", diag.T("count は1以上です", "count must be at least 1"), diag.Text{}))
			}
		}
		for i := range doc.Communications {
			c := &doc.Communications[i]
			p := fmt.Sprintf("communications[%d]", i)
			if c.Zone != "" && m.ZoneByID[c.Zone] == nil {
				r.missing(&c.Meta, p, "zone", c.Zone, zoneWhat, zoneHint)
			}
		}
		for i := range doc.Flows {
			m.validateFlow(r, &doc.Flows[i], fmt.Sprintf("flows[%d]", i))
		}
		for i := range doc.Vendors {
			v := &doc.Vendors[i]
			p := fmt.Sprintf("vendors[%d]", i)
			for _, a := range v.Processes {
				if m.AssetByID[a] == nil {
					r.missing(&v.Meta, p, "processes", a, diag.T("情報資産", "asset"), diag.T("assets の id を指定してください", "use an id from assets"))
				}
			}
			for _, s := range v.Systems {
				if m.SystemByID[s] == nil {
					r.missing(&v.Meta, p, "systems", s, diag.T("システム", "system"), diag.T("systems の id を指定してください", "use an id from systems"))
				}
			}
		}
		for i := range doc.Services {
			s := &doc.Services[i]
			p := fmt.Sprintf("services[%d]", i)
			if s.Vendor != "" && m.VendorByID[s.Vendor] == nil {
				r.missing(&s.Meta, p, "vendor", s.Vendor, diag.T("委託先", "vendor"), diag.T("vendors の id を指定してください", "use an id from vendors"))
			}
			for _, a := range s.Assets {
				if m.AssetByID[a] == nil {
					r.missing(&s.Meta, p, "assets", a, diag.T("情報資産", "asset"), diag.T("assets の id を指定してください", "use an id from assets"))
				}
			}
		}
	}
}

func (m *Model) validateOrg(r refCheck) {
	o := m.Org
	person := diag.T("人", "person")
	hint := diag.T("organization.people に定義した id を指定してください", "use an id from organization.people")
	check := func(meta *strictyaml.Meta, path, field, id string) {
		if id != "" && m.PersonByID[id] == nil {
			r.missing(meta, path, field, id, person, hint)
		}
	}
	check(&o.Roles.Meta, "organization.roles", "ciso", o.Roles.CISO)
	check(&o.Roles.Meta, "organization.roles", "chief_officer", o.Roles.ChiefOfficer)
	check(&o.Roles.Meta, "organization.roles", "advisor", o.Roles.Advisor)
	check(&o.Roles.CSIRT.Meta, "organization.roles.csirt", "lead", o.Roles.CSIRT.Lead)
	for _, mem := range o.Roles.CSIRT.Members {
		check(&o.Roles.CSIRT.Meta, "organization.roles.csirt", "members", mem)
	}
	for i := range o.Departments {
		d := &o.Departments[i]
		check(&d.Meta, fmt.Sprintf("organization.departments[%d]", i), "officer", d.Officer)
		for j := range d.Divisions {
			check(&d.Divisions[j].Meta, fmt.Sprintf("organization.departments[%d].divisions[%d]", i, j), "manager", d.Divisions[j].Manager)
		}
	}
}

var endpointHint = diag.T(`"host/ID"・"system/ID"・"zone/ID"・"comm/ID"・"service/ID"・"internet"・"lgwan" のいずれかで書いてください`,
	`write "host/ID", "system/ID", "zone/ID", "comm/ID", "service/ID", "internet" or "lgwan"`)

func (m *Model) validateFlow(r refCheck, f *Flow, path string) {
	from, okFrom := m.Resolve(f.From)
	to, okTo := m.Resolve(f.To)
	for _, c := range []struct {
		field, ref string
		ok         bool
	}{{"from", f.From, okFrom}, {"to", f.To, okTo}} {
		if !c.ok && c.ref != "" {
			r.missing(&f.Meta, path, c.field, c.ref, diag.T("通信の端点", "flow endpoint"), endpointHint)
		}
	}
	m.FlowFrom = append(m.FlowFrom, from)
	m.FlowTo = append(m.FlowTo, to)
	if f.Mechanism == MechSpecific && f.Via == "" {
		// A flow to or from a communication's endpoint travels over it.
		if to.Kind == EPComm {
			f.Via = to.Comm.ID
		} else if from.Kind == EPComm {
			f.Via = from.Comm.ID
		}
	}
	if f.Mechanism == MechSpecific {
		if f.Via == "" {
			r.diags.Add(f.Diag(diag.Error, path, "via", "required",
				diag.T("specific-communication の通信には via（特定通信の id）が必要です", "a specific-communication flow needs via (the communication id)"),
				diag.T("communications に定義した id を via: に書いてください", "set via: to an id from communications")))
		}
	}
	if f.Via != "" && m.CommByID[f.Via] == nil {
		r.missing(&f.Meta, path, "via", f.Via, diag.T("特定通信", "specific communication"), diag.T("communications の id を指定してください", "use an id from communications"))
	}
	if okFrom && okTo && from.Ref == to.Ref {
		r.diags.Add(f.Diag(diag.Error, path, "to", "self-flow", diag.T("from と to が同じです", "from and to are the same"), diag.Text{}))
	}
}
