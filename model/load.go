package model

import (
	"cmp"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/strictyaml"
)

// Model is a loaded, validated municipality: the concatenation of all its
// documents plus indexes by ID. Lists keep source order.
type Model struct {
	Root           string
	Files          []string
	Docs           []*Document
	Org            *Organization
	Zones          []*Zone
	Systems        []*System
	Assets         []*Asset
	Hosts          []*Host
	Communications []*Communication
	Flows          []*Flow
	Vendors        []*Vendor
	Services       []*Service

	ZoneByID    map[string]*Zone
	SystemByID  map[string]*System
	AssetByID   map[string]*Asset
	HostByID    map[string]*Host
	CommByID    map[string]*Communication
	VendorByID  map[string]*Vendor
	ServiceByID map[string]*Service
	PersonByID  map[string]*Person
	DeptByID    map[string]*Department
	DivByID     map[string]*Division

	// Resolved endpoints of each flow, parallel to Flows.
	FlowFrom []Endpoint
	FlowTo   []Endpoint
	// HostsOfSystem lists the hosts that declare each system.
	HostsOfSystem map[string][]*Host
}

// File is one model file's bytes, for LoadFiles.
type File struct {
	Name string
	Data []byte
}

// Load reads a model from a file or a directory (every *.yaml / *.yml file
// beneath it, in lexical order) and validates it. Diagnostics hold every
// problem found; the model is nil when any of them is an error.
func Load(path string) (*Model, diag.List) {
	var diags diag.List
	files, err := readFiles(path)
	if err != nil {
		diags.Add(diag.Diagnostic{File: path, Code: "read", Severity: diag.Error,
			Msg:  diag.T("モデルを読み込めません: "+err.Error(), "cannot read the model: "+err.Error()),
			Hint: diag.T("YAML ファイルか、YAML ファイルを含むディレクトリを指定してください", "give a YAML file or a directory of YAML files")})
		return nil, diags
	}
	m, d := LoadFiles(files)
	if m != nil {
		m.Root = path
	}
	return m, d
}

func readFiles(path string) ([]File, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return []File{{Name: path, Data: data}}, nil
	}
	var files []File
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && p != path && strings.HasPrefix(d.Name(), ".") {
			return filepath.SkipDir
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		files = append(files, File{Name: p, Data: data})
		return nil
	})
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no .yaml files in %s", path)
	}
	return files, err
}

// LoadFiles decodes and validates the given files as one model.
func LoadFiles(files []File) (*Model, diag.List) {
	var diags diag.List
	m := &Model{}
	for _, f := range files {
		m.Files = append(m.Files, f.Name)
		for _, node := range strictyaml.Parse(f.Name, f.Data, &diags) {
			doc := &Document{}
			strictyaml.Decode(f.Name, node, doc, "", &diags)
			m.Docs = append(m.Docs, doc)
		}
	}
	m.index(&diags)
	m.validate(&diags)
	diags.Sort()
	if diags.HasErrors() {
		return nil, diags
	}
	return m, diags
}

func errAt(meta *strictyaml.Meta, path, field, code string, msg, hint diag.Text) diag.Diagnostic {
	return meta.Diag(diag.Error, path, field, code, msg, hint)
}

// register adds v under id to idx, reporting duplicates with the position
// of the first definition.
func register[P interface{ Origin() *strictyaml.Meta }](diags *diag.List, idx map[string]P, id string, v P, path string, what diag.Text) {
	if id == "" {
		return // the decoder already reported the missing id
	}
	if prev, dup := idx[id]; dup {
		pm := prev.Origin()
		diags.Add(errAt(v.Origin(), path, "id", "duplicate-id",
			diag.T(fmt.Sprintf("%sの ID %q が重複しています（最初の定義: %s:%d）", what.JA, id, pm.File, pm.Pos.Line),
				fmt.Sprintf("duplicate %s id %q (first defined at %s:%d)", what.EN, id, pm.File, pm.Pos.Line)),
			diag.T("ID はモデル全体で一意にしてください", "IDs must be unique across the model")))
		return
	}
	idx[id] = v
}

