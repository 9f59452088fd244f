package report

import (
	"bufio"
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
	bw := bufio.NewWriterSize(w, 64<<10)
	enc := json.NewEncoder(bw)
	enc.SetIndent("", "  ")
	if err := enc.Encode(&out); err != nil {
		return err
	}
	return bw.Flush()
}

// nonNil turns a nil slice into an empty one so JSON shows [] not null.
func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}
