package check

import (
	"fmt"
	"slices"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
)

func zt(e model.Endpoint) model.ZoneType { return e.ZoneType() }

// sideName names an endpoint for messages: its zone type in Japanese, or the
// external network.
func sideName(e model.Endpoint) diag.Text {
	switch e.Kind {
	case model.EPInternet:
		return diag.T("インターネット", "the Internet")
	case model.EPLGWAN:
		return diag.T("LGWAN", "LGWAN")
	case model.EPComm:
		return diag.T("特定通信先 "+e.Comm.Name, "specific communication "+e.Comm.ID)
	case model.EPService:
		return diag.T("外部サービス "+e.Service.Name, "external service "+e.Service.ID)
	}
	if e.Zone != nil {
		return diag.T(model.ZoneTypeJA[e.Zone.Type]+"（"+e.Zone.ID+"）", string(e.Zone.Type)+" zone ("+e.Zone.ID+")")
	}
	return diag.T(e.Ref, e.Ref)
}

// flows applies the per-flow rules: the My Number zone only through specific
// communications (3(1)①), LGWAN ↔ Internet only sanitized (3(2)①), no direct
// Internet from LGWAN except α' approved services, mail paths carry mail only.
func (r *run) flows() {
	m := r.m
	alphaPrime := m.Org != nil && m.Org.NetworkModel == model.AlphaPrime
	for _, c := range m.Communications {
		z := m.ZoneByID[c.Zone]
		if z == nil || z.Type != model.ZoneMyNumber {
			continue
		}
		r.commRules(c)
	}
	for i, f := range m.Flows {
		from, to := m.FlowFrom[i], m.FlowTo[i]
		if from.Kind == model.EPInvalid || to.Kind == model.EPInvalid {
			continue
		}
		a, b := zt(from), zt(to)
		msg := func(ja, en string) diag.Text {
			return diag.T(fmt.Sprintf("%s: %s → %s（%s）", ja, sideName(from).JA, sideName(to).JA, f.Mechanism),
				fmt.Sprintf("%s: %s → %s (%s)", en, sideName(from).EN, sideName(to).EN, f.Mechanism))
		}
		// My Number zone boundary.
		if (a == model.ZoneMyNumber) != (b == model.ZoneMyNumber) {
			mnSide := from
			if b == model.ZoneMyNumber {
				mnSide = to
			}
			comm := m.CommByID[f.Via]
			switch {
			case f.Mechanism != model.MechSpecific || comm == nil:
				r.flowFinding(i, ruleMNIsolation, msg("特定通信として定義されていない通信です", "not a declared specific communication"))
			case comm.Zone != mnSide.Zone.ID && m.ZoneByID[comm.Zone] != nil && m.ZoneByID[comm.Zone].Type != model.ZoneMyNumber:
				r.flowFinding(i, ruleMNIsolation, msg("経由する特定通信 "+comm.ID+" はマイナンバー利用事務系のものではありません", "communication "+comm.ID+" does not belong to the My Number zone"))
			default:
				if to.Kind == model.EPInternet || from.Kind == model.EPInternet {
					r.flowFinding(i, ruleMNIsolation, msg("インターネットとの通信です", "traffic with the Internet"))
				}
				for _, p := range f.Ports {
					if !slices.ContainsFunc(comm.Ports, func(cp model.PortRange) bool { return cp.Covers(p) }) {
						r.flowFinding(i, ruleMNFlowPort, diag.T(
							fmt.Sprintf("通信 %s のポート %s は特定通信 %s で許可されていません", f.Name(), p, comm.ID),
							fmt.Sprintf("flow %s port %s is not allowed by communication %s", f.Name(), p, comm.ID)))
					}
				}
			}
			continue
		}
		// LGWAN and Internet.
		lg := func(t model.ZoneType) bool { return t == model.ZoneLGWAN }
		in := func(t model.ZoneType) bool { return t == model.ZoneInternet }
		switch {
		case lg(a) && in(b) || in(a) && lg(b):
			if !f.Mechanism.Sanitized() {
				r.flowFinding(i, ruleLGInternet, msg("無害化されていない通信です", "traffic is not sanitized"))
			} else if f.Mechanism == model.MechSanitizedMail {
				r.mailPorts(i, f)
			}
		case lg(a) && to.Kind == model.EPInternet || from.Kind == model.EPInternet && lg(b):
			r.flowFinding(i, ruleLGDirectInternet, msg("インターネットとの直接通信です", "direct Internet traffic"))
		case lg(a) && to.Kind == model.EPService || from.Kind == model.EPService && lg(b):
			svc := to.Service
			if svc == nil {
				svc = from.Service
			}
			if !alphaPrime {
				r.flowFinding(i, ruleLGBreakout, msg("α'モデル以外ではクラウドサービスへの直接接続は認められません", "direct cloud access is allowed only under the α' model"))
			} else if !svc.ApprovedForLGWAN {
				r.flowFinding(i, ruleLGBreakout, msg("サービス "+svc.ID+" は LGWAN接続系からの利用が承認されていません", "service "+svc.ID+" is not approved for the LGWAN zone"))
			}
		case in(a) && to.Kind == model.EPLGWAN || from.Kind == model.EPLGWAN && in(b):
			r.flowFinding(i, ruleLGNetworkBridge, msg("インターネット接続系と LGWAN 網の通信です", "traffic between the Internet zone and LGWAN"))
		}
	}
}

