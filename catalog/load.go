package catalog

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

//go:embed data/*.yaml
var dataFS embed.FS

// maxFileSize bounds a data file; the loader is also used on untrusted input (fuzzing,
// user-supplied overlays), so refuse anything absurd before parsing.
const maxFileSize = 4 << 20

// LoadError is one problem found in a data file.
type LoadError struct {
	File string
	Line int
	Msg  string
}

func (e LoadError) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// LoadErrors is the complete list of problems found while loading; it is returned instead of
// stopping at the first one.
type LoadErrors []LoadError

func (es LoadErrors) Error() string {
	msgs := make([]string, len(es))
	for i, e := range es {
		msgs[i] = e.Error()
	}
	return strings.Join(msgs, "\n")
}

var (
	defaultOnce sync.Once
	defaultCat  *Catalog
	defaultErr  error
)

// Default returns the catalog built from the embedded data files. The data is checked by
// the package tests, so an error here means a broken build.
func Default() (*Catalog, error) {
	defaultOnce.Do(func() {
		defaultCat, defaultErr = LoadFS(dataFS, "data")
	})
	return defaultCat, defaultErr
}

// LoadFS loads every *.yaml file in dir of fsys (sorted by name) as one catalog.
func LoadFS(fsys fs.FS, dir string) (*Catalog, error) {
	names, err := fs.Glob(fsys, path.Join(dir, "*.yaml"))
	if err != nil {
		return nil, fmt.Errorf("catalog: list data files: %w", err)
	}
	sort.Strings(names)
	files := make(map[string][]byte, len(names))
	for _, n := range names {
		b, err := fs.ReadFile(fsys, n)
		if err != nil {
			return nil, fmt.Errorf("catalog: read %s: %w", n, err)
		}
		files[n] = b
	}
	return Load(names, files)
}

// Load builds a catalog from the named files' contents, in the order of names. All
// problems are returned together as LoadErrors. Load never panics: a panic in the YAML
// parser on hostile input is turned into an error.
func Load(names []string, files map[string][]byte) (cat *Catalog, err error) {
	defer func() {
		if r := recover(); r != nil {
			cat, err = nil, LoadErrors{{File: "catalog", Msg: fmt.Sprintf("internal error while loading: %v", r)}}
		}
	}()
	l := &loader{cat: &Catalog{byID: map[string]*Entry{}}}
	for _, n := range names {
		l.file(n, files[n])
	}
	l.link()
	if len(l.errs) > 0 {
		return nil, l.errs
	}
	return l.cat, nil
}

type loader struct {
	cat   *Catalog
	errs  LoadErrors
	name  string
	lines map[*Entry]int
	pos   map[*Entry]int
	// explicit records which inheritable fields an entry set itself.
	explicit map[*Entry]map[string]bool
}

