// Package model is the municipality as code: the organization and its
// roles, the three zones (三層の対策) and their subnets, business systems,
// information assets and their classification, hosts, specific
// communications (特定通信), flows, vendors and external services. Models are
// YAML files (apiVersion kyojin/v1), loaded strictly with every problem
// reported at once (see Load).
package model

import "github.com/kyojin/kyojin/strictyaml"

// APIVersion is the only model version this build reads.
const APIVersion = "kyojin/v1"

// Document is one YAML document of a model file. A municipality may be split
// over many files; their lists are concatenated.
type Document struct {
	strictyaml.Meta `yaml:"-"`
	APIVersion      string          `yaml:"apiVersion,required"`
	Kind            string          `yaml:"kind,required"`
	Organization    *Organization   `yaml:"organization"`
	Zones           []Zone          `yaml:"zones"`
	Systems         []System        `yaml:"systems"`
	Assets          []Asset         `yaml:"assets"`
	Hosts           []Host          `yaml:"hosts"`
	Communications  []Communication `yaml:"communications"`
	Flows           []Flow          `yaml:"flows"`
	Vendors         []Vendor        `yaml:"vendors"`
	Services        []Service       `yaml:"services"`
}

// Organization is the local public body itself.
type Organization struct {
	strictyaml.Meta `yaml:"-"`
	Name            string       `yaml:"name,required"`
	NameEN          string       `yaml:"name_en"`
	Kind            OrgKind      `yaml:"kind,required"`
	Code            LGCode       `yaml:"code,required"`
	Prefecture      string       `yaml:"prefecture"`
	NetworkModel    NetworkModel `yaml:"network_model,required"`
	// SecurityCloud: the Internet zone joins the prefecture's security cloud
	// (standards clause 3(3)②).
	SecurityCloud bool         `yaml:"security_cloud"`
	Features      []Feature    `yaml:"features"`
	Controls      Controls     `yaml:"controls"`
	People        []Person     `yaml:"people"`
	Departments   []Department `yaml:"departments"`
	Roles         Roles        `yaml:"roles,required"`
}

// HasFeature reports whether the body declared feature f.
func (o *Organization) HasFeature(f Feature) bool {
	for _, x := range o.Features {
		if x == f {
			return true
		}
	}
	return false
}

// Controls are organization-wide technical measures that the β and β'
// models require in addition to the three zones.
type Controls struct {
	strictyaml.Meta `yaml:"-"`
	// SIEM: logs of the Internet zone are collected and analysed (ログ管理).
	SIEM bool `yaml:"siem"`
	// SystemLogManagement: business-system logs are kept and reviewed (β').
	SystemLogManagement bool `yaml:"system_log_management"`
	// VulnerabilityManagement: patching and vulnerability scanning.
	VulnerabilityManagement bool `yaml:"vulnerability_management"`
	// AssetManagement: hardware/software inventory kept current.
	AssetManagement bool `yaml:"asset_management"`
	// NetworkMonitoring: packet and behaviour monitoring in the Internet zone
	// (standards clause 3(3)①).
	NetworkMonitoring bool `yaml:"network_monitoring"`
	// ExternalAudit before adopting β' (and periodically after).
	ExternalAudit *ExternalAudit `yaml:"external_audit"`
}

// ExternalAudit records an audit by an outside party.
type ExternalAudit struct {
	strictyaml.Meta `yaml:"-"`
	Date            Date   `yaml:"date,required"`
	Auditor         string `yaml:"auditor,required"`
	Reference       string `yaml:"reference"`
}

// Person is someone who holds a role.
type Person struct {
	strictyaml.Meta `yaml:"-"`
	ID              string `yaml:"id,required"`
	Name            string `yaml:"name,required"`
	Title           string `yaml:"title"`
	Email           string `yaml:"email"`
	Phone           string `yaml:"phone"`
}

// Department (部局) with its 情報セキュリティ責任者 (Officer, clause 1(3)).
type Department struct {
	strictyaml.Meta `yaml:"-"`
	ID              string     `yaml:"id,required"`
	Name            string     `yaml:"name,required"`
	Officer         string     `yaml:"officer"`
	Divisions       []Division `yaml:"divisions"`
}

// Division (課室) with its 情報セキュリティ管理者 (Manager, clause 1(4)).
type Division struct {
	strictyaml.Meta `yaml:"-"`
	ID              string `yaml:"id,required"`
	Name            string `yaml:"name,required"`
	Manager         string `yaml:"manager"`
}

// Roles names the holders of the organization-wide roles of clause 1.
type Roles struct {
	strictyaml.Meta `yaml:"-"`
	CISO            string `yaml:"ciso,required"`          // 最高情報セキュリティ責任者 (1(1))
	ChiefOfficer    string `yaml:"chief_officer,required"` // 統括情報セキュリティ責任者 (1(2))
	Advisor         string `yaml:"advisor"`                // 最高情報セキュリティアドバイザー (1(1)②)
	CSIRT           CSIRT  `yaml:"csirt"`                  // (1(9))
}

// CSIRT is the incident response team.
type CSIRT struct {
	strictyaml.Meta `yaml:"-"`
	Lead            string   `yaml:"lead"`
	Members         []string `yaml:"members"`
	Contact         string   `yaml:"contact"`
}

// Zone is a network zone with its subnets.
type Zone struct {
	strictyaml.Meta `yaml:"-"`
	ID              string   `yaml:"id,required"`
	Type            ZoneType `yaml:"type,required"`
	Name            string   `yaml:"name"`
	Subnets         []Prefix `yaml:"subnets"`
	// NAC: only registered devices can join the zone's network (Reference 5, items 1 and 5).
	NAC bool `yaml:"nac"`
}

