package sanitize

import (
	_ "embed"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
	"github.com/goccy/go-yaml/token"

	"github.com/kyojin/kyojin/diag"
)

// PolicyAction is what the policy does with a type or a name issue.
type PolicyAction string

const (
	ActionAllow    PolicyAction = "allow"    // deliver as is: plain text only
	ActionSanitize PolicyAction = "sanitize" // rebuild with the type's handler
	ActionConvert  PolicyAction = "convert"  // rebuild into another format
	ActionHold     PolicyAction = "hold"     // keep back (e.g. waiting for a password)
	ActionBlock    PolicyAction = "block"
)

// Policy is the sanitization policy: data, not code, so that each
// organisation can tighten it and auditors can read it.
type Policy struct {
	Name       string              `yaml:"name"`
	Version    string              `yaml:"version"`
	Default    PolicyAction        `yaml:"default"`
	Names      NamePolicy          `yaml:"names"`
	Types      map[Type]TypePolicy `yaml:"types"`
	Limits     Limits              `yaml:"limits"`
	Clamd      ClamdPolicy         `yaml:"clamd"`
	Quarantine QuarantinePolicy    `yaml:"quarantine"`
	positions  map[string]token.Position
}

// NamePolicy decides each name issue: block, or allow (deliver under a
// name derived from the detected type).
type NamePolicy struct {
	ExtensionMismatch PolicyAction `yaml:"extension_mismatch"`
	MIMEMismatch      PolicyAction `yaml:"mime_mismatch"`
	DoubleExtension   PolicyAction `yaml:"double_extension"`
	BidiControl       PolicyAction `yaml:"bidi_control"`
	NoExtension       PolicyAction `yaml:"no_extension"`
	Polyglot          PolicyAction `yaml:"polyglot"`
}

// TypePolicy is the rule for one detected type.
type TypePolicy struct {
	Action  PolicyAction `yaml:"action"`
	Options Options      `yaml:"options"`
}

// Options are per-type handler switches; YAML scalars of any kind are kept
// as their text so that `keep_uri_actions: false` and `"false"` agree.
type Options map[string]string

// UnmarshalYAML accepts a mapping of scalars.
func (o *Options) UnmarshalYAML(b []byte) error {
	var raw map[string]any
	if err := yaml.Unmarshal(b, &raw); err != nil {
		return err
	}
	*o = Options{}
	for k, v := range raw {
		switch v.(type) {
		case map[string]any, []any:
			return fmt.Errorf("option %q must be a scalar", k)
		}
		(*o)[k] = fmt.Sprint(v)
	}
	return nil
}

// ClamdPolicy configures the virus scan (clause 3(2): scan before delivery).
type ClamdPolicy struct {
	Enabled bool   `yaml:"enabled"`
	Address string `yaml:"address"` // unix:/path, tcp:host:port, /path or host:port
	// Required makes an unreachable or failing clamd a FAILED verdict (fail closed).
	Required bool          `yaml:"required"`
	Timeout  time.Duration `yaml:"timeout"`
}

// QuarantinePolicy configures where originals are kept, encrypted.
type QuarantinePolicy struct {
	Enabled bool   `yaml:"enabled"`
	Dir     string `yaml:"dir"`
	// The AES-256 key comes from a file or an environment variable holding
	// 64 hex digits (or 32 raw bytes in a file); it is never logged.
	KeyFile   string        `yaml:"key_file"`
	KeyEnv    string        `yaml:"key_env"`
	Retention time.Duration `yaml:"retention"`
}

//go:embed default-policy.yaml
var defaultPolicyYAML []byte

// DefaultPolicyYAML returns the embedded default policy text.
func DefaultPolicyYAML() []byte { return slices.Clone(defaultPolicyYAML) }

// DefaultPolicy returns the embedded strict default policy.
func DefaultPolicy() *Policy {
	p, err := ParsePolicy("default-policy.yaml", defaultPolicyYAML)
	if err != nil {
		panic("sanitize: embedded default policy is invalid: " + err.Error())
	}
	return p
}

// LoadPolicy reads and validates a policy file.
func LoadPolicy(file string) (*Policy, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read policy: %w", err)
	}
	return ParsePolicy(file, b)
}