func (m *Model) index(diags *diag.List) {
	m.ZoneByID = map[string]*Zone{}
	m.SystemByID = map[string]*System{}
	m.AssetByID = map[string]*Asset{}
	m.HostByID = map[string]*Host{}
	m.CommByID = map[string]*Communication{}
	m.VendorByID = map[string]*Vendor{}
	m.ServiceByID = map[string]*Service{}
	m.PersonByID = map[string]*Person{}
	m.DeptByID = map[string]*Department{}
	m.DivByID = map[string]*Division{}
	m.HostsOfSystem = map[string][]*Host{}
	flowIDs := map[string]*Flow{}
	for _, doc := range m.Docs {
		if doc.APIVersion != "" && doc.APIVersion != APIVersion {
			diags.Add(errAt(&doc.Meta, "", "apiVersion", "api-version",
				diag.T(fmt.Sprintf("apiVersion %q には対応していません", doc.APIVersion), fmt.Sprintf("unsupported apiVersion %q", doc.APIVersion)),
				diag.T("apiVersion: "+APIVersion+" と書いてください", "write apiVersion: "+APIVersion)))
		}
		if doc.Kind != "" && doc.Kind != "Model" {
			diags.Add(errAt(&doc.Meta, "", "kind", "kind",
				diag.T(fmt.Sprintf("kind %q には対応していません", doc.Kind), fmt.Sprintf("unsupported kind %q", doc.Kind)),
				diag.T("kind: Model と書いてください", "write kind: Model")))
		}
		if o := doc.Organization; o != nil {
			if m.Org != nil {
				diags.Add(errAt(&doc.Meta, "", "organization", "duplicate-organization",
					diag.T(fmt.Sprintf("organization が複数あります（最初の定義: %s:%d）", m.Org.File, m.Org.Pos.Line),
						fmt.Sprintf("more than one organization (first at %s:%d)", m.Org.File, m.Org.Pos.Line)),
					diag.T("一つのモデルには団体を一つだけ書きます", "a model describes exactly one organization")))
			} else {
				m.Org = o
			}
			for i := range o.People {
				register(diags, m.PersonByID, o.People[i].ID, &o.People[i], fmt.Sprintf("organization.people[%d]", i), diag.T("人", "person"))
			}
			for i := range o.Departments {
				d := &o.Departments[i]
				register(diags, m.DeptByID, d.ID, d, fmt.Sprintf("organization.departments[%d]", i), diag.T("部局", "department"))
				for j := range d.Divisions {
					register(diags, m.DivByID, d.Divisions[j].ID, &d.Divisions[j], fmt.Sprintf("organization.departments[%d].divisions[%d]", i, j), diag.T("課室", "division"))
				}
			}
		}
		for i := range doc.Zones {
			z := &doc.Zones[i]
			m.Zones = append(m.Zones, z)
			register(diags, m.ZoneByID, z.ID, z, fmt.Sprintf("zones[%d]", i), diag.T("ゾーン", "zone"))
		}
		for i := range doc.Systems {
			s := &doc.Systems[i]
			m.Systems = append(m.Systems, s)
			register(diags, m.SystemByID, s.ID, s, fmt.Sprintf("systems[%d]", i), diag.T("システム", "system"))
		}
		for i := range doc.Assets {
			a := &doc.Assets[i]
			m.Assets = append(m.Assets, a)
			register(diags, m.AssetByID, a.ID, a, fmt.Sprintf("assets[%d]", i), diag.T("情報資産", "asset"))
		}
		for i := range doc.Hosts {
			h := &doc.Hosts[i]
			if h.Count == 0 {
				h.Count = 1
			}
			m.Hosts = append(m.Hosts, h)
			register(diags, m.HostByID, h.ID, h, fmt.Sprintf("hosts[%d]", i), diag.T("ホスト", "host"))
		}
		for i := range doc.Communications {
			c := &doc.Communications[i]
			m.Communications = append(m.Communications, c)
			register(diags, m.CommByID, c.ID, c, fmt.Sprintf("communications[%d]", i), diag.T("特定通信", "specific communication"))
		}
		for i := range doc.Flows {
			f := &doc.Flows[i]
			m.Flows = append(m.Flows, f)
			if f.ID != "" {
				register(diags, flowIDs, f.ID, f, fmt.Sprintf("flows[%d]", i), diag.T("通信経路", "flow"))
			}
		}
		for i := range doc.Vendors {
			v := &doc.Vendors[i]
			m.Vendors = append(m.Vendors, v)
			register(diags, m.VendorByID, v.ID, v, fmt.Sprintf("vendors[%d]", i), diag.T("委託先", "vendor"))
		}
		for i := range doc.Services {
			s := &doc.Services[i]
			m.Services = append(m.Services, s)
			register(diags, m.ServiceByID, s.ID, s, fmt.Sprintf("services[%d]", i), diag.T("外部サービス", "service"))
		}
	}
	for _, h := range m.Hosts {
		for _, s := range h.Systems {
			m.HostsOfSystem[s] = append(m.HostsOfSystem[s], h)
		}
	}
}

