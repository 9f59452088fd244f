package web

import (
	"regexp"
	"strconv"
	"strings"
)

// messagesENPages completes the English catalog for the pages that were
// Japanese only (account, audit, catalog, findings, model, transfer, users,
// password, TOTP, error) and for the handlers' error messages. It is kept
// apart from messagesEN so that parallel work on the incident and alert
// pages does not collide with it; init merges it.
var messagesENPages = map[string]string{
	// full-width punctuation between values
	"\u3000": " ",
	"）。":     ").",
	// account, TOTP, security keys
	"二要素認証の登録": "Two-factor authentication",
	"あなたのロールでは二要素認証が必須です。TOTP（認証アプリ）またはセキュリティキーを登録すると、コンソールを利用できます。": "Your role requires two-factor authentication. Set up TOTP (an authenticator app) or a security key to use the console.",
	"TOTP（認証アプリ）":        "TOTP (authenticator app)",
	"状態:":                "Status:",
	"登録済み":               "Set up",
	"未登録":                "Not set up",
	"TOTP を登録し直す":        "Set up TOTP again",
	"TOTP を登録":           "Set up TOTP",
	"TOTP の登録":           "TOTP setup",
	"セキュリティキー（WebAuthn）": "Security keys (WebAuthn)",
	"登録）":                "added)",
	"登録されたキーはありません。": "No security key is registered.",
	"キーの名前":       "Key name",
	"セキュリティキー":    "Security key",
	"セキュリティキーを登録": "Register a security key",
	"認証アプリで次の QR コードを読み取ります。":                   "Scan this QR code with the authenticator app.",
	"TOTP 登録用の QR コード（読み取れない場合は下の秘密鍵を入力してください）": "QR code for TOTP setup (if it cannot be scanned, enter the secret key below)",
	"読み取れない場合は秘密鍵を手入力します:":                      "If it cannot be scanned, type the secret key:",
	"（この画面でのみ表示されます）":                           "(shown on this screen only)",
	"アプリに表示された確認コードを入力します。":                     "Enter the code the app shows.",
	"確認コード（6 桁）":                                "Code (6 digits)",
	"登録を完了":                                     "Finish setup",
	"二要素認証の登録へ戻る":                               "Back to two-factor authentication",
	"確認コードが正しくありません。もう一度「TOTP を登録」からやり直してください。": "The code is wrong. Start again from \"Set up TOTP\".",
	"セキュリティキーを登録できませんでした。":                      "The security key could not be registered.",
	// MFA at login
	"認証アプリに表示された 6 桁の確認コード":       "The 6-digit code shown by the authenticator app",
	"セキュリティキーでログイン":               "Log in with a security key",
	"中止してログイン画面へ戻る":               "Cancel and return to the login page",
	"確認コードが正しくないか、すでに使用されています。":   "The code is wrong or has already been used.",
	"セキュリティキーの手続きを最初からやり直してください。": "Start the security key step again.",
	"セキュリティキーを確認できませんでした。":        "The security key could not be verified.",
	// password
	"パスワードの変更": "Change password",
	"管理者がパスワードを再設定しました。新しいパスワードを決めると、コンソールを利用できます。": "An administrator reset your password. Choose a new one to use the console.",
	"現在のパスワード":            "Current password",
	"新しいパスワード（":           "New password (",
	"文字以上、ユーザー名と同じものは不可）": "characters or more, not the user name)",
	"新しいパスワード（確認）":        "New password (again)",
	"変更する":                "Change",
	"変更すると、ほかの端末のセッションはすべて終了します。":               "Changing it ends your sessions on all other terminals.",
	"新しいパスワードと確認用の入力が一致しません。":                   "The new password and its confirmation differ.",
	"現在のパスワードが正しくありません。":                        "The current password is wrong.",
	"ユーザー名と同じパスワードは使えません。":                      "The password may not be the user name.",
	"現在と同じパスワードは使えません。":                         "The new password must differ from the current one.",
	"パスワードを変更してから操作してください。":                     "Change your password first.",
	"のパスワードを再設定しました。次の仮パスワードを本人に安全な方法で伝えてください。": ": the password is reset. Give this temporary password to the user by a safe channel.",
	"この表示は一度だけです。本人は次回ログイン時に新しいパスワードを決めます。":     "It is shown only once. The user chooses a new password at the next login.",
	"利用者の詳細へ戻る": "Back to the user",
	// audit log
	"操作（前方一致）":   "Action (prefix)",
	"書き出し:":      "Export:",
	"監査ログ（新しい順）": "Audit log (newest first)",
	"日時（JST）":    "Time (JST)",
	"対象":         "Object",
	"詳細":         "Details",
	"新しいエントリ":    "Newer entries",
	"古いエントリ":     "Older entries",
	"日付は YYYY-MM-DD の形式で指定してください。": "Enter dates as YYYY-MM-DD.",
	"形式は csv または json を指定してください。":  "The format must be csv or json.",
	// requirements catalog and self-assessment
	"要求事項（ガイドライン）":       "Requirements (guideline)",
	"適用の判定に使う団体の属性: モデル": "Body attributes used to decide what applies: model",
	"、種類":  ", kind",
	"、ゾーン": ", zones",
	"、機能":  ", features",
	"モデルが読み込まれていないため、適用の判定はしていません。": "No model is loaded, so applicability is not decided.",
	"（基準日":        "(as of",
	"（前年度":        "(last year",
	"、必須事項の未達":    ", mandatory requirements not met",
	"件、期限超過の改善計画": ", overdue corrective actions",
	"件。回答は評価ファイルで編集します。": ". Answers are edited in the assessment file.",
	"改善計画": "Corrective actions",
	"状況":   "Status",
	"日超過":  "days overdue",
	"各要求事項の内容、担当、確認方法、適用条件を確認できます。":                  "Each requirement with its owner, how it is checked and when it applies.",
	"自己点検の評価結果は、評価ファイルを読み込んだうえで組織全体を見るロールにだけ表示されます。": "Self-assessment results are shown only when an assessment file is loaded, and only to roles that see the whole organization.",
	"要求事項の章と節":  "Chapters and sections of the requirements",
	"カタログ":      "Catalog",
	"章・節":       "Chapter, section",
	"適用":        "Applies",
	"うち必須":      "of which mandatory",
	"評点":        "Score",
	"実施）":       "implemented)",
	"概要":        "Summary",
	"区分":        "Obligation",
	"確認方法":      "How checked",
	"証跡":        "Evidence",
	"関連条項":      "Related clauses",
	"この団体への適用":  "Applies to this body",
	"対象外（":      "Does not apply (",
	"版":         "Edition",
	"から":        "onwards",
	"出典（データ）":   "Source (data)",
	"自己点検の回答（":  "Self-assessment answer (",
	"（申告は":      "(declared",
	"自動検査による変更": "Changed by automatic checks",
	"（規則":       "(rules",
	"備考":        "Notes",
	"例外措置":      "Exceptions",
	"監査の指摘":     "Audit findings",
	"評点の対象":     "Scored",
	"対象外（推奨事項で採用していない）": "Not scored (a recommendation not adopted)",
	"この要求事項には直接の回答がありません（下位の項目で評価されます。下位の項目がなければ適用外です）。": "This requirement has no answer of its own (it is assessed through its sub-items; without any it does not apply).",
	"（担当":        "(owner",
	"、期限":        ", due",
	"下位の要求事項":    "Sub-requirements",
	"（対象外）":      "(does not apply)",
	"要求事項の一覧へ戻る": "Back to the requirements",
	"この節の評点":     "Score of this section",
	"（実施":        "(implemented",
	"、一部実施":      ", partly",
	"、未実施":       ", not implemented",
	"、未回答":       ", unanswered",
	"、該当なし":      ", not applicable",
	"、前年度比":      ", change from last year",
	"必須":         "Mandatory",
	"推奨":         "Recommended",
	// error page
	"エラー番号:": "Error number:",
	"（お問い合わせの際はこの番号をお伝えください）": "(quote this number if you contact us)",
	"ダッシュボードへ戻る":              "Back to the dashboard",
	"この操作を行う権限がありません。":        "You are not allowed to do this.",
	"ページが見つかりません。":            "Page not found.",
	"フォームの有効期限が切れたか、不正な送信です。ページを読み込み直してから操作してください。": "The form has expired or the request is invalid. Reload the page and try again.",
	"ログインしてください。": "Please log in.",
	// findings
	"該当する指摘はありません。": "No matching findings.",
	"根拠（ガイドライン）":    "Basis (guideline)",
	"定義箇所":          "Defined at",
	"対処":            "Remediation",
	"重大度の指定が正しくありません。": "Invalid severity.",
	// model
	"あなたの担当範囲（部局・課室・システム）に関係するものだけを表示しています。": "Only what concerns your scope (department, division, system) is shown.",
	"ネットワーク構成図":        "Network diagram",
	"構成図を SVG でダウンロード": "Download the diagram as SVG",
	"名前":               "Name",
	"サブネット":            "Subnets",
	"あり":               "Yes",
	"業務システム（":          "Systems (",
	"部局・課室":            "Department, division",
	"ホスト（":             "Hosts (",
	"先頭の":              "The first",
	"アドレス":             "Addresses",
	"台数":               "Count",
	"役割":               "Role",
	"通信（":              "Flows (",
	"領域":               "Zones",
	"ポート":              "Ports",
	"方式":               "Method",
	"方向":               "Direction",
	"承認":               "Approval",
	"マイナンバー利用事務系":      "My Number zone",
	"LGWAN接続系":         "LGWAN zone",
	"インターネット接続系":       "Internet zone",
	"管理系":              "Management zone",
	// network diagram (DiagramIn)
	"%s・端末等 %d":    "%s, %d terminals",
	"LGWAN（全国）":    "LGWAN (national)",
	"地方公共団体を結ぶ閉域網": "closed network of local governments",
	"インターネット":      "Internet",
	"特定通信の接続先":     "Specific communication peers",
	"%d 件":         "%d",
	"外部サービス":       "External services",
	"%s のネットワーク構成（三層の対策）": "Network of %s (three-layer segmentation)",
	"%s → %s: %d 件（%s）":   "%s → %s: %d (%s)",
	"。":                   ". ",
	"外部（特定通信）":            "External (specific communications)",
	"外部":                  "External",
	"直接":                  "Direct",
	"メール無害化":              "Mail sanitization",
	"ファイル無害化":             "File sanitization",
	"画面転送":                "Screen transfer",
	"無害化・画面転送":            "Sanitization, screen transfer",
	"数字は通信（flow）の件数":      "Numbers count flows",
	// users and roles
	"ロール（ガイドライン 1. 組織体制）": "Roles (guideline 1. organization)",
	"担当（":        "Scope (",
	"所属（":        "Belongs to (",
	"ID、任意）":     "ID, optional)",
	"ログイン名":      "Login name",
	"表示名":        "Display name",
	"無効":         "Disabled",
	"ロック中（":      "Locked (",
	"まで）":        "until)",
	"有効":         "Enabled",
	"個":          "",
	"（必須）":       "(required)",
	"作成日時":       "Created",
	"ロールの変更":     "Change roles",
	"ロールを保存":     "Save the roles",
	"アカウントの操作":   "Account actions",
	"ロックを解除":     "Unlock",
	"有効にする":      "Enable",
	"無効にする":      "Disable",
	"二要素認証をリセット": "Reset two-factor authentication",
	"パスワードを再設定（次回ログイン時に変更させる）":         "Reset the password (to be changed at next login)",
	"自分自身のロールは変更できません。他の管理者に依頼してください。": "You cannot change your own roles. Ask another administrator.",
	"利用者の一覧へ戻る":            "Back to the users",
	"利用者の一覧":               "Users",
	"ロール":                  "Roles",
	"未登録（必須）":              "Not set up (required)",
	"ロック中":                 "Locked",
	"利用者の作成":               "Create a user",
	"ログイン名（a-z 0-9 - _ .）": "Login name (a-z 0-9 - _ .)",
	"初期パスワード（12 文字以上）":     "Initial password (12 characters or more)",
	"作成": "Create",
	"このロールを付与する権限がありません。":      "You may not grant this role.",
	"ロールを一つ以上選んでください":          "Choose at least one role",
	"そのログイン名はすでに使われています。":      "That login name is taken.",
	"自分自身のロールや状態はここでは変更できません。": "You cannot change your own roles or state here.",
	// file transfer
	"このページは":   "This page is the desk of the",
	"の窓口です。":   ".",
	"インターネット側": "Internet side",
	"LGWAN 側":  "LGWAN side",
	"ファイル転送（インターネット側）": "File transfer (Internet side)",
	"ファイル転送（LGWAN 側）":  "File transfer (LGWAN side)",
	"ここから送るファイルはインターネット側で受け取ります（上長の承認が必ず必要です）。":         "Files sent from here are received on the Internet side (a superior's approval is always required).",
	"ここから送るファイルは無害化され、LGWAN 側で受け取ります。原本は暗号化して隔離保管されます。": "Files sent from here are sanitized and received on the LGWAN side. Originals are kept encrypted in quarantine.",
	"インターネット側へ送る（持ち出し）":                                 "Send to the Internet side (take out)",
	"LGWAN 側へ送る": "Send to the LGWAN side",
	"受取人（ログイン名、複数はカンマ区切り）": "Recipients (login names, comma-separated)",
	"利用目的":   "Purpose",
	"機密性の分類": "Confidentiality class",
	"（指定なし）": "(not given)",
	"機密性1":   "Confidentiality 1",
	"機密性2":   "Confidentiality 2",
	"機密性3 の情報は持ち出せません。": "Confidentiality 3 information may not be taken out.",
	"ファイル（":   "Files (up to",
	"個まで、1 個": "files, each up to",
	"MB・合計":   "MB, in all",
	"MB まで。ここへドラッグ＆ドロップもできます）": "MB; you can also drag and drop here)",
	"送信":       "Send",
	"承認待ち":     "Awaiting approval",
	"受け取り可能":   "Available",
	"却下":       "Rejected",
	"期限切れ":     "Expired",
	"受け取り":     "Inbox",
	"送信済み":     "Sent",
	"受付番号":     "Reference",
	"送信者":      "Sender",
	"受取人":      "Recipients",
	"目的":       "Purpose",
	"受付日時":     "Received at",
	"ありません。":   "None.",
	"受け付けました。": "Received.",
	"上長の承認後に受取人が受け取れます（":                             "The recipients can collect it after a superior approves (",
	"受取人は今すぐ受け取れます。":                                 "The recipients can collect it now.",
	"ZIP のパスワード（この画面でだけ表示します）":                       "ZIP password (shown on this screen only)",
	"受取人がダウンロードするファイルはパスワード付き ZIP（AES-256）です。パスワードは": "The recipients download a password-protected ZIP (AES-256). The password is",
	"です。": ".",
	"メールのリンクとは別の方法（電話など）で受取人に伝えてください。kyojin はこのパスワードを保存しないため、この画面を閉じると二度と表示できません。": "Tell it to the recipients by another channel than the mail link (by phone, say). kyojin does not keep it: once this screen is closed it cannot be shown again.",
	"機密性":             "Confidentiality",
	"（暗号化して受け渡し）":     "(delivered encrypted)",
	"承認が必要な理由":        "Why approval is needed",
	"承認者":             "Approver",
	"保存期限":            "Kept until",
	"ファイルと無害化の結果":     "Files and sanitization results",
	"ファイル":            "File",
	"除去・変換した内容":       "Removed or converted",
	"受け渡すファイル":        "Delivered file",
	"バイト":             "bytes",
	"アーカイブ内のファイル":     "Files in the archive",
	"受け渡しません":         "Not delivered",
	"ダウンロード":          "Download",
	"原本を取り出す理由":       "Reason to release the original",
	"原本を取り出す（監査記録）":   "Release the original (audited)",
	"上長承認":            "Approve",
	"ファイル転送へ戻る":       "Back to file transfer",
	"インターネット → LGWAN": "Internet → LGWAN",
	"LGWAN → インターネット": "LGWAN → Internet",
	"ファイル転送はこのアドレスでは提供していません。":                 "File transfer is not offered at this address.",
	"転送が見つかりません。":                              "Transfer not found.",
	"この操作はインターネット側では行えません。":                    "This cannot be done on the Internet side.",
	"この操作はLGWAN 側では行えません。":                     "This cannot be done on the LGWAN side.",
	"アップロードの形式が正しくありません。":                      "The upload is malformed.",
	"アップロードが途中で切れました。もう一度送ってください（何も保存していません）。": "The upload was cut off. Please send it again (nothing was stored).",
	"アップロードの形式が正しくありません。ファイル名に制御文字などが含まれていないか確認してください（何も保存していません）。": "The upload is malformed. Check that no file name contains control characters (nothing was stored).",
	"ファイル名に使えない文字（制御文字など）が含まれています。":                                 "A file name contains characters that are not allowed (control characters…).",
	"承認か却下を選んでください。": "Choose approve or reject.",
	"ファイルが見つかりません。":  "File not found.",
	// transfer history
	"すべてのファイル転送の記録です（閲覧のみ）。承認・却下の理由、ファイルごとの無害化の判定、ダウンロードと原本の取り出しは監査ログから集めています。": "Every file transfer (read only). Approval reasons, each file's sanitization verdict, downloads and releases of originals come from the audit log.",
	"（すべて）": "(all)",
	"（上限に達しました。期間を絞ってください）": "(limit reached; narrow the period)",
	"ファイル転送の履歴（新しい順）":       "File transfer history (newest first)",
	"受付":            "Received",
	"送信者 → 受取人":     "Sender → recipients",
	"目的・分類":         "Purpose, class",
	"状態・承認":         "Status, approval",
	"ファイルと判定":       "Files and verdicts",
	"原本の取り出し":       "Releases of originals",
	"（暗号化 ZIP）":     "(encrypted ZIP)",
	"理由:":           "Reason:",
	"該当する転送はありません。": "No matching transfers.",
	// alerts and events handlers
	"状態の指定が正しくありません。":                       "Invalid status.",
	"アラートが見つかりません。":                         "Alert not found.",
	"メモが長すぎます（2000 バイトまで）。":                 "The note is too long (2000 bytes at most).",
	"抑止する時間は 1〜720 時間で指定してください。":            "Suppress for 1 to 720 hours.",
	"抑止の理由を入力してください（2000 バイトまで）。":           "Enter the reason for suppressing (2000 bytes at most).",
	"このテナントのイベントは表示できません。":                  "You may not see this tenant's events.",
	"日時は YYYY-MM-DDTHH:MM の形式で指定してください。":    "Enter times as YYYY-MM-DDTHH:MM.",
	"条件は 項目=値 または 項目~値 の形式で一行に一つずつ書いてください。": "Write one condition per line as field=value or field~value.",
	"条件が多すぎます（20 まで）。":                      "Too many conditions (20 at most).",
	// incident handlers
	"送信内容を読み取れません。": "The form cannot be read.",
}

