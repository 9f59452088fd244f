package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/wareki"
)

// BlockKind is the kind of a document block.
type BlockKind int

// Block kinds.
const (
	Heading1 BlockKind = iota
	Heading2
	Para
	Item  // numbered clause: Label + Text
	Table // Rows, first row is the header
	// Chart is a bar chart of Rows (first row the header, then label and
	// count), titled Text: a native DrawingML chart in DOCX (so Word and
	// LibreOffice draw it with the document's fonts), a table in HTML.
	Chart
)

// Block is a paragraph-level element.
type Block struct {
	Kind  BlockKind
	Label string // clause number for Item
	Text  string
	Rows  [][]string
	// Quoted marks text taken from the catalog (checked there for own
	// wording) or guideline headings, which are names.
	Quoted bool
}

// Document is a generated policy document.
type Document struct {
	Name      string // file stem, e.g. kihon-houshin
	Title     string
	Org       string
	Date      time.Time // effective date
	Revisions [][2]string
	Blocks    []Block
	// DateNote follows the date under the title ("" means 施行); other
	// documents built with this renderer (incident reports) say 作成.
	DateNote string
	// NoRevisions leaves out the revision history table.
	NoRevisions bool
}

// DateLabel is the 和暦 effective date.
func (d *Document) DateLabel() string { return wareki.Format(d.Date) }

func (d *Document) h1(s string) { d.Blocks = append(d.Blocks, Block{Kind: Heading1, Text: s}) }
func (d *Document) h2(s string) { d.Blocks = append(d.Blocks, Block{Kind: Heading2, Text: s}) }
func (d *Document) p(format string, a ...any) {
	d.Blocks = append(d.Blocks, Block{Kind: Para, Text: fmt.Sprintf(format, a...)})
}
func (d *Document) item(label, text string) {
	d.Blocks = append(d.Blocks, Block{Kind: Item, Label: label, Text: text})
}
func (d *Document) table(rows [][]string) {
	d.Blocks = append(d.Blocks, Block{Kind: Table, Rows: rows})
}

// Input is what the generators need.
type Input struct {
	Catalog *catalog.Catalog
	Model   *model.Model
	Options *Options // may be nil
	OptIn   []string // additional opt-ins (e.g. from the assessment file)
	Date    time.Time
}

func (in Input) optIn() map[string]bool {
	out := map[string]bool{}
	ids := slices.Clone(in.OptIn)
	if in.Options != nil {
		ids = append(ids, in.Options.OptIn...)
	}
	for _, id := range ids {
		out[catalog.NormalizeID(id)] = true
	}
	return out
}

// holder names the person holding a role: "title（name）" or the id.
func holder(m *model.Model, id string) string {
	if p, ok := m.PersonByID[id]; ok && p != nil {
		if p.Title != "" {
			return p.Title
		}
		return p.Name
	}
	return id
}

func revisions(in Input, date time.Time) [][2]string {
	var out [][2]string
	if in.Options != nil {
		for _, r := range in.Options.Revisions {
			out = append(out, [2]string{wareki.Format(r.Date.Time), r.Note})
		}
	}
	if len(out) == 0 {
		out = append(out, [2]string{wareki.Format(date), "制定"})
	}
	return out
}

func orgName(m *model.Model) string {
	if m.Org == nil {
		return ""
	}
	return m.Org.Name
}

func headName(m *model.Model) string {
	switch m.Org.Kind {
	case "prefecture":
		return "知事"
	case "city":
		return "市長"
	case "special-ward":
		return "区長"
	case "town":
		return "町長"
	case "village":
		return "村長"
	}
	return "管理者"
}

// zoneNames lists the three-layer zones the body has, in guideline order.
func zoneNames(m *model.Model) []string {
	var out []string
	for _, z := range []model.ZoneType{model.ZoneMyNumber, model.ZoneLGWAN, model.ZoneInternet} {
		if len(m.ZonesOfType(z)) > 0 {
			out = append(out, model.ZoneTypeJA[z])
		}
	}
	return out
}