// FlowName is how findings and reports name a flow: its id, or file:line.
func (f *Flow) Name() string {
	if f.ID != "" {
		return f.ID
	}
	return fmt.Sprintf("%s:%d", filepath.Base(f.File), f.Pos.Line)
}

// ZoneOfType returns the zones of type t.
func (m *Model) ZonesOfType(t ZoneType) []*Zone {
	var zs []*Zone
	for _, z := range m.Zones {
		if z.Type == t {
			zs = append(zs, z)
		}
	}
	return zs
}

// HostZoneType returns the type of the zone a host sits in.
func (m *Model) HostZoneType(h *Host) ZoneType {
	if z := m.ZoneByID[h.Zone]; z != nil {
		return z.Type
	}
	return ""
}

type subnetRef struct {
	p    netip.Prefix
	zone *Zone
	zi   int // index of the zone in its document
	i    int // index of the subnet in the zone
}

// checkSubnets reports subnets that overlap between zones (clause 3: the
// zones must be separable by address). Sorting by first address means only
// neighbours need comparing... except that a large prefix may contain many
// later ones, so the widest open prefix is carried along.
func (m *Model) checkSubnets(diags *diag.List) {
	var all []subnetRef
	for _, doc := range m.Docs {
		for zi := range doc.Zones {
			z := &doc.Zones[zi]
			for i, s := range z.Subnets {
				if s.IsValid() {
					all = append(all, subnetRef{s.Prefix, z, zi, i})
				}
			}
		}
	}
	slices.SortFunc(all, func(a, b subnetRef) int {
		return cmp.Or(a.p.Addr().Compare(b.p.Addr()), cmp.Compare(a.p.Bits(), b.p.Bits()))
	})
	var open []subnetRef // prefixes that may still contain later ones
	for _, cur := range all {
		kept := open[:0]
		for _, o := range open {
			if o.p.Overlaps(cur.p) {
				kept = append(kept, o)
			}
		}
		open = kept
		for _, o := range open {
			if o.zone == cur.zone {
				if o.p == cur.p {
					diags.Add(cur.zone.DiagAt(diag.Warning, fmt.Sprintf("zones[%d].subnets[%d]", cur.zi, cur.i), "subnets", "duplicate-subnet",
						diag.T(fmt.Sprintf("サブネット %s が同じゾーン内で重複しています", cur.p), fmt.Sprintf("subnet %s is listed twice in the zone", cur.p)), diag.Text{}))
				}
				continue
			}
			diags.Add(cur.zone.DiagAt(diag.Error, fmt.Sprintf("zones[%d].subnets[%d]", cur.zi, cur.i), "subnets", "subnet-overlap",
				diag.T(fmt.Sprintf("サブネット %s がゾーン %q のサブネット %s と重なっています", cur.p, o.zone.ID, o.p),
					fmt.Sprintf("subnet %s overlaps subnet %s of zone %q", cur.p, o.p, o.zone.ID)),
				diag.T("ゾーンごとにアドレス範囲を分けてください（三層の分離はアドレスで行います）", "give each zone its own address range: the zones are separated by address")))
		}
		open = append(open, cur)
	}
}

// LoadFS loads the model in directory dir of fsys (e.g. an embedded example).
// File names in diagnostics are prefixed with prefix.
func LoadFS(fsys fs.FS, dir, prefix string) (*Model, diag.List) {
	var files []File
	err := fs.WalkDir(fsys, dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !(strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			return nil
		}
		data, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		files = append(files, File{Name: prefix + p, Data: data})
		return nil
	})
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("no .yaml files in %s", dir)
	}
	if err != nil {
		var diags diag.List
		diags.Add(diag.Diagnostic{File: prefix + dir, Code: "read", Severity: diag.Error,
			Msg: diag.T("モデルを読み込めません: "+err.Error(), "cannot read the model: "+err.Error())})
		return nil, diags
	}
	m, d := LoadFiles(files)
	if m != nil {
		m.Root = prefix + dir
	}
	return m, d
}