func init() {
	for ja, en := range messagesENPages {
		messagesEN[ja] = en
	}
}

// patternsEN translates messages composed with values (names, numbers,
// IDs): the Japanese is a format with %s and %d, the English takes the
// values in the same order. Values are copied, never translated.
var patternsEN = compilePatterns([][2]string{
	// page titles
	{"利用者: %s", "User: %s"},
	{"パスワードの再設定: %s", "Password reset: %s"},
	{"転送 %s", "Transfer %s"},
	{"アラート #%d", "Alert #%d"},
	// handler messages
	{"利用者を作成できません: %s", "Cannot create the user: %s"},
	{"ロールの指定が正しくありません: %s", "Invalid role: %s"},
	{"パスワードは %d 文字以上にしてください。", "The password needs %d characters or more."},
	{"アップロードが大きすぎます（合計 %d MB まで）。", "The upload is too large (%d MB in all at most)."},
	{"一度に送れるファイルは %d 個までです。", "At most %d files can be sent at once."},
	{"受取人「%s」は登録されていません。", "Recipient \"%s\" is not registered."},
	{"ファイル「%s」が大きすぎます（上限 %d MB）。", "File \"%s\" is too large (limit %d MB)."},
	// transfer service (transfer.Error)
	{"ファイル名が空です。", "A file name is empty."},
	{"ファイル名の文字コードが不正です。", "A file name is not valid text."},
	{"ファイル名が長すぎます（255 バイトまで）。", "A file name is too long (255 bytes at most)."},
	{"ファイル名「%s」にパス（/ \\ ..）が含まれています。ファイル名だけを指定してください。", "File name \"%s\" contains a path (/ \\ ..). Give the file name only."},
	{"ファイル名「%s」に制御文字が含まれています。", "File name \"%s\" contains control characters."},
	{"ファイルを選択してください。", "Choose the files."},
	{"同じ名前のファイル「%s」が複数あります。名前を変えてから送ってください。", "Several files are named \"%s\". Rename them and send again."},
	{"ファイル「%s」は空（0 バイト）です。", "File \"%s\" is empty (0 bytes)."},
	{"ファイル「%s」が大きすぎます（上限 %s）。", "File \"%s\" is too large (limit %s)."},
	{"ファイルの合計が大きすぎます（上限 %s）。", "The files are too large in all (limit %s)."},
	{"受取人を指定してください。", "Give the recipients."},
	{"受取人の指定が不正です。", "Invalid recipients."},
	{"利用目的を入力してください。", "Enter the purpose."},
	{"LGWAN からの持ち出しには機密性の分類（1、2、3A、3B、3C）の指定が必要です。", "Taking data out of LGWAN needs a confidentiality class (1, 2, 3A, 3B, 3C)."},
	{"機密性3 の情報はインターネット側へ持ち出せません。", "Confidentiality 3 information may not be taken to the Internet side."},
	{"機密性の分類が不正です。", "Invalid confidentiality class."},
	{"承認・却下の理由を入力してください。", "Enter the reason for approving or rejecting."},
	{"自分が送った転送は承認できません。", "You cannot approve your own transfer."},
	{"この転送は承認待ちではありません（状態: %s）。", "This transfer is not awaiting approval (status: %s)."},
	{"この転送は既に他の承認者が処理しました。", "Another approver has already handled this transfer."},
	{"この転送を承認する権限がありません。送信者 %s の所属（課室）が登録されていないため、CISO または統括情報セキュリティ責任者だけが承認できます。", "You may not approve this transfer. Sender %s has no division registered, so only the CISO or the CISO's deputy can approve it."},
	{"この転送を承認する権限がありません。承認できるのは送信者 %s の所属（%s）の情報セキュリティ管理者・情報セキュリティ責任者、CISO または統括情報セキュリティ責任者です。", "You may not approve this transfer. It can be approved by the security managers and officers of sender %s's unit (%s), the CISO or the CISO's deputy."},
	{"この転送の受取人ではありません。", "You are not a recipient of this transfer."},
	{"この転送はまだ受け取れないか、期限が切れています（状態: %s）。", "This transfer cannot be collected yet or has expired (status: %s)."},
	{"このファイルは無害化できなかったため受け取れません。", "This file could not be sanitized and cannot be collected."},
	{"ダウンロードのリンクが正しくありません。", "The download link is not valid."},
	{"ダウンロードのリンクの有効期限が切れています。受信一覧からもう一度ダウンロードしてください。", "The download link has expired. Download again from the inbox."},
	{"このダウンロードのリンクは使用済みです（リンクは一度だけ使えます）。", "This download link has been used (a link works once)."},
	{"このリンクは別の利用者のものです。", "This link belongs to another user."},
	{"この転送は受け取れません（状態: %s）。", "This transfer cannot be collected (status: %s)."},
	{"このファイルは受け取れません。", "This file cannot be collected."},
	{"原本を取り出す理由を入力してください。", "Enter the reason for releasing the original."},
	{"原本の保管（隔離）が設定されていません。", "No quarantine for originals is configured."},
	{"原本の取り出しはインターネットからの転送にだけ使えます。", "Originals can be released only for transfers from the Internet."},
	{"このファイルの原本は保管されていません。", "The original of this file is not kept."},
})

