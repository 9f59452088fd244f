// Package strictyaml decodes YAML into Go structs strictly: unknown fields,
// duplicate keys, wrong types, missing required fields, anchors and aliases
// are all reported — every one of them in a single pass — as diagnostics
// carrying file:line:column and the field path. Decoded structs can record
// where each of their fields came from (see Meta) so that later semantic
// checks can point at the right line too.
//
// Struct fields are matched by their `yaml:"name"` tag; the option
// `yaml:"name,required"` makes a field mandatory. A field of type Meta is
// filled with positions instead of being decoded.
package strictyaml

import (
	"encoding"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"sync"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"

	"github.com/kyojin/kyojin/diag"
)

// Pos is a 1-based line and column.
type Pos struct {
	Line int32
	Col  int32
}

type keyPos struct {
	name string
	pos  Pos
}

// Meta records the origin of a decoded struct: the file, the position of the
// mapping, and the position of each key that was present.
type Meta struct {
	File string
	Pos  Pos
	keys []keyPos
}

// Origin returns m itself; through embedding it gives generic code the
// Meta of any decoded struct.
func (m *Meta) Origin() *Meta { return m }

// At returns the position of field's key, or of the object when the field
// was absent.
func (m *Meta) At(field string) Pos {
	for _, k := range m.keys {
		if k.name == field {
			return k.pos
		}
	}
	return m.Pos
}

// Has reports whether field was written in the source.
func (m *Meta) Has(field string) bool {
	for _, k := range m.keys {
		if k.name == field {
			return true
		}
	}
	return false
}

// Diag builds a diagnostic located at field of the object described by m.
func (m *Meta) Diag(sev diag.Severity, path, field, code string, msg, hint diag.Text) diag.Diagnostic {
	p := m.At(field)
	if field != "" {
		if path != "" {
			path += "."
		}
		path += field
	}
	return diag.Diagnostic{File: m.File, Line: int(p.Line), Col: int(p.Col), Path: path, Severity: sev, Code: code, Msg: msg, Hint: hint}
}

// DiagAt builds a diagnostic with a full path, positioned at field's key.
func (m *Meta) DiagAt(sev diag.Severity, path, field, code string, msg, hint diag.Text) diag.Diagnostic {
	p := m.At(field)
	return diag.Diagnostic{File: m.File, Line: int(p.Line), Col: int(p.Col), Path: path, Severity: sev, Code: code, Msg: msg, Hint: hint}
}

// ValueError lets an encoding.TextUnmarshaler return a bilingual message and
// hint; other errors are shown with their Error text.
type ValueError struct {
	Msg  diag.Text
	Hint diag.Text
}

func (e *ValueError) Error() string { return e.Msg.EN }

// Parse parses data and returns the body of each document. A syntax error is
// reported to diags and yields no documents.
func Parse(file string, data []byte, diags *diag.List) (docs []ast.Node) {
	defer func() {
		// The YAML library must never take the process down on hostile input.
		if r := recover(); r != nil {
			docs = nil
			diags.Add(diag.Diagnostic{File: file, Line: 1, Col: 1, Severity: diag.Error, Code: "yaml-syntax",
				Msg: diag.T("YAML を解釈できません", "the YAML cannot be parsed")})
		}
	}()
	f, err := parser.ParseBytes(data, 0, parser.AllowDuplicateMapKey()) // reported by the decoder, with the others
	if err != nil {
		d := diag.Diagnostic{File: file, Line: 1, Col: 1, Severity: diag.Error, Code: "yaml-syntax",
			Msg:  diag.T("YAML の構文エラー: "+syntaxMessage(err), "YAML syntax error: "+syntaxMessage(err)),
			Hint: diag.T("インデントとコロンの後の空白を確認してください", "check indentation and the space after each colon")}
		var se *yaml.SyntaxError
		if errors.As(err, &se) && se.Token != nil {
			d.Line, d.Col = se.Token.Position.Line, se.Token.Position.Column
		}
		diags.Add(d)
		return nil
	}
	for _, doc := range f.Docs {
		if doc == nil || doc.Body == nil {
			continue
		}
		docs = append(docs, doc.Body)
	}
	return docs
}

func syntaxMessage(err error) string {
	var se *yaml.SyntaxError
	if errors.As(err, &se) {
		return se.Message
	}
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i > 0 {
		msg = msg[:i]
	}
	return msg
}

