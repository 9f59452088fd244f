package check

import "github.com/kyojin/kyojin/diag"

// Rule describes one segmentation rule. Clauses cite the standards (対策基準)
// of the guideline, Appendix 2 (付録2) steps, or Reference 5 (参考5) items.
type Rule struct {
	ID          string
	Severity    Severity
	Title       diag.Text
	Clauses     []string
	Remediation diag.Text
}

// Rules lists every rule, in report order. Their texts are the project's own
// wording of the requirements.
var Rules = []*Rule{
	ruleHostOutsideZone, ruleZoneNAC,
	ruleMNIsolation, ruleMNCommAddress, ruleMNCommPort, ruleMNCommInternet, ruleMNFlowPort,
	ruleMNPath, ruleMNInbound, ruleMNTerminalMFA, ruleMNTerminalMedia, ruleMNTerminalDedicated,
	ruleMNTerminalLog, ruleMNAssetPlacement,
	ruleLGInternet, ruleLGDirectInternet, ruleLGBreakout, ruleLGMailPorts, ruleLGNetworkBridge,
	ruleINTCloud, ruleINTMonitoring,
	ruleModelFit, ruleBetaAssets, ruleBetaControls, ruleBetaEDR, ruleBPSystems, ruleBPAudit,
	ruleORGOfficer, ruleORGSysAdmin, ruleORGCSIRT,
}

// RuleByID finds a rule.
func RuleByID(id string) *Rule {
	for _, r := range Rules {
		if r.ID == id {
			return r
		}
	}
	return nil
}