// ParsePolicy decodes a policy strictly: every unknown field, wrong type and
// invalid value is reported (as a *diag.ListError) with file:line:column and
// a hint, not only the first.
func ParsePolicy(file string, data []byte) (*Policy, error) {
	var list diag.List
	add := func(pos *token.Position, path, code string, msg, hint diag.Text) {
		d := diag.Diagnostic{File: file, Path: path, Code: code, Msg: msg, Hint: hint}
		if pos != nil {
			d.Line, d.Col = pos.Line, pos.Column
		}
		list.Add(d)
	}
	f, err := parser.ParseBytes(data, 0)
	if err != nil {
		add(errPos(err), "", "policy.syntax", diag.T("YAML の構文エラー: "+errMsg(err), "YAML syntax error: "+errMsg(err)),
			diag.T("インデントと引用符を確認してください", "check indentation and quoting"))
		return nil, list.Err()
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		add(nil, "", "policy.empty", diag.T("ポリシーは一つの YAML 文書でなければなりません", "the policy must be exactly one YAML document"),
			diag.T("--- で区切られた複数文書は使えません", "do not use multiple --- documents"))
		return nil, list.Err()
	}
	p := &Policy{positions: map[string]token.Position{}}
	walkSchema(f.Docs[0].Body, reflect.TypeOf(*p), "", p.positions, add)
	schemaErrors := list.HasErrors()
	// Unknown fields are already reported by walkSchema; decoding without
	// DisallowUnknownField lets validate report value errors in the same run.
	if err := yaml.Unmarshal(data, p); err != nil {
		if !schemaErrors {
			add(errPos(err), "", "policy.type", diag.T("値の型が正しくありません: "+errMsg(err), "wrong value type: "+errMsg(err)),
				diag.T("数値・真偽値・期間（例: 30s）の書き方を確認してください", "check numbers, booleans and durations such as 30s"))
		}
		return nil, list.Err()
	}
	p.validate(add)
	if list.HasErrors() {
		return nil, list.Err()
	}
	return p, nil
}

type addFunc func(pos *token.Position, path, code string, msg, hint diag.Text)

func errPos(err error) *token.Position {
	var te interface{ GetToken() *token.Token }
	if errors.As(err, &te) && te.GetToken() != nil {
		return te.GetToken().Position
	}
	return nil
}

func errMsg(err error) string {
	var te interface{ GetMessage() string }
	if errors.As(err, &te) {
		return te.GetMessage()
	}
	return err.Error()
}