type msgPattern struct {
	re *regexp.Regexp
	en string // with ${1}, ${2}… for the values
}

// compilePatterns turns "…%s…%d…" into an anchored regexp and the English
// into an expansion template.
func compilePatterns(pairs [][2]string) []msgPattern {
	verb := regexp.MustCompile(`%[sd]`)
	out := make([]msgPattern, 0, len(pairs))
	for _, p := range pairs {
		re := "^" + verb.ReplaceAllStringFunc(regexp.QuoteMeta(p[0]), func(v string) string {
			if v == "%d" {
				return `(-?\d+)`
			}
			return `(.*?)`
		}) + "$"
		n := 0
		en := verb.ReplaceAllStringFunc(strings.ReplaceAll(p[1], "$", "$$"), func(string) string {
			n++
			return "${" + strconv.Itoa(n) + "}"
		})
		out = append(out, msgPattern{regexp.MustCompile(re), en})
	}
	return out
}

// trPattern translates a composed message; a translated status inside one
// (状態: 承認待ち) is translated too.
func trPattern(ja string) (string, bool) {
	for _, p := range patternsEN {
		m := p.re.FindStringSubmatchIndex(ja)
		if m == nil {
			continue
		}
		var vals []string
		for i := 2; i < len(m); i += 2 {
			v := ja[m[i]:m[i+1]]
			if en, ok := messagesEN[v]; ok {
				v = en
			}
			vals = append(vals, v)
		}
		return expandValues(p.en, vals), true
	}
	return "", false
}

// expandValues puts vals into ${1}, ${2}… without reading "$" in the
// values themselves.
func expandValues(tmpl string, vals []string) string {
	var b strings.Builder
	for i := 0; i < len(tmpl); i++ {
		if tmpl[i] == '$' && i+1 < len(tmpl) && tmpl[i+1] == '$' {
			b.WriteByte('$')
			i++
			continue
		}
		if tmpl[i] == '$' && i+1 < len(tmpl) && tmpl[i+1] == '{' {
			end := strings.IndexByte(tmpl[i:], '}')
			if k, err := strconv.Atoi(tmpl[i+2 : i+end]); err == nil && k >= 1 && k <= len(vals) {
				b.WriteString(vals[k-1])
				i += end
				continue
			}
		}
		b.WriteByte(tmpl[i])
	}
	return b.String()
}
