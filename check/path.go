package check

import (
	"fmt"
	"strings"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
)

// path looks for any route from a My Number zone to the Internet (3(1)①:
// "directly or indirectly"). Hosts inside one zone are assumed to reach each
// other, so the graph collapses to zones and external endpoints; network-level
// flows (direct, specific-communication) are edges in both directions, since
// a connection carries data both ways. Sanitized mechanisms are not edges:
// they do not carry arbitrary traffic. Specific-communication peers marked
// internet_connected, and external services, touch the Internet.
func (r *run) path() {
	m := r.m
	const internet = "internet"
	type edge struct {
		to   string
		flow int // -1 for an implied edge
	}
	adj := map[string][]edge{}
	seen := map[[2]string]bool{}
	add := func(a, b string, flow int) {
		if a == b || seen[[2]string{a, b}] {
			return
		}
		seen[[2]string{a, b}], seen[[2]string{b, a}] = true, true
		adj[a] = append(adj[a], edge{b, flow})
		adj[b] = append(adj[b], edge{a, flow})
	}
	node := func(e model.Endpoint) string {
		switch e.Kind {
		case model.EPInternet:
			return internet
		case model.EPLGWAN:
			return "lgwan"
		case model.EPComm, model.EPService:
			return e.Ref
		}
		if e.Zone != nil {
			return "zone/" + e.Zone.ID
		}
		return ""
	}
	for i, f := range m.Flows {
		if f.Mechanism.Sanitized() {
			continue
		}
		a, b := node(m.FlowFrom[i]), node(m.FlowTo[i])
		if a == "" || b == "" {
			continue
		}
		add(a, b, i)
	}
	for _, c := range m.Communications {
		if c.InternetConnected {
			add("comm/"+c.ID, internet, -1)
		}
	}
	for _, s := range m.Services {
		add("service/"+s.ID, internet, -1)
	}
	for _, z := range m.ZonesOfType(model.ZoneMyNumber) {
		start := "zone/" + z.ID
		prev := map[string]edge{start: {flow: -2}}
		queue := []string{start}
		for len(queue) > 0 && !hasKey(prev, internet) {
			n := queue[0]
			queue = queue[1:]
			for _, e := range adj[n] {
				if _, ok := prev[e.to]; ok {
					continue
				}
				prev[e.to] = edge{n, e.flow}
				queue = append(queue, e.to)
			}
		}
		if !hasKey(prev, internet) {
			continue
		}
		var hopsJA, hopsEN, objs []string
		for n := internet; n != start; n = prev[n].to {
			e := prev[n]
			viaJA, viaEN := "接続先がインターネット接続", "peer on the Internet"
			if e.flow >= 0 {
				viaJA = "flow/" + m.Flows[e.flow].Name()
				viaEN = viaJA
				objs = append([]string{viaJA}, objs...)
			}
			hopsJA = append([]string{fmt.Sprintf("%s →[%s]→ %s", e.to, viaJA, n)}, hopsJA...)
			hopsEN = append([]string{fmt.Sprintf("%s →[%s]→ %s", e.to, viaEN, n)}, hopsEN...)
		}
		pathJA, pathEN := strings.Join(hopsJA, ", "), strings.Join(hopsEN, ", ")
		r.report(ruleMNPath, &z.Meta, "id", diag.T(
			fmt.Sprintf("マイナンバー利用事務系 %s からインターネットへの経路: %s", z.ID, pathJA),
			fmt.Sprintf("route from My Number zone %s to the Internet: %s", z.ID, pathEN)), append([]string{"zone/" + z.ID}, objs...)...)
	}
}

func hasKey[K comparable, V any](m map[K]V, k K) bool {
	_, ok := m[k]
	return ok
}
