package policy

import (
	"fmt"
	"strings"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/model"
)

// Standards builds the standards (対策基準): the role table, the
// classification scheme and every guideline clause that applies to the body,
// recommendations only where opted in.
func Standards(in Input) *Document {
	m, cat := in.Model, in.Catalog
	org := orgName(m)
	d := &Document{Name: "taisaku-kijun", Title: org + "情報セキュリティ対策基準", Org: org, Date: in.Options.EffectiveDate(in.Date)}
	d.Revisions = revisions(in, d.Date)
	instrument := "要綱"
	if in.Options != nil && in.Options.Instrument != "" {
		instrument = in.Options.Instrument
	}
	d.h1("趣旨")
	d.p("この%sは、%s情報セキュリティ基本方針に基づき、情報セキュリティ対策として職員等が守るべき事項と判断の基準を定める。各項目の番号は、総務省「地方公共団体における情報セキュリティポリシーに関するガイドライン」の対策基準の番号に対応する。", instrument, org)
	d.p("本団体のネットワークは%sを採用し、%sの領域に分割している。この基準には、本団体の構成、団体の種類及び利用している機能に該当する項目を掲げる。", modelName(m), strings.Join(zoneNames(m), "・"))
	d.h1("役割と担当者")
	r := m.Org.Roles
	rows := [][]string{{"役割", "充てる者", "対応する項目"},
		{catalog.RoleName(catalog.RoleCISO, "ja"), holder(m, r.CISO), "1(1)"},
		{catalog.RoleName(catalog.RoleChiefOfficer, "ja"), holder(m, r.ChiefOfficer), "1(2)"}}
	if r.Advisor != "" {
		rows = append(rows, []string{"最高情報セキュリティアドバイザー", holder(m, r.Advisor), "1(1)②"})
	}
	rows = append(rows,
		[]string{catalog.RoleName(catalog.RoleOfficer, "ja"), fmt.Sprintf("各部局の長（%d 部局）", len(m.Org.Departments)), "1(3)"},
		[]string{catalog.RoleName(catalog.RoleManager, "ja"), fmt.Sprintf("各課室の長（%d 課室）", divisions(m)), "1(4)"},
		[]string{catalog.RoleName(catalog.RoleSysAdmin, "ja"), fmt.Sprintf("各情報システムの所管課室の長（%d システム）", len(m.Systems)), "1(5)"})
	if r.CSIRT.Lead != "" {
		rows = append(rows, []string{"CSIRT 責任者", holder(m, r.CSIRT.Lead), "1(9)"})
	}
	d.table(rows)
	d.h1("情報資産の分類")
	sch, legacy := scheme(m)
	if legacy {
		d.p("情報資産は次の分類により管理する。機密性3の細分化（3A・3B・3C）への移行を検討すること。")
	} else {
		d.p("情報資産は次の分類により管理する（機密性3を3A・3B・3Cに細分化した分類）。")
	}
	d.table(sch)

	prof := assess.ProfileOf(m)
	opt := in.optIn()
	lastSec, lastSub := "", ""
	var excluded [][]string
	for _, e := range cat.Select(catalog.Filter{Catalog: catalog.Guideline, Edition: assess.Edition}) {
		if ok, reasons := cat.AppliesTo(e, prof); !ok {
			if e.Parent == "" || func() bool { p, _ := cat.Lookup(e.Parent); ok, _ := cat.AppliesTo(p, prof); return ok }() {
				excluded = append(excluded, []string{e.ID, e.Title.JA, reasons[0].Text.JA})
			}
			continue
		}
		adopted := e.Obligation == catalog.Mandatory || optedIn(cat, e, opt)
		if !adopted {
			continue
		}
		if e.Section != lastSec {
			t, _ := cat.SectionTitle(catalog.Guideline, e.Section)
			d.h1(fmt.Sprintf("第%s　%s", e.Section, t.JA))
			d.quoted()
			lastSec, lastSub = e.Section, ""
		}
		if e.Subsection != "" && e.Subsection != lastSub {
			t, _ := cat.SectionTitle(catalog.Guideline, e.Subsection)
			d.h2(fmt.Sprintf("%s　%s", e.Subsection, t.JA))
			d.quoted()
			lastSub = e.Subsection
		}
		text := e.Title.JA + "　" + e.Summary.JA
		if e.Obligation == catalog.Recommended {
			text += "（推奨事項・本団体で採用）"
		}
		d.item(e.ID, text)
		d.quoted()
	}
	if len(excluded) > 0 {
		d.h1("適用しない項目")
		d.p("次の項目は、本団体の構成等に該当しないため、この基準に掲げない。構成が変わったときは見直す。")
		d.table(append([][]string{{"番号", "項目", "理由"}}, excluded...))
		d.quoted()
	}
	return d
}

// optedIn reports whether e or one of its ancestors was opted in.
func optedIn(cat *catalog.Catalog, e *catalog.Entry, opt map[string]bool) bool {
	for cur := e; cur != nil; {
		if opt[cur.ID] {
			return true
		}
		p, ok := cat.Lookup(cur.Parent)
		if !ok || cur.Parent == "" {
			return false
		}
		cur = p
	}
	return false
}

func divisions(m *model.Model) int {
	n := 0
	for _, d := range m.Org.Departments {
		n += len(d.Divisions)
	}
	return n
}

// quoted marks the last block as taken from the catalog.
func (d *Document) quoted() { d.Blocks[len(d.Blocks)-1].Quoted = true }
