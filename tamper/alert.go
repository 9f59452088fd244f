package tamper

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sync"
	"time"
)

// Change kinds. File kinds come from the baseline comparison, page kinds
// from the external fetch.
const (
	KindAdded         = "added"
	KindModified      = "modified"
	KindDeleted       = "deleted"
	KindMode          = "mode"
	KindSymlinkEscape = "symlink-escape"     // a link leading out of the web root
	KindBaseline      = "baseline-signature" // the signed baseline itself was altered
	KindPageModified  = "page-modified"
	KindPageStatus    = "page-status"
	KindScript        = "injected-script"
	KindFrame         = "injected-frame"
	KindRedirect      = "redirect"
	KindInlineScript  = "inline-script"
	KindFetchFailed   = "fetch-failed"
)

// Severities, the Sigma levels the security cloud's alerts use.
const (
	SevCritical = "critical"
	SevHigh     = "high"
	SevMedium   = "medium"
	SevLow      = "low"
)

// Change is one detected alteration of a published site: what the
// security cloud raises as an alert (and may open an incident from).
type Change struct {
	Time     time.Time `json:"time"`
	Tenant   string    `json:"tenant"`
	Site     string    `json:"site"`
	Kind     string    `json:"kind"`
	Severity string    `json:"severity"`
	Detector string    `json:"detector"`       // watch, scan, fetch
	Path     string    `json:"path,omitempty"` // absolute path on the web server
	URL      string    `json:"url,omitempty"`
	// Details says what changed, in Japanese and English.
	Details   string   `json:"details"`
	DetailsEN string   `json:"details_en"`
	Targets   []string `json:"targets,omitempty"` // URLs outside the allowlist
	Before    *Entry   `json:"before,omitempty"`
	After     *Entry   `json:"after,omitempty"`
	// Restored is the restore action taken ("restored", "quarantined",
	// "chmod", …) or "failed: reason"; empty when restore is off.
	Restored string `json:"restored,omitempty"`
}

// Rule is a stable identifier for the kind of change, for alert stores
// keyed by rule (the security cloud's cloud.Alert.Rule).
func (c *Change) Rule() string { return "kyojin-tamper-" + c.Kind }

// Title is a one-line summary in lang ("ja" or "en").
func (c *Change) Title(lang string) string {
	t := titles[c.Kind]
	where := c.Path
	if where == "" {
		where = c.URL
	}
	if lang == "en" {
		return fmt.Sprintf("%s: %s %s", c.Tenant+"/"+c.Site, t[1], where)
	}
	return fmt.Sprintf("%s: %s %s", c.Tenant+"/"+c.Site, t[0], where)
}

var titles = map[string][2]string{
	KindAdded:         {"ファイルが追加されました", "file added"},
	KindModified:      {"ファイルが改ざんされました", "file modified"},
	KindDeleted:       {"ファイルが削除されました", "file deleted"},
	KindMode:          {"パーミッションが変更されました", "permissions changed"},
	KindSymlinkEscape: {"Web ルート外へのシンボリックリンク", "symlink out of the web root"},
	KindBaseline:      {"ベースラインの署名が検証できません", "baseline signature fails"},
	KindPageModified:  {"公開ページの内容が変わりました", "published page changed"},
	KindPageStatus:    {"公開ページの応答が変わりました", "published page response changed"},
	KindScript:        {"許可外ドメインのスクリプト", "script from a domain outside the allowlist"},
	KindFrame:         {"許可外ドメインの iframe", "frame from a domain outside the allowlist"},
	KindRedirect:      {"許可外ドメインへのリダイレクト", "redirect to a domain outside the allowlist"},
	KindInlineScript:  {"新しいインラインスクリプト", "new inline script"},
	KindFetchFailed:   {"公開ページを取得できません", "published page cannot be fetched"},
}

// Alerter raises changes as alerts. The security cloud wires it to its
// alert store (alerts can open incidents); JSONLines is the file/stdout
// implementation. Implementations must be safe for concurrent use.
type Alerter interface {
	Raise(ctx context.Context, c Change) error
}

// JSONLines writes each change as one JSON line.
type JSONLines struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONLines returns an Alerter writing to w.
func NewJSONLines(w io.Writer) *JSONLines { return &JSONLines{w: w} }

// Raise implements Alerter.
func (j *JSONLines) Raise(_ context.Context, c Change) error {
	line, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode alert: %w", err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, err := j.w.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("write alert: %w", err)
	}
	return nil
}

// AlerterFunc adapts a function to Alerter.
type AlerterFunc func(ctx context.Context, c Change) error

// Raise implements Alerter.
func (f AlerterFunc) Raise(ctx context.Context, c Change) error { return f(ctx, c) }
