package cloud

import (
	"bufio"
	"bytes"
	"testing"

	"github.com/kyojin/kyojin/logparse"
)

func FuzzReadFrames(f *testing.F) {
	f.Add([]byte("5 hello6 world!\nplain\n"))
	f.Add([]byte("1700000000.1 squid\n12 <13>x y: z\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		total := 0
		_ = ReadFrames(bufio.NewReaderSize(bytes.NewReader(b), 16), func(fr []byte) error {
			if len(fr) > logparse.MaxLine+1 {
				t.Fatalf("frame of %d bytes", len(fr))
			}
			total += len(fr)
			return nil
		})
		if total > len(b) {
			t.Fatalf("frames hold %d bytes of %d input", total, len(b))
		}
	})
}

func FuzzSplitBatch(f *testing.F) {
	f.Add([]byte(`["a",{"b":1}]`))
	f.Add([]byte("x\ny\r\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		lines, err := splitBatch(b)
		if err == nil && len(lines) > len(b)+1 {
			t.Fatalf("%d lines from %d bytes", len(lines), len(b))
		}
	})
}