// System is a business system (業務システム).
type System struct {
	strictyaml.Meta `yaml:"-"`
	ID              string   `yaml:"id,required"`
	Name            string   `yaml:"name,required"`
	Zone            string   `yaml:"zone,required"`
	Department      string   `yaml:"department"`
	Division        string   `yaml:"division"`
	Hosting         Hosting  `yaml:"hosting"`
	Assets          []string `yaml:"assets"`
	Administrator   string   `yaml:"administrator"` // 情報システム管理者 (1(5))
	Vendor          string   `yaml:"vendor"`
	// AccessControl: access is controlled per information asset (β' measure).
	AccessControl bool   `yaml:"access_control"`
	Note          string `yaml:"note"`
}

// Asset is an information asset (情報資産) with its classification (clause 2).
type Asset struct {
	strictyaml.Meta `yaml:"-"`
	ID              string          `yaml:"id,required"`
	Name            string          `yaml:"name,required"`
	Confidentiality Confidentiality `yaml:"confidentiality,required"`
	Integrity       Level           `yaml:"integrity,required"`
	Availability    Level           `yaml:"availability,required"`
	// MyNumber: the asset contains specific personal information (特定個人情報).
	MyNumber bool   `yaml:"my_number"`
	Owner    string `yaml:"owner"` // division id
}

// Host is a server, a terminal (or a group of identical terminals), or a device.
type Host struct {
	strictyaml.Meta `yaml:"-"`
	ID              string       `yaml:"id,required"`
	Kind            HostKind     `yaml:"kind,required"`
	Zone            string       `yaml:"zone,required"`
	Addresses       []Prefix     `yaml:"addresses"`
	Role            string       `yaml:"role"`
	Systems         []string     `yaml:"systems"`
	Dedicated       bool         `yaml:"dedicated"` // dedicated to one business (業務毎の専用端末)
	Auth            []AuthFactor `yaml:"auth"`
	RemovableMedia  MediaControl `yaml:"removable_media"`
	Endpoint        []Protection `yaml:"endpoint"`
	OS              string       `yaml:"os"`
	Count           int          `yaml:"count"` // identical terminals described once; default 1
	Location        string       `yaml:"location"`
	Division        string       `yaml:"division"`
	Wireless        bool         `yaml:"wireless"`
	// OperationLog: user operations are logged and reviewable (Reference 5, items 3③ and 7③).
	OperationLog bool `yaml:"operation_log"`
}

// Communication is a specific communication (特定通信): a declared, address-
// and port-limited path from a zone to a named external endpoint.
type Communication struct {
	strictyaml.Meta `yaml:"-"`
	ID              string      `yaml:"id,required"`
	Name            string      `yaml:"name,required"`
	Kind            CommKind    `yaml:"kind,required"`
	Zone            string      `yaml:"zone,required"`
	Addresses       []Prefix    `yaml:"addresses"`
	Ports           []PortRange `yaml:"ports"`
	Direction       Direction   `yaml:"direction,required"`
	Purpose         string      `yaml:"purpose"`
	Approval        string      `yaml:"approval"`
	// InternetConnected: the far end is itself reachable from the Internet.
	InternetConnected bool `yaml:"internet_connected"`
	// Measures taken for two-way communication (e.g. malware-scan, sanitization).
	Measures []string `yaml:"measures"`
}

// Flow is a permitted data path between two endpoints. Endpoints are written
// "host/ID", "system/ID", "zone/ID", "comm/ID", "service/ID", or the
// networks "internet" and "lgwan" (the nationwide LGWAN).
type Flow struct {
	strictyaml.Meta `yaml:"-"`
	ID              string      `yaml:"id"`
	From            string      `yaml:"from,required"`
	To              string      `yaml:"to,required"`
	Ports           []PortRange `yaml:"ports"`
	Mechanism       Mechanism   `yaml:"mechanism,required"`
	Via             string      `yaml:"via"` // communication id, for specific-communication
	Purpose         string      `yaml:"purpose"`
}

// Vendor is an outsourcing contractor (委託先, clause 8).
type Vendor struct {
	strictyaml.Meta `yaml:"-"`
	ID              string   `yaml:"id,required"`
	Name            string   `yaml:"name,required"`
	Processes       []string `yaml:"processes"` // asset ids
	Systems         []string `yaml:"systems"`
	Certifications  []string `yaml:"certifications"`   // isms, pmark, ismap, ...
	ContractClauses []string `yaml:"contract_clauses"` // confidentiality, subcontracting, audit, incident-report, data-deletion, ...
	ContractEnd     *Date    `yaml:"contract_end"`
	DataDeletion    *Date    `yaml:"data_deletion_date"`
	Subcontractors  []string `yaml:"subcontractors"`
}

// Service is an external service (外部サービス, clause 8.3) such as SaaS.
type Service struct {
	strictyaml.Meta `yaml:"-"`
	ID              string      `yaml:"id,required"`
	Name            string      `yaml:"name,required"`
	Kind            string      `yaml:"kind"`
	Vendor          string      `yaml:"vendor"`
	Assets          []string    `yaml:"assets"`
	Addresses       []Prefix    `yaml:"addresses"`
	Ports           []PortRange `yaml:"ports"`
	Certifications  []string    `yaml:"certifications"`
	// ApprovedForLGWAN: reachable directly from the LGWAN zone under the α'
	// model (a cloud service the body approved for local breakout).
	ApprovedForLGWAN bool   `yaml:"approved_for_lgwan"`
	Approval         string `yaml:"approval"`
	DataDeletion     *Date  `yaml:"data_deletion_date"`
}
