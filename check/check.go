package check

import (
	"cmp"
	"fmt"
	"net/netip"
	"slices"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/strictyaml"
)

// run holds the state of one check.
type run struct {
	m       *model.Model
	res     *Result
	flowNG  []map[string]bool // rules violated per flow index
	orgMeta *strictyaml.Meta
}

// Run checks a loaded model and returns the findings and the Appendix 2
// inventories.
func Run(m *model.Model) *Result {
	r := &run{m: m, res: &Result{Model: m}, flowNG: make([]map[string]bool, len(m.Flows))}
	if m.Org != nil {
		r.res.Organization, r.res.Code, r.res.NetworkModel = m.Org.Name, string(m.Org.Code), string(m.Org.NetworkModel)
		r.orgMeta = &m.Org.Meta
	} else {
		r.orgMeta = &strictyaml.Meta{}
	}
	r.zones()
	r.flows()
	r.path()
	r.terminals()
	r.assets()
	r.models()
	r.org()
	r.inventories()
	slices.SortStableFunc(r.res.Findings, func(a, b Finding) int {
		return cmp.Or(cmp.Compare(b.Severity, a.Severity), cmp.Compare(a.Rule, b.Rule),
			cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line))
	})
	s := &r.res.Summary
	s.Zones, s.Systems, s.Assets, s.Hosts = len(m.Zones), len(m.Systems), len(m.Assets), len(m.Hosts)
	s.Communications, s.Flows = len(m.Communications), len(m.Flows)
	for _, h := range m.Hosts {
		if h.Kind == "terminal" {
			s.Terminals += h.Count
		}
	}
	for _, f := range r.res.Findings {
		s.BySeverity[f.Severity]++
	}
	return r.res
}

func (r *run) report(rule *Rule, meta *strictyaml.Meta, field string, msg diag.Text, objects ...string) {
	f := Finding{Rule: rule.ID, Severity: rule.Severity, Title: rule.Title, Message: msg,
		Objects: objects, Clauses: rule.Clauses, Remediation: rule.Remediation}
	if meta != nil {
		f.File, f.Line = meta.File, int(meta.At(field).Line)
	}
	r.res.Findings = append(r.res.Findings, f)
}

func (r *run) flowFinding(i int, rule *Rule, msg diag.Text) {
	f := r.m.Flows[i]
	if r.flowNG[i] == nil {
		r.flowNG[i] = map[string]bool{}
	}
	if r.flowNG[i][rule.ID] {
		return
	}
	r.flowNG[i][rule.ID] = true
	r.report(rule, &f.Meta, "mechanism", msg, "flow/"+f.Name(), f.From, f.To)
}

func (r *run) zones() {
	for _, z := range r.m.Zones {
		if !z.NAC && (z.Type == model.ZoneMyNumber || z.Type == model.ZoneLGWAN) {
			r.report(ruleZoneNAC, &z.Meta, "nac", diag.T(
				fmt.Sprintf("ゾーン %s（%s）に接続機器の制限が記録されていません", z.ID, model.ZoneTypeJA[z.Type]),
				fmt.Sprintf("zone %s (%s) records no device admission control", z.ID, z.Type)), "zone/"+z.ID)
		}
	}
	for _, h := range r.m.Hosts {
		z := r.m.ZoneByID[h.Zone]
		if z == nil {
			continue
		}
		for _, a := range h.Addresses {
			if !inSubnets(a.Prefix, z.Subnets) {
				r.report(ruleHostOutsideZone, &h.Meta, "addresses", diag.T(
					fmt.Sprintf("ホスト %s のアドレス %s はゾーン %s のサブネットに含まれません", h.ID, a, z.ID),
					fmt.Sprintf("host %s address %s is not inside zone %s", h.ID, a, z.ID)), "host/"+h.ID, "zone/"+z.ID)
			}
		}
	}
}

// inSubnets reports whether p lies wholly inside one of subnets.
func inSubnets(p netip.Prefix, subnets []model.Prefix) bool {
	for _, s := range subnets {
		if s.Bits() <= p.Bits() && s.Contains(p.Addr()) {
			return true
		}
	}
	return false
}