var (
	ruleHostOutsideZone = &Rule{ID: "ZONE-001", Severity: High,
		Title:       diag.T("ホストのアドレスが所属ゾーンのサブネット外にある", "host address outside its zone's subnets"),
		Clauses:     []string{"3(1)①", "3(2)①", "参考5 1①", "参考5 5①"},
		Remediation: diag.T("ホストを正しいゾーンに移すか、アドレスを所属ゾーンのサブネット内に振り直してください", "move the host to the right zone or renumber it inside its zone's subnets")}
	ruleZoneNAC = &Rule{ID: "ZONE-002", Severity: Low,
		Title:       diag.T("許可した機器以外の接続を防ぐ仕組みがない", "no control keeps unregistered devices off the zone"),
		Clauses:     []string{"参考5 1①", "参考5 5①"},
		Remediation: diag.T("検疫・認証スイッチ等で登録機器だけが接続できるようにし、zones[].nac: true を記録してください", "admit only registered devices (NAC, 802.1X) and record nac: true")}

	ruleMNIsolation = &Rule{ID: "MN-001", Severity: Critical,
		Title:       diag.T("マイナンバー利用事務系が特定通信以外で他の領域と通信している", "My Number zone talks to another area outside a specific communication"),
		Clauses:     []string{"3(1)①", "付録2 手順1 2(1)", "参考5 2①"},
		Remediation: diag.T("この通信を遮断するか、通信先・ポートを限定した特定通信（communications）として定義し via: で参照してください", "block it, or declare it as an address- and port-limited specific communication and reference it with via:")}
	ruleMNCommAddress = &Rule{ID: "MN-002", Severity: High,
		Title:       diag.T("特定通信の通信先アドレスが限定されていない", "specific communication not limited by address"),
		Clauses:     []string{"3(1)①", "参考5 2①"},
		Remediation: diag.T("通信先を個別のアドレス（/32 等の狭い範囲）で列挙してください", "list the peer addresses individually (narrow prefixes such as /32)")}
	ruleMNCommPort = &Rule{ID: "MN-003", Severity: High,
		Title:       diag.T("特定通信のポートが限定されていない", "specific communication not limited by port"),
		Clauses:     []string{"3(1)①", "参考5 2①"},
		Remediation: diag.T("必要なアプリケーションのプロトコルとポートだけを ports: に列挙してください（any は不可）", "list only the needed protocol/ports in ports: (no any)")}
	ruleMNCommInternet = &Rule{ID: "MN-004", Severity: Critical,
		Title:       diag.T("特定通信の接続先がインターネットに接続している", "specific communication peer is connected to the Internet"),
		Clauses:     []string{"3(1)①", "付録2 手順1 2(1)", "参考5 2②"},
		Remediation: diag.T("インターネットから分離された接続先に変更するか、この特定通信を廃止してください", "use a peer isolated from the Internet, or retire this communication")}
	ruleMNFlowPort = &Rule{ID: "MN-005", Severity: High,
		Title:       diag.T("特定通信で許可されていないポートを使う通信がある", "flow uses a port its specific communication does not allow"),
		Clauses:     []string{"3(1)①", "付録2 手順2 2"},
		Remediation: diag.T("通信のポートを特定通信の ports: の範囲に収めるか、特定通信の承認を見直してください", "keep the flow's ports within the communication's ports, or revisit its approval")}
	ruleMNPath = &Rule{ID: "MN-006", Severity: Critical,
		Title:       diag.T("マイナンバー利用事務系からインターネットへ到達できる経路がある", "the My Number zone can reach the Internet"),
		Clauses:     []string{"3(1)①", "付録2 手順1 2(1)", "参考5 2②"},
		Remediation: diag.T("経路上の通信のいずれかを遮断し、マイナンバー利用事務系とインターネットの間に直接・間接の経路が残らないようにしてください", "cut a flow on the path so that no direct or indirect route links the My Number zone and the Internet")}
	ruleMNInbound = &Rule{ID: "MN-007", Severity: High,
		Title:       diag.T("インターネット側からの取り込みが認められた特定通信の条件を満たしていない", "inbound data into the My Number zone outside the permitted cases"),
		Clauses:     []string{"3(1)①", "R2.12 改定（eLTAX・マイナポータル）"},
		Remediation: diag.T("一方向の取り込みは eLTAX・マイナポータル等の認められた通信に限り、双方向の通信には measures: に講じた対策（無害化・ウイルス検査等）を記録してください", "one-way inbound only for eLTAX / Mynaportal-type communications; for two-way, record the measures taken")}
	ruleMNTerminalMFA = &Rule{ID: "MN-008", Severity: High,
		Title:       diag.T("マイナンバー利用事務系の端末が多要素認証になっていない", "My Number terminal without multi-factor authentication"),
		Clauses:     []string{"3(1)②(ア)", "付録2 手順6 1", "参考5 3②"},
		Remediation: diag.T("パスワードに加えて IC カードや生体認証など、種類の異なる認証要素を組み合わせてください", "combine factors of different kinds: password plus an IC card or biometrics")}
	ruleMNTerminalMedia = &Rule{ID: "MN-009", Severity: High,
		Title:       diag.T("マイナンバー利用事務系の端末から電磁的記録媒体で情報を持ち出せる", "My Number terminal can export data to removable media"),
		Clauses:     []string{"3(1)②(イ)", "付録2 手順6 2", "参考5 4①"},
		Remediation: diag.T("USB メモリ等への書き出しを禁止し（blocked / read-only）、例外は管理者がその都度解除する運用（controlled）にしてください", "block writing to removable media; allow exceptions only case by case by an administrator (controlled)")}
	ruleMNTerminalDedicated = &Rule{ID: "MN-010", Severity: Low,
		Title:       diag.T("マイナンバー利用事務系の端末が業務ごとの専用端末になっていない【推奨】", "My Number terminal not dedicated to one business (recommended)"),
		Clauses:     []string{"3(1)②(ア)", "参考5 3①"},
		Remediation: diag.T("業務ごとに専用端末を置くことが望まれます（dedicated: true）", "a terminal per business is recommended (dedicated: true)")}
	ruleMNTerminalLog = &Rule{ID: "MN-011", Severity: Medium,
		Title:       diag.T("マイナンバー利用事務系の端末で操作の記録が残らない", "My Number terminal without operation logging"),
		Clauses:     []string{"参考5 3③", "6.1(6)"},
		Remediation: diag.T("端末操作とアクセス先での操作の記録を取得し、管理者が確認できるようにしてください（operation_log: true）", "log user operations on the terminal and at the servers, reviewable by administrators")}
	ruleMNAssetPlacement = &Rule{ID: "MN-012", Severity: Critical,
		Title:       diag.T("特定個人情報（機密性3A）がマイナンバー利用事務系の外で扱われている", "My Number data (confidentiality 3A) handled outside the My Number zone"),
		Clauses:     []string{"2", "3(1)①", "付録2 手順1 1(1)"},
		Remediation: diag.T("このシステムをマイナンバー利用事務系に移すか、資産の分類と取り扱いを見直してください", "move the system into the My Number zone or revisit the asset's classification and handling")}

	ruleLGInternet = &Rule{ID: "LG-001", Severity: Critical,
		Title:       diag.T("LGWAN接続系とインターネット接続系の間に無害化されていない通信がある", "unsanitized traffic between the LGWAN and Internet zones"),
		Clauses:     []string{"3(2)①", "参考5 6②"},
		Remediation: diag.T("メールは本文のみ転送（sanitized-mail）、ファイルは無害化（sanitized-file）、画面は画面転送（screen-transfer）に置き換え、直接通信を遮断してください", "replace with text-only mail, file sanitization or screen transfer and block the direct traffic")}
	ruleLGDirectInternet = &Rule{ID: "LG-002", Severity: Critical,
		Title:       diag.T("LGWAN接続系がインターネットと直接通信している", "LGWAN zone talks to the Internet directly"),
		Clauses:     []string{"3(2)①", "付録2 手順1 2(2)", "参考5 6②"},
		Remediation: diag.T("インターネットとの通信はインターネット接続系を経由した無害化通信に限ってください", "route Internet use through the Internet zone with sanitization only")}
	ruleLGBreakout = &Rule{ID: "LG-003", Severity: Critical,
		Title:       diag.T("LGWAN接続系から承認されていないクラウドサービスへ直接接続している", "LGWAN zone connects directly to an unapproved cloud service"),
		Clauses:     []string{"3(2)①", "3 解説（α'モデル, R6.10）"},
		Remediation: diag.T("α'モデルで承認したサービス（approved_for_lgwan: true）以外への直接接続を遮断してください", "block direct access except to services approved for the α' model")}
	ruleLGMailPorts = &Rule{ID: "LG-004", Severity: Medium,
		Title:       diag.T("無害化メールの経路でメール以外のプロトコルが許可されている", "sanitized-mail path allows protocols other than mail"),
		Clauses:     []string{"3(2)①(ア)", "付録2 手順5(2)"},
		Remediation: diag.T("メール転送に必要な SMTP（tcp/25 等）だけを許可してください", "allow only SMTP (tcp/25 etc.) on the mail path")}
	ruleLGNetworkBridge = &Rule{ID: "LG-005", Severity: Critical,
		Title:       diag.T("LGWAN とインターネット接続系が直接つながっている", "the LGWAN network is reachable from the Internet zone"),
		Clauses:     []string{"3(2)①", "3(3)①"},
		Remediation: diag.T("インターネット接続系から LGWAN 網への通信を遮断してください", "block traffic between the Internet zone and the LGWAN network")}

	ruleINTCloud = &Rule{ID: "INT-001", Severity: High,
		Title:       diag.T("インターネット接続系が自治体情報セキュリティクラウドに参加していない", "Internet zone does not join the prefecture security cloud"),
		Clauses:     []string{"3(3)②"},
		Remediation: diag.T("インターネット接続口を都道府県の自治体情報セキュリティクラウドに集約し、organization.security_cloud: true を記録してください", "consolidate the Internet connection into the prefecture's security cloud")}
	ruleINTMonitoring = &Rule{ID: "INT-002", Severity: Medium,
		Title:       diag.T("インターネット接続系で不正通信の監視が行われていない", "no monitoring of malicious traffic in the Internet zone"),
		Clauses:     []string{"3(3)①"},
		Remediation: diag.T("通信パケットの監視やふるまい検知を導入し、controls.network_monitoring: true を記録してください", "deploy packet and behaviour monitoring and record controls.network_monitoring")}

	ruleModelFit = &Rule{ID: "MODEL-001", Severity: Medium,
		Title:       diag.T("宣言したネットワークモデルと端末の配置が合っていない", "terminal placement does not match the declared network model"),
		Clauses:     []string{"3 解説（α/β/β'モデル）"},
		Remediation: diag.T("network_model を実態に合わせるか、端末を宣言したモデルどおりに配置してください", "declare the model that matches reality or move the terminals")}
	ruleBetaAssets = &Rule{ID: "BETA-001", Severity: High,
		Title:       diag.T("βモデルでインターネット接続系に重要な情報資産がある", "important assets in the Internet zone under the β model"),
		Clauses:     []string{"3 解説（βモデル）", "2"},
		Remediation: diag.T("機密性3の情報資産を扱うシステムは LGWAN接続系に置き画面転送で利用するか、β'モデルの追加対策を講じてください", "keep class-3 assets in the LGWAN zone (use screen transfer) or adopt β' with its extra measures")}
	ruleBetaControls = &Rule{ID: "BETA-002", Severity: High,
		Title:       diag.T("β/β'モデルに必要な組織的・技術的対策が不足している", "measures required by β/β' are missing"),
		Clauses:     []string{"3 解説（β/β'モデル）", "6.2", "6.4"},
		Remediation: diag.T("ログ管理（SIEM）、脆弱性管理、資産管理を整備し、controls に記録してください", "put log management (SIEM), vulnerability and asset management in place and record them under controls")}
	ruleBetaEDR = &Rule{ID: "BETA-003", Severity: High,
		Title:       diag.T("β/β'モデルでインターネット接続系の機器に EDR 等の未知の不正プログラム対策がない", "Internet-zone host without EDR under β/β'"),
		Clauses:     []string{"3 解説（β/β'モデル）", "6.2(1)"},
		Remediation: diag.T("インターネット接続系の端末・サーバに EDR を導入してください（endpoint: [epp, edr]）", "install EDR on Internet-zone terminals and servers")}
	ruleBPSystems = &Rule{ID: "BP-001", Severity: High,
		Title:       diag.T("β'モデルでインターネット接続系の重要システムに必要な対策がない", "important system in the Internet zone lacks β' measures"),
		Clauses:     []string{"3 解説（β'モデル）", "6.1"},
		Remediation: diag.T("情報資産単位のアクセス制御（access_control: true）と業務システムのログ管理（controls.system_log_management）を整えてください", "control access per asset and manage the business system's logs")}
	ruleBPAudit = &Rule{ID: "BP-002", Severity: High,
		Title:       diag.T("β'モデルの導入前の外部監査が記録されていない", "no external audit recorded before adopting β'"),
		Clauses:     []string{"3 解説（β'モデル）", "9.1"},
		Remediation: diag.T("外部監査を実施し、controls.external_audit に日付と監査人を記録してください", "have an external audit performed and record date and auditor")}

	ruleORGOfficer = &Rule{ID: "ORG-001", Severity: Low,
		Title:       diag.T("情報セキュリティ責任者・管理者が置かれていない部局・課室がある", "department or division without its security officer / manager"),
		Clauses:     []string{"1(3)", "1(4)"},
		Remediation: diag.T("部局長を情報セキュリティ責任者、課室長を情報セキュリティ管理者として指定してください", "appoint the head of each department and division")}
	ruleORGSysAdmin = &Rule{ID: "ORG-002", Severity: Low,
		Title:       diag.T("情報システム管理者が指定されていないシステムがある", "system without an information system administrator"),
		Clauses:     []string{"1(5)"},
		Remediation: diag.T("システムごとに情報システム管理者（administrator:）を指定してください", "name an administrator for each system")}
	ruleORGCSIRT = &Rule{ID: "ORG-003", Severity: Medium,
		Title:       diag.T("CSIRT の責任者・構成員が定められていない", "CSIRT lead or members not designated"),
		Clauses:     []string{"1(1)③", "1(9)"},
		Remediation: diag.T("roles.csirt に責任者と構成員、連絡先を記録してください", "record the CSIRT lead, members and contact under roles.csirt")}
)
