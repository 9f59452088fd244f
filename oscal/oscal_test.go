package oscal

import (
	"encoding/json"
	"regexp"
	"testing"
	"time"

	"github.com/kyojin/kyojin/assess"
	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/check"
	"github.com/kyojin/kyojin/model"
)

// Patterns of the OSCAL 1.1.2 metaschema data types.
var (
	uuidRE  = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[45][0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}$`)
	tokenRE = regexp.MustCompile(`^(\p{L}|_)(\p{L}|\p{N}|[.\-_])*$`)
	dateRE  = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$`)
)

var modified = time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC)

// generic re-reads the JSON so the checks see what other tools will see.
func generic(t *testing.T, v any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func require(t *testing.T, where string, obj map[string]any, fields ...string) {
	t.Helper()
	for _, f := range fields {
		if v, ok := obj[f]; !ok || v == "" || v == nil {
			t.Errorf("%s: required field %q missing", where, f)
		}
	}
}

func checkMetadata(t *testing.T, md map[string]any) {
	require(t, "metadata", md, "title", "last-modified", "version", "oscal-version")
	if md["oscal-version"] != "1.1.2" || !dateRE.MatchString(md["last-modified"].(string)) {
		t.Errorf("metadata: %v", md)
	}
}

func TestCatalogStructure(t *testing.T) {
	cat, err := catalog.Default()
	if err != nil {
		t.Fatal(err)
	}
	doc := generic(t, Catalog(cat, modified))
	c, ok := doc["catalog"].(map[string]any)
	if !ok {
		t.Fatal("no catalog root")
	}
	require(t, "catalog", c, "uuid", "metadata", "groups")
	if !uuidRE.MatchString(c["uuid"].(string)) {
		t.Errorf("catalog uuid %v", c["uuid"])
	}
	checkMetadata(t, c["metadata"].(map[string]any))
	ids := map[string]bool{}
	labels := map[string]bool{}
	var walk func(ctrl map[string]any)
	walk = func(ctrl map[string]any) {
		require(t, "control", ctrl, "id", "title")
		id := ctrl["id"].(string)
		if !tokenRE.MatchString(id) {
			t.Errorf("control id %q is not an OSCAL token", id)
		}
		if ids[id] {
			t.Errorf("duplicate control id %q", id)
		}
		ids[id] = true
		for _, p := range ctrl["props"].([]any) {
			p := p.(map[string]any)
			require(t, id+" prop", p, "name", "value")
			if p["name"] == "label" {
				labels[p["value"].(string)] = true
			}
		}
		for _, part := range ctrl["parts"].([]any) {
			require(t, id+" part", part.(map[string]any), "name")
		}
		if sub, ok := ctrl["controls"].([]any); ok {
			for _, s := range sub {
				walk(s.(map[string]any))
			}
		}
	}
	for _, g := range c["groups"].([]any) {
		g := g.(map[string]any)
		require(t, "group", g, "id", "title", "controls")
		if !tokenRE.MatchString(g["id"].(string)) || ids[g["id"].(string)] {
			t.Errorf("group id %v", g["id"])
		}
		ids[g["id"].(string)] = true
		for _, ctrl := range g["controls"].([]any) {
			walk(ctrl.(map[string]any))
		}
	}
	// Every catalog entry is exported exactly once, with its guideline number as label.
	for _, e := range cat.Entries() {
		if !labels[e.ID] || !ids[ControlID(e)] {
			t.Errorf("entry %s (%s) missing from the export", e.ID, ControlID(e))
		}
	}
}

func TestControlIDs(t *testing.T) {
	for in, want := range map[string]string{"6.1(14)③": "gl-6.1-14-3", "3(2)@R2.12": "gl-3-2-r2.12", "3(1)②(ア)": "gl-3-1-2-ア", "4.3": "gl-4.3"} {
		if got := ControlID(&catalog.Entry{ID: in, Catalog: catalog.Guideline}); got != want {
			t.Errorf("%s → %s, want %s", in, got, want)
		}
	}
	if got := ControlID(&catalog.Entry{ID: "R5-03②", Catalog: catalog.Resilience}); got != "r5-03-2" {
		t.Errorf("R5-03② → %s", got)
	}
	if a, b := UUID("x"), UUID("x"); a != b || !uuidRE.MatchString(a) || UUID("y") == a {
		t.Errorf("UUID not deterministic or malformed: %s", a)
	}
}

func TestAssessmentResultsStructure(t *testing.T) {
	cat, _ := catalog.Default()
	m, d := model.Load("../examples/kakuu-city")
	if m == nil {
		t.Fatal(d.Err())
	}
	a, d := assess.LoadFile("../examples/kakuu-city-assessment/r8.yaml")
	if a == nil {
		t.Fatal(d.Err())
	}
	r := assess.Evaluate(assess.Input{Catalog: cat, Model: m, Check: check.Run(m), Assessment: a, Now: modified})
	doc := generic(t, AssessmentResultsOf(cat, r))
	ar, ok := doc["assessment-results"].(map[string]any)
	if !ok {
		t.Fatal("no assessment-results root")
	}
	require(t, "assessment-results", ar, "uuid", "metadata", "import-ap", "results")
	checkMetadata(t, ar["metadata"].(map[string]any))
	require(t, "import-ap", ar["import-ap"].(map[string]any), "href")
	controls := map[string]bool{}
	for _, e := range cat.Entries() {
		controls[ControlID(e)] = true
	}
	uuids := map[string]bool{ar["uuid"].(string): true}
	for _, res := range ar["results"].([]any) {
		res := res.(map[string]any)
		require(t, "result", res, "uuid", "title", "description", "start", "reviewed-controls")
		if !dateRE.MatchString(res["start"].(string)) {
			t.Errorf("start %v", res["start"])
		}
		rc := res["reviewed-controls"].(map[string]any)
		sels := rc["control-selections"].([]any)
		if len(sels) == 0 {
			t.Fatal("no control-selections")
		}
		for _, inc := range sels[0].(map[string]any)["include-controls"].([]any) {
			if id := inc.(map[string]any)["control-id"].(string); !controls[id] {
				t.Errorf("include-controls names unknown control %s", id)
			}
		}
		obs := map[string]bool{}
		for _, o := range res["observations"].([]any) {
			o := o.(map[string]any)
			require(t, "observation", o, "uuid", "description", "methods", "collected")
			obs[o["uuid"].(string)] = true
		}
		notSatisfied := 0
		for _, f := range res["findings"].([]any) {
			f := f.(map[string]any)
			require(t, "finding", f, "uuid", "title", "description", "target")
			tg := f["target"].(map[string]any)
			require(t, "target", tg, "type", "target-id", "status")
			if tg["type"] != "objective-id" && tg["type"] != "statement-id" {
				t.Errorf("target type %v", tg["type"])
			}
			if !controls[tg["target-id"].(string)] {
				t.Errorf("finding targets unknown control %v", tg["target-id"])
			}
			st := tg["status"].(map[string]any)["state"]
			if st != "satisfied" && st != "not-satisfied" {
				t.Errorf("state %v", st)
			}
			if st == "not-satisfied" {
				notSatisfied++
			}
			if rel, ok := f["related-observations"].([]any); ok {
				for _, ro := range rel {
					if !obs[ro.(map[string]any)["observation-uuid"].(string)] {
						t.Errorf("finding %v links a missing observation", f["uuid"])
					}
				}
			}
		}
		want := len(r.AuditFindings)
		for _, it := range r.Items {
			if it.Gap() {
				want++
			}
		}
		if notSatisfied != want || want <= len(r.AuditFindings) {
			t.Errorf("%d not-satisfied findings, want %d (gaps and audit findings)", notSatisfied, want)
		}
		risks, _ := res["risks"].([]any)
		if len(risks) != len(r.Actions)+len(r.Exceptions) || len(r.Actions) == 0 || len(r.Exceptions) == 0 {
			t.Errorf("%d risks for %d corrective actions and %d exceptions", len(risks), len(r.Actions), len(r.Exceptions))
		}
		for _, rk := range risks {
			rk := rk.(map[string]any)
			require(t, "risk", rk, "uuid", "title", "description", "statement", "status")
			switch rk["status"] {
			case "open", "remediating", "closed", "deviation-approved":
			default:
				t.Errorf("risk status %v", rk["status"])
			}
			rems, _ := rk["remediations"].([]any)
			for _, rem := range rems {
				rem := rem.(map[string]any)
				require(t, "remediation", rem, "uuid", "lifecycle", "title", "description")
				if !uuidRE.MatchString(rem["uuid"].(string)) || uuids[rem["uuid"].(string)] {
					t.Errorf("remediation uuid %v", rem["uuid"])
				}
				uuids[rem["uuid"].(string)] = true
			}
		}
		for _, key := range []string{"observations", "findings", "risks"} {
			for _, x := range res[key].([]any) {
				u := x.(map[string]any)["uuid"].(string)
				if !uuidRE.MatchString(u) || uuids[u] {
					t.Errorf("%s uuid %q malformed or duplicate", key, u)
				}
				uuids[u] = true
			}
		}
	}
}
