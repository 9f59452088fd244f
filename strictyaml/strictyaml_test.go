package strictyaml

import (
	"os"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/diag"
)

type inner struct {
	Meta Meta     `yaml:"-"`
	Name string   `yaml:"name,required"`
	Tags []string `yaml:"tags"`
}

type outer struct {
	Count   int               `yaml:"count"`
	Ratio   float64           `yaml:"ratio"`
	On      bool              `yaml:"on"`
	Items   []inner           `yaml:"items"`
	Labels  map[string]string `yaml:"labels"`
	Ptr     *inner            `yaml:"ptr"`
	Code    string            `yaml:"code"`
	private string
}

func decode(t *testing.T, src string) (outer, []string) {
	t.Helper()
	var out outer
	var d diag.List
	DecodeBytes("t.yaml", []byte(src), &out, &d)
	var lines []string
	for _, x := range d.Items {
		lines = append(lines, x.Format("en"))
	}
	return out, lines
}

func TestDecodeOK(t *testing.T) {
	out, errs := decode(t, "count: 3\nratio: 0.5\non: true\ncode: 011002\nitems:\n  - name: a\n    tags: [x, y]\n  - {name: b}\nlabels: {k: v}\nptr: {name: p}\n")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	if out.Count != 3 || out.Ratio != 0.5 || !out.On || out.Code != "011002" || len(out.Items) != 2 || out.Items[0].Tags[1] != "y" || out.Labels["k"] != "v" || out.Ptr.Name != "p" {
		t.Fatalf("decoded %+v", out)
	}
	if p := out.Items[1].Meta.Pos; p.Line != 8 {
		t.Errorf("items[1] at line %d, want 8", p.Line)
	}
	if p := out.Items[0].Meta.At("tags"); p.Line != 7 || p.Col != 5 {
		t.Errorf("items[0].tags at %d:%d, want 7:5", p.Line, p.Col)
	}
	if !out.Items[0].Meta.Has("tags") || out.Items[1].Meta.Has("tags") {
		t.Error("Has() wrong")
	}
}

func TestDecodeErrorsAllReported(t *testing.T) {
	_, errs := decode(t, `count: many
ratio: [1]
on: yes
items:
  - name: a
    colour: red
  - tags: [x]
  - name: c
    name: d
labels: [a]
labls: x
`)
	want := []string{
		`t.yaml:1:8: error: count: expected an integer`,
		`t.yaml:2:8: error: ratio: expected a number`,
		`t.yaml:3:5: error: on: expected true or false`,
		`t.yaml:6:5: error: items[0].colour: unknown field "colour" (hint: allowed fields: name, tags)`,
		`t.yaml:7:5: error: items[1]: required field "name" is missing (hint: add name:)`,
		`t.yaml:9:5: error: items[2].name: duplicate key "name"`,
		`t.yaml:10:9: error: labels: expected a mapping, found a list`,
		`t.yaml:11:1: error: labls: unknown field "labls" (hint: did you mean "labels"?)`,
	}
	joined := strings.Join(errs, "\n")
	for _, w := range want {
		if !strings.Contains(joined, w) {
			t.Errorf("missing %q in:\n%s", w, joined)
		}
	}
	if len(errs) != len(want) {
		t.Errorf("got %d diagnostics, want %d:\n%s", len(errs), len(want), joined)
	}
}

func TestAliasesRejected(t *testing.T) {
	_, errs := decode(t, "items:\n  - &a {name: x}\n  - *a\n")
	if len(errs) == 0 || !strings.Contains(strings.Join(errs, "\n"), "anchors, aliases and merge keys are not allowed") {
		t.Fatalf("got %v", errs)
	}
}

func TestSyntaxError(t *testing.T) {
	_, errs := decode(t, "count: 1\nitems: [a, b\n")
	if len(errs) != 1 || !strings.Contains(errs[0], "YAML syntax error") {
		t.Fatalf("got %v", errs)
	}
}

func FuzzDecode(f *testing.F) {
	f.Add("count: 1\nitems: [{name: a}]\n")
	f.Add("a: &x 1\nb: *x\n")
	f.Add("- - - [\n")
	f.Add("labels: {a: 1, a: 2}\nptr: !!str x\n")
	f.Fuzz(func(t *testing.T, src string) {
		var out outer
		var d diag.List
		DecodeBytes("f.yaml", []byte(src), &out, &d)
		for _, x := range d.Items {
			if x.Msg.JA == "" || x.Msg.EN == "" {
				t.Fatalf("diagnostic without text: %+v", x)
			}
		}
	})
}

func TestDecodeFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, src string) string {
		p := dir + "/" + name
		if err := os.WriteFile(p, []byte(src), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, c := range []struct {
		name, file string
		ok         bool
		code       string
	}{
		{"good", write("good.yaml", "count: 2\n"), true, ""},
		{"missing", dir + "/missing.yaml", false, "read"},
		{"empty", write("empty.yaml", ""), false, "empty"},
		{"bad field", write("bad.yaml", "cuont: 2\n"), false, ""},
	} {
		var out outer
		var d diag.List
		// A warning already in the list does not make the file fail.
		d.Add(diag.Diagnostic{Severity: diag.Warning, Code: "earlier"})
		ok := DecodeFile(c.file, &out, &d)
		if ok != c.ok {
			t.Errorf("%s: ok %v, want %v (%v)", c.name, ok, c.ok, d.Items)
		}
		if c.ok && out.Count != 2 {
			t.Errorf("%s: decoded %+v", c.name, out)
		}
		if c.code != "" && (len(d.Items) != 2 || d.Items[1].Code != c.code || d.Items[1].File != c.file) {
			t.Errorf("%s: diagnostics %+v, want code %q at the file", c.name, d.Items, c.code)
		}
	}
}
