// Package modelgen writes synthetic, prefecture-scale municipality models for
// benchmarks and load tests: one prefecture office, cities, towns, villages
// and associations (一部事務組合), each in its own directory and split over
// several files the way a real body keeps them. The models follow the
// three-zone rules of the guideline (standards clause 3; Appendix 2 and
// Reference 1 of the H30.9 edition) so that they load without diagnostics
// and the segmentation checks find only the small, known set of issues
// planted on purpose (listed in planted-issues.tsv). Output is a pure
// function of Options: the same seed always produces the same bytes.
package modelgen

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"

	"github.com/kyojin/kyojin/model"
)

// Options sizes the generated prefecture. Zero fields take the defaults.
type Options struct {
	Seed          uint64 // default 1
	Organizations int    // default 200
	Hosts         int    // host entries over all organizations, default 50,000
	Flows         int    // flows over all organizations, default 200,000
	// Issues is the number of deliberate check violations planted, one per
	// organization, rotating through the kinds in IssueKinds. Default 8;
	// a negative value plants none.
	Issues int
}

// Defaults of Options, the scale issue 2 §5 asks for.
const (
	DefaultOrganizations = 200
	DefaultHosts         = 50_000
	DefaultFlows         = 200_000
	DefaultIssues        = 8
)

// Minimum sizes per organization: the zones' infrastructure plus a handful
// of business systems and terminal groups.
const (
	MinHostsPerOrg = 24
	MinFlowsPerOrg = 60
)

// IssueKinds names the violations Generate plants, in rotation. Each is a
// check finding, never a loader error.
var IssueKinds = []string{
	"mynumber-terminal-removable-media", // a My Number terminal group with removable media allowed
	"lgwan-direct-internet",             // a direct flow from the LGWAN zone to the Internet
	"comm-unrestricted-port",            // a specific communication open on any port
	"mynumber-terminal-single-factor",   // a My Number terminal group with password only
	"mynumber-asset-outside-zone",       // a My Number asset handled by an LGWAN system
	"mynumber-direct-to-lgwan",          // a direct flow from the My Number zone to an LGWAN host
	"comm-internet-connected",           // a specific communication whose far end faces the Internet
	"mynumber-direct-internet",          // a direct flow from the My Number zone to the Internet
}

func (o *Options) normalize() error {
	if o.Seed == 0 {
		o.Seed = 1
	}
	if o.Organizations == 0 {
		o.Organizations = DefaultOrganizations
	}
	if o.Hosts == 0 {
		o.Hosts = DefaultHosts
	}
	if o.Flows == 0 {
		o.Flows = DefaultFlows
	}
	if o.Issues == 0 {
		o.Issues = DefaultIssues
	}
	if o.Issues < 0 {
		o.Issues = 0
	}
	switch {
	case o.Organizations < 1 || o.Organizations > 999:
		return fmt.Errorf("modelgen: %d organizations: need 1..999", o.Organizations)
	case o.Hosts < MinHostsPerOrg*o.Organizations:
		return fmt.Errorf("modelgen: %d hosts for %d organizations: need at least %d each", o.Hosts, o.Organizations, MinHostsPerOrg)
	case o.Flows < MinFlowsPerOrg*o.Organizations:
		return fmt.Errorf("modelgen: %d flows for %d organizations: need at least %d each", o.Flows, o.Organizations, MinFlowsPerOrg)
	case o.Issues > o.Organizations:
		return fmt.Errorf("modelgen: %d issues for %d organizations: at most one per organization", o.Issues, o.Organizations)
	}
	return nil
}

// Generate writes the prefecture into dir (created if needed; existing
// organization directories are overwritten): one subdirectory per
// organization, named NNN-code, plus planted-issues.tsv at the top.
func Generate(dir string, opts Options) error {
	if err := opts.normalize(); err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x6b796f6a696e)) // "kyojin"
	orgs := plan(rng, opts)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("modelgen: %w", err)
	}
	var manifest strings.Builder
	manifest.WriteString("# directory\tissue\tobject\n")
	for i := range orgs {
		o := &orgs[i]
		g := newOrgGen(o, rand.New(rand.NewPCG(opts.Seed+uint64(i)+1, uint64(i)*0x9e3779b97f4a7c15)))
		files := g.build()
		sub := filepath.Join(dir, o.dir)
		if err := os.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("modelgen: %w", err)
		}
		for _, f := range files {
			if err := os.WriteFile(filepath.Join(sub, f.name), f.data, 0o644); err != nil {
				return fmt.Errorf("modelgen: %w", err)
			}
		}
		if g.planted != "" {
			fmt.Fprintf(&manifest, "%s\t%s\t%s\n", o.dir, o.issue, g.planted)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "planted-issues.tsv"), []byte(manifest.String()), 0o644); err != nil {
		return fmt.Errorf("modelgen: %w", err)
	}
	return nil
}

// orgPlan is one organization's identity and size.
type orgPlan struct {
	index    int
	dir      string
	name, en string
	kind     model.OrgKind
	code     string
	netModel model.NetworkModel
	hosts    int
	flows    int
	issue    string
	prefName string
}

