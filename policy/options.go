package policy

import (
	"os"
	"time"

	"github.com/kyojin/kyojin/diag"
	"github.com/kyojin/kyojin/model"
	"github.com/kyojin/kyojin/strictyaml"
)

// Revision is a line of the revision history (改定履歴).
type Revision struct {
	strictyaml.Meta `yaml:"-"`
	Date            model.Date `yaml:"date,required"`
	Note            string     `yaml:"note,required"`
}

// Options is a policy options file (kind: PolicyOptions).
type Options struct {
	strictyaml.Meta `yaml:"-"`
	APIVersion      string      `yaml:"apiVersion,required"`
	Kind            string      `yaml:"kind,required"`
	OptIn           []string    `yaml:"opt_in"` // recommended entries the body adopts
	Effective       *model.Date `yaml:"effective"`
	Revisions       []Revision  `yaml:"revisions"`
	// Instrument is the legal form of the standards, e.g. 訓令 or 要綱.
	Instrument string `yaml:"instrument"`
}

// LoadOptions reads an options file strictly.
func LoadOptions(path string) (*Options, diag.List) {
	var diags diag.List
	data, err := os.ReadFile(path)
	if err != nil {
		diags.Add(diag.Diagnostic{File: path, Code: "read", Msg: diag.T("読み込めません: "+err.Error(), "cannot read: "+err.Error())})
		return nil, diags
	}
	return ParseOptions(path, data)
}

// ParseOptions decodes an options file; the result is nil when diags hold errors.
func ParseOptions(path string, data []byte) (o *Options, diags diag.List) {
	defer func() {
		if r := recover(); r != nil {
			o = nil
			diags.Add(diag.Diagnostic{File: path, Line: 1, Col: 1, Code: "internal", Msg: diag.T("設定ファイルを解釈できません", "the options file cannot be decoded")})
		}
	}()
	o = &Options{}
	strictyaml.DecodeBytes(path, data, o, &diags)
	if !diags.HasErrors() && (o.APIVersion != "kyojin/v1" || o.Kind != "PolicyOptions") {
		diags.Add(o.Diag(diag.Error, "", "kind", "kind", diag.T("apiVersion: kyojin/v1 と kind: PolicyOptions が必要です", "needs apiVersion: kyojin/v1 and kind: PolicyOptions"), diag.Text{}))
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return o, diags
}

// EffectiveDate returns the effective date, or def.
func (o *Options) EffectiveDate(def time.Time) time.Time {
	if o != nil && o.Effective != nil {
		return o.Effective.Time
	}
	return def
}
