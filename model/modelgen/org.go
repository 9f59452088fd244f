package modelgen

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"strings"

	"github.com/kyojin/kyojin/model"
)

// Departments and divisions, by base name; "部/課" is used for prefectures
// and cities, "課/係" for towns, villages and associations.
var deptTable = []struct {
	id, name string
	divs     [][2]string
}{
	{"somu", "総務", [][2]string{{"somu", "総務"}, {"jinji", "人事"}, {"joho", "情報政策"}, {"keiyaku", "契約管財"}, {"kikikanri", "危機管理"}}},
	{"zeimu", "税務", [][2]string{{"kazei", "課税"}, {"nouzei", "納税"}}},
	{"shimin", "住民", [][2]string{{"shimin", "市民"}, {"hoken", "保険年金"}}},
	{"fukushi", "福祉", [][2]string{{"seikatsu", "生活福祉"}, {"shogai", "障害福祉"}, {"kaigo", "介護保険"}}},
	{"kodomo", "こども", [][2]string{{"kodomo", "こども家庭"}, {"hoiku", "保育"}}},
	{"kenko", "健康", [][2]string{{"kenko", "健康づくり"}}},
	{"kikaku", "企画財政", [][2]string{{"kikaku", "企画"}, {"zaisei", "財政"}, {"koho", "広報"}}},
	{"kaikei", "会計", [][2]string{{"kaikei", "会計"}}},
	{"toshi", "都市整備", [][2]string{{"toshi", "都市計画"}, {"doro", "道路"}, {"jutaku", "住宅"}}},
	{"suido", "上下水道", [][2]string{{"suido", "水道"}, {"gesuido", "下水道"}}},
	{"kyoiku", "教育", [][2]string{{"gakko", "学校教育"}, {"shogai-gakushu", "生涯学習"}}},
	{"senkyo", "選挙管理委員会", [][2]string{{"senkyo", "選挙"}}},
}

// system classes: where a system belongs.
const (
	clsMN       = iota // My Number zone
	clsLGWAN           // LGWAN zone
	clsInternal        // LGWAN zone, or the Internet zone under β'
	clsInternet        // Internet zone
)

