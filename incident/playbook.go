package incident

import (
	"embed"
	"fmt"
	"path"
	"slices"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/strictyaml"
)

// Playbook is a first-response procedure (初動対応手順). Seed 003 asks for
// such procedures to be prepared separately and known across the body; the
// guideline's emergency response plan (7.3(2)③) holds the response actions.
type Playbook struct {
	strictyaml.Meta `yaml:"-"`
	ID              string   `yaml:"id,required"`
	Title           Text     `yaml:"title,required"`
	Types           []Type   `yaml:"types,required"`
	Clauses         []string `yaml:"clauses"`
	Steps           []Step   `yaml:"steps,required"`
}

// Text is a bilingual text in playbook files.
type Text struct {
	strictyaml.Meta `yaml:"-"`
	JA              string `yaml:"ja,required"`
	EN              string `yaml:"en,required"`
}

// Step is one item of a playbook.
type Step struct {
	strictyaml.Meta `yaml:"-"`
	ID              string `yaml:"id,required"`
	JA              string `yaml:"ja,required"`
	EN              string `yaml:"en,required"`
}

//go:embed playbooks/*.yaml
var playbookFS embed.FS

// ParsePlaybook decodes one playbook strictly (unknown fields, duplicates
// and missing fields are errors) and checks it.
func ParsePlaybook(name string, data []byte) (*Playbook, error) {
	var p Playbook
	var diags diag.List
	strictyaml.DecodeBytes(name, data, &p, &diags)
	if !diags.HasErrors() {
		seen := map[string]bool{}
		for _, s := range p.Steps {
			if seen[s.ID] {
				diags.Add(s.DiagAt(diag.Error, "id", "id", "duplicate-step", diag.T("手順 "+s.ID+" が重複しています", "duplicate step "+s.ID), diag.Text{}))
			}
			seen[s.ID] = true
		}
		for _, t := range p.Types {
			if !t.Valid() {
				diags.Add(p.DiagAt(diag.Error, "types", "types", "unknown-type", diag.T("種別 "+string(t)+" は使えません", "unknown incident type "+string(t)), diag.Text{}))
			}
		}
		if len(p.Steps) == 0 {
			diags.Add(p.DiagAt(diag.Error, "steps", "steps", "no-steps", diag.T("手順がありません", "no steps"), diag.Text{}))
		}
	}
	if err := diags.Err(); err != nil {
		return nil, err
	}
	return &p, nil
}

// Playbooks returns the built-in playbooks, sorted by id.
func Playbooks() ([]*Playbook, error) {
	names, err := playbookFS.ReadDir("playbooks")
	if err != nil {
		return nil, err
	}
	var out []*Playbook
	for _, n := range names {
		data, err := playbookFS.ReadFile(path.Join("playbooks", n.Name()))
		if err != nil {
			return nil, err
		}
		p, err := ParsePlaybook(n.Name(), data)
		if err != nil {
			return nil, fmt.Errorf("playbook %s: %w", n.Name(), err)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b *Playbook) int { return cmpStr(a.ID, b.ID) })
	return out, nil
}

func cmpStr(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// PlaybookFor returns the first playbook listing t, or nil.
func PlaybookFor(books []*Playbook, t Type) *Playbook {
	for _, p := range books {
		if slices.Contains(p.Types, t) {
			return p
		}
	}
	return nil
}

// checklist turns a playbook into the incident's unchecked items.
func (p *Playbook) checklist() []CheckItem {
	out := make([]CheckItem, len(p.Steps))
	for i, s := range p.Steps {
		out[i] = CheckItem{ID: s.ID, JA: s.JA, EN: s.EN}
	}
	return out
}
