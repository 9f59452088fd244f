package textfile_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/inspect"
	"github.com/kyojin/kyojin/sanitize/textfile"
)

func run(typ sanitize.Type, b []byte, opts map[string]string) (*sanitize.Result, []byte, error) {
	var out bytes.Buffer
	res, err := textfile.Handler{}.Sanitize(context.Background(),
		&sanitize.Input{Name: "x", Type: typ, R: bytes.NewReader(b), Size: int64(len(b)), Options: opts}, &out)
	return res, out.Bytes(), err
}

func TestRefusesNonText(t *testing.T) {
	for _, b := range []string{"abc\x00def", "abc\x1bdef", "ok\xff\xfe", "\x85\x85"} {
		if _, _, err := run(sanitize.TypeText, []byte(b), nil); err == nil {
			t.Errorf("%q accepted", b)
		}
	}
}

func TestLateInvalidByte(t *testing.T) {
	// The sample says UTF-8; a bad byte beyond it must still fail.
	b := append(bytes.Repeat([]byte("a"), 200<<10), 0xFF)
	if _, _, err := run(sanitize.TypeText, b, nil); err == nil {
		t.Error("invalid byte after the sample accepted")
	}
}

func TestCSVBOMOption(t *testing.T) {
	_, out, err := run(sanitize.TypeCSV, []byte("a,b\n"), map[string]string{"bom": "true"})
	if err != nil || !bytes.HasPrefix(out, []byte{0xEF, 0xBB, 0xBF}) {
		t.Fatalf("bom option: %v %q", err, out)
	}
	if fs, _ := (inspect.CSV{}).Inspect(context.Background(), bytes.NewReader(out), int64(len(out))); len(fs) > 0 {
		t.Errorf("findings %+v", fs)
	}
}

// FuzzSanitize: any input gives an error or an output the independent
// inspector accepts.
func FuzzSanitize(f *testing.F) {
	f.Add([]byte("=cmd|' /C calc'!A0,b\r\n"), true)
	f.Add([]byte("\"a\"\"\",-1,+x\n@a\n"), true)
	f.Add([]byte("\x82\xa0\x82\xa2"), false)
	f.Add([]byte("\x1b$B$\"\x1b(B"), false)
	f.Add([]byte("\xEF\xBB\xBFtext"), false)
	f.Fuzz(func(t *testing.T, data []byte, csv bool) {
		typ, insp := sanitize.TypeText, sanitize.Inspector(inspect.Text{})
		if csv {
			typ, insp = sanitize.TypeCSV, inspect.CSV{}
		}
		_, out, err := run(typ, data, nil)
		if err != nil {
			return
		}
		fs, err := insp.Inspect(context.Background(), bytes.NewReader(out), int64(len(out)))
		if err != nil || len(fs) > 0 {
			t.Fatalf("inspector on output %q: %v %+v", out, err, fs)
		}
	})
}