// scheme reports the confidentiality classes in force: the R6.10 split
// (3A/3B/3C) unless the model still uses the single class 3 (H30.9).
func scheme(m *model.Model) (rows [][]string, legacy bool) {
	for _, a := range m.Assets {
		if a.Confidentiality == model.ConfLegacy3 {
			legacy = true
		}
	}
	rows = [][]string{{"分類", "分類基準", "取扱制限の例"}}
	if legacy {
		rows = append(rows, []string{"機密性3", "行政事務で取り扱う情報資産のうち、秘密文書に相当する機密性を要するもの", "支給以外の端末での作業の原則禁止、複製・配付の制限、暗号化、施錠保管"})
	} else {
		rows = append(rows,
			[]string{"機密性3A", "個人番号（マイナンバー）を含む特定個人情報など、漏えい等の影響が特に大きいもの", "マイナンバー利用事務系でのみ取り扱い、外部への持ち出しを原則禁止"},
			[]string{"機密性3B", "個人情報や非公開の行政情報で、漏えい等により住民の権利や行政運営に重大な影響が生じうるもの", "必要最小限の職員に限定、暗号化、外部送信時の承認"},
			[]string{"機密性3C", "機密性3のうち3A・3Bに当たらないもの", "業務上必要な範囲に限定、複製・配付の管理"})
	}
	rows = append(rows,
		[]string{"機密性2", "公開を予定していない行政情報で、機密性3に当たらないもの", "業務目的外の利用の禁止"},
		[]string{"機密性1", "公表されている、または公表しても差し支えないもの", "—"},
		[]string{"完全性2・可用性2", "改ざん・滅失や利用不能により住民の権利や行政事務に重大な影響が生じうるもの", "バックアップ、変更管理、障害時の代替手段"},
		[]string{"完全性1・可用性1", "上記以外", "—"})
	return rows, legacy
}

