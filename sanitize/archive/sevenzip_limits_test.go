package archive

import (
	"encoding/binary"
	"errors"
	"io"
	"strings"
	"testing"
)

type nopRC struct{ io.Reader }

func (nopRC) Close() error { return nil }

func TestSevenZipDictionaryBound(t *testing.T) {
	rc := []io.ReadCloser{nopRC{strings.NewReader("")}}
	props := []byte{0x5d, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(props[1:], 1<<30) // 1 GiB asked for by the archive
	if _, err := boundedLZMA(props, 10, rc); !errors.Is(err, errDictionary) {
		t.Errorf("LZMA 1 GiB dictionary: err = %v, want errDictionary", err)
	}
	for _, code := range []byte{31, 38, 40} { // 96 MiB, 1.5 GiB, 4 GiB-1
		if _, err := boundedLZMA2([]byte{code}, 0, rc); !errors.Is(err, errDictionary) {
			t.Errorf("LZMA2 code %d: err = %v, want errDictionary", code, err)
		}
	}
	if _, err := boundedLZMA2([]byte{41}, 0, rc); err == nil {
		t.Error("LZMA2 code 41 accepted")
	}
	if _, err := refusePPMd(nil, 0, rc); err == nil {
		t.Error("PPMd accepted")
	}
	// A 16 MiB dictionary (7-Zip's default for normal compression) is allowed.
	if _, err := boundedLZMA2([]byte{24}, 0, rc); err != nil {
		t.Errorf("LZMA2 16 MiB: %v", err)
	}
}
