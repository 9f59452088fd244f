package incident

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/catalog"
	"github.com/kyojin/kyojin/store"
)

// Options configure a Service. Store, Audit and Sealer are required.
type Options struct {
	Store  store.IncidentStore
	Audit  *audit.Log
	Sealer *auth.Sealer // evidence key (see LoadKey)
	Log    *slog.Logger
	// Alerts, Notify, Publisher and Models may be nil: creating from
	// alerts, notices, indicator publishing and model checks are then off.
	Alerts    AlertSource
	Notify    Notifier
	Publisher IndicatorPublisher
	Models    ModelSource
	Catalog   *catalog.Catalog // validates clause links; nil accepts any
	// MaxEvidence is the largest attachment accepted (default 32 MiB).
	MaxEvidence int64
	Now         func() time.Time
}

// Service is incident handling over a store.
type Service struct {
	o         Options
	playbooks []*Playbook
}

// DefaultMaxEvidence is the default attachment size limit.
const DefaultMaxEvidence = 32 << 20

// New checks the options and loads the built-in playbooks.
func New(o Options) (*Service, error) {
	if o.Store == nil || o.Audit == nil || o.Sealer == nil {
		return nil, errors.New("incident: store, audit log and sealer are required")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Notify == nil {
		o.Notify = LogNotifier{o.Log}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.MaxEvidence <= 0 {
		o.MaxEvidence = DefaultMaxEvidence
	}
	books, err := Playbooks()
	if err != nil {
		return nil, err
	}
	return &Service{o: o, playbooks: books}, nil
}

// LoadKey opens (creating on first use) the evidence key file in the data
// directory, like the TOTP key: a copy of the database alone does not
// reveal the attachments.
func LoadKey(path string) (*auth.Sealer, error) { return auth.LoadOrCreateKey(path) }

// Playbooks returns the loaded playbooks.
func (s *Service) Playbooks() []*Playbook { return s.playbooks }

// CanPublish reports whether an IndicatorPublisher is configured.
func (s *Service) CanPublish() bool { return s.o.Publisher != nil }

// HasAlerts reports whether an AlertSource is configured.
func (s *Service) HasAlerts() bool { return s.o.Alerts != nil }

// MaxEvidence is the attachment size limit.
func (s *Service) MaxEvidence() int64 { return s.o.MaxEvidence }

func (s *Service) now() time.Time { return s.o.Now().UTC().Truncate(time.Microsecond) }

func newID() string {
	b := make([]byte, 10)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// newRef is a reference number such as INC-20261122-7F3K9Q: dated for the
// desk, random so that one reporter cannot guess another's.
func newRef(now time.Time) string {
	const alphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
	b := make([]byte, 6)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return "INC-" + now.In(jst).Format("20060102") + "-" + string(b)
}

var jst = time.FixedZone("JST", 9*3600)

func target(tenant, ref string) string { return "incident:" + tenant + "/" + ref }

func (s *Service) audit(ctx context.Context, actor, action string, inc *Incident, details map[string]any) error {
	if details == nil {
		details = map[string]any{}
	}
	details["tenant"] = inc.Tenant
	details["id"] = inc.ID
	if _, err := s.o.Audit.Append(ctx, audit.Event{Actor: actor, Action: action, Target: target(inc.Tenant, inc.Ref), Details: details}); err != nil {
		return fmt.Errorf("audit %s: %w", action, err)
	}
	return nil
}

func (s *Service) notify(ctx context.Context, inc *Incident, kind, subject string) {
	s.notifyWith(ctx, inc, Notice{Kind: kind, Subject: subject})
}

// notifyWith sends n completed with the incident's fields; n carries the
// kind, subject and the optional Actor, From and Warning.
func (s *Service) notifyWith(ctx context.Context, inc *Incident, n Notice) {
	kind, subject := n.Kind, n.Subject
	n.Tenant, n.IncidentID, n.Ref = inc.Tenant, inc.ID, inc.Ref
	n.Body = fmt.Sprintf("%s\n件名: %s\n種別: %s\n状態: %s\n影響度: %s\n", subject, inc.Title, inc.Type.Label().JA, inc.State.Label().JA, inc.Impact.Label().JA)
	snap := *inc
	n.Incident = &snap
	if err := s.o.Notify.Notify(ctx, n); err != nil {
		// A failed notice never undoes the recorded action; it is logged.
		s.o.Log.WarnContext(ctx, "incident notice failed", "incident", inc.ID, "kind", kind, "err", err)
	}
}

// NewIncident is what a report or the CSIRT gives to open an incident.
type NewIncident struct {
	Tenant      string
	Title       string
	Type        Type
	Source      Source
	Description string
	Contact     string
	Reporter    string // login name, or "" for an outside report
	Alerts      []string
}

const (
	maxTitle = 200
	maxText  = 8000
)

func cleanText(s string, limit int) string {
	s = strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' || r >= 0x20 && r != 0x7f && !(r >= 0x80 && r < 0xa0) {
			return r
		}
		return -1
	}, strings.ToValidUTF8(s, ""))
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	if utf8.RuneCountInString(s) > limit {
		s = string([]rune(s)[:limit])
	}
	return s
}