// Basic builds the basic policy (基本方針), the publishable document.
func Basic(in Input) *Document {
	m := in.Model
	org := orgName(m)
	d := &Document{Name: "kihon-houshin", Title: org + "情報セキュリティ基本方針", Org: org, Date: in.Options.EffectiveDate(in.Date)}
	d.Revisions = revisions(in, d.Date)
	d.h1("1　目的")
	d.p("%sは、住民の情報と行政サービスを守るため、扱う情報資産について、許可された者だけが使え（機密性）、正確さが保たれ（完全性）、必要なときに使える（可用性）状態を保つ。この基本方針はそのための%sの考え方と取組の柱を示すもので、地方自治法第244条の6に基づくサイバーセキュリティ確保の方針として定め、公表する。", org, org)
	d.h1("2　定義")
	d.table([][]string{
		{"用語", "意味"},
		{"情報資産", "本団体のネットワークと情報システム、そこで扱うデータ、及びそれらを印刷した文書"},
		{"情報セキュリティ", "情報資産の機密性・完全性・可用性を保つこと"},
		{"機密性・完全性・可用性", "許可を受けた者だけが扱えること、内容が正しく欠けていないこと、使いたいときに使えること"},
		{"マイナンバー利用事務系", "個人番号を使う事務のシステムとデータを置く、他から切り離した領域"},
		{"LGWAN接続系", "内部事務のシステムとデータを置き、LGWAN（総合行政ネットワーク）とつながる領域（マイナンバー利用事務系は含まない）"},
		{"インターネット接続系", "インターネットとやり取りするシステムとデータを置く領域"},
		{"無害化", "インターネット側から受け取るファイルやメールから、悪意あるコードが潜みうる部分を除いて安全な形にすること"},
	})
	d.h1("3　対象とする脅威")
	d.p("次のような脅威を想定して対策を講じる。")
	for i, s := range []string{
		"外部からの攻撃や侵入: 不正侵入、ランサムウェアをはじめとするマルウェア、大量の通信でサービスを止める攻撃、なりすましによる情報の詐取など",
		"内部の過失や不正: 持ち出しやルール違反、設定や操作の誤り、システムの欠陥や保守・委託先管理の不足による情報の流出や消失など",
		"災害と故障: 地震・落雷・火災・水害や機器の故障によるシステムと業務の停止",
		"感染症の大流行などで担当者が確保できず、運用が続けられなくなること",
		"停電、通信障害、断水など社会基盤の障害が波及すること"} {
		d.item(fmt.Sprintf("(%d)", i+1), s)
	}
	d.h1("4　適用範囲")
	d.p("%s部局（%s）に属する全ての職員（会計年度任用職員等を含む。）と、本団体の情報資産を扱う委託先に、この基本方針を適用する。対象は%sが管理する全ての情報資産とする。", headName(m)+"の下の全", deptList(m), org)
	d.h1("5　職員等の遵守義務")
	d.p("職員等は、情報を守ることが住民の信頼に直結することを理解し、日々の業務でポリシーと手順に従って行動する。")
	d.h1("6　情報セキュリティ対策")
	d.p("想定する脅威に備え、次の分野ごとに対策を定めて実行する。")
	d.item("(1)", fmt.Sprintf("組織体制: 最高情報セキュリティ責任者（CISO）に%sを、統括情報セキュリティ責任者に%sを充てる。全庁で対策を進める体制を整え、事故や攻撃に即応する CSIRT を置く。", holder(m, m.Org.Roles.CISO), holder(m, m.Org.Roles.ChiefOfficer)))
	_, legacy := scheme(m)
	classes := "機密性3A・3B・3C・2・1"
	if legacy {
		classes = "機密性3・2・1"
	}
	d.item("(2)", fmt.Sprintf("情報資産の分類と管理: 情報資産を%sと、完全性・可用性の重要度で格付けし、格付けごとに扱い方を決める。", classes))
	d.item("(3)", fmt.Sprintf("情報システム全体の強靱性の向上: ネットワークを%sに分け（%s）、領域をまたぐ通信は必要なものに絞り、インターネット側から入ってくるデータは無害化してから使う。", strings.Join(zoneNames(m), "・"), modelName(m)))
	d.item("(4)", "物理的セキュリティ: サーバ室や機器、回線、職員の端末を、盗難・破損・不正な持ち込みから守る。")
	d.item("(5)", "人的セキュリティ: 職員が守るべきルールを示し、研修と訓練で身に付ける。")
	d.item("(6)", "技術的セキュリティ: 機器と利用者の管理、権限の最小化、マルウェアと侵入への備え、記録の取得と点検を技術で支える。")
	d.item("(7)", "運用: システムを見守り、ルールが守られているかを確かめ、事故の際の対応計画を用意して備える。")
	d.item("(8)", "業務委託と外部サービスの利用: 委託先やクラウド等を選ぶ基準と求める要件を決め、契約に盛り込み、守られているかを定期的に確かめる。")
	d.h1("7　情報セキュリティ監査及び自己点検")
	d.p("ポリシーが守られ、対策が効いているかを、毎年の自己点検と、定期的な監査で確かめる。")
	d.h1("8　情報セキュリティポリシーの見直し")
	d.p("点検と監査で分かった課題、新しい脅威、組織や制度の変化を受けて、ポリシーを改める。")
	d.h1("9　情報セキュリティ対策基準の策定")
	d.p("6から8までの取組を具体化するため、守るべき事項と判断のよりどころを書き下した対策基準を定める。")
	d.h1("10　情報セキュリティ実施手順の策定")
	d.p("対策基準を現場で実行するため、システムごとの手順書を作る。手順書は攻撃の手掛かりになりうるため公表しない（%sの行政運営を守るため）。", org)
	return d
}

func modelName(m *model.Model) string {
	return map[model.NetworkModel]string{model.Alpha: "αモデル", model.AlphaPrime: "α'モデル", model.Beta: "βモデル", model.BetaPrime: "β'モデル"}[m.Org.NetworkModel]
}

func deptList(m *model.Model) string {
	var names []string
	for _, d := range m.Org.Departments {
		names = append(names, d.Name)
	}
	if len(names) == 0 {
		return "全部局"
	}
	return strings.Join(names, "、")
}