// catalogue follows Reference 1 of the H30.9 guideline (business systems per zone).
var catalogue = []struct {
	id, name, div string
	class         int
	conf          model.Confidentiality
	asp           bool // LGWAN-ASP: no local server
}{
	{"juki", "住民記録", "shimin", clsMN, model.Conf3A, false},
	{"atena", "団体内統合宛名", "joho", clsMN, model.Conf3A, false},
	{"chukan", "中間サーバー接続", "joho", clsMN, model.Conf3A, false},
	{"juki-cs", "住基ネット CS", "shimin", clsMN, model.Conf3A, false},
	{"eltax", "地方税電子申告（eLTAX）", "kazei", clsMN, model.Conf3A, false},
	{"kojinzei", "個人住民税", "kazei", clsMN, model.Conf3A, false},
	{"koteishisanzei", "固定資産税", "kazei", clsMN, model.Conf3A, false},
	{"keijidoshazei", "軽自動車税", "kazei", clsMN, model.Conf3B, false},
	{"shuno", "収納管理", "nouzei", clsMN, model.Conf3A, false},
	{"kokuho", "国民健康保険", "hoken", clsMN, model.Conf3A, false},
	{"koki", "後期高齢者医療", "hoken", clsMN, model.Conf3A, false},
	{"nenkin", "国民年金", "hoken", clsMN, model.Conf3A, false},
	{"kaigo", "介護保険", "kaigo", clsMN, model.Conf3A, false},
	{"jidoteate", "児童手当", "kodomo", clsMN, model.Conf3A, false},
	{"seikatsuhogo", "生活保護", "seikatsu", clsMN, model.Conf3A, false},
	{"shogai", "障害者福祉", "shogai", clsMN, model.Conf3A, false},
	{"kosodate", "子ども・子育て支援", "hoiku", clsMN, model.Conf3A, false},
	{"kenko", "健康管理", "kenko", clsMN, model.Conf3A, false},
	{"senkyo", "選挙人名簿", "senkyo", clsMN, model.Conf3B, false},
	{"gakurei", "学齢簿", "gakko", clsMN, model.Conf3A, false},
	{"koseki", "戸籍", "shimin", clsMN, model.Conf3A, false},
	{"inkan", "印鑑登録", "shimin", clsMN, model.Conf3B, false},
	{"jinji", "人事給与", "jinji", clsLGWAN, model.Conf3B, false},
	{"gis", "統合型 GIS", "toshi", clsLGWAN, model.Conf2, false},
	{"suido", "上下水道料金", "suido", clsLGWAN, model.Conf3B, false},
	{"denshi-shinsei", "電子申請（LGWAN-ASP）", "joho", clsLGWAN, model.Conf3B, true},
	{"chotatsu", "電子調達（LGWAN-ASP）", "keiyaku", clsLGWAN, model.Conf3C, true},
	{"kessan", "地方財政決算情報管理", "zaisei", clsLGWAN, model.Conf2, true},
	{"anpi", "安否情報システム", "kikikanri", clsLGWAN, model.Conf3B, true},
	{"zaimu", "財務会計", "kaikei", clsInternal, model.Conf3C, false},
	{"bunsho", "文書管理", "somu", clsInternal, model.Conf3C, false},
	{"kessai", "電子決裁", "somu", clsInternal, model.Conf3C, false},
	{"shomu", "庶務事務", "jinji", clsInternal, model.Conf3B, false},
	{"groupware", "グループウェア", "joho", clsInternal, model.Conf2, false},
	{"toshokan", "図書館", "shogai-gakushu", clsInternal, model.Conf3B, false},
	{"kenchiku", "建築確認", "toshi", clsInternal, model.Conf3C, false},
	{"web", "公開 Web（CMS）", "koho", clsInternet, model.Conf1, false},
}

var (
	surnames = strings.Fields("佐藤 鈴木 高橋 田中 伊藤 渡辺 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 清水 山崎 森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本")
	givens   = strings.Fields("健一 直樹 美咲 拓也 由美 浩二 恵子 大輔 千尋 誠 陽子 翔太 真由美 和也 智子 亮 裕子 哲也 麻衣 聡 明美 達也 彩 修 久美子 隆 香織 剛 沙織 勇気")
	vendors  = []string{"株式会社架空総合システム", "株式会社ひかり行政システム", "架空ネットワークサービス株式会社", "株式会社まちかどウェブ", "株式会社くもで地図情報", "株式会社みどり福祉情報", "株式会社北辰データセンター", "株式会社架空クラウドサービス"}
	ports    = []string{"tcp/443", "tcp/445", "tcp/1521", "tcp/5432", "tcp/22", "tcp/3389", "tcp/8080", "tcp/6514", "tcp/389", "tcp/636", "udp/123", "tcp/8443", "tcp/9000-9010", "udp/161"}
)

type gsys struct {
	id, name, zone, dept, div string
	asp                       bool
	assets                    []string
	server                    string // host id of the application server
	access                    bool
}

type gasset struct {
	id, name, owner string
	conf            model.Confidentiality
	myNumber        bool
}

type ghost struct {
	id, kind, zone, addr, role, div, os string
	systems                             []string
	count                               int
	dedicated, oplog                    bool
	auth                                []string
	media                               string
	endpoint                            []string
}

type gflow struct {
	id, from, to string
	ports        []string
	mech, via    string
}

type gcomm struct {
	id, name, kind, addr, direction string
	ports, measures                 []string
	internet                        bool
}

