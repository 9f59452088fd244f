package imagefile_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"image"
	"image/png"
	"testing"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/imagefile"
	"github.com/kyojin/kyojin/sanitize/inspect"
)

var limits = sanitize.DefaultPolicy().Limits

func run(t testing.TB, typ sanitize.Type, b []byte) (*sanitize.Result, []byte, error) {
	var out bytes.Buffer
	res, err := imagefile.Handler{}.Sanitize(context.Background(),
		&sanitize.Input{Name: "x", Type: typ, R: bytes.NewReader(b), Size: int64(len(b)), Limits: limits}, &out)
	return res, out.Bytes(), err
}

func TestDimensionLimits(t *testing.T) {
	var b bytes.Buffer
	png.Encode(&b, image.NewGray(image.Rect(0, 0, 300, 2)))
	l := limits
	for _, tc := range []struct {
		dim    int
		pixels int64
		ok     bool
	}{{400, 1000, true}, {200, 1000, false}, {400, 500, false}} {
		limits.MaxImageDimension, limits.MaxImagePixels = tc.dim, tc.pixels
		_, _, err := run(t, sanitize.TypePNG, b.Bytes())
		if tc.ok != (err == nil) || !tc.ok && !errors.Is(err, sanitize.ErrLimit) {
			t.Errorf("dim %d pixels %d: err %v", tc.dim, tc.pixels, err)
		}
	}
	limits = l
}

var inspectors = map[sanitize.Type]sanitize.Inspector{
	sanitize.TypePNG: inspect.PNG{}, sanitize.TypeJPEG: inspect.JPEG{}, sanitize.TypeGIF: inspect.GIF{},
}

// FuzzSanitize: whatever the input, the handler returns an error or an
// output in which the independent inspector finds nothing.
func FuzzSanitize(f *testing.F) {
	var b bytes.Buffer
	png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 3, 3)))
	f.Add(b.Bytes())
	f.Add([]byte("GIF89a\x01\x00\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xDB})
	f.Add([]byte("BM"))
	f.Add([]byte("II*\x00"))
	f.Add([]byte("RIFF\x00\x00\x00\x00WEBPVP8L"))
	for _, s := range []string{"UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==", "UklGRiIAAABXRUJQVlA4IBYAAAAwAQCdASoBAAEADsD+JaQAA3AAAAAA"} {
		b, _ := base64.StdEncoding.DecodeString(s)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		d := sanitize.Detect(bytes.NewReader(data), int64(len(data)), "x", "")
		switch d.Type {
		case sanitize.TypePNG, sanitize.TypeJPEG, sanitize.TypeGIF, sanitize.TypeBMP, sanitize.TypeTIFF, sanitize.TypeWebP:
		default:
			return
		}
		limits.MaxImagePixels = 1 << 20
		res, out, err := run(t, d.Type, data)
		if err != nil {
			return
		}
		fs, err := inspectors[res.OutType].Inspect(context.Background(), bytes.NewReader(out), int64(len(out)))
		if err != nil || len(fs) > 0 {
			t.Fatalf("inspector on output: %v %+v", err, fs)
		}
	})
}
