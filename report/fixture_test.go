package report

import (
	"fmt"
	"time"

	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
)

// testNow is the generation time of every golden file: 2026-11-22 10:30 JST.
var testNow = time.Date(2026, time.November, 22, 1, 30, 0, 0, time.UTC)

func testOptions(lang string) Options {
	return Options{Lang: lang, Now: testNow, Version: "0.1.0-test", Source: "examples/kakuu-shi"}
}

// testResult is a hand-built check result of a fictional β' city: findings
// of every severity (in scrambled order, to exercise sorting), hostile text
// (markup, table pipes, a terminal escape), and inventory rows OK and NG.
func testResult() *check.Result {
	f := func(rule string, sev check.Severity, title, msg, fix diag.Text, objects, clauses []string, file string, line int) check.Finding {
		return check.Finding{Rule: rule, Severity: sev, Title: title, Message: msg, Remediation: fix,
			Objects: objects, Clauses: clauses, File: file, Line: line}
	}
	return &check.Result{
		Organization: "架空市",
		Code:         "999997",
		NetworkModel: "beta-prime",
		Findings: []check.Finding{
			f("MN-TERM-MEDIA", check.High,
				diag.T("マイナンバー利用事務系端末で外部媒体が使用可能です", "Removable media are allowed on My Number terminals"),
				diag.T("端末 mn-term-juki（20台）の外部媒体制御が allowed です。", "Terminal group mn-term-juki (20 units) allows removable media."),
				diag.T("外部媒体の利用を禁止（blocked）するか、許可された媒体のみ読み取り専用で利用できるよう制御してください。", "Block removable media, or allow only registered media read-only."),
				[]string{"host/mn-term-juki"}, []string{"3(1)②(イ)", "参考資料5 項目3"}, "hosts.yaml", 88),
			f("MN-PATH-INTERNET", check.Critical,
				diag.T("マイナンバー利用事務系からインターネットへ到達する経路があります", "The My Number zone can reach the Internet"),
				diag.T("mn-app01 → lg-relay01 → inet-proxy01 → internet の経路で、マイナンバー利用事務系からインターネットへ通信できます。\n中継: lg-relay01（LGWAN接続系）", "Path mn-app01 → lg-relay01 → inet-proxy01 → internet lets the My Number zone reach the Internet.\nRelay: lg-relay01 (LGWAN zone)"),
				diag.T("flow/f-relay-01 を削除するか、特定通信として宛先・ポートを限定してください。", "Remove flow/f-relay-01 or declare it as a specific communication limited by address and port."),
				[]string{"host/mn-app01", "host/lg-relay01", "host/inet-proxy01", "flow/f-relay-01"}, []string{"3(1)①", "付録2 手順1"}, "flows.yaml", 42),
			f("LGWAN-INET-DIRECT", check.Critical,
				diag.T("LGWAN接続系とインターネット接続系の間に無害化されない通信があります", "Unsanitized traffic between the LGWAN and Internet zones"),
				diag.T("flow/f-web-upload は mechanism: direct です。<script>alert(\"xss\")</script> を含むファイルもそのまま届きます。", "flow/f-web-upload is direct. <script>alert(\"xss\")</script> would arrive unchanged."),
				diag.T("ファイル無害化（sanitized-file）または画面転送（screen-transfer）に切り替えてください。", "Switch to sanitized-file or screen-transfer."),
				[]string{"flow/f-web-upload", "zone/lgwan", "zone/internet"}, []string{"3(2)①", "付録2 手順1"}, "flows.yaml", 17),
			f("MN-TERM-MFA", check.High,
				diag.T("マイナンバー利用事務系端末が多要素認証ではありません", "My Number terminals lack multi-factor authentication"),
				diag.T("端末 mn-term-zei の認証要素: password のみ（知識1要素）。", "Terminal mn-term-zei authenticates with a password only (one knowledge factor)."),
				diag.T("ICカード・生体認証など所持・生体の要素を組み合わせた二要素以上の認証にしてください。", "Combine factors of two classes, e.g. IC card and password."),
				[]string{"host/mn-term-zei"}, []string{"3(1)②(ア)"}, "hosts.yaml", 61),
			f("MN-SPECIFIC-PORT", check.High,
				diag.T("特定通信のポートが限定されていません", "A specific communication is not limited by port"),
				diag.T("特定通信 comm/kokuho のポート指定が any です | 宛先: 10.200.0.0/16", "Specific communication comm/kokuho allows any port | destination 10.200.0.0/16"),
				diag.T("通信に必要なポート（例: tcp/443）だけを指定してください。", "List only the ports the communication needs (e.g. tcp/443)."),
				[]string{"comm/kokuho"}, []string{"3(1)①"}, "communications.yaml", 30),
			f("BETA-PRIME-EDR", check.Medium,
				diag.T("β'モデルでインターネット接続系の業務端末に EDR が導入されていません", "β' model: Internet-zone business terminals lack EDR"),
				diag.T("端末 inet-term-std（600台）のエンドポイント対策: epp のみ。", "Terminal group inet-term-std (600 units) has EPP only."),
				diag.T("EDR を導入し、検知時の対応手順を CSIRT と定めてください。", "Deploy EDR and agree the response procedure with the CSIRT."),
				[]string{"host/inet-term-std"}, []string{"3(3)", "βʼモデルの追加対策"}, "hosts.yaml", 120),
			f("MN-TERM-DEDICATED", check.Low,
				diag.T("マイナンバー利用事務系端末が業務ごとの専用端末ではありません（推奨）", "My Number terminals are not dedicated per business (recommended)"),
				diag.T("端末 mn-term-shared は住民記録・税務の2業務で共用されています。", "Terminal mn-term-shared serves two businesses."),
				diag.T("可能であれば業務ごとに専用端末を割り当ててください。", "Dedicate terminals per business where feasible."),
				[]string{"host/mn-term-shared", "system/juki", "system/zeimu"}, []string{"3(1)②(ウ)"}, "hosts.yaml", 74),
			f("BETA-PRIME-AUDIT", check.Medium,
				diag.T("β'モデル採用前の外部監査の記録がありません", "No external audit recorded before adopting β'"),
				diag.T("organization.controls.external_audit が未設定です。", "organization.controls.external_audit is not set."),
				diag.T("外部監査の実施日・監査人を記録してください。", "Record the date and auditor of the external audit."),
				[]string{"organization"}, []string{"3(3)"}, "organization.yaml", 12),
			f("INFO-LEGACY-CONF", check.Info,
				diag.T("旧分類「3」の情報資産があります", "Assets use the legacy class 3"),
				diag.T("情報資産 asset/kokuho-kyufu は機密性 3 です。", "Asset asset/kokuho-kyufu is classified 3."),
				diag.T("R6.10 版の 3A/3B/3C に分類し直してください。", "Reclassify as 3A, 3B or 3C (R6.10 edition)."),
				[]string{"asset/kokuho-kyufu"}, []string{"2"}, "assets.yaml", 9),
			f("LOW-WIRELESS", check.Low,
				diag.T("LGWAN接続系に無線LAN端末があります", "Wireless terminals in the LGWAN zone"),
				diag.T("端末 lg-term-mobile は wireless: true です。*暗号化方式*を確認してください。\x1b[31m", "Terminal lg-term-mobile is wireless."),
				diag.T("WPA3-Enterprise 等で認証・暗号化し、接続端末を制限してください。", "Use WPA3-Enterprise and restrict devices."),
				[]string{"host/lg-term-mobile"}, []string{"参考資料5 項目5"}, "", 0),
			f("INFO-SECURITY-CLOUD", check.Info,
				diag.T("自治体情報セキュリティクラウドに参加しています", "The Internet zone joins the prefecture security cloud"),
				diag.T("確認のみ: organization.security_cloud = true。", "For information: organization.security_cloud = true."),
				diag.T("", ""),
				nil, []string{"3(3)②"}, "organization.yaml", 5),
		},
		Connections: []check.ConnectionRow{
			{FromZone: "mynumber", To: "juki-net", ToKind: "specific-communication", Mechanism: "specific-communication", Ports: []string{"tcp/443"}, Flows: 2, Verdict: check.OK},
			{FromZone: "mynumber", To: "kokuho", ToKind: "specific-communication", Mechanism: "specific-communication", Ports: []string{"any"}, Flows: 1, Verdict: check.NG, Rules: []string{"MN-SPECIFIC-PORT"}},
			{FromZone: "mynumber", To: "lgwan", ToKind: "zone", Mechanism: "specific-communication", Ports: []string{"tcp/443", "tcp/8443"}, Flows: 3, Verdict: check.OK},
			{FromZone: "lgwan", To: "internet", ToKind: "zone", Mechanism: "screen-transfer", Ports: []string{"tcp/3389"}, Flows: 1, Verdict: check.OK},
			{FromZone: "lgwan", To: "internet", ToKind: "zone", Mechanism: "direct", Ports: []string{"tcp/443"}, Flows: 1, Verdict: check.NG, Rules: []string{"LGWAN-INET-DIRECT"}},
			{FromZone: "internet", To: "lgwan", ToKind: "zone", Mechanism: "sanitized-file", Ports: []string{"tcp/443"}, Flows: 4, Verdict: check.OK},
			{FromZone: "internet", To: "internet", ToKind: "internet", Mechanism: "direct", Ports: []string{"tcp/80", "tcp/443"}, Flows: 1, Verdict: check.OK},
		},
		ServerPairs: []check.PairRow{
			{Flow: "f-juki-db", From: "mn-juki-ap01", FromZone: "mynumber", FromRole: "住民記録AP", Count: 1, To: "mn-juki-db01", ToZone: "mynumber", ToRole: "住民記録DB", Ports: []string{"tcp/5432"}, Mechanism: "direct", Verdict: check.OK},
			{Flow: "f-relay-01", From: "lg-relay01", FromZone: "lgwan", FromRole: "中継サーバ", Count: 1, To: "inet-proxy01", ToZone: "internet", ToRole: "プロキシ", Ports: []string{"tcp/8080"}, Mechanism: "direct", Verdict: check.NG, Rules: []string{"MN-PATH-INTERNET", "LGWAN-INET-DIRECT"}},
			{Flow: "f-mail-sani", From: "inet-mail01", FromZone: "internet", FromRole: "メール無害化", Count: 1, To: "lg-mail01", ToZone: "lgwan", ToRole: "LGWANメール", Ports: []string{"tcp/25"}, Mechanism: "sanitized-mail", Verdict: check.OK},
			{Flow: "f-file-sani", From: "inet-sani01", FromZone: "internet", FromRole: "ファイル無害化", Count: 1, To: "lg-file01", ToZone: "lgwan", ToRole: "ファイルサーバ", Ports: []string{"tcp/445"}, Mechanism: "sanitized-file", Verdict: check.OK},
		},
		TerminalRows: []check.PairRow{
			{Flow: "f-zei-ap", From: "mn-term-zei", FromZone: "mynumber", FromRole: "税務端末", Count: 35, To: "mn-zei-ap01", ToZone: "mynumber", ToRole: "税務AP", Ports: []string{"tcp/443"}, Mechanism: "direct", Verdict: check.NG, Rules: []string{"MN-TERM-MFA"}},
			{Flow: "f-juki-ap", From: "mn-term-juki", FromZone: "mynumber", FromRole: "住民記録端末", Count: 20, To: "mn-juki-ap01", ToZone: "mynumber", ToRole: "住民記録AP", Ports: []string{"tcp/443"}, Mechanism: "direct", Verdict: check.OK},
			{Flow: "f-vdi", From: "inet-term-std", FromZone: "internet", FromRole: "業務端末", Count: 600, To: "lg-vdi01", ToZone: "lgwan", ToRole: "画面転送", Ports: []string{"tcp/443"}, Mechanism: "screen-transfer", Verdict: check.OK},
		},
		Summary: check.Summary{Zones: 4, Systems: 118, Assets: 64, Hosts: 412, Terminals: 655, Communications: 14, Flows: 236,
			BySeverity: [5]int{2, 2, 2, 3, 2}},
	}
}