// orgGen builds one organization.
type orgGen struct {
	p       *orgPlan
	rng     *rand.Rand
	staff   string // zone of the staff terminals
	depts   int
	divDept map[string]string // division key -> department id
	people  [][3]string       // id, name, title
	systems []*gsys
	sysByID map[string]*gsys
	assets  []gasset
	hosts   []*ghost
	flows   []gflow
	seen    map[string]bool
	comms   []gcomm
	planted string

	srvNext, termNext map[string]netip.Addr
	dmzNext           netip.Addr
}

func newOrgGen(p *orgPlan, rng *rand.Rand) *orgGen {
	g := &orgGen{p: p, rng: rng, divDept: map[string]string{}, sysByID: map[string]*gsys{}, seen: map[string]bool{},
		srvNext: map[string]netip.Addr{
			"mynumber": netip.MustParseAddr("10.16.0.10"), "lgwan": netip.MustParseAddr("10.32.0.10"), "internet": netip.MustParseAddr("10.48.0.10")},
		termNext: map[string]netip.Addr{
			"mynumber": netip.MustParseAddr("10.24.0.0"), "lgwan": netip.MustParseAddr("10.40.0.0"), "internet": netip.MustParseAddr("10.56.0.0")},
		dmzNext: netip.MustParseAddr("172.16.0.10"),
	}
	g.staff = "lgwan"
	if p.netModel == model.Beta || p.netModel == model.BetaPrime {
		g.staff = "internet"
	}
	g.depts = map[model.OrgKind]int{"prefecture": 12, "city": 10, "town": 6, "village": 4, "association": 3}[p.kind]
	return g
}

func (g *orgGen) large() bool { return g.p.kind == "prefecture" || g.p.kind == "city" }

func (g *orgGen) person(id, title string) string {
	i := len(g.people) + g.p.index*7
	g.people = append(g.people, [3]string{id, surnames[i%len(surnames)] + " " + givens[(i*7+g.p.index)%len(givens)], title})
	return id
}

func (g *orgGen) srvAddr(zone string) string {
	a := g.srvNext[zone]
	g.srvNext[zone] = a.Next()
	return a.String() + "/32"
}

func (g *orgGen) dmzAddr() string {
	a := g.dmzNext
	g.dmzNext = a.Next()
	return a.String() + "/32"
}

// termBlock returns a /26 for a terminal group (counts stay below 62).
func (g *orgGen) termBlock(zone string) string {
	a := g.termNext[zone]
	b := a.As4()
	n := uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
	n += 64
	g.termNext[zone] = netip.AddrFrom4([4]byte{byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)})
	return a.String() + "/26"
}

func (g *orgGen) addHost(h *ghost) *ghost {
	if h.zone == "internet" {
		h.endpoint = []string{"epp", "edr"}
	} else if h.endpoint == nil {
		h.endpoint = []string{"epp"}
	}
	g.hosts = append(g.hosts, h)
	return h
}

func (g *orgGen) server(id, zone, role string, systems ...string) *ghost {
	os := "Windows Server 2022"
	if len(g.hosts)%3 == 0 {
		os = "Red Hat Enterprise Linux 9"
	}
	return g.addHost(&ghost{id: id, kind: "server", zone: zone, addr: g.srvAddr(zone), role: role, os: os, systems: systems})
}

// flow adds a flow unless the same path and ports already exist; it
// reports whether it added one.
func (g *orgGen) flow(from, to, mech, via string, ports ...string) bool {
	key := from + ">" + to + ">" + strings.Join(ports, ",")
	if g.seen[key] || from == to {
		return false
	}
	g.seen[key] = true
	g.flows = append(g.flows, gflow{id: fmt.Sprintf("f%05d", len(g.flows)+1), from: from, to: to, ports: ports, mech: mech, via: via})
	return true
}

func (g *orgGen) build() []file {
	g.buildOrg()
	g.buildSystems()
	g.buildHosts()
	g.buildComms()
	g.buildFlows()
	g.plant()
	return g.emit()
}