// Create opens an incident in state reported and attaches the playbook of
// its type as a checklist.
func (s *Service) Create(ctx context.Context, actor string, in NewIncident) (*Incident, error) {
	in.Title, in.Description, in.Contact = cleanText(in.Title, maxTitle), cleanText(in.Description, maxText), cleanText(in.Contact, 500)
	switch {
	case in.Tenant == "":
		return nil, errors.New("incident: no tenant")
	case in.Title == "":
		return nil, refuse("件名を入力してください。", "enter a title")
	case !in.Type.Valid():
		return nil, refuse("種別を選んでください。", "choose a type")
	case !in.Source.Valid():
		return nil, refuse("報告の経路が不明です。", "unknown source")
	}
	now := s.now()
	inc := &Incident{Tenant: in.Tenant, ID: newID(), Ref: newRef(now), Title: in.Title, Type: in.Type, Source: in.Source,
		State: StateReported, Reporter: in.Reporter, CreatedAt: now, UpdatedAt: now, StateSince: now,
		Details: Details{Description: in.Description, Contact: in.Contact, Alerts: in.Alerts, Phases: map[State]time.Time{StateReported: now}}}
	if p := PlaybookFor(s.playbooks, in.Type); p != nil {
		inc.Playbook, inc.Checklist = p.ID, p.checklist()
		inc.Clauses = slices.Clone(p.Clauses)
	}
	rec, err := inc.toStore()
	if err != nil {
		return nil, err
	}
	if err := s.o.Store.CreateIncident(ctx, rec, &store.IncidentEvent{At: now, Actor: actorName(actor), Kind: "create", To: string(StateReported),
		Comment: in.Source.Label().JA}); err != nil {
		return nil, fmt.Errorf("create incident: %w", err)
	}
	inc.Version = rec.Version
	if err := s.audit(ctx, actorName(actor), "incident.create", inc, map[string]any{"source": string(in.Source), "type": string(in.Type), "alerts": in.Alerts}); err != nil {
		return nil, err
	}
	s.notifyWith(ctx, inc, Notice{Kind: "created", Subject: "インシデントの報告を受け付けました: " + inc.Ref, Actor: actorName(actor)})
	return inc, nil
}

func actorName(a string) string {
	if a == "" {
		return "(外部からの報告)"
	}
	return a
}