func (l *loader) errf(line int, format string, args ...any) {
	l.errs = append(l.errs, LoadError{File: l.name, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func line(n ast.Node) int {
	if n == nil || n.GetToken() == nil {
		return 0
	}
	return n.GetToken().Position.Line
}

func (l *loader) file(name string, b []byte) {
	l.name = name
	if len(b) > maxFileSize {
		l.errf(0, "file too large (%d bytes, limit %d)", len(b), maxFileSize)
		return
	}
	f, err := parser.ParseBytes(b, 0)
	if err != nil {
		l.errf(0, "YAML syntax: %s", firstLine(err.Error()))
		return
	}
	if len(f.Docs) != 1 || f.Docs[0].Body == nil {
		l.errf(0, "want exactly one YAML document, found %d", len(f.Docs))
		return
	}
	top, ok := l.mapping(f.Docs[0].Body, "file")
	if !ok {
		return
	}
	var kind Kind
	var entriesNode, sectionsNode ast.Node
	for _, kv := range top {
		switch kv.key {
		case "catalog":
			s, _ := l.scalar(kv.value, "catalog")
			if !slices.Contains(Kinds, Kind(s)) {
				l.errf(line(kv.value), "catalog: unknown catalog %q (want one of %s)", s, joinQuoted(kindStrings()))
			}
			kind = Kind(s)
		case "sections":
			sectionsNode = kv.value
		case "entries":
			entriesNode = kv.value
		default:
			l.errf(kv.line, "unknown field %q at top level (want catalog, sections, entries)", kv.key)
		}
	}
	if kind == "" {
		l.errf(1, "missing field \"catalog\"")
		return
	}
	if sectionsNode != nil {
		for _, item := range l.sequence(sectionsNode, "sections") {
			l.section(kind, item)
		}
	}
	if entriesNode == nil {
		l.errf(1, "missing field \"entries\"")
		return
	}
	for _, item := range l.sequence(entriesNode, "entries") {
		l.entry(kind, item)
	}
}

func kindStrings() []string {
	s := make([]string, len(Kinds))
	for i, k := range Kinds {
		s[i] = string(k)
	}
	return s
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(strings.TrimSpace(s), "\n")
	return s
}

type keyValue struct {
	key   string
	line  int
	value ast.Node
}

// mapping returns the key/value pairs of a mapping node, reporting duplicates.
func (l *loader) mapping(n ast.Node, what string) ([]keyValue, bool) {
	var pairs []*ast.MappingValueNode
	switch m := n.(type) {
	case *ast.MappingNode:
		pairs = m.Values
	case *ast.MappingValueNode:
		pairs = []*ast.MappingValueNode{m}
	default:
		l.errf(line(n), "%s: want a mapping, found %s", what, nodeKind(n))
		return nil, false
	}
	seen := map[string]bool{}
	out := make([]keyValue, 0, len(pairs))
	for _, p := range pairs {
		k, ok := p.Key.(*ast.StringNode)
		if !ok {
			l.errf(line(p), "%s: keys must be plain strings", what)
			continue
		}
		if seen[k.Value] {
			l.errf(line(p.Key), "%s: duplicate field %q", what, k.Value)
			continue
		}
		seen[k.Value] = true
		out = append(out, keyValue{key: k.Value, line: line(p.Key), value: p.Value})
	}
	return out, true
}

func (l *loader) sequence(n ast.Node, what string) []ast.Node {
	s, ok := n.(*ast.SequenceNode)
	if !ok {
		l.errf(line(n), "%s: want a list, found %s", what, nodeKind(n))
		return nil
	}
	return s.Values
}

// scalar returns the text of a scalar node; anchors, aliases and tags are refused.
func (l *loader) scalar(n ast.Node, what string) (string, bool) {
	switch v := n.(type) {
	case *ast.StringNode:
		return v.Value, true
	case *ast.LiteralNode:
		return strings.TrimRight(v.Value.Value, "\n"), true
	case *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode:
		return v.GetToken().Value, true
	}
	l.errf(line(n), "%s: want a string, found %s", what, nodeKind(n))
	return "", false
}

// strings accepts a scalar or a list of scalars.
func (l *loader) stringList(n ast.Node, what string) []string {
	if _, ok := n.(*ast.SequenceNode); !ok {
		if s, ok := l.scalar(n, what); ok {
			return []string{s}
		}
		return nil
	}
	var out []string
	for _, item := range l.sequence(n, what) {
		if s, ok := l.scalar(item, what); ok {
			out = append(out, s)
		}
	}
	return out
}

func nodeKind(n ast.Node) string {
	switch n.(type) {
	case nil:
		return "nothing"
	case *ast.NullNode:
		return "an empty value"
	case *ast.MappingNode, *ast.MappingValueNode:
		return "a mapping"
	case *ast.SequenceNode:
		return "a list"
	case *ast.AnchorNode:
		return "an anchor (not allowed)"
	case *ast.AliasNode:
		return "an alias (not allowed)"
	case *ast.TagNode:
		return "a tag (not allowed)"
	default:
		return "a scalar"
	}
}

func (l *loader) text(n ast.Node, what string) Text {
	var t Text
	kvs, ok := l.mapping(n, what)
	if !ok {
		return t
	}
	for _, kv := range kvs {
		switch kv.key {
		case "ja":
			t.JA, _ = l.scalar(kv.value, what+".ja")
		case "en":
			t.EN, _ = l.scalar(kv.value, what+".en")
		default:
			l.errf(kv.line, "%s: unknown field %q (want ja, en)", what, kv.key)
		}
	}
	if strings.TrimSpace(t.JA) == "" {
		l.errf(line(n), "%s: missing Japanese text (ja)", what)
	}
	return t
}

func (l *loader) section(k Kind, n ast.Node) {
	kvs, ok := l.mapping(n, "section")
	if !ok {
		return
	}
	s := Section{Catalog: k}
	for _, kv := range kvs {
		switch kv.key {
		case "id":
			s.ID, _ = l.scalar(kv.value, "section.id")
		case "title":
			s.Title = l.text(kv.value, "section.title")
		default:
			l.errf(kv.line, "section: unknown field %q (want id, title)", kv.key)
		}
	}
	if s.ID == "" {
		l.errf(line(n), "section: missing id")
		return
	}
	if _, dup := l.cat.SectionTitle(k, s.ID); dup {
		l.errf(line(n), "section %q declared twice", s.ID)
		return
	}
	l.cat.sections = append(l.cat.sections, s)
}

// checkEnum reports values of list not in allowed.
func (l *loader) checkEnum(ln int, field string, list []string, allowed []string) {
	for _, v := range list {
		if !slices.Contains(allowed, v) {
			l.errf(ln, "%s: unknown value %q (want one of %s)", field, v, joinQuoted(allowed))
		}
	}
}

func (l *loader) entry(k Kind, n ast.Node) {
	kvs, ok := l.mapping(n, "entry")
	if !ok {
		return
	}
	e := &Entry{Catalog: k}
	ln := line(n)
	set := map[string]bool{}
	var parentGiven, sectionGiven string
	for _, kv := range kvs {
		set[kv.key] = true
		switch kv.key {
		case "id":
			e.ID, _ = l.scalar(kv.value, "id")
			ln = kv.line
		case "parent":
			parentGiven, _ = l.scalar(kv.value, "parent")
		case "section":
			sectionGiven, _ = l.scalar(kv.value, "section")
		case "category":
			e.Category, _ = l.scalar(kv.value, "category")
		case "title":
			e.Title = l.text(kv.value, "title")
		case "summary":
			e.Summary = l.text(kv.value, "summary")
		case "obligation":
			s, _ := l.scalar(kv.value, "obligation")
			e.Obligation = Obligation(s)
			if e.Obligation != Mandatory && e.Obligation != Recommended {
				l.errf(kv.line, "obligation: unknown value %q (want \"mandatory\", \"recommended\")", s)
			}
		case "applies":
			e.Applies = l.applies(kv.value)
		case "role":
			e.Roles = l.stringList(kv.value, "role")
			l.checkEnum(kv.line, "role", e.Roles, roles)
		case "verification":
			e.Verification = l.stringList(kv.value, "verification")
			l.checkEnum(kv.line, "verification", e.Verification, verifications)
		case "evidence":
			e.Evidence = l.stringList(kv.value, "evidence")
		case "related":
			e.Related = l.stringList(kv.value, "related")
		case "editions":
			for _, item := range l.sequence(kv.value, "editions") {
				e.Editions = append(e.Editions, l.edition(item))
			}
		default:
			l.errf(kv.line, "unknown field %q in entry %s", kv.key, e.ID)
		}
	}
	if e.ID == "" {
		l.errf(ln, "entry without id")
		return
	}
	if norm := NormalizeID(e.ID); norm != e.ID {
		l.errf(ln, "id %q: write it as %q", e.ID, norm)
		return
	}
	info, ok := parseID(k, e.ID)
	if !ok {
		l.errf(ln, "id %q does not follow the %s numbering", e.ID, k)
		return
	}
	if prev, dup := l.cat.byID[e.ID]; dup {
		l.errf(ln, "duplicate id %q (first defined at %s)", e.ID, prev.Source)
		return
	}
	e.Source = fmt.Sprintf("%s:%d", l.name, ln)
	e.Parent = info.parent
	if parentGiven != "" && parentGiven != info.parent {
		l.errf(ln, "entry %s: parent %q does not match the id (want %q)", e.ID, parentGiven, info.parent)
	}
	if k == Guideline {
		e.Section, e.Subsection = info.section, info.subsection
		if sectionGiven != "" && sectionGiven != e.Section && sectionGiven != e.Subsection {
			l.errf(ln, "entry %s: section %q does not match the id", e.ID, sectionGiven)
		}
	} else {
		e.Section = sectionGiven
	}
	if !set["title"] {
		l.errf(ln, "entry %s: missing title", e.ID)
	}
	if !set["summary"] {
		l.errf(ln, "entry %s: missing summary", e.ID)
	}
	if e.Obligation == "" {
		e.Obligation = Mandatory
	}
	if info.edition != "" {
		if !slices.ContainsFunc(e.Editions, func(c EditionChange) bool { return c.Edition == info.edition && c.Change == "added" }) {
			l.errf(ln, "entry %s: the id names edition %s, so editions must record {edition: %s, change: added}", e.ID, info.edition, info.edition)
		}
	} else if k == Guideline && !slices.ContainsFunc(e.Editions, func(c EditionChange) bool { return c.Change == "added" }) {
		e.Editions = append([]EditionChange{{Edition: "H30.9", Change: "added", Note: "baseline"}}, e.Editions...)
	}
	if !slices.ContainsFunc(e.Editions, func(c EditionChange) bool { return !validEdition(c.Edition) }) && !slices.IsSortedFunc(e.Editions, func(a, b EditionChange) int {
		return slices.Index(Editions, a.Edition) - slices.Index(Editions, b.Edition)
	}) {
		l.errf(ln, "entry %s: editions must be listed oldest first", e.ID)
	}
	if l.lines == nil {
		l.lines = map[*Entry]int{}
		l.explicit = map[*Entry]map[string]bool{}
		l.pos = map[*Entry]int{}
	}
	l.pos[e] = len(l.cat.entries)
	l.lines[e] = ln
	l.explicit[e] = set
	l.cat.entries = append(l.cat.entries, e)
	l.cat.byID[e.ID] = e
}

func (l *loader) applies(n ast.Node) Applies {
	var a Applies
	kvs, ok := l.mapping(n, "applies")
	if !ok {
		return a
	}
	for _, kv := range kvs {
		switch kv.key {
		case "network_models":
			a.NetworkModels = l.stringList(kv.value, "applies.network_models")
			l.checkEnum(kv.line, "applies.network_models", a.NetworkModels, NetworkModels)
		case "zones":
			a.Zones = l.stringList(kv.value, "applies.zones")
			l.checkEnum(kv.line, "applies.zones", a.Zones, Zones)
		case "min_confidentiality":
			a.MinConfidentiality, _ = l.scalar(kv.value, "applies.min_confidentiality")
			l.checkEnum(kv.line, "applies.min_confidentiality", []string{a.MinConfidentiality}, ConfidentialityLevels)
		case "org_kinds":
			a.OrgKinds = l.stringList(kv.value, "applies.org_kinds")
			l.checkEnum(kv.line, "applies.org_kinds", a.OrgKinds, OrgKinds)
		case "features":
			a.Features = l.stringList(kv.value, "applies.features")
			l.checkEnum(kv.line, "applies.features", a.Features, Features)
		default:
			l.errf(kv.line, "applies: unknown field %q (want network_models, zones, min_confidentiality, org_kinds, features)", kv.key)
		}
	}
	return a
}

func (l *loader) edition(n ast.Node) EditionChange {
	var c EditionChange
	kvs, ok := l.mapping(n, "editions")
	if !ok {
		return c
	}
	for _, kv := range kvs {
		switch kv.key {
		case "edition":
			c.Edition, _ = l.scalar(kv.value, "editions.edition")
			if !validEdition(c.Edition) {
				l.errf(kv.line, "editions.edition: unknown edition %q (want one of %s)", c.Edition, joinQuoted(Editions))
			}
		case "change":
			c.Change, _ = l.scalar(kv.value, "editions.change")
			l.checkEnum(kv.line, "editions.change", []string{c.Change}, changes)
		case "note":
			c.Note, _ = l.scalar(kv.value, "editions.note")
		default:
			l.errf(kv.line, "editions: unknown field %q (want edition, change, note)", kv.key)
		}
	}
	if c.Edition == "" || c.Change == "" {
		l.errf(line(n), "editions: edition and change are required")
	}
	return c
}

// link resolves parents, inherits fields from them and checks what every entry needs.
// Parents precede children in document order, so one pass suffices.
func (l *loader) link() {
	for _, e := range l.cat.entries {
		l.name, _, _ = strings.Cut(e.Source, ":")
		ln := l.lines[e]
		if e.Parent != "" {
			p, ok := l.cat.byID[e.Parent]
			switch {
			case !ok && strings.Contains(e.ID, "@"):
				// An addition placed at a subsection that has no entry of its own (e.g.
				// "8.2@R6.10"): it stands at top level.
				e.Parent = ""
			case !ok:
				l.errf(ln, "entry %s: parent %s does not exist", e.ID, e.Parent)
			case l.pos[p] > l.pos[e]:
				l.errf(ln, "entry %s: parent %s must come before it", e.ID, e.Parent)
			case p.Catalog != e.Catalog:
				l.errf(ln, "entry %s: parent %s is in another catalog", e.ID, e.Parent)
			default:
				p.children = append(p.children, e.ID)
				set := l.explicit[e]
				if !set["role"] {
					e.Roles = slices.Clone(p.Roles)
				}
				if !set["verification"] {
					e.Verification = slices.Clone(p.Verification)
				}
				if !set["evidence"] {
					e.Evidence = slices.Clone(p.Evidence)
				}
				if !set["applies"] {
					e.Applies = p.Applies
				}
				if e.Catalog != Guideline && !set["section"] {
					e.Section = p.Section
				}
				if !set["category"] {
					e.Category = p.Category
				}
			}
		}
		for _, r := range e.Related {
			if t, ok := l.cat.byID[r]; !ok || t.Catalog != Guideline {
				l.errf(ln, "entry %s: related %q is not a guideline entry", e.ID, r)
			}
		}
		if len(e.Roles) == 0 {
			l.errf(ln, "entry %s: missing role", e.ID)
		}
		if len(e.Verification) == 0 {
			l.errf(ln, "entry %s: missing verification", e.ID)
		}
		if e.Catalog == Guideline {
			sec := e.Section
			if e.Subsection != "" {
				sec = e.Subsection
			}
			if _, ok := l.cat.SectionTitle(Guideline, sec); !ok {
				l.errf(ln, "entry %s: section %s has no heading in any sections list", e.ID, sec)
			}
		} else if e.Section == "" {
			l.errf(ln, "entry %s: missing section", e.ID)
		} else {
			if _, ok := l.cat.SectionTitle(e.Catalog, e.Section); !ok {
				l.errf(ln, "entry %s: section %q has no heading in any sections list", e.ID, e.Section)
			}
		}
	}
	if len(l.cat.entries) == 0 && len(l.errs) == 0 {
		l.errs = append(l.errs, LoadError{File: "catalog", Msg: "no entries"})
	}
}

// ErrNotFound is returned by the CLI helpers when an ID is unknown.
var ErrNotFound = errors.New("no such catalog entry")
