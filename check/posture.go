package check

import (
	"fmt"
	"strings"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
)

// terminals applies the My Number terminal rules (3(1)②, Reference 5 items
// 3 and 4) and the endpoint rule of the β models.
func (r *run) terminals() {
	m := r.m
	beta := m.Org != nil && (m.Org.NetworkModel == model.Beta || m.Org.NetworkModel == model.BetaPrime)
	for _, h := range m.Hosts {
		zt := m.HostZoneType(h)
		obj := "host/" + h.ID
		if beta && zt == model.ZoneInternet && (h.Kind == "terminal" || h.Kind == "server") && !hasProtection(h, "edr") {
			r.report(ruleBetaEDR, &h.Meta, "endpoint", diag.T(
				fmt.Sprintf("インターネット接続系の %s に EDR がありません", h.ID),
				fmt.Sprintf("%s in the Internet zone has no EDR", h.ID)), obj)
		}
		if zt != model.ZoneMyNumber || h.Kind != "terminal" {
			continue
		}
		classes := map[string]bool{}
		for _, f := range h.Auth {
			classes[f.Class()] = true
		}
		if len(classes) < 2 {
			r.report(ruleMNTerminalMFA, &h.Meta, "auth", diag.T(
				fmt.Sprintf("端末 %s（%d台）の認証要素が1種類だけです: %s", h.ID, h.Count, factorList(h)),
				fmt.Sprintf("terminal %s (%d units) uses one kind of factor: %s", h.ID, h.Count, factorList(h))), obj)
		}
		switch h.RemovableMedia {
		case "blocked", "read-only", "controlled":
		default:
			state := string(h.RemovableMedia)
			if state == "" {
				state = "未設定"
			}
			r.report(ruleMNTerminalMedia, &h.Meta, "removable_media", diag.T(
				fmt.Sprintf("端末 %s の外部媒体の制御が %s です", h.ID, state),
				fmt.Sprintf("terminal %s removable media: %s", h.ID, cmpOr(string(h.RemovableMedia), "not set"))), obj)
		}
		if !h.Dedicated {
			r.report(ruleMNTerminalDedicated, &h.Meta, "dedicated", diag.T(
				fmt.Sprintf("端末 %s は業務専用端末として記録されていません", h.ID),
				fmt.Sprintf("terminal %s is not recorded as dedicated", h.ID)), obj)
		}
		if !h.OperationLog {
			r.report(ruleMNTerminalLog, &h.Meta, "operation_log", diag.T(
				fmt.Sprintf("端末 %s の操作記録が取得されていません", h.ID),
				fmt.Sprintf("terminal %s does not log operations", h.ID)), obj)
		}
	}
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

func factorList(h *model.Host) string {
	if len(h.Auth) == 0 {
		return "-"
	}
	parts := make([]string, len(h.Auth))
	for i, f := range h.Auth {
		parts[i] = string(f)
	}
	return strings.Join(parts, ", ")
}

func hasProtection(h *model.Host, p model.Protection) bool {
	for _, x := range h.Endpoint {
		if x == p {
			return true
		}
	}
	return false
}

// maxConf is the highest confidentiality among a system's assets.
func (r *run) maxConf(s *model.System) (model.Confidentiality, *model.Asset) {
	var best model.Confidentiality
	var asset *model.Asset
	for _, id := range s.Assets {
		a := r.m.AssetByID[id]
		if a == nil {
			continue
		}
		c := a.Confidentiality
		if a.MyNumber {
			c = model.Conf3A
		}
		if c.Rank() > best.Rank() {
			best, asset = c, a
		}
	}
	return best, asset
}

// assets applies placement rules: My Number data only in the My Number zone
// (clause 2 with 3(1)); under β no class-3 asset in the Internet zone; under
// β' such systems need per-asset access control and log management.
func (r *run) assets() {
	m := r.m
	nm := model.NetworkModel("")
	if m.Org != nil {
		nm = m.Org.NetworkModel
	}
	for _, s := range m.Systems {
		z := m.ZoneByID[s.Zone]
		if z == nil {
			continue
		}
		conf, a := r.maxConf(s)
		if a == nil {
			continue
		}
		obj := []string{"system/" + s.ID, "asset/" + a.ID}
		if conf == model.Conf3A && z.Type != model.ZoneMyNumber {
			r.report(ruleMNAssetPlacement, &s.Meta, "assets", diag.T(
				fmt.Sprintf("システム %s（%s）は %s に置かれていますが、特定個人情報を含む資産 %s を扱っています", s.ID, s.Name, model.ZoneTypeJA[z.Type], a.ID),
				fmt.Sprintf("system %s sits in the %s zone but handles My Number asset %s", s.ID, z.Type, a.ID)), obj...)
			continue
		}
		if z.Type != model.ZoneInternet || conf.Rank() < model.Conf3C.Rank() {
			continue
		}
		switch nm {
		case model.Beta:
			r.report(ruleBetaAssets, &s.Meta, "zone", diag.T(
				fmt.Sprintf("インターネット接続系のシステム %s（%s）が機密性%sの資産 %s を扱っています", s.ID, s.Name, conf, a.ID),
				fmt.Sprintf("Internet-zone system %s handles confidentiality %s asset %s", s.ID, conf, a.ID)), obj...)
		case model.BetaPrime:
			var missing []string
			if !s.AccessControl {
				missing = append(missing, "access_control")
			}
			if !m.Org.Controls.SystemLogManagement {
				missing = append(missing, "controls.system_log_management")
			}
			if len(missing) > 0 {
				r.report(ruleBPSystems, &s.Meta, "access_control", diag.T(
					fmt.Sprintf("重要システム %s（%s）に不足している対策: %s", s.ID, s.Name, strings.Join(missing, ", ")),
					fmt.Sprintf("important system %s lacks: %s", s.ID, strings.Join(missing, ", "))), obj...)
			}
		}
	}
}

// models checks what the declared network model implies beyond flows.
func (r *run) models() {
	m := r.m
	if m.Org == nil {
		return
	}
	o := m.Org
	// Virtual desktops reached by screen transfer are not where staff sit:
	// leave out terminals that are screen-transfer targets or belong to a
	// system reached by screen transfer (the broker and its desktop pool).
	screenTargets := map[*model.Host]bool{}
	screenSystems := map[string]bool{}
	for i, f := range m.Flows {
		if f.Mechanism != model.MechScreenTransfer {
			continue
		}
		to := m.FlowTo[i]
		if to.Host != nil {
			screenTargets[to.Host] = true
			for _, s := range to.Host.Systems {
				screenSystems[s] = true
			}
		}
		if to.System != nil {
			screenSystems[to.System.ID] = true
		}
	}
	for _, h := range m.Hosts {
		for _, s := range h.Systems {
			if screenSystems[s] {
				screenTargets[h] = true
			}
		}
	}
	terminals := map[model.ZoneType]int{}
	for _, h := range m.Hosts {
		if h.Kind == "terminal" && !screenTargets[h] {
			terminals[m.HostZoneType(h)] += h.Count
		}
	}
	beta := o.NetworkModel == model.Beta || o.NetworkModel == model.BetaPrime
	switch {
	case beta && terminals[model.ZoneLGWAN] > terminals[model.ZoneInternet]:
		r.report(ruleModelFit, &o.Meta, "network_model", diag.T(
			fmt.Sprintf("%sモデルでは業務端末をインターネット接続系に置きますが、LGWAN接続系に %d 台、インターネット接続系に %d 台あります", o.NetworkModel.Label(), terminals[model.ZoneLGWAN], terminals[model.ZoneInternet]),
			fmt.Sprintf("model %s puts business terminals in the Internet zone, but LGWAN has %d and Internet %d", o.NetworkModel.Label(), terminals[model.ZoneLGWAN], terminals[model.ZoneInternet])), "organization")
	case !beta && terminals[model.ZoneInternet] > terminals[model.ZoneLGWAN] && terminals[model.ZoneInternet] > 0:
		r.report(ruleModelFit, &o.Meta, "network_model", diag.T(
			fmt.Sprintf("%sモデルでは業務端末を LGWAN接続系に置きますが、インターネット接続系に %d 台、LGWAN接続系に %d 台あります", o.NetworkModel.Label(), terminals[model.ZoneInternet], terminals[model.ZoneLGWAN]),
			fmt.Sprintf("model %s puts business terminals in the LGWAN zone, but Internet has %d and LGWAN %d", o.NetworkModel.Label(), terminals[model.ZoneInternet], terminals[model.ZoneLGWAN])), "organization")
	}
	if !o.SecurityCloud {
		r.report(ruleINTCloud, &o.Meta, "security_cloud", diag.T(
			o.Name+" のインターネット接続系は自治体情報セキュリティクラウドに参加していません",
			o.Name+"'s Internet zone is not part of the prefecture security cloud"), "organization")
	}
	ctl, ctlField := &o.Controls.Meta, "network_monitoring"
	if ctl.File == "" { // no controls block at all: point at the organization
		ctl, ctlField = &o.Meta, "controls"
	}
	if !o.Controls.NetworkMonitoring {
		r.report(ruleINTMonitoring, ctl, ctlField, diag.T(
			"インターネット接続系の通信監視・ふるまい検知が記録されていません", "no network monitoring recorded for the Internet zone"), "organization")
	}
	if beta {
		var missing []string
		if !o.Controls.SIEM {
			missing = append(missing, "siem")
		}
		if !o.Controls.VulnerabilityManagement {
			missing = append(missing, "vulnerability_management")
		}
		if !o.Controls.AssetManagement {
			missing = append(missing, "asset_management")
		}
		if len(missing) > 0 {
			r.report(ruleBetaControls, &o.Meta, "controls", diag.T(
				fmt.Sprintf("%sモデルに必要な対策が記録されていません: %s", o.NetworkModel.Label(), strings.Join(missing, ", ")),
				fmt.Sprintf("model %s requires: %s", o.NetworkModel.Label(), strings.Join(missing, ", "))), "organization")
		}
	}
	if o.NetworkModel == model.BetaPrime && o.Controls.ExternalAudit == nil {
		r.report(ruleBPAudit, &o.Meta, "controls", diag.T(
			"β'モデル導入前の外部監査（controls.external_audit）が記録されていません", "no external audit recorded (controls.external_audit)"), "organization")
	}
}

// org checks that the roles of clause 1 are filled.
func (r *run) org() {
	m := r.m
	if m.Org == nil {
		return
	}
	o := m.Org
	for i := range o.Departments {
		d := &o.Departments[i]
		if d.Officer == "" {
			r.report(ruleORGOfficer, &d.Meta, "officer", diag.T(
				fmt.Sprintf("部局 %s（%s）に情報セキュリティ責任者がいません", d.ID, d.Name),
				fmt.Sprintf("department %s has no security officer", d.ID)), "department/"+d.ID)
		}
		for j := range d.Divisions {
			dv := &d.Divisions[j]
			if dv.Manager == "" {
				r.report(ruleORGOfficer, &dv.Meta, "manager", diag.T(
					fmt.Sprintf("課室 %s（%s）に情報セキュリティ管理者がいません", dv.ID, dv.Name),
					fmt.Sprintf("division %s has no security manager", dv.ID)), "division/"+dv.ID)
			}
		}
	}
	for _, s := range m.Systems {
		if s.Administrator == "" {
			r.report(ruleORGSysAdmin, &s.Meta, "administrator", diag.T(
				fmt.Sprintf("システム %s（%s）に情報システム管理者がいません", s.ID, s.Name),
				fmt.Sprintf("system %s has no administrator", s.ID)), "system/"+s.ID)
		}
	}
	if o.Roles.CSIRT.Lead == "" || len(o.Roles.CSIRT.Members) == 0 {
		r.report(ruleORGCSIRT, &o.Roles.Meta, "csirt", diag.T(
			"CSIRT の責任者または構成員が記録されていません", "the CSIRT lead or members are not recorded"), "organization")
	}
}
