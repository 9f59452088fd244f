package web

import (
	"net/http"
)

// The console is Japanese first; English is available for the layout, the
// login page and the dashboard (other pages stay Japanese). Messages are
// keyed by their Japanese text (gettext style), so a page without a
// translation simply shows Japanese. The language comes from ?lang=ja|en,
// remembered in a cookie, else Japanese.

const langCookie = "kyojin_lang"

// langOf picks the request's language and, when the query chose one,
// remembers it.
func langOf(w http.ResponseWriter, r *http.Request) string {
	if q := r.URL.Query().Get("lang"); q == "ja" || q == "en" {
		http.SetCookie(w, &http.Cookie{Name: langCookie, Value: q, Path: "/", MaxAge: 365 * 24 * 3600,
			HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil})
		return q
	}
	if c, err := r.Cookie(langCookie); err == nil && c.Value == "en" {
		return "en"
	}
	return "ja"
}

// tr translates a Japanese message into lang.
func tr(lang, ja string) string {
	if lang == "en" {
		if en, ok := messagesEN[ja]; ok {
			return en
		}
	}
	return ja
}

// messagesEN is the English message catalog.
var messagesEN = map[string]string{
	// layout
	"本文へ移動":   "Skip to content",
	"メインメニュー": "Main menu",
	"ログアウト":   "Log out",
	"言語":      "Language",
	"、":       ", ",
	"（":       " (",
	"）":       ")",
	"ダッシュボード": "Dashboard",
	"モデル":     "Model",
	"指摘事項":    "Findings",
	"要求事項":    "Requirements",
	"監査ログ":    "Audit log",
	"利用者と権限":  "Users and roles",
	"二要素認証":   "Two-factor authentication",
	"パスワード":   "Password",
	"ファイル転送":  "File transfer",
	"転送の履歴":   "Transfer history",
	"エラー":     "Error",
	"内部エラーが発生しました。": "An internal error occurred.",
	// flash messages
	"ログインに繰り返し失敗したため、アカウントを一時的にロックしました。しばらくしてから再度お試しください。": "The account is locked for a while after repeated failed logins. Please try again later.",
	"ログアウトしました。": "You have logged out.",
	"セッションの有効期限が切れました。もう一度ログインしてください。": "Your session has expired. Please log in again.",
	"二要素認証を登録しました。":                    "Two-factor authentication is set up.",
	"保存しました。":       "Saved.",
	"利用者を作成しました。":   "User created.",
	"パスワードを変更しました。": "Password changed.",
	// login
	"ログイン":  "Log in",
	"ユーザー名": "User name",
	"次へ":    "Next",
	"パスワードの確認後、二要素認証（確認コードまたはセキュリティキー）を求められます。": "After the password you will be asked for a second factor (a one-time code or a security key).",
	msgBadLogin: "Invalid user name or password.",
	"このアドレスからのログイン失敗が多すぎます。しばらくしてから再度お試しください。": "Too many failed logins from this address. Please try again later.",
	// dashboard
	"三層の対策（セグメンテーション）の状況": "Three-layer segmentation",
	"団体コード":       "body code",
	"指摘":          "Findings",
	"件":           "",
	"領域間の接続で NG":  "NG connections between zones",
	"重大度別の指摘件数":   "Findings by severity",
	"モデルの規模":      "Model size",
	"ゾーン":         "Zones",
	"業務システム":      "Systems",
	"情報資産":        "Information assets",
	"ホスト":         "Hosts",
	"端末（台）":       "Terminals",
	"特定通信":        "Specific communications",
	"通信（flow）":    "Flows",
	"重大度の高い指摘":    "Most severe findings",
	"重大度":         "Severity",
	"規則":          "Rule",
	"内容":          "Finding",
	"すべての指摘事項を見る": "All findings",
	"モデルが読み込まれていません。": "No model is loaded.",
	"で起動してください。":      "to start with one.",
	"または":             "or",
	"自己点検":            "Self-assessment",
	"基準日":             "as of",
	"総合評点":            "Overall score",
	"前年度比":            "Change from last year",
	"必須事項の未達":         "Mandatory requirements not met",
	"期限超過の改善計画":       "Overdue corrective actions",
	"必須事項の未達（抜粋）":     "Mandatory requirements not met (first ones)",
	"担当":              "owner",
	"節ごとの評点と要求事項ごとの回答を見る": "Scores by section and the answer to each requirement",
	// activity
	"無害化（kyojin sanitize）":   "Sanitization (kyojin sanitize)",
	"メール中継（kyojin mailgate）": "Mail gateway (kyojin mailgate)",
	"の稼働状況":                  " activity",
	"ファイル名":                  "File name",
	"差出人":                    "Sender",
	"記録ファイルが設定されていません（設定ファイルの": "No audit file is configured (set",
	"）。": " in the configuration).",
	"記録ファイルを読み込めません（詳細はサーバーのログを参照）。": "The audit file cannot be read (see the server log).",
	"判定ごとの件数":  "Count by verdict",
	"判定":       "Verdict",
	"直近 24 時間": "Last 24 hours",
	"直近 7 日":   "Last 7 days",
	"直近 7 日の記録はありません。": "Nothing recorded in the last 7 days.",
	"最近止めたもの":          "Recently stopped",
	"日時":               "Time",
	"理由":               "Reason",
	"読み取れない行":          "Unreadable lines",
	"（無視しました）":         "(ignored)",
	"ファイルが大きいため、末尾だけを読みました。": "The file is large; only its end was read.",
	// alerts and events (security cloud)
	"アラート":            "Alerts",
	"イベント検索":          "Event search",
	"CSV で書き出す":       "Export as CSV",
	"このホストだけ":         "This host only",
	"このルールを抑止する時間":    "Suppress this rule for (hours)",
	"この送信元だけ":         "This source only",
	"すべて":             "All",
	"まだありません。":        "Nothing yet.",
	"アラート一覧へ戻る":       "Back to alerts",
	"アラート（最終検知の新しい順）": "Alerts (most recently seen first)",
	"イベントの保存先が設定されていません（設定ファイルの events）。": "No event store is configured (events in the configuration).",
	"キーワード":      "Keyword",
	"テナント":       "Tenant",
	"ページ送り":      "Pages",
	"メモ":         "Note",
	"ルール":        "Rule",
	"ルールの出典":     "Rule credit",
	"ログ":         "Log line",
	"ログの種類":      "Log source",
	"件を表示しています。": "are shown.",
	"件数":         "Count",
	"初回検知（JST）":  "First seen (JST)",
	"古いアラート":     "Older alerts",
	"完了にする":      "Close",
	"宛先":         "Destination",
	"対応":         "Handling",
	"対応の記録":      "Handling history",
	"対応を開始する":    "Acknowledge",
	"抑止した件数":     "alerts suppressed",
	"抑止する":       "Suppress",
	"新しいアラート":    "Newer alerts",
	"最初の":        "The first",
	"最終検知（JST）":  "Last seen (JST)",
	"有効な抑止":      "Active suppressions",
	"条件（一行に一つ: 項目=値、項目~部分一致）": "Conditions (one per line: field=value, field~substring)",
	"検知したイベント":                "Events behind the alert",
	"検索":                      "Search",
	"状態":                      "Status",
	"理由（必須、記録されます）":           "Reason (required, recorded)",
	"終了":      "until",
	"終了日":     "To date",
	"終了（JST）": "To (JST)",
	"絞り込む":    "Filter",
	"該当するアラートはありません。": "No matching alerts.",
	"送信元":     "Source address",
	"開始日":     "From date",
	"開始（JST）": "From (JST)",
	"重大":      "Critical",
	"高":       "High",
	"中":       "Medium",
	"低":       "Low",
	"情報":      "Informational",
	"未対応":     "New",
	"対応中":     "Acknowledged",
	"完了":      "Closed",
	"抑止":      "Suppressed",
}
