package audit

import (
	"encoding/csv"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/store"
)

// WriteCSV writes entries as CSV with a UTF-8 byte-order mark, which
// Japanese Excel needs to read UTF-8. Cells that a spreadsheet would take
// for a formula are prefixed with an apostrophe (CSV injection).
func WriteCSV(w io.Writer, entries []store.AuditEntry) error {
	if _, err := io.WriteString(w, "\ufeff"); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	cw.Write([]string{"seq", "time", "actor", "action", "target", "details", "prev_hash", "hash"})
	for _, e := range entries {
		cw.Write([]string{strconv.FormatInt(e.Seq, 10), e.Time.UTC().Format(time.RFC3339Nano),
			CSVCell(e.Actor), CSVCell(e.Action), CSVCell(e.Target), CSVCell(e.Details), e.PrevHash, e.Hash})
	}
	cw.Flush()
	return cw.Error()
}

// CSVCell protects one CSV cell against formula injection: a cell that a
// spreadsheet would take for a formula gets a leading apostrophe.
func CSVCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// WriteJSON writes entries as a JSON array, one entry per line.
func WriteJSON(w io.Writer, entries []store.AuditEntry) error {
	if entries == nil {
		entries = []store.AuditEntry{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", " ")
	return enc.Encode(entries)
}
