// Package diag carries problems found in user input (models, configuration,
// policies): each with a position, the field path, a bilingual message and a
// hint, so that every problem in a run can be reported at once.
package diag

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Severity tells whether a diagnostic stops the input from being used.
type Severity int

const (
	Error Severity = iota
	Warning
)

func (s Severity) String() string {
	if s == Warning {
		return "warning"
	}
	return "error"
}

// Text is a message in Japanese and English.
type Text struct {
	JA string `json:"ja"`
	EN string `json:"en"`
}

// In returns the text in lang ("ja" or "en"); Japanese is the default.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	if t.JA == "" {
		return t.EN
	}
	return t.JA
}

// T builds a Text.
func T(ja, en string) Text { return Text{JA: ja, EN: en} }

// Diagnostic is one problem.
type Diagnostic struct {
	File     string   `json:"file"`
	Line     int      `json:"line"`
	Col      int      `json:"column"`
	Path     string   `json:"path,omitempty"`
	Severity Severity `json:"-"`
	Code     string   `json:"code"`
	Msg      Text     `json:"message"`
	Hint     Text     `json:"hint,omitzero"`
}

// Format renders the diagnostic as one line: file:line:col: severity: path: message (hint).
func (d Diagnostic) Format(lang string) string {
	var b strings.Builder
	if d.File != "" {
		b.WriteString(d.File)
		if d.Line > 0 {
			fmt.Fprintf(&b, ":%d:%d", d.Line, d.Col)
		}
		b.WriteString(": ")
	}
	if d.Severity == Warning {
		if lang == "en" {
			b.WriteString("warning: ")
		} else {
			b.WriteString("警告: ")
		}
	} else {
		if lang == "en" {
			b.WriteString("error: ")
		} else {
			b.WriteString("エラー: ")
		}
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Msg.In(lang))
	if h := d.Hint.In(lang); h != "" {
		if lang == "en" {
			b.WriteString(" (hint: " + h + ")")
		} else {
			b.WriteString("（ヒント: " + h + "）")
		}
	}
	return b.String()
}

// List collects diagnostics. The zero value is ready to use.
type List struct {
	Items []Diagnostic
}

// Add appends a diagnostic.
func (l *List) Add(d Diagnostic) { l.Items = append(l.Items, d) }

// Append adds all diagnostics of other.
func (l *List) Append(other List) { l.Items = append(l.Items, other.Items...) }

// HasErrors reports whether any diagnostic is an error.
func (l *List) HasErrors() bool {
	for _, d := range l.Items {
		if d.Severity == Error {
			return true
		}
	}
	return false
}

// Count returns the number of errors and warnings.
func (l *List) Count() (errors, warnings int) {
	for _, d := range l.Items {
		if d.Severity == Error {
			errors++
		} else {
			warnings++
		}
	}
	return
}

// Sort orders diagnostics by file, line, column, then code, for stable output.
func (l *List) Sort() {
	slices.SortStableFunc(l.Items, func(a, b Diagnostic) int {
		return cmp.Or(cmp.Compare(a.File, b.File), cmp.Compare(a.Line, b.Line),
			cmp.Compare(a.Col, b.Col), cmp.Compare(a.Path, b.Path), cmp.Compare(a.Code, b.Code))
	})
}

// Write prints every diagnostic, one per line, sorted.
func (l *List) Write(w io.Writer, lang string) {
	l.Sort()
	for _, d := range l.Items {
		fmt.Fprintln(w, d.Format(lang))
	}
}

// Error makes a list usable as an error value when it holds errors.
type ListError struct{ List List }

func (e *ListError) Error() string {
	n, _ := e.List.Count()
	if n == 1 {
		for _, d := range e.List.Items {
			if d.Severity == Error {
				return d.Format("en")
			}
		}
	}
	return fmt.Sprintf("%d errors", n)
}

// Err returns a *ListError when the list holds errors, nil otherwise.
func (l *List) Err() error {
	if !l.HasErrors() {
		return nil
	}
	return &ListError{List: *l}
}
