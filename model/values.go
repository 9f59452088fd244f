package model

import (
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/strictyaml"
)

// enumError explains an unknown enumeration value and lists the allowed ones.
func enumError(what diag.Text, got string, allowed []string) error {
	return &strictyaml.ValueError{
		Msg:  diag.T(fmt.Sprintf("%s %q は使えません", what.JA, got), fmt.Sprintf("%s %q is not allowed", what.EN, got)),
		Hint: diag.T("使える値: "+strings.Join(allowed, ", "), "allowed values: "+strings.Join(allowed, ", ")),
	}
}

func parseEnum(b []byte, what diag.Text, allowed []string, aliases map[string]string) (string, error) {
	s := strings.TrimSpace(string(b))
	if a, ok := aliases[s]; ok {
		s = a
	}
	if !slices.Contains(allowed, s) {
		return "", enumError(what, s, allowed)
	}
	return s, nil
}

// OrgKind is the kind of local public body.
type OrgKind string

var orgKinds = []string{"prefecture", "city", "special-ward", "town", "village", "association"}

// OrgKindJA gives the Japanese name of each organization kind.
var OrgKindJA = map[OrgKind]string{"prefecture": "都道府県", "city": "市", "special-ward": "特別区", "town": "町", "village": "村", "association": "一部事務組合・広域連合"}

func (k *OrgKind) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("団体の種類", "organization kind"), orgKinds, map[string]string{
		"都道府県": "prefecture", "都": "prefecture", "道": "prefecture", "府": "prefecture", "県": "prefecture",
		"市": "city", "特別区": "special-ward", "町": "town", "村": "village",
		"一部事務組合": "association", "広域連合": "association", "一部事務組合・広域連合": "association"})
	*k = OrgKind(s)
	return err
}

// NetworkModel is the resilience model in force (αモデル etc.).
type NetworkModel string

const (
	Alpha      NetworkModel = "alpha"
	AlphaPrime NetworkModel = "alpha-prime"
	Beta       NetworkModel = "beta"
	BetaPrime  NetworkModel = "beta-prime"
)

var networkModels = []string{"alpha", "alpha-prime", "beta", "beta-prime"}

// Label is the conventional Japanese-style name (α, α', β, β').
func (m NetworkModel) Label() string {
	return map[NetworkModel]string{Alpha: "α", AlphaPrime: "α'", Beta: "β", BetaPrime: "β'"}[m]
}

func (m *NetworkModel) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("ネットワークモデル", "network model"), networkModels, map[string]string{
		"α": "alpha", "α'": "alpha-prime", "α’": "alpha-prime", "β": "beta", "β'": "beta-prime", "β’": "beta-prime"})
	*m = NetworkModel(s)
	return err
}

// ZoneType is one of the three zones of the resilience model, or an extra zone.
type ZoneType string

const (
	ZoneMyNumber   ZoneType = "mynumber"
	ZoneLGWAN      ZoneType = "lgwan"
	ZoneInternet   ZoneType = "internet"
	ZoneManagement ZoneType = "management"
	ZoneOther      ZoneType = "other"
)

var zoneTypes = []string{"mynumber", "lgwan", "internet", "management", "other"}

// ZoneTypeJA gives the guideline's name of each zone type.
var ZoneTypeJA = map[ZoneType]string{ZoneMyNumber: "マイナンバー利用事務系", ZoneLGWAN: "LGWAN接続系", ZoneInternet: "インターネット接続系", ZoneManagement: "管理系", ZoneOther: "その他"}

func (z *ZoneType) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("ゾーンの種類", "zone type"), zoneTypes, map[string]string{
		"マイナンバー利用事務系": "mynumber", "LGWAN接続系": "lgwan", "インターネット接続系": "internet"})
	*z = ZoneType(s)
	return err
}

// Hosting tells where a business system runs.
type Hosting string

var hostings = []string{"on-premises", "lgwan-asp", "gov-cloud", "private-cloud", "saas"}

func (h *Hosting) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("設置形態", "hosting"), hostings, nil)
	*h = Hosting(s)
	return err
}

// Confidentiality is the classification of an information asset. The R6.10
// edition split class 3 into 3A, 3B and 3C (standards clause 2); a bare "3"
// is still accepted as Legacy3 and reported with a migration warning.
type Confidentiality string

const (
	Conf3A      Confidentiality = "3A"
	Conf3B      Confidentiality = "3B"
	Conf3C      Confidentiality = "3C"
	Conf2       Confidentiality = "2"
	Conf1       Confidentiality = "1"
	ConfLegacy3 Confidentiality = "3"
)

// Rank orders classifications: 3A=5, 3B=4, 3C=3, 2=2, 1=1; a legacy "3"
// ranks as 3B, the conservative reading for zone placement.
func (c Confidentiality) Rank() int {
	switch c {
	case Conf3A:
		return 5
	case Conf3B, ConfLegacy3:
		return 4
	case Conf3C:
		return 3
	case Conf2:
		return 2
	case Conf1:
		return 1
	}
	return 0
}

