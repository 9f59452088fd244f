package notify

import (
	"strings"
	"testing"
	"time"
)

// TestTyped: every field of the typed descriptions reaches the rendered
// text (no "—" placeholder), in both languages.
func TestTyped(t *testing.T) {
	for _, m := range []Message{
		Alert{ID: "a1", Tenant: "kakuu-city", Severity: SevHigh, Rule: "r", RuleAuthor: "au", Host: "h", Summary: "s", Events: 3, Link: "https://x/a1", Time: when}.Message(),
		IncidentOpened{ID: "i1", Tenant: "kakuu-city", Severity: SevHigh, Title: "t", Impact: "3", Reporter: "rep", Summary: "s", Link: "https://x/i1", Time: when}.Message(),
		IncidentState{ID: "i1", Tenant: "kakuu-city", Title: "t", From: "f", To: "to", Actor: "ac", Note: "n", Link: "https://x/i1", Time: when}.Message(),
		SLAWarning{ID: "i1", Tenant: "kakuu-city", Title: "t", State: "st", Remaining: "30分", Deadline: when.Add(time.Hour), Link: "https://x/i1", Time: when}.Message(),
		Tamper{ID: "w1", Tenant: "kakuu-city", Severity: SevCritical, Site: "www", URL: "/", Change: "c", Detail: "d", Restored: true, Link: "https://x/w1", Time: when}.Message(),
	} {
		for _, lang := range []string{"ja", "en"} {
			r, err := Render(m, lang)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(r.Body, "—") || m.Ref.ID == "" || m.Ref.Tenant != "kakuu-city" {
				t.Errorf("%s %s: a field is missing:\n%s", m.Kind, lang, r.Body)
			}
		}
	}
}
