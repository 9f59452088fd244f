package inspect_test

import (
	"bytes"
	"context"
	"image"
	"image/jpeg"
	"testing"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/inspect"
)

func TestCSVFindings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{
		{"a,b\n", 0}, {"-5,+3.5,\"1,000\"\n", 0}, {"'=1+1\n", 0},
		{"=1+1\n", 1}, {"a, =cmd\n", 1}, {"@x,+x,-x\n", 3}, {"＝SUM(A1)\n", 1}, {"\"\tx\"\n", 1}, {"-\n", 1},
	} {
		fs, err := inspect.CSV{}.Inspect(context.Background(), bytes.NewReader([]byte(tc.in)), int64(len(tc.in)))
		if err != nil || len(fs) != tc.want {
			t.Errorf("%q: %d findings (%v), want %d", tc.in, len(fs), err, tc.want)
		}
	}
}

func TestTextFindings(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int
	}{{"ok\r\n", 0}, {"\xEF\xBB\xBFok", 1}, {"a\x00b", 1}, {"a\xffb", 1}, {"a\u0085b", 1}} {
		fs, _ := inspect.Text{}.Inspect(context.Background(), bytes.NewReader([]byte(tc.in)), int64(len(tc.in)))
		if len(fs) != tc.want {
			t.Errorf("%q: %d findings, want %d", tc.in, len(fs), tc.want)
		}
	}
}

// FuzzInspectors: inspectors parse hostile bytes too (they see handler
// output, which a handler bug could make arbitrary) and must not panic.
func FuzzInspectors(f *testing.F) {
	f.Add([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x00IEND\xaeB`\x82"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xFE, 0x00, 0x04, 'h', 'i', 0xFF, 0xDA, 0, 2, 0xFF, 0xD9})
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xfe\x02hi\x00;"))
	f.Add([]byte("PK\x05\x06\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"))
	m := map[sanitize.Type]sanitize.Inspector{
		sanitize.TypePNG: inspect.PNG{}, sanitize.TypeJPEG: inspect.JPEG{}, sanitize.TypeGIF: inspect.GIF{},
		sanitize.TypeText: inspect.Text{}, sanitize.TypeCSV: inspect.CSV{},
	}
	m[sanitize.TypeZIP] = inspect.ZIP{Members: m, MaxBytes: 1 << 20}
	f.Fuzz(func(t *testing.T, b []byte) {
		for _, insp := range m {
			insp.Inspect(context.Background(), bytes.NewReader(b), int64(len(b)))
		}
	})
}

func TestTextChunkBoundary(t *testing.T) {
	for pad := 65533; pad <= 65536; pad++ {
		in := string(bytes.Repeat([]byte("a"), pad)) + "あい\x00"
		fs, err := inspect.Text{}.Inspect(context.Background(), bytes.NewReader([]byte(in)), int64(len(in)))
		if err != nil || len(fs) != 1 || fs[0].Construct != "control character U+0000" {
			t.Errorf("pad %d: %v %+v", pad, err, fs)
		}
	}
}

func TestJPEGMarkerAfterScan(t *testing.T) {
	var b bytes.Buffer
	jpeg.Encode(&b, image.NewGray(image.Rect(0, 0, 16, 16)), nil)
	clean := b.Bytes()
	if fs, err := (inspect.JPEG{}).Inspect(context.Background(), bytes.NewReader(clean), int64(len(clean))); err != nil || len(fs) > 0 {
		t.Fatalf("clean JPEG: %v %+v", err, fs)
	}
	n := len(clean)
	hidden := append(append(append([]byte{}, clean[:n-2]...), 0xFF, 0xE1, 0x00, 0x04, 'a', 'b'), clean[n-2:]...)
	fs, _ := (inspect.JPEG{}).Inspect(context.Background(), bytes.NewReader(hidden), int64(len(hidden)))
	if len(fs) == 0 {
		t.Error("APP1 after the scan not found")
	}
	trailing := append(append([]byte{}, clean...), "PK"...)
	if fs, _ := (inspect.JPEG{}).Inspect(context.Background(), bytes.NewReader(trailing), int64(len(trailing))); len(fs) == 0 {
		t.Error("data after EOI not found")
	}
}
