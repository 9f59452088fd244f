// Package inspect holds the independent checkers for the outputs of the
// image, text, CSV and archive handlers. The code shares nothing with the
// handlers: each inspector re-parses the output from its bytes and lists
// every construct that must not be there, so that a handler bug cannot let
// active content or metadata through unnoticed (issue 3, pipeline step 4).
package inspect

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"github.com/kyojin/kyojin/sanitize"
)

// maxImageBytes bounds what an image inspector reads into memory; image
// outputs are re-encoded pixels bounded by the pixel limit.
const maxImageBytes = 512 << 20

func readAll(r io.ReaderAt, size int64) ([]byte, error) {
	if size > maxImageBytes {
		return nil, fmt.Errorf("inspect: %d bytes is too large", size)
	}
	b := make([]byte, size)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return nil, err
	}
	return b, nil
}

// PNG accepts only the critical chunks and tRNS, with valid CRCs, nothing
// after IEND, and an image that decodes.
type PNG struct{}

func (PNG) Inspect(_ context.Context, r io.ReaderAt, size int64) ([]sanitize.Finding, error) {
	b, err := readAll(r, size)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")) {
		return []sanitize.Finding{{Construct: "not a PNG", Location: "offset 0"}}, nil
	}
	var out []sanitize.Finding
	pos := 8
	for {
		if pos+12 > len(b) {
			return append(out, sanitize.Finding{Construct: "truncated chunk", Location: fmt.Sprint("offset ", pos)}), nil
		}
		n := int(binary.BigEndian.Uint32(b[pos:]))
		if n > len(b)-pos-12 {
			return append(out, sanitize.Finding{Construct: "chunk length beyond the file", Location: fmt.Sprint("offset ", pos)}), nil
		}
		typ := string(b[pos+4 : pos+8])
		body := b[pos+4 : pos+8+n]
		if crc32.ChecksumIEEE(body) != binary.BigEndian.Uint32(b[pos+8+n:]) {
			out = append(out, sanitize.Finding{Construct: "bad chunk CRC", Location: typ})
		}
		switch typ {
		case "IHDR", "PLTE", "tRNS", "IDAT":
		case "IEND":
			if end := pos + 12 + n; end != len(b) {
				out = append(out, sanitize.Finding{Construct: "data after IEND", Location: fmt.Sprint(len(b)-end, " bytes")})
			}
			// The chunk walk with CRCs is the check for constructs; the
			// pixels (IDAT) cannot carry any, so only the header is decoded.
			if _, err := png.DecodeConfig(bytes.NewReader(b)); err != nil {
				out = append(out, sanitize.Finding{Construct: "undecodable image", Location: err.Error()})
			}
			return out, nil
		default:
			out = append(out, sanitize.Finding{Construct: "PNG chunk " + typ, Location: fmt.Sprint("offset ", pos)})
		}
		pos += 12 + n
	}
}

// JPEG refuses APPn segments (EXIF, XMP, ICC, Photoshop IRB), comments
// and data after the end-of-image marker.
type JPEG struct{}

func (JPEG) Inspect(_ context.Context, r io.ReaderAt, size int64) ([]sanitize.Finding, error) {
	b, err := readAll(r, size)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte{0xFF, 0xD8}) {
		return []sanitize.Finding{{Construct: "not a JPEG", Location: "offset 0"}}, nil
	}
	var out []sanitize.Finding
	pos := 2
	for {
		if pos+4 > len(b) || b[pos] != 0xFF {
			return append(out, sanitize.Finding{Construct: "malformed marker", Location: fmt.Sprint("offset ", pos)}), nil
		}
		m := b[pos+1]
		if m == 0xD8 || m == 0xD9 || m >= 0xD0 && m <= 0xD7 || m == 0x01 {
			return append(out, sanitize.Finding{Construct: "unexpected marker", Location: fmt.Sprintf("0xFF%02X", m)}), nil
		}
		seg := int(binary.BigEndian.Uint16(b[pos+2:]))
		switch {
		case m >= 0xE0 && m <= 0xEF:
			out = append(out, sanitize.Finding{Construct: fmt.Sprintf("APP%d segment", m-0xE0), Location: fmt.Sprint("offset ", pos)})
		case m == 0xFE:
			out = append(out, sanitize.Finding{Construct: "comment segment", Location: fmt.Sprint("offset ", pos)})
		}
		if m == 0xDA { // start of scan: entropy-coded data, then EOI
			out = append(out, scanData(b, pos+2+seg)...)
			break
		}
		pos += 2 + seg
	}
	if _, err := jpeg.Decode(bytes.NewReader(b)); err != nil {
		out = append(out, sanitize.Finding{Construct: "undecodable image", Location: err.Error()})
	}
	return out, nil
}