func (g *orgGen) suffixes() (string, string) {
	if g.large() {
		return "部", "課"
	}
	return "課", "係"
}

func (g *orgGen) buildOrg() {
	ds, vs := g.suffixes()
	ciso := map[model.OrgKind]string{"prefecture": "副知事", "city": "副市長", "town": "副町長", "village": "副村長", "association": "副管理者"}[g.p.kind]
	g.person("p-ciso", ciso)
	g.person("p-chief", "総務"+ds+"長")
	for i, d := range deptTable {
		target := d.id
		if i >= g.depts {
			target = deptTable[i%g.depts].id
		}
		for _, v := range d.divs {
			g.divDept[v[0]] = target
		}
		if i < g.depts && i > 0 {
			g.person("p-"+d.id+"-head", d.name+ds+"長")
		}
	}
	for _, d := range deptTable {
		for _, v := range d.divs {
			g.person("p-"+v[0]+"-mgr", v[1]+vs+"長")
			g.person("p-"+v[0]+"-admin", v[1]+vs+" 情報担当")
		}
	}
	g.person("p-csirt", "情報政策"+vs+" CSIRT 担当")
}

func (g *orgGen) divName(key string) string {
	_, vs := g.suffixes()
	for _, d := range deptTable {
		for _, v := range d.divs {
			if v[0] == key {
				return v[1] + vs
			}
		}
	}
	return key
}

func (g *orgGen) zoneOf(class int) string {
	switch class {
	case clsMN:
		return "mynumber"
	case clsLGWAN:
		return "lgwan"
	case clsInternal:
		if g.p.netModel == model.BetaPrime {
			return "internet"
		}
		return "lgwan"
	}
	return "internet"
}

// infrastructure systems with their own hosts.
func (g *orgGen) buildSystems() {
	add := func(id, name, zone, div string, asp bool, conf model.Confidentiality) *gsys {
		s := &gsys{id: id, name: name, zone: zone, div: div, dept: g.divDept[div], asp: asp}
		if conf != "" {
			a := gasset{id: "a-" + id, name: name + " の情報", owner: div, conf: conf, myNumber: conf == model.Conf3A && zone == "mynumber"}
			g.assets = append(g.assets, a)
			s.assets = []string{a.id}
			s.access = zone == "internet" && conf.Rank() >= model.Conf3C.Rank()
		}
		g.systems = append(g.systems, s)
		g.sysByID[id] = s
		return s
	}
	add("mn-kanri", "マイナンバー利用事務系 運用管理", "mynumber", "joho", false, model.Conf3B)
	add("lgwan-kanri", "LGWAN 接続系 運用管理", "lgwan", "joho", false, model.Conf3C)
	add("lgwan-mail", "LGWAN メール", "lgwan", "joho", false, model.Conf3C)
	add("mutoka", "ファイル無害化", "lgwan", "joho", false, model.Conf3C)
	add("inet-kanri", "インターネット接続系 運用管理", "internet", "joho", false, model.Conf2)
	add("proxy", "Web アクセス（プロキシ）", "internet", "joho", false, "")
	add("inet-mail", "インターネットメール・無害化中継", "internet", "joho", false, model.Conf2)
	if g.staff == "internet" {
		add("lgwan-vdi", "画面転送（LGWAN 接続系）", "lgwan", "joho", false, "")
		add("file-xfer", "ファイル転送", "internet", "joho", false, model.Conf2)
	} else {
		add("vbrowser", "仮想ブラウザ（画面転送）", "internet", "joho", false, "")
	}
	add("kokuho-renkei", "国保連合会接続", "mynumber", "hoken", false, model.Conf3A)
	// business systems: the catalogue first, then numbered individual systems
	n := max(5, min(150, (g.p.hosts-16)/3))
	for i := range n {
		if i < len(catalogue) {
			c := catalogue[i]
			conf := c.conf
			zone := g.zoneOf(c.class)
			if g.p.netModel == model.Beta && zone == "internet" && conf.Rank() > model.Conf2.Rank() {
				conf = model.Conf2 // β: no important information in the Internet zone
			}
			add(c.id, c.name, zone, c.div, c.asp, conf)
			continue
		}
		k := i - len(catalogue)
		div := [...]string{"somu", "kikaku", "toshi", "doro", "kenko", "gakko", "suido", "kikikanri"}[k%8]
		conf := [...]model.Confidentiality{model.Conf3C, model.Conf2, model.Conf3B}[k%3]
		add(fmt.Sprintf("gyomu-%03d", k+1), fmt.Sprintf("個別業務システム %03d", k+1), "lgwan", div, false, conf)
	}
}

