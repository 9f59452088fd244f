package ooxmlinspect_test

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/inspect/ooxmlinspect"
	"github.com/kyojin/kyojin/sanitize/internal/officetest"
)

var _ sanitize.Inspector = (*ooxmlinspect.Inspector)(nil)

func constructs(t *testing.T, data []byte, opts ...ooxmlinspect.Option) []string {
	t.Helper()
	fs, err := ooxmlinspect.New(opts...).Inspect(context.Background(), bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, f := range fs {
		out = append(out, f.Construct)
	}
	return out
}

func docx(t testing.TB, body string, rels ...officetest.Rel) []byte {
	return officetest.Docx(t, officetest.CTDocx, body, rels, nil)
}

func TestInspect(t *testing.T) {
	split := `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r><w:r><w:instrText>IN</w:instrText></w:r>` +
		`<w:r><w:instrText>CLUDETEXT "x"</w:instrText></w:r><w:r><w:fldChar w:fldCharType="end"/></w:r></w:p>`
	tests := []struct {
		name string
		data func(testing.TB) []byte
		opts []ooxmlinspect.Option
		want []string // constructs that must be reported; nil = clean
	}{
		{"clean", func(t testing.TB) []byte { return docx(t, officetest.Para("x")+officetest.PageField) }, nil, nil},
		{"DDEAUTO split across runs", func(t testing.TB) []byte { return docx(t, officetest.DDEField) }, nil, []string{"DDEAUTO"}},
		{"INCLUDETEXT split inside keyword", func(t testing.TB) []byte { return docx(t, split) }, nil, []string{"INCLUDETEXT"}},
		{"nested QUOTE keyword", func(t testing.TB) []byte { return docx(t, officetest.NestedDDEField) }, nil, []string{"field with computed keyword"}},
		{"fldSimple", func(t testing.TB) []byte { return docx(t, officetest.SimpleDDE) }, nil, []string{"DDEAUTO", "INCLUDEPICTURE"}},
		{"external hyperlink", func(t testing.TB) []byte {
			return docx(t, officetest.Para("x"), officetest.Rel{ID: "r9", Type: "hyperlink", Target: "https://example.org/", Mode: "External"})
		}, nil, []string{"external relationship"}},
		{"web hyperlink allowed", func(t testing.TB) []byte {
			return docx(t, officetest.Para("x"), officetest.Rel{ID: "r9", Type: "hyperlink", Target: "https://example.org/", Mode: "External"})
		}, []ooxmlinspect.Option{ooxmlinspect.AllowWebHyperlinks()}, nil},
		{"UNC hyperlink still reported", func(t testing.TB) []byte {
			return docx(t, officetest.Para("x"), officetest.Rel{ID: "r9", Type: "hyperlink", Target: `\\host\share`, Mode: "External"})
		}, []ooxmlinspect.Option{ooxmlinspect.AllowWebHyperlinks()}, []string{"external relationship"}},
		{"placeholder target accepted", func(t testing.TB) []byte {
			return docx(t, officetest.Para("x"), officetest.Rel{ID: "r9", Type: "hyperlink", Target: ooxmlinspect.Placeholder, Mode: "External"})
		}, nil, nil},
		{"internal target with scheme", func(t testing.TB) []byte {
			return docx(t, officetest.Para("x"), officetest.Rel{ID: "r9", Type: "image", Target: `file:///c:/x.png`})
		}, nil, []string{"external relationship"}},
		{"word docm", officetest.WordActive, nil, []string{"vbaProject", "content type macroenabled", "oleObject", "activeX", "attachedTemplate", "DDEAUTO"}},
		{"xlsx external link", officetest.XlsxExternalLink, nil, []string{"externalLink", "ddeLink", "relationship externalLink"}},
		{"xlsm", officetest.XlsmActive, nil, []string{"vbaProject", "macroSheet", "auto macro name", "oleObject", "activeX"}},
		{"pptm", officetest.PptmActive, nil, []string{"vbaProject", "oleObject", "ppaction", "external relationship"}},
		{"not a zip", func(testing.TB) []byte { return []byte("hello") }, nil, []string{"unparseable"}},
		{"broken XML part", func(t testing.TB) []byte {
			return officetest.Zip(t, officetest.Part{"word/document.xml", "<w:document><w:p>"})
		}, nil, []string{"unparseable"}},
		{"unbalanced field", func(t testing.TB) []byte {
			return docx(t, `<w:p><w:r><w:fldChar w:fldCharType="begin"/></w:r></w:p>`)
		}, nil, []string{"unbalanced field"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := constructs(t, tc.data(t), tc.opts...)
			if tc.want == nil && len(got) != 0 {
				t.Fatalf("findings %v, want none", got)
			}
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("missing %q in %v", w, got)
				}
			}
		})
	}
}

// TestMaxBytes: a package larger than the cap is a finding, not a pass.
func TestMaxBytes(t *testing.T) {
	data := officetest.Docx(t, officetest.CTDocx, officetest.Para(string(bytes.Repeat([]byte("x"), 4096))), nil, nil)
	got := constructs(t, data, ooxmlinspect.MaxBytes(1024))
	if !slices.Contains(got, "too large to inspect") {
		t.Fatalf("findings %v", got)
	}
}
