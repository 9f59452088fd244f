package model_test

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/kyojin/kyojin/model"
)

// The bundled examples are the models newcomers copy, so they must load
// without a single diagnostic, warnings included.
func TestExamplesLoadClean(t *testing.T) {
	cases := []struct {
		dir                     string
		netModel                model.NetworkModel
		minSystems, minHosts    int
		minFlows, minComms      int
		minVendors, minServices int
		wantMyNumberZoneSystems int
	}{
		{dir: "kakuu-city", netModel: model.BetaPrime, minSystems: 110, minHosts: 180, minFlows: 600, minComms: 12, minVendors: 15, minServices: 15, wantMyNumberZoneSystems: 40},
		{dir: "small-town", netModel: model.Alpha, minSystems: 15, minHosts: 10, minFlows: 20, minComms: 4, minVendors: 3, minServices: 1, wantMyNumberZoneSystems: 8},
	}
	for _, c := range cases {
		t.Run(c.dir, func(t *testing.T) {
			m, diags := model.Load(filepath.Join("..", "examples", c.dir))
			if len(diags.Items) > 0 {
				var b strings.Builder
				diags.Write(&b, "ja")
				t.Fatalf("%d diagnostics, want none:\n%s", len(diags.Items), b.String())
			}
			if m == nil {
				t.Fatal("nil model without diagnostics")
			}
			if m.Org.NetworkModel != c.netModel {
				t.Errorf("network model %q, want %q", m.Org.NetworkModel, c.netModel)
			}
			if !m.Org.SecurityCloud {
				t.Error("example does not join the prefecture security cloud")
			}
			for _, got := range []struct {
				what   string
				n, min int
			}{
				{"systems", len(m.Systems), c.minSystems},
				{"hosts", len(m.Hosts), c.minHosts},
				{"flows", len(m.Flows), c.minFlows},
				{"communications", len(m.Communications), c.minComms},
				{"vendors", len(m.Vendors), c.minVendors},
				{"services", len(m.Services), c.minServices},
			} {
				if got.n < got.min {
					t.Errorf("%d %s, want at least %d", got.n, got.what, got.min)
				}
			}
			mn := 0
			for _, s := range m.Systems {
				if m.ZoneByID[s.Zone].Type == model.ZoneMyNumber {
					mn++
				}
				if s.Administrator == "" {
					t.Errorf("system %s has no administrator", s.ID)
				}
			}
			if mn < c.wantMyNumberZoneSystems {
				t.Errorf("%d systems in the My Number zone, want at least %d", mn, c.wantMyNumberZoneSystems)
			}
			for _, z := range m.Zones {
				if !z.NAC {
					t.Errorf("zone %s without NAC", z.ID)
				}
			}
		})
	}
}