func (g *orgGen) business(zone string) []*gsys {
	var out []*gsys
	for _, s := range g.systems {
		if s.zone == zone && s.server != "" && !strings.HasSuffix(s.id, "-kanri") {
			out = append(out, s)
		}
	}
	return out
}

func (g *orgGen) buildHosts() {
	g.server("mn-ad01", "mynumber", "ディレクトリ・ログ管理", "mn-kanri")
	g.server("lg-ad01", "lgwan", "ディレクトリ・ログ管理", "lgwan-kanri")
	g.server("lg-mail01", "lgwan", "メールサーバ（LGWAN）", "lgwan-mail")
	g.server("lg-mutoka01", "lgwan", "ファイル無害化", "mutoka")
	g.server("in-ad01", "internet", "ディレクトリ・資産管理", "inet-kanri")
	g.server("in-proxy01", "internet", "プロキシ", "proxy")
	g.addHost(&ghost{id: "in-mailgw01", kind: "server", zone: "internet", addr: g.dmzAddr(), role: "メール中継（外部 MTA）", os: "Red Hat Enterprise Linux 9", systems: []string{"inet-mail"}})
	g.addHost(&ghost{id: "in-mailsan01", kind: "server", zone: "internet", addr: g.dmzAddr(), role: "メール無害化（メールサーバ）", os: "Red Hat Enterprise Linux 9", systems: []string{"inet-mail"}})
	if g.staff == "internet" {
		g.server("lg-vdi01", "lgwan", "画面転送サーバ", "lgwan-vdi")
		g.server("in-filexfer01", "internet", "ファイル転送", "file-xfer")
	} else {
		g.server("in-vb01", "internet", "仮想ブラウザ", "vbrowser")
	}
	g.sysByID["mn-kanri"].server, g.sysByID["lgwan-kanri"].server = "mn-ad01", "lg-ad01"
	g.sysByID["lgwan-mail"].server, g.sysByID["mutoka"].server = "lg-mail01", "lg-mutoka01"
	g.sysByID["inet-kanri"].server, g.sysByID["proxy"].server = "in-ad01", "in-proxy01"
	g.sysByID["inet-mail"].server = "in-mailgw01"
	if g.staff == "internet" {
		g.sysByID["lgwan-vdi"].server, g.sysByID["file-xfer"].server = "lg-vdi01", "in-filexfer01"
	} else {
		g.sysByID["vbrowser"].server = "in-vb01"
	}
	g.addHost(&ghost{id: "mn-term-kokuho", kind: "terminal", zone: "mynumber", addr: g.termBlock("mynumber"), role: "国保連合会接続端末",
		div: "hoken", os: "Windows 11 Enterprise", systems: []string{"kokuho-renkei"}, count: 1, dedicated: true, oplog: true,
		auth: []string{"password", "ic-card"}, media: "blocked"})
	for _, s := range g.systems {
		if s.server != "" || s.asp || g.infra(s.id) {
			continue
		}
		prefix := map[string]string{"mynumber": "mn", "lgwan": "lg", "internet": "in"}[s.zone]
		s.server = g.server(prefix+"-"+s.id+"-ap01", s.zone, "アプリケーションサーバ", s.id).id
	}
	rest := g.p.hosts - len(g.hosts)
	extra := rest * 3 / 10
	terms := rest - extra
	withServer := func() []*gsys {
		var out []*gsys
		for _, s := range g.systems {
			if s.server != "" && !g.infra(s.id) {
				out = append(out, s)
			}
		}
		return out
	}()
	for i := range extra {
		s := withServer[g.rng.IntN(len(withServer))]
		prefix := map[string]string{"mynumber": "mn", "lgwan": "lg", "internet": "in"}[s.zone]
		role := [...]string{"データベースサーバ", "バッチサーバ", "帳票サーバ", "連携サーバ"}[i%4]
		g.server(fmt.Sprintf("%s-%s-%02d", prefix, s.id, i+2), s.zone, role, s.id)
	}
	mnSys, staffSys := g.business("mynumber"), g.staffSystems()
	for i := range terms {
		switch {
		case i%20 < 7: // My Number terminals, dedicated per business
			s := mnSys[g.rng.IntN(len(mnSys))]
			systems := []string{s.id}
			if o := mnSys[g.rng.IntN(len(mnSys))]; o.id != s.id && o.div == s.div {
				systems = append(systems, o.id)
			}
			auth := []string{"password", "biometric"}
			if i%2 == 1 {
				auth = []string{"password", "ic-card"}
			}
			g.addHost(&ghost{id: fmt.Sprintf("mn-term-%03d", i+1), kind: "terminal", zone: "mynumber", addr: g.termBlock("mynumber"),
				role: s.name + " 専用端末", div: s.div, os: "Windows 11 Enterprise", systems: systems, count: 2 + g.rng.IntN(30),
				dedicated: true, oplog: true, auth: auth, media: "blocked"})
		default: // staff terminals in the zone the network model puts them
			s := staffSys[g.rng.IntN(len(staffSys))]
			g.addHost(&ghost{id: fmt.Sprintf("%s-term-%03d", map[string]string{"lgwan": "lg", "internet": "in"}[g.staff], i+1), kind: "terminal",
				zone: g.staff, addr: g.termBlock(g.staff), role: "事務用端末", div: s.div, os: "Windows 11 Enterprise", count: 5 + g.rng.IntN(55),
				oplog: true, auth: []string{"password", "ic-card"}, media: "controlled"})
		}
	}
}