func (r *run) mailPorts(i int, f *model.Flow) {
	for _, p := range f.Ports {
		if p.Proto != "tcp" || p.AnyPort || p.Lo != p.Hi || (p.Lo != 25 && p.Lo != 465 && p.Lo != 587) {
			r.flowFinding(i, ruleLGMailPorts, diag.T(
				fmt.Sprintf("無害化メールの通信 %s にメール以外のポート %s があります", f.Name(), p),
				fmt.Sprintf("sanitized-mail flow %s allows non-mail port %s", f.Name(), p)))
			return
		}
	}
}

// commRules checks a specific communication of the My Number zone.
func (r *run) commRules(c *model.Communication) {
	obj := "comm/" + c.ID
	if len(c.Addresses) == 0 || slices.ContainsFunc(c.Addresses, func(p model.Prefix) bool { return p.Bits() < 8 }) {
		r.report(ruleMNCommAddress, &c.Meta, "addresses", diag.T(
			fmt.Sprintf("特定通信 %s（%s）の通信先アドレスが限定されていません", c.ID, c.Name),
			fmt.Sprintf("communication %s (%s) does not limit peer addresses", c.ID, c.Name)), obj)
	}
	if len(c.Ports) == 0 || slices.ContainsFunc(c.Ports, model.PortRange.Unrestricted) {
		r.report(ruleMNCommPort, &c.Meta, "ports", diag.T(
			fmt.Sprintf("特定通信 %s（%s）のポートが限定されていません", c.ID, c.Name),
			fmt.Sprintf("communication %s (%s) does not limit ports", c.ID, c.Name)), obj)
	}
	if c.InternetConnected {
		r.report(ruleMNCommInternet, &c.Meta, "internet_connected", diag.T(
			fmt.Sprintf("特定通信 %s（%s）の接続先はインターネットに接続しています", c.ID, c.Name),
			fmt.Sprintf("the peer of communication %s (%s) is connected to the Internet", c.ID, c.Name)), obj)
	}
	switch c.Direction {
	case "one-way-download":
		if c.Kind != "eltax" && c.Kind != "mynaportal" {
			r.report(ruleMNInbound, &c.Meta, "direction", diag.T(
				fmt.Sprintf("特定通信 %s（種類 %s）での一方向の取り込みは認められた通信ではありません", c.ID, c.Kind),
				fmt.Sprintf("one-way download over %s (kind %s) is not a permitted case", c.ID, c.Kind)), obj)
		}
	case "two-way":
		if len(c.Measures) == 0 {
			r.report(ruleMNInbound, &c.Meta, "measures", diag.T(
				fmt.Sprintf("双方向の特定通信 %s に講じた対策が記録されていません", c.ID),
				fmt.Sprintf("two-way communication %s records no measures", c.ID)), obj)
		}
	}
}
