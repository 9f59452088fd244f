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
}
