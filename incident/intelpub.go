package incident

import (
	"context"
	"errors"
	"log/slog"

	"github.com/kyojin/kyojin/intel"
)

// IntelPublisher is the IndicatorPublisher over the security cloud's
// threat-intelligence hub (package intel): a published indicator is stored
// in the prefecture's list and matched for every tenant (clause 1(9)⑦).
// The console and `kyojin cloud serve` share the list's file; the cloud
// reloads it when it changes.
type IntelPublisher struct {
	Hub *intel.Hub
	Log *slog.Logger // nil: discard
}

// Publish implements IndicatorPublisher. The intel lists match domains,
// addresses and URLs; file hashes are not matched there and are left out
// (logged). Nothing matchable is an error, so the incident does not claim
// to be shared.
func (p IntelPublisher) Publish(ctx context.Context, fromTenant, publisher string, inds []Indicator) error {
	var out []intel.Indicator
	skipped := 0
	for _, in := range inds {
		switch k := intel.Kind(in.Kind); k {
		case intel.Domain, intel.IP, intel.URL:
			out = append(out, intel.Indicator{Kind: k, Value: in.Value, Reason: "インシデントから共有（" + fromTenant + "）"})
		default:
			skipped++
		}
	}
	if skipped > 0 && p.Log != nil {
		p.Log.InfoContext(ctx, "indicators not matched by the intel lists left out", "tenant", fromTenant, "skipped", skipped)
	}
	if len(out) == 0 {
		return errors.New("incident: no indicator the threat-intelligence lists can match (domains, addresses, URLs)")
	}
	return p.Hub.Publish(ctx, fromTenant, publisher, out)
}