func (g *orgGen) infra(id string) bool {
	switch id {
	case "mn-kanri", "lgwan-kanri", "lgwan-mail", "mutoka", "inet-kanri", "proxy", "inet-mail", "lgwan-vdi", "file-xfer", "vbrowser", "kokuho-renkei":
		return true
	}
	return false
}

// staffSystems are the systems staff terminals use in their own zone.
func (g *orgGen) staffSystems() []*gsys {
	return g.business(g.staff) // never empty: the zone's infrastructure systems count too
}

func (g *orgGen) buildComms() {
	g.comms = []gcomm{
		{id: "juki-net", name: "住基ネット（都道府県サーバ）", kind: "juki-net", addr: "10.192.18.0/28", ports: []string{"tcp/443"}, direction: "two-way", measures: []string{"dedicated-line", "firewall-address-port"}},
		{id: "chukan", name: "中間サーバー・プラットフォーム", kind: "intermediate-server", addr: "10.199.32.16/28", ports: []string{"tcp/443"}, direction: "two-way", measures: []string{"firewall-address-port", "encryption"}},
		{id: "eltax", name: "eLTAX 審査システム", kind: "eltax", addr: "10.199.40.0/27", ports: []string{"tcp/443"}, direction: "one-way-download", measures: []string{"malware-scan"}},
		{id: "kokuho", name: "保険者ネットワーク（国保連合会）", kind: "kokuho", addr: "10.201.5.0/27", ports: []string{"tcp/443"}, direction: "two-way", measures: []string{"dedicated-line", "malware-scan"}},
	}
}

