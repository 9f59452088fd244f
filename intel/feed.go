package intel

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"slices"
)

// WriteFeed writes the indicators in force for devices that pull a
// blocklist (firewalls, DNS response-policy zones, proxies): format "text"
// is one value per line, "json" one Indicator per line. kinds filters by
// kind (none: all). Values are sorted so that two pulls of the same set are
// byte-identical.
func (h *Hub) WriteFeed(w io.Writer, format string, kinds ...Kind) error {
	list := h.List(false)
	slices.SortFunc(list, func(a, b Indicator) int {
		if a.Kind != b.Kind {
			if a.Kind < b.Kind {
				return -1
			}
			return 1
		}
		switch {
		case a.Value < b.Value:
			return -1
		case a.Value > b.Value:
			return 1
		}
		return 0
	})
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range list {
		in := &list[i]
		if len(kinds) > 0 && !slices.Contains(kinds, in.Kind) {
			continue
		}
		switch format {
		case "json":
			if err := enc.Encode(in); err != nil {
				return err
			}
		case "text", "":
			fmt.Fprintln(bw, in.Value)
		default:
			return fmt.Errorf("intel: feed format %q (text, json)", format)
		}
	}
	return bw.Flush()
}