// scanData checks the entropy-coded data of a single baseline scan (what a
// re-encoder writes): only stuffed 0xFF00 and restart markers may occur,
// then EOI must end the file. Any other marker (a second scan, an APPn or
// COM hidden between scans) is a finding.
func scanData(b []byte, p int) []sanitize.Finding {
	for ; p+1 < len(b); p++ {
		if b[p] != 0xFF {
			continue
		}
		switch m := b[p+1]; {
		case m == 0x00, m >= 0xD0 && m <= 0xD7, m == 0xFF:
		case m == 0xD9:
			if p+2 != len(b) {
				return []sanitize.Finding{{Construct: "data after end of image", Location: fmt.Sprint(len(b)-p-2, " bytes")}}
			}
			return nil
		default:
			return []sanitize.Finding{{Construct: fmt.Sprintf("marker 0xFF%02X after the scan", m), Location: fmt.Sprint("offset ", p)}}
		}
	}
	return []sanitize.Finding{{Construct: "missing end of image", Location: ""}}
}

// GIF walks the block structure (GIF89a specification §17–§27): comment and
// plain-text extensions, application extensions other than the NETSCAPE2.0
// loop count, and data after the trailer are findings.
type GIF struct{}

func (GIF) Inspect(_ context.Context, r io.ReaderAt, size int64) ([]sanitize.Finding, error) {
	b, err := readAll(r, size)
	if err != nil {
		return nil, err
	}
	bad := func(what string, at int) []sanitize.Finding {
		return []sanitize.Finding{{Construct: what, Location: fmt.Sprint("offset ", at)}}
	}
	if len(b) < 13 || !bytes.HasPrefix(b, []byte("GIF8")) {
		return bad("not a GIF", 0), nil
	}
	pos := 13
	if b[10]&0x80 != 0 {
		pos += 3 << (b[10]&7 + 1)
	}
	var out []sanitize.Finding
	skipSub := func(p int) int { // data sub-blocks up to the terminator
		for p < len(b) && b[p] != 0 {
			p += int(b[p]) + 1
		}
		return p + 1
	}
	for pos < len(b) {
		switch b[pos] {
		case 0x3B:
			if pos+1 != len(b) {
				out = append(out, bad("data after trailer", pos+1)...)
			}
			if _, err := gif.DecodeAll(bytes.NewReader(b)); err != nil {
				out = append(out, sanitize.Finding{Construct: "undecodable image", Location: err.Error()})
			}
			return out, nil
		case 0x2C:
			if pos+10 > len(b) {
				return append(out, bad("truncated image descriptor", pos)...), nil
			}
			flags := b[pos+9]
			pos += 10
			if flags&0x80 != 0 {
				pos += 3 << (flags&7 + 1)
			}
			pos = skipSub(pos + 1) // LZW minimum code size, then data
		case 0x21:
			if pos+2 > len(b) {
				return append(out, bad("truncated extension", pos)...), nil
			}
			label := b[pos+1]
			switch label {
			case 0xF9:
			case 0xFF:
				if pos+14 > len(b) || string(b[pos+3:pos+14]) != "NETSCAPE2.0" {
					out = append(out, bad("application extension", pos)...)
				}
			case 0xFE:
				out = append(out, bad("comment extension", pos)...)
			default:
				out = append(out, bad(fmt.Sprintf("extension 0x%02X", label), pos)...)
			}
			pos = skipSub(pos + 2)
		default:
			return append(out, bad(fmt.Sprintf("unknown block 0x%02X", b[pos]), pos)...), nil
		}
	}
	return append(out, bad("missing trailer", len(b))...), nil
}