// Decode decodes one node into out, which must be a non-nil pointer. path is
// the field path of node (may be empty).
func Decode(file string, node ast.Node, out any, path string, diags *diag.List) {
	v := reflect.ValueOf(out)
	if v.Kind() != reflect.Pointer || v.IsNil() {
		panic("strictyaml: Decode needs a non-nil pointer")
	}
	d := &decoder{file: file, diags: diags}
	d.value(node, v.Elem(), &seg{name: path})
}

// DecodeBytes parses data, which must hold exactly one document, into out.
func DecodeBytes(file string, data []byte, out any, diags *diag.List) {
	docs := Parse(file, data, diags)
	switch len(docs) {
	case 0:
		if !diags.HasErrors() {
			diags.Add(diag.Diagnostic{File: file, Line: 1, Col: 1, Code: "empty", Msg: diag.T("ファイルが空です", "the file is empty")})
		}
	case 1:
		Decode(file, docs[0], out, "", diags)
	default:
		diags.Add(diag.Diagnostic{File: file, Line: posOf(docs[1]).lineInt(), Col: 1, Code: "multiple-documents",
			Msg: diag.T("このファイルには YAML 文書を一つだけ書けます", "this file must hold a single YAML document")})
	}
}

// DecodeFile reads a configuration file and decodes it like DecodeBytes; a
// file that cannot be read is reported as a "read" error at the file. It
// reports whether the file decoded without errors, so that a loader goes on
// to its own checks only then.
func DecodeFile(file string, out any, diags *diag.List) bool {
	data, err := os.ReadFile(file)
	if err != nil {
		diags.Add(diag.Diagnostic{File: file, Code: "read", Severity: diag.Error,
			Msg: diag.T("設定ファイルを読み込めません: "+err.Error(), "cannot read the configuration: "+err.Error())})
		return false
	}
	n := len(diags.Items)
	DecodeBytes(file, data, out, diags)
	for _, d := range diags.Items[n:] {
		if d.Severity == diag.Error {
			return false
		}
	}
	return true
}

// seg is a lazily rendered field path: a chain of names and indexes that is
// only turned into a string when a diagnostic needs it.
type seg struct {
	parent *seg
	name   string
	index  int // -1 when name is used
}

func (s *seg) String() string {
	if s == nil {
		return ""
	}
	var parts []*seg
	for p := s; p != nil; p = p.parent {
		parts = append(parts, p)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		if p.name == "" && p.parent == nil && p.index == 0 {
			continue
		}
		if p.name != "" {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(p.name)
		} else {
			fmt.Fprintf(&b, "[%d]", p.index)
		}
	}
	return b.String()
}

type decoder struct {
	file  string
	diags *diag.List
}

func (p Pos) lineInt() int { return int(p.Line) }

func posOf(n ast.Node) Pos {
	if n == nil {
		return Pos{}
	}
	tk := n.GetToken()
	if tk == nil || tk.Position == nil {
		return Pos{}
	}
	return Pos{Line: int32(tk.Position.Line), Col: int32(tk.Position.Column)}
}

func (d *decoder) errorAt(n ast.Node, path *seg, code string, msg, hint diag.Text) {
	p := posOf(n)
	d.diags.Add(diag.Diagnostic{File: d.file, Line: int(p.Line), Col: int(p.Col), Path: path.String(),
		Severity: diag.Error, Code: code, Msg: msg, Hint: hint})
}

