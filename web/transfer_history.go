package web

import (
	"net/http"
	"slices"
	"strings"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/store"
	"github.com/kyojin/kyojin/transfer"
)

// The auditors' transfer history: read-only, on the console's own listener
// (and the transfer listeners), whether or not this console runs the
// transfer service, since the records outlive its configuration.

// historyLimit bounds one page and one export.
const historyLimit = 1000

var historyStatuses = []string{transfer.StatusPending, transfer.StatusAvailable, transfer.StatusRejected, transfer.StatusExpired}

func historyFilter(r *http.Request) (store.TransferFilter, error) {
	q := r.URL.Query()
	f := store.TransferFilter{Sender: strings.TrimSpace(q.Get("sender")), Status: q.Get("status"), Limit: historyLimit}
	if f.Status != "" && !slices.Contains(historyStatuses, f.Status) {
		return f, errStatus(http.StatusBadRequest, "状態の指定が正しくありません。")
	}
	var err error
	f.Since, f.Until, err = dateRange(q)
	return f, err
}

// historyRows reads the filter of a request and the matching history.
func (s *Server) historyRows(r *http.Request) (store.TransferFilter, []transfer.HistoryRow, error) {
	f, err := historyFilter(r)
	if err != nil {
		return f, nil, err
	}
	rows, err := transfer.History(r.Context(), s.o.Store, f)
	return f, rows, err
}

func (s *Server) transferHistory(w http.ResponseWriter, r *http.Request) error {
	f, rows, err := s.historyRows(r)
	if err != nil {
		return err
	}
	type status struct{ Value, Label string }
	var statuses []status
	for _, st := range historyStatuses {
		statuses = append(statuses, status{st, transfer.StatusJA(st)})
	}
	q := r.URL.Query()
	return s.render(w, r, "transfer_history", "転送の履歴", map[string]any{
		"Rows": rows, "Total": len(rows), "Truncated": len(rows) == historyLimit, "Query": q.Encode(),
		"Sender": f.Sender, "Status": f.Status, "Since": q.Get("since"), "Until": q.Get("until"), "Statuses": statuses,
		"StatusJA": transfer.StatusJA})
}

// transferHistoryExport writes the filtered history as CSV; the export is
// itself audited, like the audit log's.
func (s *Server) transferHistoryExport(w http.ResponseWriter, r *http.Request) error {
	f, rows, err := s.historyRows(r)
	if err != nil {
		return err
	}
	if _, err := s.o.Audit.Append(r.Context(), audit.Event{Actor: state(r).subject.User.Name, Action: "transfer.history_export", Target: "transfers",
		Details: map[string]any{"rows": len(rows), "sender": f.Sender, "status": f.Status, "since": f.Since, "until": f.Until}}); err != nil {
		return err
	}
	name := "kyojin-transfers-" + s.o.Now().In(jst).Format("20060102-150405") + ".csv"
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="`+name+`"`)
	return transfer.WriteHistoryCSV(w, rows, jst)
}

func (s *Server) transferHistoryRoutes() {
	s.mux.Handle("GET /audit/transfers", s.require(auth.PermTransferAudit, s.transferHistory))
	s.mux.Handle("GET /audit/transfers/export", s.require(auth.PermTransferAudit, s.transferHistoryExport))
}
