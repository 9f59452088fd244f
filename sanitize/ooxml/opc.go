package ooxml

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/url"
	"path"
	"strings"
)

// Open Packaging Conventions (ECMA-376 Part 2) plumbing: content types,
// relationships and part-name resolution.

type ctDefault struct {
	Ext string `xml:"Extension,attr"`
	CT  string `xml:"ContentType,attr"`
}

type ctOverride struct {
	Part string `xml:"PartName,attr"`
	CT   string `xml:"ContentType,attr"`
}

type contentTypes struct {
	Defaults  []ctDefault  `xml:"Default"`
	Overrides []ctOverride `xml:"Override"`

	def map[string]string // lower-case extension -> content type
	ovr map[string]string // lower-case part name (no leading slash) -> content type
}

func parseContentTypes(b []byte) (*contentTypes, error) {
	var ct contentTypes
	if err := strictUnmarshal(b, &ct); err != nil {
		return nil, fmt.Errorf("[Content_Types].xml: %w", err)
	}
	ct.def = map[string]string{}
	ct.ovr = map[string]string{}
	for _, d := range ct.Defaults {
		ct.def[strings.ToLower(d.Ext)] = d.CT
	}
	for _, o := range ct.Overrides {
		ct.ovr[strings.ToLower(strings.TrimPrefix(o.Part, "/"))] = o.CT
	}
	return &ct, nil
}

// of returns the content type of a part (ECMA-376 Part 2 §10.1.2.4: an
// Override wins over a Default).
func (c *contentTypes) of(name string) string {
	l := strings.ToLower(name)
	if v, ok := c.ovr[l]; ok {
		return v
	}
	if i := strings.LastIndexByte(l, '.'); i >= 0 && !strings.Contains(l[i:], "/") {
		return c.def[l[i+1:]]
	}
	return ""
}

type relationship struct {
	ID         string `xml:"Id,attr"`
	Type       string `xml:"Type,attr"`
	Target     string `xml:"Target,attr"`
	TargetMode string `xml:"TargetMode,attr"`
}

type relationships struct {
	Rels []relationship `xml:"Relationship"`
}

func parseRels(b []byte) ([]relationship, error) {
	var r relationships
	if err := strictUnmarshal(b, &r); err != nil {
		return nil, err
	}
	return r.Rels, nil
}

// strictUnmarshal refuses DTDs: OPC forbids them (ECMA-376 Part 2 §8.1.4)
// and refusing them shuts the door on entity tricks.
func strictUnmarshal(b []byte, v any) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	for {
		t, err := d.Token()
		if err != nil {
			return fmt.Errorf("malformed XML: %w", err)
		}
		switch tt := t.(type) {
		case xml.Directive:
			return fmt.Errorf("malformed XML: DTD not allowed")
		case xml.StartElement:
			return d.DecodeElement(v, &tt)
		}
	}
}

// relsPartFor returns the relationships part name of a source part ("" is
// the package itself).
func relsPartFor(source string) string {
	dir, file := path.Split(source)
	return dir + "_rels/" + file + ".rels"
}

// sourceOfRels is the inverse of relsPartFor; ok is false for names that
// are not relationships parts.
func sourceOfRels(name string) (string, bool) {
	dir, file := path.Split(name)
	if !strings.HasSuffix(dir, "_rels/") || !strings.HasSuffix(strings.ToLower(file), ".rels") {
		return "", false
	}
	return strings.TrimSuffix(dir, "_rels/") + file[:len(file)-len(".rels")], true
}

// resolveTarget turns an internal relationship target into a part name (no
// leading slash). ok is false when the target escapes the package.
func resolveTarget(source, target string) (string, bool) {
	if u, err := url.PathUnescape(target); err == nil {
		target = u
	}
	if i := strings.IndexByte(target, '#'); i >= 0 {
		target = target[:i]
	}
	if target == "" {
		return "", false
	}
	full := target
	if !strings.HasPrefix(target, "/") {
		full = path.Dir("/"+source) + "/" + target
	}
	var segs []string
	for _, seg := range strings.Split(full, "/") {
		switch seg {
		case "", ".":
		case "..":
			if len(segs) == 0 {
				return "", false // climbs above the package root
			}
			segs = segs[:len(segs)-1]
		default:
			segs = append(segs, seg)
		}
	}
	if len(segs) == 0 {
		return "", false
	}
	return strings.Join(segs, "/"), true
}

// looksExternal reports targets that name something outside the package even
// without TargetMode="External": a URL scheme, a UNC or drive path.
func looksExternal(target string) bool {
	t := strings.TrimSpace(target)
	if strings.HasPrefix(t, `\\`) || strings.HasPrefix(t, "//") || strings.Contains(t, `\`) {
		return true
	}
	if i := strings.IndexByte(t, ':'); i > 0 {
		return true // scheme (http:, file:, mhtml:) or drive letter (C:)
	}
	return false
}

func writeContentTypes(buf *bytes.Buffer, defaults []ctDefault, overrides []ctOverride) {
	buf.WriteString(xml.Header)
	buf.WriteString(`<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">`)
	for _, d := range defaults {
		buf.WriteString(`<Default Extension="`)
		escAttr(buf, d.Ext)
		buf.WriteString(`" ContentType="`)
		escAttr(buf, d.CT)
		buf.WriteString(`"/>`)
	}
	for _, o := range overrides {
		buf.WriteString(`<Override PartName="`)
		escAttr(buf, o.Part)
		buf.WriteString(`" ContentType="`)
		escAttr(buf, o.CT)
		buf.WriteString(`"/>`)
	}
	buf.WriteString(`</Types>`)
}

func writeRels(buf *bytes.Buffer, rels []relationship) {
	buf.WriteString(xml.Header)
	buf.WriteString(`<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">`)
	for _, r := range rels {
		buf.WriteString(`<Relationship Id="`)
		escAttr(buf, r.ID)
		buf.WriteString(`" Type="`)
		escAttr(buf, r.Type)
		buf.WriteString(`" Target="`)
		escAttr(buf, r.Target)
		buf.WriteString(`"`)
		if r.TargetMode != "" {
			buf.WriteString(` TargetMode="`)
			escAttr(buf, r.TargetMode)
			buf.WriteString(`"`)
		}
		buf.WriteString(`/>`)
	}
	buf.WriteString(`</Relationships>`)
}

func escAttr(buf *bytes.Buffer, s string) {
	_ = xml.EscapeText(buf, []byte(s))
}