// testWarnings are load warnings as model.Load reports them.
func testWarnings() diag.List {
	var l diag.List
	l.Add(diag.Diagnostic{File: "assets.yaml", Line: 9, Col: 22, Path: "assets[3].confidentiality", Severity: diag.Warning,
		Code: "legacy-confidentiality",
		Msg:  diag.T("機密性「3」は旧分類です", "confidentiality \"3\" is the legacy class"),
		Hint: diag.T("3A・3B・3C のいずれかに分類し直してください", "reclassify as 3A, 3B or 3C")})
	return l
}

// bigResult is a prefecture-scale result for the benchmarks.
func bigResult(findings, pairs int) *check.Result {
	r := testResult()
	base := r.Findings
	r.Findings = make([]check.Finding, findings)
	for i := range r.Findings {
		f := base[i%len(base)]
		f.Objects = []string{fmt.Sprintf("host/h-%06d", i), fmt.Sprintf("flow/f-%06d", i)}
		f.Line = i + 1
		r.Findings[i] = f
	}
	conns := make([]check.ConnectionRow, 0, 2000)
	for i := range 2000 {
		c := r.Connections[i%len(r.Connections)]
		c.To = fmt.Sprintf("%s-%d", c.To, i)
		conns = append(conns, c)
	}
	r.Connections = conns
	servers, terms := pairs*6/10, pairs*4/10
	sp, tr := r.ServerPairs, r.TerminalRows
	r.ServerPairs = make([]check.PairRow, servers)
	for i := range r.ServerPairs {
		p := sp[i%len(sp)]
		p.Flow, p.From, p.To = fmt.Sprintf("f-%06d", i), fmt.Sprintf("srv-%06d", i), fmt.Sprintf("srv-%06d", i+1)
		r.ServerPairs[i] = p
	}
	r.TerminalRows = make([]check.PairRow, terms)
	for i := range r.TerminalRows {
		p := tr[i%len(tr)]
		p.Flow, p.From = fmt.Sprintf("t-%06d", i), fmt.Sprintf("term-%06d", i)
		r.TerminalRows[i] = p
	}
	return r
}
