package check

import (
	"cmp"
	"slices"

	"github.com/kyojin/kyojin/model"
)

// inventories builds the three lists of Appendix 2 steps 1-3 from the flows,
// marking each row NG when a finding touches one of its flows.
func (r *run) inventories() {
	m := r.m
	type key struct{ from, to, mech string }
	rows := map[key]*ConnectionRow{}
	var order []key
	for i, f := range m.Flows {
		from, to := m.FlowFrom[i], m.FlowTo[i]
		if from.Kind == model.EPInvalid || to.Kind == model.EPInvalid {
			continue
		}
		ng := r.flowNG[i]
		k := key{sideID(from), sideID(to), string(f.Mechanism)}
		row := rows[k]
		if row == nil {
			row = &ConnectionRow{FromZone: k.from, To: k.to, ToKind: sideKind(to), Mechanism: k.mech, Verdict: OK}
			rows[k] = row
			order = append(order, k)
		}
		row.Flows++
		for _, p := range f.Ports {
			if !slices.Contains(row.Ports, p.String()) {
				row.Ports = append(row.Ports, p.String())
			}
		}
		if len(ng) > 0 {
			row.Verdict = NG
			for id := range ng {
				if !slices.Contains(row.Rules, id) {
					row.Rules = append(row.Rules, id)
				}
			}
		}
		if pr, terminal, ok := pairRow(f, from, to, ng); ok {
			if terminal {
				r.res.TerminalRows = append(r.res.TerminalRows, pr)
			} else {
				r.res.ServerPairs = append(r.res.ServerPairs, pr)
			}
		}
	}
	for _, k := range order {
		row := rows[k]
		slices.Sort(row.Ports)
		slices.Sort(row.Rules)
		r.res.Connections = append(r.res.Connections, *row)
	}
	slices.SortStableFunc(r.res.Connections, func(a, b ConnectionRow) int {
		return cmp.Or(cmp.Compare(a.FromZone, b.FromZone), cmp.Compare(a.To, b.To), cmp.Compare(a.Mechanism, b.Mechanism))
	})
}

func sideID(e model.Endpoint) string {
	if e.Zone != nil {
		return e.Zone.ID
	}
	return e.Ref
}

func sideKind(e model.Endpoint) string {
	switch e.Kind {
	case model.EPInternet:
		return "internet"
	case model.EPLGWAN:
		return "lgwan"
	case model.EPComm:
		return "specific-communication"
	case model.EPService:
		return "service"
	}
	return "zone"
}

// pairRow describes a flow between concrete machines for the server-to-server
// (step 2) or terminal-to-server (step 3) inventory.
func pairRow(f *model.Flow, from, to model.Endpoint, ng map[string]bool) (PairRow, bool, bool) {
	machine := func(e model.Endpoint) (role string, count int, ok bool) {
		switch e.Kind {
		case model.EPHost:
			return cmp.Or(e.Host.Role, string(e.Host.Kind)), e.Host.Count, true
		case model.EPSystem:
			return e.System.Name, 1, true
		}
		return "", 0, false
	}
	fromRole, count, ok1 := machine(from)
	toRole, _, ok2 := machine(to)
	if !ok1 || !ok2 || (to.Kind == model.EPHost && to.Host.Kind == "terminal") {
		return PairRow{}, false, false
	}
	pr := PairRow{Flow: f.Name(), From: from.Ref, FromZone: sideID(from), FromRole: fromRole, Count: count,
		To: to.Ref, ToZone: sideID(to), ToRole: toRole, Mechanism: string(f.Mechanism), Verdict: OK}
	for _, p := range f.Ports {
		pr.Ports = append(pr.Ports, p.String())
	}
	if len(ng) > 0 {
		pr.Verdict = NG
		for id := range ng {
			pr.Rules = append(pr.Rules, id)
		}
		slices.Sort(pr.Rules)
	}
	terminal := from.Kind == model.EPHost && from.Host.Kind == "terminal"
	return pr, terminal, true
}
