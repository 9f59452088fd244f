package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"time"

	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/diag"
)

// jsonDoc is the JSON report: a small envelope, then the Result's own
// fields (its json tags, in its field order), then the load warnings.
// Findings are sorted as in every other format.
type jsonDoc struct {
	SchemaVersion string `json:"schema_version"`
	Generator     string `json:"generator"`
	GeneratedAt   string `json:"generated_at"`
	Source        string `json:"source,omitempty"`
	MaxSeverity   string `json:"max_severity"` // "none" without findings
	*check.Result
	Warnings []jsonDiag `json:"warnings"`
}

// jsonDiag adds the severity that diag.Diagnostic leaves out of its JSON.
type jsonDiag struct {
	Severity string `json:"severity"`
	diag.Diagnostic
}

func writeJSON(w io.Writer, d *doc) error {
	res := *d.res // shallow copy: the caller's Result is not modified
	res.Findings = nonNil(d.findings)
	for i := range res.Findings {
		res.Findings[i].Objects = nonNil(res.Findings[i].Objects)
		res.Findings[i].Clauses = nonNil(res.Findings[i].Clauses)
	}
	res.Connections = nonNil(res.Connections)
	res.ServerPairs = nonNil(res.ServerPairs)
	res.TerminalRows = nonNil(res.TerminalRows)
	out := jsonDoc{
		SchemaVersion: SchemaVersion,
		Generator:     d.generator(),
		GeneratedAt:   d.now.Format(time.RFC3339),
		Source:        d.opts.Source,
		MaxSeverity:   "none",
		Result:        &res,
		Warnings:      make([]jsonDiag, len(d.warnings)),
	}
	if len(d.findings) > 0 {
		out.MaxSeverity = sevKey(d.findings[0].Severity)
	}
	for i, w := range d.warnings {
		out.Warnings[i] = jsonDiag{Severity: w.Severity.String(), Diagnostic: w}
	}
	b, err := json.Marshal(&out)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	shallowIndent(bw, b, 2)
	bw.WriteByte('\n')
	return bw.Flush()
}

// shallowIndent writes the compact JSON src with line breaks and indentation
// down to depth levels only: with depth 2 every top-level field and every
// array element (a finding, an inventory row) is on its own line. The
// result diffs line by line like indented JSON at a fraction of the size
// and time of json.Indent, which matters at 200,000 rows. src must be valid
// JSON, as json.Marshal produces.
func shallowIndent(bw *bufio.Writer, src []byte, depth int) {
	level, last := 0, 0 // last: first byte of src not yet written
	newline := func(upTo, n int) {
		bw.Write(src[last:upTo])
		last = upTo
		bw.WriteByte('\n')
		for range n {
			bw.WriteString("  ")
		}
	}
	for i := 0; i < len(src); i++ {
		switch src[i] {
		case '"':
			// Skip the string: find its closing quote, stepping over escapes.
			for i++; i < len(src); i++ {
				if j := bytes.IndexAny(src[i:], `"\`); j < 0 {
					i = len(src)
				} else if i += j; src[i] == '\\' {
					i++
				} else {
					break
				}
			}
		case '{', '[':
			level++
			if i+1 < len(src) && (src[i+1] == '}' || src[i+1] == ']') {
				i++ // empty: {} or []
				level--
				continue
			}
			if level <= depth {
				newline(i+1, level)
			}
		case '}', ']':
			if level <= depth {
				newline(i, level-1)
			}
			level--
		case ',':
			if level <= depth {
				newline(i+1, level)
			}
		case ':':
			if level <= depth {
				bw.Write(src[last : i+1])
				bw.WriteByte(' ')
				last = i + 1
			}
		}
	}
	bw.Write(src[last:])
}

// nonNil turns a nil slice into an empty one so JSON shows [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
