package auth

import (
	"fmt"
	"strings"
)

var permJA = map[Permission]string{
	PermDashboard:         "ダッシュボード（指摘件数の概況）",
	PermModelView:         "モデルの閲覧（ゾーン、システム、ホスト、通信、構成図）",
	PermFindingsView:      "指摘事項と要求事項（ガイドラインのカタログ）の閲覧",
	PermAuditView:         "監査ログの閲覧",
	PermAuditExport:       "監査ログの書き出し（CSV/JSON）",
	PermUsersView:         "利用者と権限の閲覧",
	PermUsersManage:       "利用者の作成・無効化・ロック解除・ロール変更・MFA リセット・パスワードの再設定",
	PermSelfMFA:           "自分の二要素認証の登録",
	PermAssessmentView:    "自己点検（評価）の閲覧: 評点、回答、未達、改善計画",
	PermActivityView:      "無害化・メール中継の稼働状況の閲覧",
	PermSelfPassword:      "自分のパスワードの変更",
	PermTransferUse:       "ファイル無害化転送の送受信",
	PermTransferApprove:   "ファイル転送の上長承認・却下",
	PermTransferRelease:   "隔離された原本の取り出し（理由必須、監査記録）",
	PermTransferAudit:     "ファイル転送の履歴の閲覧（承認・判定・ダウンロード・原本取り出し）と CSV 書き出し",
	PermAlertsView:        "セキュリティクラウドのアラート閲覧（担当団体のみ）",
	PermAlertsHandle:      "アラートの確認・抑止・クローズ",
	PermEventsSearch:      "ログ（イベント）の検索",
	PermIncidentsView:     "インシデントの閲覧（担当団体のみ）",
	PermIncidentsHandle:   "インシデントの起票・対応・証拠添付",
	PermIncidentsReport:   "職員からのインシデント報告",
	PermIndicatorsPublish: "脅威情報（IoC）の全団体への共有",
}

// PermissionsMarkdown renders the permission matrix for docs/permissions.md.
func PermissionsMarkdown() string {
	var b strings.Builder
	b.WriteString("| 権限 | ")
	for _, ri := range Roles {
		fmt.Fprintf(&b, "%s<br>`%s` | ", ri.JA, ri.Role)
	}
	b.WriteString("\n|---|")
	for range Roles {
		b.WriteString(":-:|")
	}
	b.WriteString("\n")
	for _, p := range Permissions {
		fmt.Fprintf(&b, "| %s<br>`%s` | ", permJA[p], p)
		for _, ri := range Roles {
			cell := "—"
			if RoleHas(ri.Role, p) {
				cell = "✓"
				if ri.ScopeKind != "" && (p == PermModelView || p == PermFindingsView) {
					cell = "✓（担当範囲）"
				}
			}
			b.WriteString(cell + " | ")
		}
		b.WriteString("\n")
	}
	return b.String()
}
