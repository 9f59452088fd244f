// Package modelgen writes large, valid municipality models for load tests
// and benchmarks: a prefecture-scale body with many departments, each with
// business systems in the My Number and LGWAN zones, their servers, terminal
// groups per division and the flows between them. The output goes through
// the real loader, so benchmarks measure what production would see.
package modelgen

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// Size sets the scale.
type Size struct {
	Departments       int // 部局
	DivisionsPerDept  int // 課室 per department
	SystemsPerDept    int // business systems per department (a third in the My Number zone)
	TerminalsPerGroup int // identical terminals described by one host entry
}

// Prefecture is the scale of a prefectural government: 40 departments,
// 5 divisions each, 15 systems each (600 systems, 1,200 servers, 400
// terminal groups of 25, i.e. 10,000 terminals, about 8,000 flows).
var Prefecture = Size{Departments: 40, DivisionsPerDept: 5, SystemsPerDept: 15, TerminalsPerGroup: 25}

// Write writes the model as two files, org.yaml and net.yaml, into dir.
func Write(dir string, s Size) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for name, gen := range map[string]func(io.Writer, Size){"org.yaml": org, "net.yaml": network} {
		var b strings.Builder
		gen(&b, s)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(b.String()), 0o644); err != nil {
			return err
		}
	}
	return nil
}

func org(w io.Writer, s Size) {
	fmt.Fprint(w, `apiVersion: kyojin/v1
kind: Model
organization:
  name: 生成県
  kind: prefecture
  code: "990001"
  network_model: alpha
  security_cloud: true
  controls: {network_monitoring: true, siem: true}
  people:
    - {id: ciso, name: 副知事}
    - {id: cio, name: 総務部長}
`)
	for d := range s.Departments {
		fmt.Fprintf(w, "    - {id: p-d%d, name: 部長 %d}\n", d, d)
		for v := range s.DivisionsPerDept {
			fmt.Fprintf(w, "    - {id: p-d%dv%d, name: 課長 %d-%d}\n", d, v, d, v)
		}
	}
	fmt.Fprint(w, "  departments:\n")
	for d := range s.Departments {
		fmt.Fprintf(w, "    - id: d%d\n      name: 第%d部\n      officer: p-d%d\n      divisions:\n", d, d, d)
		for v := range s.DivisionsPerDept {
			fmt.Fprintf(w, "        - {id: d%dv%d, name: 第%d-%d課, manager: p-d%dv%d}\n", d, v, d, v, d, v)
		}
	}
	fmt.Fprint(w, "  roles:\n    ciso: ciso\n    chief_officer: cio\n    csirt: {lead: cio, members: [ciso], contact: csirt@example.lg.jp}\n")
}

func network(w io.Writer, s Size) {
	fmt.Fprint(w, `apiVersion: kyojin/v1
kind: Model
zones:
  - {id: mn, type: mynumber, subnets: [10.1.0.0/16], nac: true}
  - {id: lg, type: lgwan, subnets: [10.2.0.0/16], nac: true}
  - {id: inet, type: internet, subnets: [10.3.0.0/16]}
communications:
  - {id: juki-net, name: 住基ネット, kind: juki-net, zone: mn, addresses: [172.16.1.10/32], ports: [tcp/443], direction: two-way, measures: [firewall, malware-scan], approval: R6-001}
`)
	var assets, systems, hosts, flows strings.Builder
	for d := range s.Departments {
		for i := range s.SystemsPerDept {
			zone, octet := "lg", 2
			if i%3 == 0 {
				zone, octet = "mn", 1
			}
			id := fmt.Sprintf("s-d%d-%d", d, i)
			div := fmt.Sprintf("d%dv%d", d, i%s.DivisionsPerDept)
			conf, mn := "2", "false"
			if zone == "mn" {
				conf, mn = "3A", "true"
			}
			fmt.Fprintf(&assets, "  - {id: a-%s, name: 情報 %s, confidentiality: %s, integrity: 2, availability: 2, my_number: %s, owner: %s}\n", id, id, conf, mn, div)
			fmt.Fprintf(&systems, "  - {id: %s, name: 業務 %d-%d, zone: %s, department: d%d, division: %s, assets: [a-%s], administrator: p-%s}\n", id, d, i, zone, d, div, id, div)
			// Two servers per system, in 10.Z.D.(2i+1) and (2i+2).
			for k := 1; k <= 2; k++ {
				fmt.Fprintf(&hosts, "  - {id: h-%s-%d, kind: server, zone: %s, addresses: [10.%d.%d.%d], systems: [%s]}\n", id, k, zone, octet, d, 2*i+k, id)
			}
			fmt.Fprintf(&flows, "  - {id: f-%s-db, from: host/h-%s-1, to: host/h-%s-2, ports: [tcp/5432], mechanism: direct}\n", id, id, id)
		}
		// Terminal groups per division in both zones, each talking to the
		// department's systems of its zone.
		for v := range s.DivisionsPerDept {
			div := fmt.Sprintf("d%dv%d", d, v)
			fmt.Fprintf(&hosts, "  - {id: t-mn-%s, kind: terminal, zone: mn, addresses: [10.1.%d.%d/28], count: %d, division: %s, auth: [password, ic-card], removable_media: blocked, dedicated: true, operation_log: true, endpoint: [epp]}\n",
				div, 100+d, 16*v, s.TerminalsPerGroup, div)
			fmt.Fprintf(&hosts, "  - {id: t-lg-%s, kind: terminal, zone: lg, addresses: [10.2.%d.%d/28], count: %d, division: %s, endpoint: [epp]}\n",
				div, 100+d, 16*v, s.TerminalsPerGroup, div)
			for i := range s.SystemsPerDept {
				zone := "lg"
				if i%3 == 0 {
					zone = "mn"
				}
				fmt.Fprintf(&flows, "  - {id: f-%s-%d, from: host/t-%s-%s, to: system/s-d%d-%d, ports: [tcp/443], mechanism: direct}\n", div, i, zone, div, d, i)
			}
			fmt.Fprintf(&flows, "  - {id: f-%s-vdi, from: host/t-lg-%s, to: host/vdi, ports: [tcp/443], mechanism: screen-transfer}\n", div, div)
		}
	}
	fmt.Fprint(&hosts, `  - {id: lg-mail, kind: server, zone: lg, addresses: [10.2.250.25], role: LGWANメール}
  - {id: inet-relay, kind: server, zone: inet, addresses: [10.3.1.25], role: メール無害化}
  - {id: vdi, kind: server, zone: inet, addresses: [10.3.2.0/24], role: 仮想ブラウザ}
`)
	fmt.Fprint(&flows, `  - {id: f-mail, from: host/inet-relay, to: host/lg-mail, ports: [tcp/25], mechanism: sanitized-mail}
  - {id: f-lgwan, from: host/lg-mail, to: lgwan, ports: [tcp/25], mechanism: direct}
  - {id: f-inet, from: host/inet-relay, to: internet, ports: [tcp/25], mechanism: direct}
  - {id: f-browse, from: host/vdi, to: internet, ports: [tcp/80, tcp/443], mechanism: direct}
  - {id: f-jukinet, from: host/h-s-d0-0-1, to: comm/juki-net, ports: [tcp/443], mechanism: specific-communication}
`)
	fmt.Fprint(w, "assets:\n", assets.String(), "systems:\n", systems.String(), "hosts:\n", hosts.String(), "flows:\n", flows.String())
}