// CreateFromAlerts opens an incident from one or more alerts of tenant.
// The alerts' hosts become links and their indicators the incident's.
func (s *Service) CreateFromAlerts(ctx context.Context, actor, tenant string, ids []string, title string, typ Type) (*Incident, error) {
	if s.o.Alerts == nil {
		return nil, refuse("アラートの参照先が設定されていません。", "no alert source is configured")
	}
	if len(ids) == 0 {
		return nil, refuse("アラートを一つ以上選んでください。", "choose at least one alert")
	}
	var alerts []*Alert
	for _, id := range ids {
		a, err := s.o.Alerts.Alert(ctx, tenant, id)
		if errors.Is(err, ErrNoAlert) {
			return nil, refuse("アラート "+id+" が見つかりません。", "alert "+id+" not found")
		} else if err != nil {
			return nil, fmt.Errorf("alert %s: %w", id, err)
		}
		alerts = append(alerts, a)
	}
	if title == "" {
		title = alerts[0].Title
	}
	if !typ.Valid() {
		typ = TypeOther
	}
	var desc []string
	for _, a := range alerts {
		desc = append(desc, fmt.Sprintf("%s %s [%s] %s", a.Time.In(jst).Format("2006-01-02 15:04"), a.ID, a.Severity, a.Title))
	}
	inc, err := s.Create(ctx, actor, NewIncident{Tenant: tenant, Title: title, Type: typ, Source: SourceAlerts, Reporter: actor,
		Description: strings.Join(desc, "\n"), Alerts: ids})
	if err != nil {
		return nil, err
	}
	inc, err = s.Update(ctx, actor, tenant, inc.ID, "link", func(inc *Incident) (string, error) {
		for _, a := range alerts {
			if a.Host != "" {
				inc.addLink(s.link(tenant, "host", a.Host))
			}
			for _, ind := range a.Indicators {
				if n, err := NormalizeIndicator(ind.Kind, ind.Value); err == nil && !slices.Contains(inc.Indicators, n) {
					inc.Indicators = append(inc.Indicators, n)
				}
			}
		}
		return "アラートから関連付け", nil
	})
	if err != nil {
		return nil, err
	}
	// The incident exists; a failed note on an alert is logged, not fatal.
	if l, ok := s.o.Alerts.(AlertLinker); ok {
		for _, id := range ids {
			if lerr := l.LinkAlert(ctx, tenant, id, actor, inc); lerr != nil {
				s.o.Log.WarnContext(ctx, "alert not linked to incident", "tenant", tenant, "alert", id, "incident", inc.Ref, "err", lerr)
			}
		}
	}
	return inc, nil
}

func (inc *Incident) addLink(l Link) {
	for _, x := range inc.Links {
		if x.Kind == l.Kind && x.ID == l.ID {
			return
		}
	}
	inc.Links = append(inc.Links, l)
}

// Get returns an incident of tenant with its timeline and attachments.
func (s *Service) Get(ctx context.Context, tenant, id string) (*Incident, []store.IncidentEvent, []store.IncidentEvidence, error) {
	rec, err := s.o.Store.Incident(ctx, tenant, id)
	if err != nil {
		return nil, nil, nil, err
	}
	inc, err := fromStore(rec)
	if err != nil {
		return nil, nil, nil, err
	}
	evs, err := s.o.Store.IncidentEvents(ctx, tenant, id)
	if err != nil {
		return nil, nil, nil, err
	}
	files, err := s.o.Store.ListEvidence(ctx, tenant, id)
	if err != nil {
		return nil, nil, nil, err
	}
	return inc, evs, files, nil
}

// List returns the incidents f selects (f carries the caller's tenants).
func (s *Service) List(ctx context.Context, f store.IncidentFilter) ([]*Incident, error) {
	recs, err := s.o.Store.ListIncidents(ctx, f)
	if err != nil {
		return nil, err
	}
	out := make([]*Incident, 0, len(recs))
	for i := range recs {
		inc, err := fromStore(&recs[i])
		if err != nil {
			return nil, err
		}
		out = append(out, inc)
	}
	return out, nil
}

// Count counts the incidents f selects.
func (s *Service) Count(ctx context.Context, f store.IncidentFilter) (int, error) {
	return s.o.Store.CountIncidents(ctx, f)
}

// ErrStale is returned when someone else changed the incident first.
var ErrStale = refuse("他の担当者が先に更新しました。画面を読み込み直してください。", "someone else changed the incident first; reload")

