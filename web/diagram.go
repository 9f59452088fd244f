package web

import (
	"cmp"
	"fmt"
	"html"
	"math"
	"slices"
	"strings"

	"github.com/kyojin/kyojin/model"
)

// Diagram draws the body's zones and the flows between them as a
// self-contained SVG: one column per zone type of the three-zone model
// (マイナンバー利用事務系, LGWAN接続系, インターネット接続系), the external
// networks at the sides, and one arrow per pair of nodes labelled with the
// number of flows and how they cross (direct, specific communication,
// sanitization). The SVG has no script and no style attribute, so it is
// safe to inline under the console's CSP.
func Diagram(m *model.Model) string { return DiagramIn(m, "ja") }

// DiagramIn is Diagram with its labels in lang ("ja" or "en"); names from
// the model stay as written.
func DiagramIn(m *model.Model, lang string) string {
	t := func(ja string) string { return tr(lang, ja) }
	type node struct {
		key, label, sub, class string
		x, y, w, h             float64
	}
	const colW, boxW, boxH, top, gapY = 190.0, 150.0, 64.0, 70.0, 30.0
	cols := map[model.ZoneType]int{model.ZoneMyNumber: 1, model.ZoneLGWAN: 2, model.ZoneInternet: 3, model.ZoneManagement: 2, model.ZoneOther: 2}
	rows := map[int]int{}
	nodes := map[string]*node{}
	var order []*node
	add := func(key, label, sub, class string, col int, row int) *node {
		n := &node{key: key, label: label, sub: sub, class: class, x: 20 + float64(col)*colW, y: top + float64(row)*(boxH+gapY), w: boxW, h: boxH}
		nodes[key] = n
		order = append(order, n)
		return n
	}
	hostsIn := map[string]int{}
	for _, h := range m.Hosts {
		hostsIn[h.Zone] += max(h.Count, 1)
	}
	// The three zones first, in their columns; other zone types go below.
	zones := slices.Clone(m.Zones)
	slices.SortStableFunc(zones, func(a, b *model.Zone) int {
		rank := func(z *model.Zone) int {
			if z.Type == model.ZoneManagement || z.Type == model.ZoneOther {
				return 1
			}
			return 0
		}
		return cmp.Compare(rank(a), rank(b))
	})
	for _, z := range zones {
		col := cols[z.Type]
		row := rows[col] + 1 // row 0 of the LGWAN column is the LGWAN network itself
		rows[col] = row
		label := t(model.ZoneTypeJA[z.Type])
		if z.Name != "" {
			label = z.Name
		}
		add("zone/"+z.ID, label, fmt.Sprintf(t("%s・端末等 %d"), z.ID, hostsIn[z.ID]), "z-"+string(z.Type), col, row)
	}
	add("lgwan", t("LGWAN（全国）"), t("地方公共団体を結ぶ閉域網"), "ext", 2, 0)
	add("internet", t("インターネット"), "", "ext", 4, 1)
	if len(m.Communications) > 0 {
		add("comm", t("特定通信の接続先"), fmt.Sprintf(t("%d 件"), len(m.Communications)), "ext", 0, 1)
	}
	if len(m.Services) > 0 {
		add("service", t("外部サービス"), fmt.Sprintf(t("%d 件"), len(m.Services)), "ext", 4, 2)
	}
	nodeOf := func(e model.Endpoint) string {
		switch {
		case e.Zone != nil:
			return "zone/" + e.Zone.ID
		case e.Kind == model.EPInternet:
			return "internet"
		case e.Kind == model.EPLGWAN:
			return "lgwan"
		case e.Kind == model.EPComm:
			return "comm"
		case e.Kind == model.EPService:
			return "service"
		}
		return ""
	}
	type edgeKey struct{ from, to string }
	type edge struct {
		n    int
		mech map[model.Mechanism]int
	}
	edges := map[edgeKey]*edge{}
	for i := range m.Flows {
		a, b := nodeOf(m.FlowFrom[i]), nodeOf(m.FlowTo[i])
		if a == "" || b == "" || a == b {
			continue
		}
		k := edgeKey{a, b}
		if edges[k] == nil {
			edges[k] = &edge{mech: map[model.Mechanism]int{}}
		}
		edges[k].n++
		edges[k].mech[m.Flows[i].Mechanism]++
	}
	keys := make([]edgeKey, 0, len(edges))
	for k := range edges {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b edgeKey) int { return cmp.Or(cmp.Compare(a.from, b.from), cmp.Compare(a.to, b.to)) })

	maxRow := 1
	for _, n := range order {
		maxRow = max(maxRow, int((n.y-top)/(boxH+gapY)))
	}
	width, height := 20+5*colW, top+float64(maxRow+1)*(boxH+gapY)+20
	var b strings.Builder
	esc := html.EscapeString
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" width="100%%" role="img" aria-labelledby="dg-title dg-desc" class="diagram">`, width, height)
	fmt.Fprintf(&b, `<title id="dg-title">%s</title>`, esc(fmt.Sprintf(t("%s のネットワーク構成（三層の対策）"), m.Org.Name)))
	var desc []string
	for _, k := range keys {
		desc = append(desc, fmt.Sprintf(t("%s → %s: %d 件（%s）"), nodes[k.from].label, nodes[k.to].label, edges[k].n, mechSummary(edges[k].mech, t)))
	}
	fmt.Fprintf(&b, `<desc id="dg-desc">%s</desc>`, esc(strings.Join(desc, t("。"))))
	b.WriteString(`<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#333"/></marker></defs>`)
	heads := []struct {
		col   int
		label string
	}{{0, t("外部（特定通信）")}, {1, t("マイナンバー利用事務系")}, {2, t("LGWAN接続系")}, {3, t("インターネット接続系")}, {4, t("外部")}}
	for _, h := range heads {
		fmt.Fprintf(&b, `<text x="%.0f" y="30" class="col-head" text-anchor="middle" font-size="14" font-weight="bold" fill="#1a1a1a">%s</text>`, 20+float64(h.col)*colW+boxW/2, esc(h.label))
	}
	for _, k := range keys {
		a, c := nodes[k.from], nodes[k.to]
		ax, ay, cx, cy := a.x+a.w/2, a.y+a.h/2, c.x+c.w/2, c.y+c.h/2
		// Offset the two directions of a pair so both arrows stay visible.
		dx, dy := cx-ax, cy-ay
		l := math.Hypot(dx, dy)
		ox, oy := -dy/l*7, dx/l*7
		ax, ay, cx, cy = ax+ox, ay+oy, cx+ox, cy+oy
		// Clip the line to the boxes' borders.
		x1, y1 := clip(ax, ay, cx, cy, a.w/2, a.h/2)
		x2, y2 := clip(cx, cy, ax, ay, c.w/2, c.h/2)
		e := edges[k]
		cls, stroke, dash := "f-direct", "#555", ""
		switch {
		case e.mech[model.MechSanitizedMail]+e.mech[model.MechSanitizedFile]+e.mech[model.MechScreenTransfer] == e.n:
			cls, stroke, dash = "f-sanitized", "#1b7a3a", ` stroke-dasharray="6 4"`
		case e.mech[model.MechSpecific] == e.n:
			cls, stroke = "f-specific", "#0b4f8a"
		}
		fmt.Fprintf(&b, `<g class="%s"><line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s marker-end="url(#arrow)"/>`, cls, x1, y1, x2, y2, stroke, dash)
		mx, my := (x1+x2)/2+ox, (y1+y2)/2+oy
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" font-size="11" text-anchor="middle" fill="#1a1a1a">%d</text></g>`, mx, my-3, e.n)
	}
	fills := map[string]string{"z-mynumber": "#fde8e8", "z-lgwan": "#e6f0fb", "z-internet": "#fff4dc", "z-management": "#eeeeee", "z-other": "#eeeeee", "ext": "#ffffff"}
	for _, n := range order {
		fill := cmp.Or(fills[n.class], "#ffffff")
		fmt.Fprintf(&b, `<g class="node %s"><rect x="%.0f" y="%.0f" width="%.0f" height="%.0f" rx="6" fill="%s" stroke="#333" stroke-width="1.5"/>`, esc(n.class), n.x, n.y, n.w, n.h, fill)
		fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle" font-size="13" fill="#1a1a1a">%s</text>`, n.x+n.w/2, n.y+26, esc(truncate(n.label, 12)))
		if n.sub != "" {
			fmt.Fprintf(&b, `<text x="%.0f" y="%.0f" text-anchor="middle" font-size="11" fill="#333">%s</text>`, n.x+n.w/2, n.y+46, esc(truncate(n.sub, 16)))
		}
		b.WriteString(`</g>`)
	}
	ly := height - 12
	fmt.Fprintf(&b, `<g font-size="11" fill="#1a1a1a"><line x1="20" y1="%.0f" x2="50" y2="%.0f" stroke="#555" stroke-width="2"/><text x="55" y="%.0f">%s</text>`, ly-4, ly-4, ly, esc(t("直接")))
	fmt.Fprintf(&b, `<line x1="110" y1="%.0f" x2="140" y2="%.0f" stroke="#0b4f8a" stroke-width="2"/><text x="145" y="%.0f">%s</text>`, ly-4, ly-4, ly, esc(t("特定通信")))
	fmt.Fprintf(&b, `<line x1="220" y1="%.0f" x2="250" y2="%.0f" stroke="#1b7a3a" stroke-width="2" stroke-dasharray="6 4"/><text x="255" y="%.0f">%s</text><text x="380" y="%.0f">%s</text></g>`, ly-4, ly-4, ly, esc(t("無害化・画面転送")), ly, esc(t("数字は通信（flow）の件数")))
	b.WriteString(`</svg>`)
	return b.String()
}

// clip moves (x, y) from a box centre towards (tx, ty) until it leaves the
// box of half-size hw × hh.
func clip(x, y, tx, ty, hw, hh float64) (float64, float64) {
	dx, dy := tx-x, ty-y
	if dx == 0 && dy == 0 {
		return x, y
	}
	s := math.Inf(1)
	if dx != 0 {
		s = math.Min(s, hw/math.Abs(dx))
	}
	if dy != 0 {
		s = math.Min(s, hh/math.Abs(dy))
	}
	return x + dx*s, y + dy*s
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

var mechJA = map[model.Mechanism]string{model.MechDirect: "直接", model.MechSpecific: "特定通信", model.MechSanitizedMail: "メール無害化",
	model.MechSanitizedFile: "ファイル無害化", model.MechScreenTransfer: "画面転送"}

func mechSummary(m map[model.Mechanism]int, t func(string) string) string {
	var parts []string
	for _, k := range []model.Mechanism{model.MechDirect, model.MechSpecific, model.MechSanitizedMail, model.MechSanitizedFile, model.MechScreenTransfer} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%s %d", t(mechJA[k]), m[k]))
		}
	}
	return strings.Join(parts, t("、"))
}