func (g *orgGen) buildFlows() {
	sv := func(id string) string { return "host/" + g.sysByID[id].server }
	// My Number zone
	for _, h := range g.hosts {
		if h.zone == "mynumber" && h.kind == "terminal" {
			for _, s := range h.systems {
				if g.sysByID[s].server != "" {
					g.flow("host/"+h.id, sv(s), "direct", "", "tcp/443")
				}
			}
		}
	}
	for _, s := range g.business("mynumber") {
		if s.id != "atena" {
			g.flow("host/"+s.server, sv("atena"), "direct", "", "tcp/443")
		}
	}
	if g.sysByID["chukan"] != nil && g.sysByID["juki-cs"] != nil {
		g.flow(sv("atena"), sv("chukan"), "direct", "", "tcp/443")
		g.flow(sv("chukan"), "comm/chukan", "specific-communication", "chukan", "tcp/443")
		g.flow(sv("juki"), sv("juki-cs"), "direct", "", "tcp/443")
		g.flow(sv("juki-cs"), "comm/juki-net", "specific-communication", "juki-net", "tcp/443")
	}
	if g.sysByID["eltax"] != nil {
		g.flow(sv("eltax"), "comm/eltax", "specific-communication", "eltax", "tcp/443")
	}
	g.flow("host/mn-term-kokuho", "comm/kokuho", "specific-communication", "kokuho", "tcp/443")
	for _, z := range []string{"mynumber", "lgwan", "internet"} {
		ad := map[string]string{"mynumber": "host/mn-ad01", "lgwan": "host/lg-ad01", "internet": "host/in-ad01"}[z]
		g.flow("zone/"+z, ad, "direct", "", "tcp/88", "udp/88", "tcp/389", "tcp/636", "udp/53")
		g.flow("zone/"+z, ad, "direct", "", "tcp/6514")
	}
	// mail: Internet -> relay -> sanitizer -> LGWAN mail (sanitized-mail, SMTP only)
	g.flow("internet", "host/in-mailgw01", "direct", "", "tcp/25")
	g.flow("host/in-mailgw01", "internet", "direct", "", "tcp/25")
	g.flow("host/in-mailgw01", "host/in-mailsan01", "direct", "", "tcp/25")
	g.flow("host/in-mailsan01", "host/lg-mail01", "sanitized-mail", "", "tcp/25")
	g.flow("host/lg-mail01", "lgwan", "direct", "", "tcp/25")
	g.flow("lgwan", "host/lg-mail01", "direct", "", "tcp/25")
	g.flow("host/in-proxy01", "internet", "direct", "", "tcp/80", "tcp/443")
	// staff terminals
	staffSys := g.staffSystems()
	for _, h := range g.hosts {
		if h.zone != g.staff || h.kind != "terminal" {
			continue
		}
		for k := range 3 {
			g.flow("host/"+h.id, "host/"+staffSys[(g.rng.IntN(len(staffSys))+k)%len(staffSys)].server, "direct", "", "tcp/443")
		}
		if g.staff == "lgwan" {
			g.flow("host/"+h.id, "host/lg-mail01", "direct", "", "tcp/443")
			g.flow("host/"+h.id, "host/in-vb01", "screen-transfer", "", "tcp/443")
			g.flow("host/"+h.id, "lgwan", "direct", "", "tcp/443")
			if g.p.netModel == model.AlphaPrime {
				g.flow("host/"+h.id, "service/cloud-office", "direct", "", "tcp/443")
			}
		} else {
			g.flow("host/"+h.id, "host/in-proxy01", "direct", "", "tcp/8080")
			g.flow("host/"+h.id, "host/lg-vdi01", "screen-transfer", "", "tcp/443")
		}
	}
	if g.staff == "lgwan" {
		g.flow("host/in-vb01", "internet", "direct", "", "tcp/80", "tcp/443")
		g.flow("host/in-vb01", "host/lg-mutoka01", "sanitized-file", "", "tcp/443")
		if g.p.netModel != model.AlphaPrime {
			g.flow("host/in-vb01", "service/web-meeting", "direct", "", "tcp/443")
		}
	} else {
		g.flow("host/in-filexfer01", "host/lg-mutoka01", "sanitized-file", "", "tcp/443")
		g.flow("host/in-proxy01", "service/web-meeting", "direct", "", "tcp/443")
		for _, s := range g.business("lgwan") {
			g.flow("host/lg-vdi01", "host/"+s.server, "direct", "", "tcp/443")
		}
		g.flow("host/lg-vdi01", "lgwan", "direct", "", "tcp/443")
	}
	// fill to the planned count with server-to-server and terminal-to-server
	// flows inside each zone (the bulk of a real Appendix 2 inventory)
	target := g.p.flows
	if g.p.issue == "lgwan-direct-internet" || g.p.issue == "mynumber-direct-to-lgwan" || g.p.issue == "mynumber-direct-internet" {
		target-- // room for the planted flow
	}
	byZone := map[string][]*ghost{}
	servers := map[string][]*ghost{}
	for _, h := range g.hosts {
		byZone[h.zone] = append(byZone[h.zone], h)
		if h.kind == "server" {
			servers[h.zone] = append(servers[h.zone], h)
		}
	}
	zones := []string{"mynumber", "lgwan", "internet"}
	for tries := 0; len(g.flows) < target && tries < 50*target; tries++ {
		z := zones[g.rng.IntN(3)]
		if len(servers[z]) < 2 {
			continue
		}
		from := byZone[z][g.rng.IntN(len(byZone[z]))]
		to := servers[z][g.rng.IntN(len(servers[z]))]
		g.flow("host/"+from.id, "host/"+to.id, "direct", "", ports[g.rng.IntN(len(ports))])
	}
	for i := 0; len(g.flows) < target; i++ { // tiny models: repeat paths with distinct port ranges
		g.flow("host/mn-ad01", "host/"+g.sysByID["atena"].server, "direct", "", fmt.Sprintf("tcp/%d", 20000+i))
	}
	if len(g.flows) > target {
		g.flows = g.flows[:target]
	}
}

