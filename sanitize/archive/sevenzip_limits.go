package archive

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/bodgit/sevenzip"
	"github.com/ulikunitz/xz/lzma"
)

// MaxDictionary bounds the LZMA/LZMA2 dictionary a 7z archive may ask for.
// The dictionary size comes from the attacker's header and the decoder
// allocates it up front, so without a bound one small file could make the
// process allocate gigabytes. 64 MiB is what 7-Zip's strongest preset uses.
const MaxDictionary = 64 << 20

var errDictionary = errors.New("7z: dictionary larger than allowed")

// The 7z library decodes LZMA, LZMA2 and PPMd with parameters read from the
// archive; replace those decoders with bounded ones before any archive is
// opened. PPMd's model size is likewise attacker-chosen and the format is
// rare, so it is refused (the archive is then blocked, never passed).
func init() {
	sevenzip.RegisterDecompressor([]byte{0x03, 0x01, 0x01}, boundedLZMA)
	sevenzip.RegisterDecompressor([]byte{0x21}, boundedLZMA2)
	sevenzip.RegisterDecompressor([]byte{0x03, 0x04, 0x01}, refusePPMd)
}

type decoder struct {
	io.Reader
	c io.Closer
}

func (d *decoder) Close() error { return d.c.Close() }

func boundedLZMA(p []byte, size uint64, readers []io.ReadCloser) (io.ReadCloser, error) {
	if len(readers) != 1 || len(p) != 5 {
		return nil, fmt.Errorf("%w: bad LZMA coder properties", errRejected7z)
	}
	if dict := binary.LittleEndian.Uint32(p[1:]); dict > MaxDictionary {
		return nil, fmt.Errorf("%w: LZMA dictionary %d bytes", errDictionary, dict)
	}
	// The LZMA stream in 7z lacks the classic header's size field: rebuild it.
	var h bytes.Buffer
	h.Write(p)
	_ = binary.Write(&h, binary.LittleEndian, size)
	r, err := lzma.NewReader(io.MultiReader(&h, readers[0]))
	if err != nil {
		return nil, fmt.Errorf("lzma: %w", err)
	}
	return &decoder{Reader: r, c: readers[0]}, nil
}

func boundedLZMA2(p []byte, _ uint64, readers []io.ReadCloser) (io.ReadCloser, error) {
	if len(readers) != 1 || len(p) != 1 || p[0] > 40 {
		return nil, fmt.Errorf("%w: bad LZMA2 coder properties", errRejected7z)
	}
	dict := (2 | (int(p[0]) & 1)) << (p[0]/2 + 11) // dictionary size encoding of LZMA2 (one byte)
	if p[0] == 40 || dict > MaxDictionary {
		return nil, fmt.Errorf("%w: LZMA2 dictionary code %d", errDictionary, p[0])
	}
	cfg := lzma.Reader2Config{DictCap: dict}
	if err := cfg.Verify(); err != nil {
		return nil, fmt.Errorf("lzma2: %w", err)
	}
	r, err := cfg.NewReader2(readers[0])
	if err != nil {
		return nil, fmt.Errorf("lzma2: %w", err)
	}
	return &decoder{Reader: r, c: readers[0]}, nil
}

func refusePPMd([]byte, uint64, []io.ReadCloser) (io.ReadCloser, error) {
	return nil, fmt.Errorf("%w: PPMd-compressed 7z members are not accepted", errRejected7z)
}

var errRejected7z = errors.New("7z: rejected coder")