var (
	metaType          = reflect.TypeFor[Meta]()
	textUnmarshalType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

type fieldInfo struct {
	name     string
	index    int
	required bool
}

type structInfo struct {
	fields []fieldInfo
	byName map[string]int // name -> position in fields
	meta   int            // index of the Meta field, -1 if none
}

var structCache sync.Map // reflect.Type -> *structInfo

func infoFor(t reflect.Type) *structInfo {
	if si, ok := structCache.Load(t); ok {
		return si.(*structInfo)
	}
	si := &structInfo{byName: map[string]int{}, meta: -1}
	for i := range t.NumField() {
		f := t.Field(i)
		if f.Type == metaType {
			si.meta = i
			continue
		}
		tag := f.Tag.Get("yaml")
		if tag == "-" || !f.IsExported() {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		si.byName[name] = len(si.fields)
		si.fields = append(si.fields, fieldInfo{name: name, index: i, required: strings.Contains(","+opts+",", ",required,")})
	}
	structCache.Store(t, si)
	return si
}

// unwrap strips tags of the YAML core schema and rejects anchors, aliases
// and merge keys, which make input harder to audit and enable expansion bombs.
func (d *decoder) unwrap(n ast.Node, path *seg) (ast.Node, bool) {
	for {
		switch t := n.(type) {
		case *ast.TagNode:
			if tag := t.Start.Value; !strings.HasPrefix(tag, "!!") {
				d.errorAt(n, path, "yaml-tag", diag.T(fmt.Sprintf("独自タグ %s は使えません", tag), fmt.Sprintf("custom tag %s is not allowed", tag)), diag.Text{})
				return nil, false
			}
			n = t.Value
		case *ast.AnchorNode, *ast.AliasNode, *ast.MergeKeyNode:
			d.errorAt(n, path, "yaml-alias", diag.T("アンカー・エイリアス・マージキーは使えません", "anchors, aliases and merge keys are not allowed"),
				diag.T("値をそのまま書いてください", "write the value out in full"))
			return nil, false
		default:
			return n, true
		}
	}
}

// scalar returns the source text of a scalar node.
func scalar(n ast.Node) (string, bool) {
	switch t := n.(type) {
	case *ast.StringNode:
		return t.Value, true
	case *ast.LiteralNode:
		if t.Value == nil {
			return "", true
		}
		return t.Value.Value, true
	case *ast.NullNode:
		return "", true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.InfinityNode, *ast.NanNode:
		return n.GetToken().Value, true
	}
	return "", false
}

func kindName(n ast.Node) diag.Text {
	switch n.(type) {
	case *ast.MappingNode, *ast.MappingValueNode:
		return diag.T("マッピング", "a mapping")
	case *ast.SequenceNode:
		return diag.T("リスト", "a list")
	}
	return diag.T("スカラー値", "a scalar")
}

func (d *decoder) mismatch(n ast.Node, path *seg, want diag.Text) {
	got := kindName(n)
	d.errorAt(n, path, "type", diag.T(want.JA+"が必要ですが、"+got.JA+"が書かれています", "expected "+want.EN+", found "+got.EN), diag.Text{})
}

func (d *decoder) value(n ast.Node, v reflect.Value, path *seg) {
	n, ok := d.unwrap(n, path)
	if !ok {
		return
	}
	if _, isNull := n.(*ast.NullNode); isNull {
		return // leave the zero value; required checks catch what matters
	}
	if v.Kind() == reflect.Pointer {
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.value(n, v.Elem(), path)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(textUnmarshalType) {
		s, ok := scalar(n)
		if !ok {
			d.mismatch(n, path, diag.T("スカラー値", "a scalar"))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			var ve *ValueError
			if errors.As(err, &ve) {
				d.errorAt(n, path, "value", ve.Msg, ve.Hint)
			} else {
				d.errorAt(n, path, "value", diag.T("値が不正です: "+err.Error(), "invalid value: "+err.Error()), diag.Text{})
			}
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.structValue(n, v, path)
	case reflect.Slice:
		seq, ok := n.(*ast.SequenceNode)
		if !ok {
			d.mismatch(n, path, diag.T("リスト", "a list"))
			return
		}
		sl := reflect.MakeSlice(v.Type(), len(seq.Values), len(seq.Values))
		for i, item := range seq.Values {
			d.value(item, sl.Index(i), &seg{parent: path, index: i})
		}
		v.Set(sl)
	case reflect.Map:
		m, ok := n.(*ast.MappingNode)
		if !ok {
			d.mismatch(n, path, diag.T("マッピング", "a mapping"))
			return
		}
		if v.Type().Key().Kind() != reflect.String {
			panic("strictyaml: map keys must be strings")
		}
		if v.IsNil() {
			v.Set(reflect.MakeMapWithSize(v.Type(), len(m.Values)))
		}
		for _, mv := range m.Values {
			key, ok := scalar(mv.Key)
			if !ok {
				d.mismatch(mv.Key, path, diag.T("文字列のキー", "a string key"))
				continue
			}
			kv := reflect.ValueOf(key).Convert(v.Type().Key())
			if v.MapIndex(kv).IsValid() {
				d.errorAt(mv.Key, &seg{parent: path, name: key}, "duplicate-key", diag.T(fmt.Sprintf("キー %q が重複しています", key), fmt.Sprintf("duplicate key %q", key)), diag.Text{})
				continue
			}
			ev := reflect.New(v.Type().Elem()).Elem()
			d.value(mv.Value, ev, &seg{parent: path, name: key})
			v.SetMapIndex(kv, ev)
		}
	case reflect.String:
		s, ok := scalar(n)
		if !ok {
			d.mismatch(n, path, diag.T("文字列", "a string"))
			return
		}
		v.SetString(s)
	case reflect.Bool:
		s, ok := scalar(n)
		b, err := strconv.ParseBool(s)
		if !ok || err != nil || (s != "true" && s != "false") {
			d.errorAt(n, path, "type", diag.T("true か false が必要です", "expected true or false"), diag.Text{})
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s, ok := scalar(n)
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 10, v.Type().Bits())
		if !ok || err != nil {
			d.errorAt(n, path, "type", diag.T("整数が必要です", "expected an integer"), diag.Text{})
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		s, ok := scalar(n)
		i, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 10, v.Type().Bits())
		if !ok || err != nil {
			d.errorAt(n, path, "type", diag.T("0 以上の整数が必要です", "expected a non-negative integer"), diag.Text{})
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		s, ok := scalar(n)
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if !ok || err != nil {
			d.errorAt(n, path, "type", diag.T("数値が必要です", "expected a number"), diag.Text{})
			return
		}
		v.SetFloat(f)
	default:
		panic("strictyaml: unsupported kind " + v.Kind().String())
	}
}

func (d *decoder) structValue(n ast.Node, v reflect.Value, path *seg) {
	m, ok := n.(*ast.MappingNode)
	if !ok {
		if mv, single := n.(*ast.MappingValueNode); single {
			m = &ast.MappingNode{Values: []*ast.MappingValueNode{mv}}
		} else {
			d.mismatch(n, path, diag.T("マッピング", "a mapping"))
			return
		}
	}
	si := infoFor(v.Type())
	var meta *Meta
	if si.meta >= 0 {
		meta = v.Field(si.meta).Addr().Interface().(*Meta)
		meta.File = d.file
		meta.Pos = posOf(n)
		if len(m.Values) > 0 {
			meta.Pos = posOf(m.Values[0].Key)
		}
		meta.keys = make([]keyPos, 0, len(m.Values))
	}
	var seen uint64
	var seenMore map[int]bool
	for _, mv := range m.Values {
		key, ok := scalar(mv.Key)
		if !ok {
			d.mismatch(mv.Key, path, diag.T("文字列のキー", "a string key"))
			continue
		}
		fi, known := si.byName[key]
		if !known {
			hint := diag.T("使えるフィールド: "+strings.Join(fieldNames(si), ", "), "allowed fields: "+strings.Join(fieldNames(si), ", "))
			if s := closest(key, fieldNames(si)); s != "" {
				hint = diag.T(fmt.Sprintf("%q の誤りではありませんか", s), fmt.Sprintf("did you mean %q?", s))
			}
			d.errorAt(mv.Key, &seg{parent: path, name: key}, "unknown-field",
				diag.T(fmt.Sprintf("未知のフィールド %q です", key), fmt.Sprintf("unknown field %q", key)), hint)
			continue
		}
		dup := false
		if fi < 64 {
			dup = seen&(1<<fi) != 0
			seen |= 1 << fi
		} else {
			if seenMore == nil {
				seenMore = map[int]bool{}
			}
			dup = seenMore[fi]
			seenMore[fi] = true
		}
		if dup {
			d.errorAt(mv.Key, &seg{parent: path, name: key}, "duplicate-key", diag.T(fmt.Sprintf("キー %q が重複しています", key), fmt.Sprintf("duplicate key %q", key)), diag.Text{})
			continue
		}
		if meta != nil {
			meta.keys = append(meta.keys, keyPos{name: key, pos: posOf(mv.Key)})
		}
		f := si.fields[fi]
		d.value(mv.Value, v.Field(f.index), &seg{parent: path, name: key})
	}
	var at ast.Node = n // a mapping's own token is its first ':'; point at its first key
	if len(m.Values) > 0 {
		at = m.Values[0].Key
	}
	for i, f := range si.fields {
		present := i < 64 && seen&(1<<i) != 0 || seenMore[i]
		if f.required && !present {
			d.errorAt(at, path, "required", diag.T(fmt.Sprintf("必須フィールド %q がありません", f.name), fmt.Sprintf("required field %q is missing", f.name)),
				diag.T(fmt.Sprintf("%s: を追加してください", f.name), fmt.Sprintf("add %s:", f.name)))
		}
	}
}

func fieldNames(si *structInfo) []string {
	names := make([]string, len(si.fields))
	for i, f := range si.fields {
		names[i] = f.name
	}
	return names
}

// closest returns the candidate within edit distance 2 of s, if any.
func closest(s string, candidates []string) string {
	best, bestD := "", 3
	for _, c := range candidates {
		if dist := levenshtein(s, c); dist < bestD {
			best, bestD = c, dist
		}
	}
	return best
}

func levenshtein(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
