package std_test

import (
	"archive/zip"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
)

// Fixtures are generated here, never committed as binaries.

func testImage(w, h int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			img.Set(x, y, color.RGBA{uint8(x * 7), uint8(y * 5), uint8(x + y), 255})
		}
	}
	return img
}

func pngChunk(typ string, data []byte) []byte {
	var b bytes.Buffer
	binary.Write(&b, binary.BigEndian, uint32(len(data)))
	b.WriteString(typ)
	b.Write(data)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(append([]byte(typ), data...)))
	return b.Bytes()
}

// pngWithMetadata is a valid PNG carrying tEXt, iTXt and eXIf chunks after
// IHDR, and junk after IEND.
func pngWithMetadata(t testing.TB) []byte {
	var b bytes.Buffer
	if err := png.Encode(&b, testImage(32, 24)); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	ihdrEnd := 8 + 12 + 13
	var out bytes.Buffer
	out.Write(raw[:ihdrEnd])
	out.Write(pngChunk("tEXt", []byte("Comment\x00<script>alert(1)</script>")))
	out.Write(pngChunk("iTXt", []byte("XML:com.adobe.xmp\x00\x00\x00\x00\x00<x:xmpmeta/>")))
	out.Write(pngChunk("eXIf", []byte("MM\x00*\x00\x00\x00\x08\x00\x00")))
	out.Write(raw[ihdrEnd:])
	out.WriteString("PK trailing junk")
	return out.Bytes()
}

// pngHugeHeader claims 100000×100000 pixels in IHDR over a tiny IDAT.
func pngHugeHeader() []byte {
	var out bytes.Buffer
	out.WriteString("\x89PNG\r\n\x1a\n")
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr[0:], 100000)
	binary.BigEndian.PutUint32(ihdr[4:], 100000)
	ihdr[8], ihdr[9] = 8, 6 // 8-bit RGBA
	out.Write(pngChunk("IHDR", ihdr))
	out.Write(pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}))
	out.Write(pngChunk("IEND", nil))
	return out.Bytes()
}

// jpegWithMetadata inserts an EXIF APP1 and a COM segment after SOI.
func jpegWithMetadata(t testing.TB) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, testImage(40, 30), &jpeg.Options{Quality: 80}); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	seg := func(marker byte, data []byte) []byte {
		s := []byte{0xFF, marker, 0, 0}
		binary.BigEndian.PutUint16(s[2:], uint16(len(data)+2))
		return append(s, data...)
	}
	var out bytes.Buffer
	out.Write(raw[:2])
	out.Write(seg(0xE1, []byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x00")))
	out.Write(seg(0xFE, []byte("GPS 35.68N 139.76E")))
	out.Write(raw[2:])
	return out.Bytes()
}

// gifWithComment is an animated GIF with a comment extension.
func gifWithComment(t testing.TB) []byte {
	pal := color.Palette{color.Black, color.White, color.RGBA{255, 0, 0, 255}}
	g := &gif.GIF{LoopCount: 0}
	for i := range 3 {
		f := image.NewPaletted(image.Rect(0, 0, 16, 16), pal)
		f.SetColorIndex(i, i, 2)
		g.Image = append(g.Image, f)
		g.Delay = append(g.Delay, 10)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, g); err != nil {
		t.Fatal(err)
	}
	raw := b.Bytes()
	// Insert a comment extension before the first block after the colour tables.
	i := bytes.Index(raw, []byte{0x21, 0xFF})
	if i < 0 {
		i = bytes.IndexByte(raw[13:], 0x21) + 13
	}
	comment := append([]byte{0x21, 0xFE, 5}, []byte("hello")...)
	comment = append(comment, 0)
	return append(append(append([]byte{}, raw[:i]...), comment...), raw[i:]...)
}

func bmpBytes(t testing.TB) []byte {
	var b bytes.Buffer
	if err := bmp.Encode(&b, testImage(20, 10)); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func tiffBytes(t testing.TB) []byte {
	var b bytes.Buffer
	if err := tiff.Encode(&b, testImage(20, 10), nil); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// webpLossless and webpLossy are the 1×1 images browsers' feature tests
// use; Go has no WebP encoder to generate them.
func webpLossless() []byte {
	b, _ := base64.StdEncoding.DecodeString("UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==")
	return b
}

func webpLossy() []byte {
	b, _ := base64.StdEncoding.DecodeString("UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA")
	return b
}

type zipMember struct {
	name  string
	data  []byte
	flags uint16
}

func zipBytes(t testing.TB, members ...zipMember) []byte {
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range members {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: m.name, Method: zip.Deflate, Flags: m.flags})
		if err != nil {
			t.Fatal(err)
		}
		w.Write(m.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// nestedZip wraps inner in depth levels of ZIP.
func nestedZip(t testing.TB, depth int, inner zipMember) []byte {
	m := inner
	var data []byte
	for i := range depth {
		data = zipBytes(t, m)
		m = zipMember{name: "level" + string(rune('0'+depth-i)) + ".zip", data: data}
	}
	return data
}