func (c *Confidentiality) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("機密性", "confidentiality"), []string{"3A", "3B", "3C", "2", "1", "3"},
		map[string]string{"3a": "3A", "3b": "3B", "3c": "3C"})
	*c = Confidentiality(s)
	return err
}

// Level is an integrity or availability class (2 or 1).
type Level int

func (l *Level) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("分類", "class"), []string{"2", "1"}, nil)
	if err == nil {
		n, _ := strconv.Atoi(s)
		*l = Level(n)
	}
	return err
}

// HostKind tells servers from terminals and devices.
type HostKind string

var hostKinds = []string{"server", "terminal", "network", "appliance"}

func (k *HostKind) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("ホストの種類", "host kind"), hostKinds, map[string]string{"サーバ": "server", "端末": "terminal"})
	*k = HostKind(s)
	return err
}

// AuthFactor is one authentication means; FactorClass groups them into
// knowledge, possession and inherence for the multi-factor rule (clause 3(1)②(ア)).
type AuthFactor string

var authFactors = map[string]string{
	"password": "knowledge", "pin": "knowledge",
	"ic-card": "possession", "otp": "possession", "certificate": "possession", "security-key": "possession", "smartphone": "possession",
	"biometric": "inherence", "fingerprint": "inherence", "face": "inherence", "vein": "inherence",
}

// Class returns knowledge, possession or inherence.
func (f AuthFactor) Class() string { return authFactors[string(f)] }

func (f *AuthFactor) UnmarshalText(b []byte) error {
	allowed := make([]string, 0, len(authFactors))
	for k := range authFactors {
		allowed = append(allowed, k)
	}
	slices.Sort(allowed)
	s, err := parseEnum(b, diag.T("認証要素", "authentication factor"), allowed, nil)
	*f = AuthFactor(s)
	return err
}

// MediaControl is how removable media (USB memory etc.) are controlled.
type MediaControl string

var mediaControls = []string{"blocked", "read-only", "controlled", "allowed"}

func (m *MediaControl) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("外部媒体の制御", "removable-media control"), mediaControls, nil)
	*m = MediaControl(s)
	return err
}

// Protection is an endpoint protection product class.
type Protection string

var protections = []string{"epp", "edr", "ngav", "app-control"}

func (p *Protection) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("エンドポイント対策", "endpoint protection"), protections, map[string]string{"EPP": "epp", "EDR": "edr"})
	*p = Protection(s)
	return err
}

// Direction of a specific communication.
type Direction string

var directions = []string{"outbound", "inbound", "one-way-download", "two-way"}

func (d *Direction) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("通信の方向", "direction"), directions, nil)
	*d = Direction(s)
	return err
}

// CommKind names the well-known counterpart of a specific communication (特定通信).
type CommKind string

var commKinds = []string{"juki-net", "intermediate-server", "eltax", "mynaportal", "lgwan-asp", "kokuho", "koki-koreisha", "backup-center", "joint-center", "gov-cloud", "cloud-service", "other"}

func (k *CommKind) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("特定通信の種類", "specific communication kind"), commKinds, nil)
	*k = CommKind(s)
	return err
}

// Mechanism is how data moves along a flow.
type Mechanism string

const (
	MechDirect         Mechanism = "direct"
	MechSpecific       Mechanism = "specific-communication"
	MechSanitizedMail  Mechanism = "sanitized-mail"
	MechSanitizedFile  Mechanism = "sanitized-file"
	MechScreenTransfer Mechanism = "screen-transfer"
)

var mechanisms = []string{"direct", "specific-communication", "sanitized-mail", "sanitized-file", "screen-transfer"}

// Sanitized reports whether the mechanism disarms content on the way (無害化).
func (m Mechanism) Sanitized() bool {
	return m == MechSanitizedMail || m == MechSanitizedFile || m == MechScreenTransfer
}

func (m *Mechanism) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("通信方式", "mechanism"), mechanisms, nil)
	*m = Mechanism(s)
	return err
}

// Feature flags tell which optional practices the body has (used by the catalog).
type Feature string

var features = []string{"uses-cloud", "outsources-systems", "telework", "wireless-lan", "social-media", "byod", "web-meeting", "remote-maintenance", "mobile-devices"}

func (f *Feature) UnmarshalText(b []byte) error {
	s, err := parseEnum(b, diag.T("機能フラグ", "feature"), features, nil)
	*f = Feature(s)
	return err
}

// Prefix is a subnet in CIDR form, IPv4 or IPv6, with no host bits set.
type Prefix struct{ netip.Prefix }

func (p *Prefix) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	pf, err := netip.ParsePrefix(s)
	if err != nil {
		if a, aerr := netip.ParseAddr(s); aerr == nil {
			p.Prefix = netip.PrefixFrom(a, a.BitLen())
			return nil
		}
		return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("%q は CIDR 表記のアドレス範囲ではありません", s), fmt.Sprintf("%q is not a CIDR prefix", s)),
			Hint: diag.T("例: 10.10.0.0/16, 2001:db8::/48", "e.g. 10.10.0.0/16, 2001:db8::/48")}
	}
	if pf.Masked() != pf {
		return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("%q はホスト部が 0 ではありません", s), fmt.Sprintf("%q has host bits set", s)),
			Hint: diag.T(fmt.Sprintf("%s と書いてください", pf.Masked()), fmt.Sprintf("write %s", pf.Masked()))}
	}
	p.Prefix = pf
	return nil
}

