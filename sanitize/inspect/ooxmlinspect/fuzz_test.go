package ooxmlinspect

import (
	"bytes"
	"context"
	"testing"

	"github.com/kyojin/kyojin/sanitize/internal/officetest"
)

// FuzzInspect feeds arbitrary packages to the inspector without its recover
// wrapper: it must never panic, whatever it is given.
func FuzzInspect(f *testing.F) {
	for _, b := range [][]byte{officetest.WordActive(f), officetest.XlsxExternalLink(f), officetest.PptmActive(f)} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = New(MaxBytes(8<<20)).inspect(context.Background(), bytes.NewReader(b), int64(len(b)))
	})
}

// FuzzXMLPart runs the field and element checks over arbitrary XML.
func FuzzXMLPart(f *testing.F) {
	f.Add(officetest.WordBody(officetest.DDEField + officetest.NestedDDEField + officetest.SimpleDDE))
	f.Fuzz(func(t *testing.T, s string) {
		st := &state{i: New(), left: 1 << 20}
		st.xmlPart("word/document.xml", []byte(s))
	})
}