var (
	nameHead = []rune("東西南北上下中新大小高若青白朝夕星月花桜松竹梅柳杉桐岩石川沢山森林野原田浜島浦崎鶴亀鷹雲霧虹泉滝鈴萩藤菊蓮")
	nameMid  = []rune("見瀬野里原川沢台浜森岡谷崎尾根平津宮部塚江淵坂")
	nameTail = []string{"", "", "ヶ丘", "の郷", "里", "宿", "浦", "台"}
)

// plan decides kinds, names, codes, network models and sizes. Sizes follow
// weights by kind (the prefecture office is the largest, associations the
// smallest) apportioned so that totals are exact.
func plan(rng *rand.Rand, o Options) []orgPlan {
	n := o.Organizations
	orgs := make([]orgPlan, n)
	weights := make([]float64, n)
	used := map[string]bool{}
	seq := map[model.OrgKind]int{}
	for i := range orgs {
		p := &orgs[i]
		p.index, p.prefName = i, "架空県"
		f := float64(i) / float64(n)
		switch {
		case i == 0:
			p.kind, weights[i] = "prefecture", 12
		case f < 0.17:
			p.kind, weights[i] = "city", 3+rng.Float64()*5
		case f < 0.77:
			p.kind, weights[i] = "town", 0.6+rng.Float64()*0.9
		case f < 0.955:
			p.kind, weights[i] = "village", 0.3+rng.Float64()*0.3
		default:
			p.kind, weights[i] = "association", 0.25+rng.Float64()*0.1
		}
		// Local government codes: prefecture 99 does not exist, so no
		// generated code is a real body's (cities 2xx, towns 3xx-4xx,
		// villages 5xx-6xx, associations 8xx-9xx).
		base := map[model.OrgKind]int{"prefecture": 0, "city": 201, "town": 301, "village": 501, "association": 801}[p.kind]
		five := fmt.Sprintf("99%03d", base+seq[p.kind])
		seq[p.kind]++
		p.code = fmt.Sprintf("%s%d", five, model.CheckDigit(five))
		for {
			var name string
			if p.kind == "prefecture" {
				name = "架空県"
				p.en = "Kakuu Prefecture"
			} else {
				name = string(nameHead[rng.IntN(len(nameHead))]) + string(nameMid[rng.IntN(len(nameMid))]) + nameTail[rng.IntN(len(nameTail))]
			}
			if !used[name] {
				used[name] = true
				p.name = name
				break
			}
		}
		switch p.kind {
		case "city":
			p.name += "市"
		case "town":
			p.name += "町"
		case "village":
			p.name += "村"
		case "association":
			p.name += []string{"広域消防組合", "衛生施設組合", "広域行政事務組合"}[rng.IntN(3)]
		}
		if p.en == "" {
			p.en = fmt.Sprintf("Org %03d", i)
		}
		switch r := rng.IntN(100); {
		case p.kind == "prefecture" || (p.kind == "city" && r < 50):
			p.netModel = model.BetaPrime
		case p.kind == "city" || r < 15:
			p.netModel = model.Beta
		case r < 30:
			p.netModel = model.AlphaPrime
		default:
			p.netModel = model.Alpha
		}
		p.dir = fmt.Sprintf("%03d-%s", i, p.code)
	}
	hosts := apportion(o.Hosts, weights, MinHostsPerOrg)
	flows := apportion(o.Flows, weights, MinFlowsPerOrg)
	for i := range orgs {
		orgs[i].hosts, orgs[i].flows = hosts[i], flows[i]
	}
	// Plant issues in evenly spaced organizations, skipping the prefecture.
	for k := range o.Issues {
		i := 1 + k*(n-1)/max(o.Issues, 1)
		if i >= n {
			i = n - 1
		}
		orgs[i].issue = IssueKinds[k%len(IssueKinds)]
	}
	return orgs
}

// apportion splits total by weights with a floor per item, using the
// largest-remainder method so the parts sum to total exactly.
func apportion(total int, w []float64, floor int) []int {
	n := len(w)
	out := make([]int, n)
	rest := total - floor*n
	sum := 0.0
	for _, x := range w {
		sum += x
	}
	type rem struct {
		i int
		r float64
	}
	rems := make([]rem, n)
	given := 0
	for i, x := range w {
		share := float64(rest) * x / sum
		out[i] = floor + int(share)
		given += int(share)
		rems[i] = rem{i, share - float64(int(share))}
	}
	// stable selection of the largest remainders (insertion sort keeps it deterministic)
	for i := 1; i < n; i++ {
		for j := i; j > 0 && rems[j].r > rems[j-1].r; j-- {
			rems[j], rems[j-1] = rems[j-1], rems[j]
		}
	}
	for k := 0; given < rest; k++ {
		out[rems[k%n].i]++
		given++
	}
	return out
}

type file struct {
	name string
	data []byte
}

// writer accumulates one YAML file.
type writer struct {
	name string
	b    strings.Builder
}

func (w *writer) line(format string, a ...any) {
	fmt.Fprintf(&w.b, format, a...)
	w.b.WriteByte('\n')
}

func (w *writer) file() file { return file{w.name, []byte(w.b.String())} }

func header(name, comment string) *writer {
	w := &writer{name: name}
	w.line("# 自動生成された架空の団体モデル（kyojin modelgen）: %s", comment)
	w.line("apiVersion: %s", model.APIVersion)
	w.line("kind: Model")
	return w
}