// Addr is a single IP address.
type Addr struct{ netip.Addr }

func (a *Addr) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	ad, err := netip.ParseAddr(s)
	if err != nil {
		return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("%q は IP アドレスではありません", s), fmt.Sprintf("%q is not an IP address", s)),
			Hint: diag.T("例: 10.10.1.5, 2001:db8::5", "e.g. 10.10.1.5, 2001:db8::5")}
	}
	a.Addr = ad
	return nil
}

// PortRange is a protocol with a port or port range: "tcp/443",
// "udp/500-501", "icmp", or "any" (which the checks treat as unrestricted).
type PortRange struct {
	Proto    string // tcp, udp, icmp, any
	Lo, Hi   uint16
	AnyPort  bool
	Original string
}

func (p *PortRange) UnmarshalText(b []byte) error {
	s := strings.ToLower(strings.TrimSpace(string(b)))
	p.Original = s
	bad := func() error {
		return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("ポート指定 %q を解釈できません", s), fmt.Sprintf("cannot parse port %q", s)),
			Hint: diag.T("例: tcp/443, udp/53, tcp/8000-8080, icmp, any", "e.g. tcp/443, udp/53, tcp/8000-8080, icmp, any")}
	}
	switch s {
	case "any":
		p.Proto, p.AnyPort = "any", true
		return nil
	case "icmp", "icmpv6":
		p.Proto = s
		return nil
	}
	proto, ports, ok := strings.Cut(s, "/")
	if !ok || (proto != "tcp" && proto != "udp") {
		return bad()
	}
	p.Proto = proto
	if ports == "any" || ports == "*" {
		p.AnyPort = true
		return nil
	}
	lo, hi, isRange := strings.Cut(ports, "-")
	l, err := strconv.ParseUint(lo, 10, 16)
	if err != nil || l == 0 {
		return bad()
	}
	h := l
	if isRange {
		if h, err = strconv.ParseUint(hi, 10, 16); err != nil || h < l {
			return bad()
		}
	}
	p.Lo, p.Hi = uint16(l), uint16(h)
	return nil
}

func (p PortRange) String() string {
	if p.Original != "" {
		return p.Original
	}
	return fmt.Sprintf("%s/%d-%d", p.Proto, p.Lo, p.Hi)
}

// Unrestricted reports whether the range leaves the port open.
func (p PortRange) Unrestricted() bool {
	return p.AnyPort || (p.Lo == 1 && p.Hi == 65535)
}

// Covers reports whether q lies within p.
func (p PortRange) Covers(q PortRange) bool {
	if p.Proto == "any" {
		return true
	}
	if p.Proto != q.Proto {
		return false
	}
	if p.AnyPort {
		return true
	}
	if q.AnyPort {
		return false
	}
	return q.Lo >= p.Lo && q.Hi <= p.Hi
}

// Date is a calendar date written as YYYY-MM-DD.
type Date struct{ time.Time }

func (d *Date) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("日付 %q を解釈できません", s), fmt.Sprintf("cannot parse date %q", s)),
			Hint: diag.T("YYYY-MM-DD 形式で書いてください（例: 2025-04-01）", "write YYYY-MM-DD, e.g. 2025-04-01")}
	}
	d.Time = t
	return nil
}

// LGCode is the 6-digit nationwide local government code (全国地方公共団体コード):
// five digits and a check digit.
type LGCode string

// CheckDigit computes the check digit of the first five digits: weights
// 6,5,4,3,2, remainder mod 11 subtracted from 11, last digit kept.
func CheckDigit(five string) int {
	sum := 0
	for i, w := range []int{6, 5, 4, 3, 2} {
		sum += int(five[i]-'0') * w
	}
	return (11 - sum%11) % 10
}

func (c *LGCode) UnmarshalText(b []byte) error {
	s := strings.TrimSpace(string(b))
	if len(s) != 6 || strings.Trim(s, "0123456789") != "" {
		return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("団体コード %q は6桁の数字ではありません", s), fmt.Sprintf("local government code %q is not 6 digits", s)),
			Hint: diag.T("検査数字を含む6桁を引用符で囲んで書いてください（例: \"011002\"）", "write the 6 digits including the check digit, quoted (e.g. \"011002\")")}
	}
	if want := CheckDigit(s[:5]); int(s[5]-'0') != want {
		return &strictyaml.ValueError{Msg: diag.T(fmt.Sprintf("団体コード %q の検査数字が一致しません", s), fmt.Sprintf("check digit of local government code %q does not match", s)),
			Hint: diag.T(fmt.Sprintf("%s%d ではありませんか", s[:5], want), fmt.Sprintf("did you mean %s%d?", s[:5], want))}
	}
	*c = LGCode(s)
	return nil
}
