package ooxml

import (
	"bytes"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/sanitize"
)

func TestExternalRef(t *testing.T) {
	for f, want := range map[string]bool{
		"[1]Sheet1!A1": true, "[2]!A0": true, "SUM([12]x!A1:A3)": true, "A1*B1": false,
		"Table1[[#This Row],[Col]]": false, "[": false, "x[1": false, "[a]1": false, "[[3]]": true,
	} {
		if got := externalRef(f); got != want {
			t.Errorf("externalRef(%q) = %v, want %v", f, got, want)
		}
	}
}

// TestSharedFormula: dropping the master of a shared formula drops its
// dependants, and only those.
func TestSharedFormula(t *testing.T) {
	sheet := `<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>` +
		`<row r="1"><c r="A1"><f t="shared" ref="A1:A3" si="0">[1]S!B1</f><v>1</v></c><c r="B1"><f t="shared" ref="B1:B2" si="1">C1*2</f><v>2</v></c></row>` +
		`<row r="2"><c r="A2"><f t="shared" si="0"/><v>3</v></c><c r="B2"><f t="shared" si="1"/><v>4</v></c></row></sheetData></worksheet>`
	s := newScanner(strings.NewReader(sheet), kindSheet, nil, false, &sanitize.Result{})
	s.extLinks = true
	spans, err := s.run()
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := applyEdits(&out, strings.NewReader(sheet), spans); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	if strings.Contains(got, `si="0"`) || strings.Contains(got, "[1]") {
		t.Errorf("external shared formula survived: %s", got)
	}
	if strings.Count(got, `si="1"`) != 2 || !strings.Contains(got, "<v>3</v>") {
		t.Errorf("unrelated formula or cached value lost: %s", got)
	}
}