// Update loads an incident, applies f (which returns the timeline comment
// or a refusal), stores it with a timeline event of kind and audits it as
// incident.<kind>.
func (s *Service) Update(ctx context.Context, actor, tenant, id, kind string, f func(inc *Incident) (string, error)) (*Incident, error) {
	rec, err := s.o.Store.Incident(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	inc, err := fromStore(rec)
	if err != nil {
		return nil, err
	}
	from := inc.State
	comment, err := f(inc)
	if err != nil {
		return nil, err
	}
	now := s.now()
	inc.UpdatedAt = now
	rec, err = inc.toStore()
	if err != nil {
		return nil, err
	}
	ev := &store.IncidentEvent{At: now, Actor: actor, Kind: kind, Comment: cleanText(comment, maxText)}
	if inc.State != from {
		ev.From, ev.To = string(from), string(inc.State)
	}
	if err := s.o.Store.UpdateIncident(ctx, rec, ev); errors.Is(err, store.ErrStale) {
		return nil, ErrStale
	} else if err != nil {
		return nil, err
	}
	inc.Version = rec.Version
	details := map[string]any{"comment": ev.Comment}
	if ev.To != "" {
		details["from"], details["to"] = ev.From, ev.To
	}
	if err := s.audit(ctx, actor, "incident."+kind, inc, details); err != nil {
		return nil, err
	}
	return inc, nil
}

// Transition moves an incident along the first-response flow.
func (s *Service) Transition(ctx context.Context, actor, tenant, id string, to State, comment string) (*Incident, error) {
	comment = cleanText(comment, maxText)
	var from State
	inc, err := s.Update(ctx, actor, tenant, id, "transition", func(inc *Incident) (string, error) {
		from = inc.State
		return comment, Move(inc, to, comment, s.now())
	})
	if err == nil {
		s.notifyWith(ctx, inc, Notice{Kind: "transition", Subject: fmt.Sprintf("%s は「%s」に進みました", inc.Ref, inc.State.Label().JA),
			Actor: actor, From: from, Comment: comment})
	}
	return inc, err
}

// Triage sets the impact level; only during triage and handling.
func (s *Service) Triage(ctx context.Context, actor, tenant, id string, level Impact, comment string) (*Incident, error) {
	inc, err := s.Update(ctx, actor, tenant, id, "triage", func(inc *Incident) (string, error) {
		if !level.Valid() {
			return "", refuse("影響度を選んでください。", "choose an impact level")
		}
		if inc.State != StateTriage && !inc.State.Handling() {
			return "", refuse("影響度はトリアージまたは対応中に判定します。", "the impact is rated during triage or handling")
		}
		inc.Impact = level
		c := "影響度: " + level.Label().JA
		if comment = cleanText(comment, maxText); comment != "" {
			c += " — " + comment
		}
		return c, nil
	})
	if err == nil && (level.NeedsPrefecture() || level.NeedsMIC()) {
		s.notify(ctx, inc, "escalation", fmt.Sprintf("%s の影響度は %s: 都道府県%sへの報告が必要です", inc.Ref, level.Label().JA, map[bool]string{true: "・総務省", false: ""}[level.NeedsMIC()]))
	}
	return inc, err
}

// Assign gives the incident to a handler.
func (s *Service) Assign(ctx context.Context, actor, tenant, id, assignee string) (*Incident, error) {
	assignee = cleanText(assignee, 100)
	inc, err := s.Update(ctx, actor, tenant, id, "assign", func(inc *Incident) (string, error) {
		if inc.State == StateClosed {
			return "", refuse("完了したインシデントは変更できません。", "the incident is closed")
		}
		inc.Assignee = assignee
		return "担当: " + cmpOr(assignee, "（なし）"), nil
	})
	if err == nil && assignee != "" {
		s.notify(ctx, inc, "assign", inc.Ref+" の担当になりました: "+assignee)
	}
	return inc, err
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// Check marks a checklist item done or not done.
func (s *Service) Check(ctx context.Context, actor, tenant, id, item string, done bool) (*Incident, error) {
	return s.Update(ctx, actor, tenant, id, "checklist", func(inc *Incident) (string, error) {
		for i := range inc.Checklist {
			c := &inc.Checklist[i]
			if c.ID != item {
				continue
			}
			c.Done = done
			if done {
				c.By, c.At = actor, s.now()
				return "完了: " + c.JA, nil
			}
			c.By, c.At = "", time.Time{}
			return "未完了に戻す: " + c.JA, nil
		}
		return "", refuse("手順が見つかりません。", "no such checklist item")
	})
}

// Escalate records the report to the prefecture ("prefecture") or to MIC
// ("mic"), clause 1(9)⑤.
func (s *Service) Escalate(ctx context.Context, actor, tenant, id, to, comment string) (*Incident, error) {
	inc, err := s.Update(ctx, actor, tenant, id, "escalate", func(inc *Incident) (string, error) {
		e := Escalation{At: s.now(), By: actor, Comment: cleanText(comment, maxText)}
		switch to {
		case "prefecture":
			if inc.Prefecture.Done() {
				return "", refuse("都道府県への報告は記録済みです。", "already reported to the prefecture")
			}
			inc.Prefecture = e
			return "都道府県へ報告 " + e.Comment, nil
		case "mic":
			if inc.MIC.Done() {
				return "", refuse("総務省への報告は記録済みです。", "already reported to MIC")
			}
			inc.MIC = e
			return "総務省へ報告 " + e.Comment, nil
		}
		return "", refuse("報告先が不明です。", "unknown escalation")
	})
	if err == nil {
		s.notify(ctx, inc, "escalation", inc.Ref+": 外部への報告を記録しました")
	}
	return inc, err
}

// link resolves a model object of tenant, when its model is known.
func (s *Service) link(tenant, kind, id string) Link {
	l := Link{Kind: kind, ID: id}
	if s.o.Models == nil {
		return l
	}
	m := s.o.Models.Model(tenant)
	if m == nil {
		return l
	}
	switch kind {
	case "host":
		if h := m.HostByID[id]; h != nil {
			l.Name = cmpOr(h.Role, string(h.Kind)) + " (" + h.Zone + ")"
		}
	case "system":
		if x := m.SystemByID[id]; x != nil {
			l.Name = x.Name
		}
	case "zone":
		if x := m.ZoneByID[id]; x != nil {
			l.Name = x.Name
		}
	case "asset":
		if x := m.AssetByID[id]; x != nil {
			l.Name = x.Name
		}
	}
	return l
}

// known reports whether the tenant's model (if loaded) has the object.
func (s *Service) known(tenant, kind, id string) bool {
	if s.o.Models == nil || s.o.Models.Model(tenant) == nil {
		return true
	}
	m := s.o.Models.Model(tenant)
	switch kind {
	case "host":
		return m.HostByID[id] != nil
	case "system":
		return m.SystemByID[id] != nil
	case "zone":
		return m.ZoneByID[id] != nil
	case "asset":
		return m.AssetByID[id] != nil
	}
	return false
}

// AddLink points the incident at a model object, checked against the
// tenant's model when it is loaded.
func (s *Service) AddLink(ctx context.Context, actor, tenant, id, kind, obj string) (*Incident, error) {
	obj = strings.TrimSpace(obj)
	return s.Update(ctx, actor, tenant, id, "link", func(inc *Incident) (string, error) {
		if !slices.Contains(LinkKinds, kind) {
			return "", refuse("関連付ける対象の種類が不明です。", "unknown object kind")
		}
		if obj == "" || !s.known(tenant, kind, obj) {
			return "", refuse("モデルに "+obj+" がありません。", obj+" is not in the model")
		}
		inc.addLink(s.link(tenant, kind, obj))
		return kind + ": " + obj, nil
	})
}

// AddClause links a guideline clause (catalog id).
func (s *Service) AddClause(ctx context.Context, actor, tenant, id, clause string) (*Incident, error) {
	clause = strings.TrimSpace(clause)
	return s.Update(ctx, actor, tenant, id, "clause", func(inc *Incident) (string, error) {
		if clause == "" {
			return "", refuse("条項を入力してください。", "enter a clause")
		}
		if s.o.Catalog != nil {
			e, ok := s.o.Catalog.Lookup(clause)
			if !ok {
				return "", refuse("要求事項のカタログに "+clause+" がありません。", clause+" is not in the catalog")
			}
			clause = e.ID
		}
		if !slices.Contains(inc.Clauses, clause) {
			inc.Clauses = append(inc.Clauses, clause)
		}
		return "条項: " + clause, nil
	})
}

// SetReview records the post-incident review's cause and lessons.
func (s *Service) SetReview(ctx context.Context, actor, tenant, id, cause, lessons string) (*Incident, error) {
	return s.Update(ctx, actor, tenant, id, "review", func(inc *Incident) (string, error) {
		inc.Review.Cause, inc.Review.Lessons = cleanText(cause, maxText), cleanText(lessons, maxText)
		inc.Review.By, inc.Review.At = actor, s.now()
		if inc.Review.Cause == "" {
			return "", refuse("原因を入力してください。", "enter the cause")
		}
		return "事後レビュー: " + inc.Review.Cause, nil
	})
}

// AddAction adds a corrective action with an owner and due date.
func (s *Service) AddAction(ctx context.Context, actor, tenant, id, action, owner string, due time.Time, clauses []string) (*Incident, error) {
	action, owner = cleanText(action, 1000), cleanText(owner, 100)
	return s.Update(ctx, actor, tenant, id, "action", func(inc *Incident) (string, error) {
		if action == "" || owner == "" || due.IsZero() {
			return "", refuse("改善策・担当・期限をすべて入力してください。", "enter the action, owner and due date")
		}
		var cl []string
		for _, c := range clauses {
			if c = strings.TrimSpace(c); c == "" {
				continue
			}
			if s.o.Catalog != nil {
				e, ok := s.o.Catalog.Lookup(c)
				if !ok {
					return "", refuse("要求事項のカタログに "+c+" がありません。", c+" is not in the catalog")
				}
				c = e.ID
			}
			cl = append(cl, c)
		}
		inc.Review.Actions = append(inc.Review.Actions, Action{ID: fmt.Sprintf("%s-%d", inc.Ref, len(inc.Review.Actions)+1),
			Action: action, Owner: owner, Due: due, Clauses: cl})
		return "改善策: " + action + "（" + owner + "、" + due.Format(time.DateOnly) + "）", nil
	})
}

// SetIndicators replaces the incident's indicators with those in text
// (one per line: "kind value", or a bare value whose kind is guessed).
func (s *Service) SetIndicators(ctx context.Context, actor, tenant, id, text string) (*Incident, error) {
	ind, err := ParseIndicators(text)
	if err != nil {
		return nil, err
	}
	return s.Update(ctx, actor, tenant, id, "indicators", func(inc *Incident) (string, error) {
		inc.Indicators = ind
		return fmt.Sprintf("指標 %d 件", len(ind)), nil
	})
}

// Publish shares the incident's indicators with all member bodies through
// the IndicatorPublisher (clause 1(9)⑦). The caller checks the permission
// (auth.PermIndicatorsPublish: the prefecture's security cloud operator).
func (s *Service) Publish(ctx context.Context, actor, tenant, id string) (*Incident, error) {
	if s.o.Publisher == nil {
		return nil, refuse("指標の共有先が設定されていません。", "no indicator publisher is configured")
	}
	var ind []Indicator
	inc, err := s.Update(ctx, actor, tenant, id, "publish", func(inc *Incident) (string, error) {
		if len(inc.Indicators) == 0 {
			return "", refuse("共有する指標がありません。", "no indicators to publish")
		}
		ind = slices.Clone(inc.Indicators)
		inc.Published = Escalation{At: s.now(), By: actor}
		return fmt.Sprintf("指標 %d 件を構成団体へ共有", len(ind)), nil
	})
	if err != nil {
		return nil, err
	}
	// Recorded first, then published; a failed publish is recorded too and
	// the incident no longer claims to be shared, so the operator retries.
	if perr := s.o.Publisher.Publish(ctx, tenant, actor, ind); perr != nil {
		if _, err := s.Update(ctx, actor, tenant, id, "publish_failed", func(inc *Incident) (string, error) {
			inc.Published = Escalation{}
			return "指標の共有に失敗しました", nil
		}); err != nil {
			s.o.Log.ErrorContext(ctx, "incident publish failure not recorded", "incident", id, "err", err)
		}
		return nil, fmt.Errorf("publish indicators: %w", perr)
	}
	return inc, nil
}

// AttachEvidence reads at most MaxEvidence bytes from r, seals them and
// stores them with their SHA-256.
func (s *Service) AttachEvidence(ctx context.Context, actor, tenant, id, name, ctype string, r io.Reader) (*store.IncidentEvidence, error) {
	name = cleanText(name, 200)
	if name == "" {
		name = "evidence.bin"
	}
	data, err := io.ReadAll(io.LimitReader(r, s.o.MaxEvidence+1))
	if err != nil {
		return nil, fmt.Errorf("read evidence: %w", err)
	}
	if int64(len(data)) > s.o.MaxEvidence {
		return nil, refuse(fmt.Sprintf("ファイルが大きすぎます（上限 %d MiB）。", s.o.MaxEvidence>>20), "the file is too large")
	}
	if len(data) == 0 {
		return nil, refuse("空のファイルは登録できません。", "the file is empty")
	}
	rec, err := s.o.Store.Incident(ctx, tenant, id)
	if err != nil {
		return nil, err
	}
	inc, err := fromStore(rec)
	if err != nil {
		return nil, err
	}
	// A closed incident's record is final: its report has been made from
	// the evidence it holds.
	if inc.State == StateClosed {
		return nil, refuse("完了したインシデントには証拠を追加できません。", "the incident is closed; evidence can no longer be added")
	}
	now := s.now()
	e := &store.IncidentEvidence{Tenant: tenant, IncidentID: id, ID: newID(), Name: name, ContentType: cleanText(ctype, 100), UploadedBy: actor, UploadedAt: now}
	if e.ContentType == "" {
		e.ContentType = "application/octet-stream"
	}
	if err := sealEvidence(s.o.Sealer, e, data); err != nil {
		return nil, err
	}
	if err := s.o.Store.AddEvidence(ctx, e, &store.IncidentEvent{At: now, Actor: actor, Kind: "evidence", Comment: name + " SHA-256 " + e.SHA256}); err != nil {
		return nil, err
	}
	if err := s.audit(ctx, actor, "incident.evidence_upload", inc, map[string]any{"evidence": e.ID, "name": name, "size": e.Size, "sha256": e.SHA256}); err != nil {
		return nil, err
	}
	e.Sealed = nil
	return e, nil
}

// OpenEvidence decrypts an attachment, verifies its hash and records the
// download. A failed check is audited too and returns ErrEvidenceTampered.
func (s *Service) OpenEvidence(ctx context.Context, actor, tenant, id, evID string) (*store.IncidentEvidence, []byte, error) {
	rec, err := s.o.Store.Incident(ctx, tenant, id)
	if err != nil {
		return nil, nil, err
	}
	inc, err := fromStore(rec)
	if err != nil {
		return nil, nil, err
	}
	e, err := s.o.Store.Evidence(ctx, tenant, id, evID)
	if err != nil {
		return nil, nil, err
	}
	data, oerr := openEvidence(s.o.Sealer, e)
	action, details := "incident.evidence_download", map[string]any{"evidence": e.ID, "name": e.Name, "sha256": e.SHA256}
	if oerr != nil {
		action, details["error"] = "incident.evidence_tampered", oerr.Error()
	}
	if err := s.audit(ctx, actor, action, inc, details); err != nil {
		return nil, nil, err
	}
	if oerr != nil {
		return nil, nil, oerr
	}
	e.Sealed = nil
	return e, data, nil
}

var hexHash = regexp.MustCompile(`^(?:[0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})$`)
var domainRe = regexp.MustCompile(`^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,62}$`)

// NormalizeIndicator checks and normalises one indicator. Kinds are
// domain, ip, url and hash (MD5, SHA-1 or SHA-256 hex).
func NormalizeIndicator(kind, value string) (Indicator, error) {
	v := strings.TrimSpace(value)
	bad := func() (Indicator, error) {
		return Indicator{}, refuse("指標 "+strings.ToValidUTF8(v, "?")+" を読み取れません。", "cannot read indicator "+v)
	}
	if kind == "" {
		switch {
		case strings.Contains(v, "://"):
			kind = "url"
		case hexHash.MatchString(strings.ToLower(v)):
			kind = "hash"
		default:
			if _, err := netip.ParseAddr(v); err == nil {
				kind = "ip"
			} else {
				kind = "domain"
			}
		}
	}
	switch kind {
	case "ip":
		a, err := netip.ParseAddr(v)
		if err != nil {
			return bad()
		}
		return Indicator{"ip", a.Unmap().String()}, nil
	case "domain":
		d := strings.TrimSuffix(strings.ToLower(v), ".")
		if len(d) > 253 || !domainRe.MatchString(d) {
			return bad()
		}
		return Indicator{"domain", d}, nil
	case "url":
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || len(v) > 2048 {
			return bad()
		}
		return Indicator{"url", u.String()}, nil
	case "hash":
		hv := strings.ToLower(v)
		if !hexHash.MatchString(hv) {
			return bad()
		}
		return Indicator{"hash", hv}, nil
	}
	return bad()
}

// ParseIndicators reads one indicator per line ("kind value" or a bare
// value); blank lines and lines starting with # are skipped, duplicates
// dropped. At most 1,000 indicators.
func ParseIndicators(text string) ([]Indicator, error) {
	var out []Indicator
	for line := range strings.SplitSeq(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		kind, val := "", line
		if k, v, ok := strings.Cut(line, " "); ok && slices.Contains([]string{"domain", "ip", "url", "hash"}, k) {
			kind, val = k, v
		}
		ind, err := NormalizeIndicator(kind, val)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, ind) {
			out = append(out, ind)
		}
		if len(out) > 1000 {
			return nil, refuse("指標は 1,000 件までです。", "at most 1,000 indicators")
		}
	}
	return out, nil
}
