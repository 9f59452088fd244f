package incident

import (
	"testing"

	"github.com/kyojin/kyojin/intel"
)

// TestPublishToIntelHub: indicators published from an incident reach the
// prefecture's threat-intelligence list, are matched for every tenant and
// survive a reload by another process (kyojin cloud serve); hashes, which
// the lists do not match, are left out.
func TestPublishToIntelHub(t *testing.T) {
	f := newFixture(t)
	path := intel.Path(t.TempDir())
	hub, err := intel.NewHub(ctx, &intel.FileStore{Path: path}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	f.svc.o.Publisher = IntelPublisher{Hub: hub}
	inc, err := f.svc.Create(ctx, "csirt", NewIncident{Tenant: "kakuu", Title: "改ざん", Type: TypeDefacement, Source: SourceManual})
	if err != nil {
		t.Fatal(err)
	}
	hash := "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if _, err := f.svc.SetIndicators(ctx, "csirt", "kakuu", inc.ID, "evil.example.com\n203.0.113.9\n"+hash); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Publish(ctx, "soc", "kakuu", inc.ID); err != nil {
		t.Fatal(err)
	}
	other, err := intel.NewHub(ctx, &intel.FileStore{Path: path}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	list := other.List(false)
	if len(list) != 2 {
		t.Fatalf("published %d indicators, want 2: %+v", len(list), list)
	}
	for _, in := range list {
		if in.Tenant != "kakuu" || in.Publisher != "soc" || in.Reason == "" {
			t.Errorf("indicator %+v", in)
		}
	}
	if _, ok := other.Index().Domain("www.evil.example.com"); !ok {
		t.Error("domain not matched")
	}
	if _, ok := other.Index().IP("203.0.113.9"); !ok {
		t.Error("address not matched")
	}
	// Only hashes: refused, and the incident is not marked shared.
	inc2, _ := f.svc.Create(ctx, "csirt", NewIncident{Tenant: "kakuu", Title: "マルウェア", Type: TypeMalware, Source: SourceManual})
	if _, err := f.svc.SetIndicators(ctx, "csirt", "kakuu", inc2.ID, hash); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.Publish(ctx, "soc", "kakuu", inc2.ID); err == nil {
		t.Error("hash-only publish accepted")
	}
	if got, _, _, _ := f.svc.Get(ctx, "kakuu", inc2.ID); !got.Published.At.IsZero() {
		t.Error("failed publish marked as shared")
	}
}
