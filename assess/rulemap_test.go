package assess

import (
	"testing"

	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
)

func TestRuleClausesCoverEveryRule(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range check.Rules {
		ids, ok := RuleClauses[r.ID]
		if !ok || len(ids) == 0 {
			t.Errorf("rule %s has no catalog mapping in RuleClauses", r.ID)
			continue
		}
		for _, id := range ids {
			if _, ok := cat.Lookup(id); !ok {
				t.Errorf("rule %s maps to %q, which is not in the catalog", r.ID, id)
			}
		}
	}
	for id := range RuleClauses {
		if check.RuleByID(id) == nil {
			t.Errorf("RuleClauses names %s, which is not a check rule", id)
		}
	}
}