// walkSchema checks every mapping key against the yaml tags of t, recursing
// into structs and maps, and records each path's position for later
// validation messages. Anchors, aliases and tags are refused: a policy is
// read by auditors and must mean what it shows.
func walkSchema(n ast.Node, t reflect.Type, path string, pos map[string]token.Position, add addFunc) {
	if n == nil {
		return
	}
	if _, seen := pos[path]; !seen {
		if tk := n.GetToken(); tk != nil && tk.Position != nil {
			pos[path] = *tk.Position
		}
	}
	switch n.(type) {
	case *ast.AnchorNode, *ast.AliasNode, *ast.TagNode, *ast.MergeKeyNode:
		add(n.GetToken().Position, path, "policy.anchor", diag.T("アンカー・エイリアス・タグは使えません", "anchors, aliases and tags are not allowed"),
			diag.T("値をそのまま書いてください", "write the values out"))
		return
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == reflect.TypeOf(Options{}) {
		return // free-form, checked by UnmarshalYAML
	}
	checkScalar(n, t, path, add)
	switch t.Kind() {
	case reflect.Struct, reflect.Map:
		mv := mappingValues(n)
		if mv == nil {
			if _, null := n.(*ast.NullNode); !null {
				add(n.GetToken().Position, path, "policy.type", diag.T("マッピング（key: value）が必要です", "a mapping (key: value) is expected"),
					diag.T("インデントを確認してください", "check the indentation"))
			}
			return
		}
		fields := map[string]reflect.Type{}
		if t.Kind() == reflect.Struct {
			for i := range t.NumField() {
				if tag := strings.Split(t.Field(i).Tag.Get("yaml"), ",")[0]; tag != "" && t.Field(i).IsExported() {
					fields[tag] = t.Field(i).Type
				}
			}
		}
		for _, kv := range mv {
			key := strings.TrimSpace(kv.Key.String())
			sub := joinPath(path, key)
			if tk := kv.Key.GetToken(); tk != nil && tk.Position != nil {
				pos[sub] = *tk.Position
			}
			if t.Kind() == reflect.Map {
				walkSchema(kv.Value, t.Elem(), sub, pos, add)
				continue
			}
			ft, ok := fields[key]
			if !ok {
				known := make([]string, 0, len(fields))
				for k := range fields {
					known = append(known, k)
				}
				slices.Sort(known)
				add(kv.Key.GetToken().Position, sub, "policy.unknown_field",
					diag.T(fmt.Sprintf("不明な項目 %q", key), fmt.Sprintf("unknown field %q", key)),
					diag.T(nearest(key, known, "使える項目: "), nearest(key, known, "known fields: ")))
				continue
			}
			walkSchema(kv.Value, ft, sub, pos, add)
		}
	}
}

// checkScalar reports a scalar of the wrong kind at its own position, so
// that every type error is listed (the decoder stops at the first).
func checkScalar(n ast.Node, t reflect.Type, path string, add addFunc) {
	if _, null := n.(*ast.NullNode); null {
		return
	}
	bad := func(want diag.Text, hint diag.Text) {
		add(n.GetToken().Position, path, "policy.type", want, hint)
	}
	switch {
	case t == reflect.TypeOf(time.Duration(0)):
		s, ok := n.(*ast.StringNode)
		if !ok {
			bad(diag.T("期間が必要です", "a duration is expected"), diag.T("単位付きで書いてください（例: 30s, 24h）", "write it with a unit, e.g. 30s or 24h"))
			return
		}
		if _, err := time.ParseDuration(s.Value); err != nil {
			bad(diag.T(fmt.Sprintf("期間 %q を解釈できません", s.Value), fmt.Sprintf("cannot parse duration %q", s.Value)),
				diag.T("単位付きで書いてください（例: 30s, 24h）", "write it with a unit, e.g. 30s or 24h"))
		}
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		if _, ok := n.(*ast.IntegerNode); !ok {
			bad(diag.T("整数が必要です", "an integer is expected"), diag.T("引用符や単位を付けずに書いてください（例: 268435456）", "write digits only, e.g. 268435456"))
		}
	case t.Kind() == reflect.Bool:
		if _, ok := n.(*ast.BoolNode); !ok {
			bad(diag.T("true または false が必要です", "true or false is expected"), diag.T("例: enabled: true", "e.g. enabled: true"))
		}
	case t.Kind() == reflect.String:
		switch n.(type) {
		case *ast.MappingNode, *ast.MappingValueNode, *ast.SequenceNode:
			bad(diag.T("文字列が必要です", "a string is expected"), diag.T("値を一つだけ書いてください", "write a single value"))
		}
	}
}

func mappingValues(n ast.Node) []*ast.MappingValueNode {
	switch m := n.(type) {
	case *ast.MappingNode:
		return m.Values
	case *ast.MappingValueNode:
		return []*ast.MappingValueNode{m}
	}
	return nil
}

func joinPath(a, b string) string {
	if a == "" {
		return b
	}
	return a + "." + b
}

// nearest suggests the known key within a small edit distance (a typo),
// else lists all.
func nearest(key string, known []string, prefix string) string {
	best, bestD := "", len(key)/3+1
	for _, k := range known {
		if d := editDistance(key, k); d < bestD {
			best, bestD = k, d
		}
	}
	if best != "" {
		return prefix + best + "?"
	}
	return prefix + strings.Join(known, ", ")
}

// editDistance is the Levenshtein distance over bytes (keys are ASCII).
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (p *Policy) at(path string) *token.Position {
	if pos, ok := p.positions[path]; ok {
		return &pos
	}
	return nil
}

var validActions = []PolicyAction{ActionAllow, ActionSanitize, ActionConvert, ActionHold, ActionBlock}

func (p *Policy) validate(add addFunc) {
	if p.Name == "" {
		add(nil, "name", "policy.required", diag.T("name は必須です", "name is required"), diag.T("例: name: city-hall", "e.g. name: city-hall"))
	}
	if p.Version == "" {
		add(p.at("name"), "version", "policy.required", diag.T("version は必須です", "version is required"), diag.T(`例: version: "1"`, `e.g. version: "1"`))
	}
	checkAction := func(path string, a PolicyAction, allowed []PolicyAction) {
		if !slices.Contains(allowed, a) {
			var names []string
			for _, x := range allowed {
				if x != "" {
					names = append(names, string(x))
				}
			}
			add(p.at(path), path, "policy.action",
				diag.T(fmt.Sprintf("不正な動作 %q", a), fmt.Sprintf("invalid action %q", a)),
				diag.T("使える値: "+strings.Join(names, ", "), "allowed: "+strings.Join(names, ", ")))
		}
	}
	checkAction("default", p.Default, []PolicyAction{ActionBlock, ActionHold})
	nameRules := []PolicyAction{"", ActionBlock, ActionAllow} // unset means block
	for path, a := range map[string]PolicyAction{
		"names.extension_mismatch": p.Names.ExtensionMismatch, "names.mime_mismatch": p.Names.MIMEMismatch,
		"names.double_extension": p.Names.DoubleExtension, "names.bidi_control": p.Names.BidiControl,
		"names.no_extension": p.Names.NoExtension, "names.polyglot": p.Names.Polyglot,
	} {
		checkAction(path, a, nameRules)
	}
	known := KnownTypes()
	for t, tp := range p.Types {
		path := "types." + string(t)
		if !slices.Contains(known, t) {
			names := make([]string, len(known))
			for i, k := range known {
				names[i] = string(k)
			}
			slices.Sort(names)
			add(p.at(path), path, "policy.type_name", diag.T(fmt.Sprintf("不明な種別 %q", t), fmt.Sprintf("unknown type %q", t)),
				diag.T("使える種別: "+strings.Join(names, ", "), "known types: "+strings.Join(names, ", ")))
			continue
		}
		allowed := validActions
		if t != TypeText {
			// Only plain text may pass unchanged; everything else is rebuilt.
			allowed = []PolicyAction{ActionSanitize, ActionConvert, ActionHold, ActionBlock}
		}
		checkAction(path+".action", tp.Action, allowed)
	}
	l := p.Limits
	for path, v := range map[string]int64{
		"limits.timeout": int64(l.Timeout), "limits.max_input_bytes": l.MaxInputBytes,
		"limits.max_decompressed_bytes": l.MaxDecompressedBytes, "limits.max_compression_ratio": l.MaxCompressionRatio,
		"limits.max_archive_depth": int64(l.MaxArchiveDepth), "limits.max_archive_entries": int64(l.MaxArchiveEntries),
		"limits.max_pages": int64(l.MaxPages), "limits.max_image_dimension": int64(l.MaxImageDimension),
		"limits.max_image_pixels": l.MaxImagePixels,
	} {
		if v <= 0 {
			add(p.at(path), path, "policy.limit", diag.T("制限値は正の値でなければなりません", "limits must be positive"),
				diag.T("無制限は許されません。大きな値を設定してください", "unlimited is not allowed; set a large value"))
		}
	}
	if p.Clamd.Enabled {
		if p.Clamd.Address == "" {
			add(p.at("clamd"), "clamd.address", "policy.required", diag.T("clamd.address は必須です", "clamd.address is required"),
				diag.T("例: unix:/run/clamav/clamd.ctl", "e.g. unix:/run/clamav/clamd.ctl"))
		}
		if p.Clamd.Timeout <= 0 {
			add(p.at("clamd.timeout"), "clamd.timeout", "policy.limit", diag.T("clamd.timeout は正の期間です", "clamd.timeout must be a positive duration"),
				diag.T("例: 60s", "e.g. 60s"))
		}
	}
	if p.Quarantine.Enabled {
		if p.Quarantine.Dir == "" {
			add(p.at("quarantine"), "quarantine.dir", "policy.required", diag.T("quarantine.dir は必須です", "quarantine.dir is required"),
				diag.T("例: /var/lib/kyojin/quarantine", "e.g. /var/lib/kyojin/quarantine"))
		}
		if (p.Quarantine.KeyFile == "") == (p.Quarantine.KeyEnv == "") {
			add(p.at("quarantine"), "quarantine", "policy.key", diag.T("key_file と key_env のどちらか一方を指定してください", "set exactly one of key_file and key_env"),
				diag.T("鍵そのものはポリシーに書かないでください", "never write the key itself into the policy"))
		}
		if p.Quarantine.Retention <= 0 {
			add(p.at("quarantine.retention"), "quarantine.retention", "policy.limit", diag.T("retention は正の期間です", "retention must be a positive duration"),
				diag.T("例: 2160h（90日）", "e.g. 2160h (90 days)"))
		}
	}
}

// Rule returns the rule for a detected type, falling back to the default.
func (p *Policy) Rule(t Type) TypePolicy {
	if tp, ok := p.Types[t]; ok {
		return tp
	}
	return TypePolicy{Action: p.Default}
}

// NameRule returns the action for a name issue.
func (p *Policy) NameRule(i NameIssue) PolicyAction {
	var a PolicyAction
	switch i {
	case IssueExtensionMismatch:
		a = p.Names.ExtensionMismatch
	case IssueMIMEMismatch:
		a = p.Names.MIMEMismatch
	case IssueDoubleExtension:
		a = p.Names.DoubleExtension
	case IssueBidiControl:
		a = p.Names.BidiControl
	case IssueNoExtension:
		a = p.Names.NoExtension
	case IssuePolyglot:
		a = p.Names.Polyglot
	}
	if a == "" {
		return ActionBlock
	}
	return a
}
