package modelgen

import (
	"strings"

	"github.com/kyojin/kyojin/model"
)

func list(xs []string) string { return "[" + strings.Join(xs, ", ") + "]" }

// emit renders the organization as several files, the way a body splits
// its inventory: organization, zones, assets, systems, hosts and flows per
// zone, communications, vendors and services.
func (g *orgGen) emit() []file {
	p := g.p
	var files []file

	w := header("organization.yaml", "団体・組織・役割")
	w.line("organization:")
	w.line("  name: %s", p.name)
	w.line("  name_en: %s", p.en)
	w.line("  kind: %s", p.kind)
	w.line("  code: %q", p.code)
	w.line("  prefecture: %s", p.prefName)
	w.line("  network_model: %s", p.netModel)
	w.line("  security_cloud: true")
	if p.netModel == model.Beta || p.netModel == model.BetaPrime {
		w.line("  controls: {siem: true, system_log_management: true, vulnerability_management: true, asset_management: true, network_monitoring: true,")
		w.line("    external_audit: {date: 2025-03-%02d, auditor: 架空情報セキュリティ監査協会}}", 1+p.index%28)
	} else {
		w.line("  controls: {network_monitoring: true}")
	}
	w.line("  roles:")
	w.line("    ciso: p-ciso")
	w.line("    chief_officer: p-chief")
	w.line("    csirt: {lead: p-joho-mgr, members: [p-joho-admin, p-csirt]}")
	w.line("  departments:")
	ds, _ := g.suffixes()
	for i, d := range deptTable[:g.depts] {
		officer := "p-" + d.id + "-head"
		if i == 0 {
			officer = "p-chief"
		}
		w.line("    - id: %s", d.id)
		w.line("      name: %s", d.name+ds)
		w.line("      officer: %s", officer)
		w.line("      divisions:")
		for _, dd := range deptTable {
			for _, v := range dd.divs {
				if g.divDept[v[0]] == d.id {
					w.line("        - {id: %s, name: %s, manager: p-%s-mgr}", v[0], g.divName(v[0]), v[0])
				}
			}
		}
	}
	w.line("  people:")
	for _, pp := range g.people {
		w.line("    - {id: %s, name: %s, title: %s}", pp[0], pp[1], pp[2])
	}
	files = append(files, w.file())

	w = header("zones.yaml", "三層のゾーン")
	w.line("zones:")
	w.line("  - {id: mynumber, type: mynumber, name: マイナンバー利用事務系, subnets: [10.16.0.0/12], nac: true}")
	w.line("  - {id: lgwan, type: lgwan, name: LGWAN 接続系, subnets: [10.32.0.0/12], nac: true}")
	w.line("  - {id: internet, type: internet, name: インターネット接続系, subnets: [10.48.0.0/12, 172.16.0.0/22], nac: true}")
	files = append(files, w.file())

	w = header("assets.yaml", "情報資産")
	w.line("assets:")
	for _, a := range g.assets {
		mn := ""
		if a.myNumber {
			mn = ", my_number: true"
		}
		w.line("  - {id: %s, name: %s, confidentiality: %s, integrity: 2, availability: %d%s, owner: %s}", a.id, a.name, a.conf, 1+len(a.id)%2, mn, a.owner)
	}
	files = append(files, w.file())

	w = header("systems.yaml", "業務システム")
	w.line("systems:")
	for _, s := range g.systems {
		hosting := "on-premises"
		switch {
		case s.asp:
			hosting = "lgwan-asp"
		case s.zone == "mynumber" && !g.infra(s.id) && len(s.id)%3 == 0:
			hosting = "gov-cloud"
		}
		extra := ""
		if len(s.assets) > 0 {
			extra += ", assets: " + list(s.assets)
		}
		if s.access {
			extra += ", access_control: true"
		}
		if v := g.vendorOf(s); v != "" {
			extra += ", vendor: " + v
		}
		w.line("  - {id: %s, name: %s, zone: %s, department: %s, division: %s, hosting: %s, administrator: p-%s-admin%s}",
			s.id, s.name, s.zone, s.dept, s.div, hosting, s.div, extra)
	}
	files = append(files, w.file())

	for _, z := range []string{"mynumber", "lgwan", "internet"} {
		w = header("hosts-"+z+".yaml", "サーバ・端末（"+z+"）")
		w.line("hosts:")
		for _, h := range g.hosts {
			if h.zone != z {
				continue
			}
			w.line("  - id: %s", h.id)
			w.line("    kind: %s", h.kind)
			w.line("    zone: %s", h.zone)
			w.line("    addresses: [%s]", h.addr)
			w.line("    role: %s", h.role)
			if len(h.systems) > 0 {
				w.line("    systems: %s", list(h.systems))
			}
			if h.count > 1 {
				w.line("    count: %d", h.count)
			}
			if h.dedicated {
				w.line("    dedicated: true")
			}
			if len(h.auth) > 0 {
				w.line("    auth: %s", list(h.auth))
			}
			if h.media != "" {
				w.line("    removable_media: %s", h.media)
			}
			w.line("    endpoint: %s", list(h.endpoint))
			w.line("    os: %s", h.os)
			if h.div != "" {
				w.line("    division: %s", h.div)
			}
			if h.oplog {
				w.line("    operation_log: true")
			}
		}
		files = append(files, w.file())
	}

	w = header("communications.yaml", "特定通信")
	w.line("communications:")
	for i, c := range g.comms {
		w.line("  - id: %s", c.id)
		w.line("    name: %s", c.name)
		w.line("    kind: %s", c.kind)
		w.line("    zone: mynumber")
		w.line("    addresses: [%s]", c.addr)
		w.line("    ports: %s", list(c.ports))
		w.line("    direction: %s", c.direction)
		w.line("    approval: 情報セキュリティ委員会 承認 R6-%03d", i+1)
		w.line("    internet_connected: %t", c.internet)
		if len(c.measures) > 0 {
			w.line("    measures: %s", list(c.measures))
		}
	}
	files = append(files, w.file())

	zoneOfRef := func(ref string) string {
		kind, id, _ := strings.Cut(ref, "/")
		switch kind {
		case "zone":
			return id
		case "host":
			for _, pfx := range []string{"mn-", "lg-", "in-"} {
				if strings.HasPrefix(id, pfx) {
					return map[string]string{"mn-": "mynumber", "lg-": "lgwan", "in-": "internet"}[pfx]
				}
			}
		}
		return ""
	}
	for _, z := range []string{"mynumber", "lgwan", "internet"} {
		w = header("flows-"+z+".yaml", "通信経路（"+z+" から）")
		w.line("flows:")
		for _, f := range g.flows {
			fz := zoneOfRef(f.from)
			if fz == "" {
				fz = zoneOfRef(f.to)
			}
			if fz != z {
				continue
			}
			via := ""
			if f.via != "" {
				via = ", via: " + f.via
			}
			w.line("  - {id: %s, from: %s, to: %s, ports: %s, mechanism: %s%s}", f.id, f.from, f.to, list(f.ports), f.mech, via)
		}
		files = append(files, w.file())
	}

	w = header("vendors.yaml", "委託先と外部サービス")
	w.line("vendors:")
	for i, name := range vendors[:3] {
		id := [...]string{"v-kikan", "v-naibu", "v-net"}[i]
		var systems []string
		for _, s := range g.systems {
			if g.vendorOf(s) == id {
				systems = append(systems, s.id)
			}
		}
		w.line("  - id: %s", id)
		w.line("    name: %s", name)
		if len(systems) > 0 {
			w.line("    systems: %s", list(systems))
		}
		w.line("    certifications: [isms, pmark]")
		w.line("    contract_clauses: [confidentiality, subcontracting, audit, incident-report, data-deletion]")
		w.line("    contract_end: 2030-03-31")
		w.line("    data_deletion_date: 2030-06-30")
	}
	w.line("services:")
	w.line("  - {id: web-meeting, name: Web 会議, kind: web-meeting, addresses: [198.51.100.0/26], ports: [tcp/443], certifications: [ismap], approval: 外部サービス利用承認 R6-101}")
	if p.netModel == model.AlphaPrime {
		w.line("  - {id: cloud-office, name: クラウド型オフィススイート, kind: saas, addresses: [203.0.113.0/26], ports: [tcp/443], certifications: [ismap], approved_for_lgwan: true, approval: α' ローカルブレイクアウト承認 R6-102}")
	}
	files = append(files, w.file())
	return files
}

func (g *orgGen) vendorOf(s *gsys) string {
	switch {
	case g.infra(s.id):
		return "v-net"
	case s.zone == "mynumber":
		return "v-kikan"
	case s.asp:
		return ""
	}
	return "v-naibu"
}