// plant adds the organization's deliberate issue, if any.
func (g *orgGen) plant() {
	firstMNTerm := func() *ghost {
		for _, h := range g.hosts {
			if h.zone == "mynumber" && h.kind == "terminal" && h.id != "mn-term-kokuho" {
				return h
			}
		}
		return g.hosts[len(g.hosts)-1]
	}
	add := func(from, to string, port string) {
		g.flows = append(g.flows, gflow{id: "f-planted", from: from, to: to, ports: []string{port}, mech: "direct"})
		g.planted = "flow/f-planted"
	}
	switch g.p.issue {
	case "":
	case "mynumber-terminal-removable-media":
		h := firstMNTerm()
		h.media = "allowed"
		g.planted = "host/" + h.id
	case "mynumber-terminal-single-factor":
		h := firstMNTerm()
		h.auth = []string{"password"}
		g.planted = "host/" + h.id
	case "lgwan-direct-internet":
		add("host/lg-mail01", "internet", "tcp/443")
	case "mynumber-direct-to-lgwan":
		add("host/"+g.sysByID["juki"].server, "host/lg-mail01", "tcp/25")
	case "mynumber-direct-internet":
		add("host/"+g.sysByID["eltax"].server, "internet", "tcp/443")
	case "comm-unrestricted-port":
		g.comms[0].ports = []string{"any"}
		g.planted = "comm/" + g.comms[0].id
	case "comm-internet-connected":
		g.comms[1].internet = true
		g.planted = "comm/" + g.comms[1].id
	case "mynumber-asset-outside-zone":
		s := g.sysByID["lgwan-mail"]
		s.assets = append(s.assets, "a-juki")
		g.planted = "system/" + s.id
	}
}
