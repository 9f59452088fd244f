package modelgen

import (
	"testing"

	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/model"
)

// The generated model must load without errors and check clean enough to
// be realistic; the prefecture scale must have the promised size.
func TestGeneratedModelLoads(t *testing.T) {
	for name, size := range map[string]Size{"small": {Departments: 2, DivisionsPerDept: 2, SystemsPerDept: 3, TerminalsPerGroup: 5}, "prefecture": Prefecture} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			if err := Write(dir, size); err != nil {
				t.Fatal(err)
			}
			m, diags := model.Load(dir)
			if m == nil {
				diags.Sort()
				t.Fatalf("generated model does not load: %v\n%v", diags.Err(), diags.Items[:min(5, len(diags.Items))])
			}
			wantSystems := size.Departments * size.SystemsPerDept
			if len(m.Systems) != wantSystems || len(m.Hosts) != 2*wantSystems+2*size.Departments*size.DivisionsPerDept+3 {
				t.Errorf("systems %d, hosts %d", len(m.Systems), len(m.Hosts))
			}
			res := check.Run(m)
			for _, f := range res.Findings {
				if f.Severity >= check.High {
					t.Errorf("generated model has a %s finding: %s %s", f.Severity, f.Rule, f.Message.EN)
				}
			}
		})
	}
}
