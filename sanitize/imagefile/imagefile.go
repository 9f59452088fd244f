// Package imagefile sanitizes raster images (PNG, JPEG, GIF, BMP, TIFF,
// WebP): the dimensions are read from the header and checked against the
// limits before any pixel is decoded, then the image is decoded and encoded
// afresh, which drops every metadata block (EXIF, XMP, text chunks,
// comments, ICC profiles) and anything appended after the image. BMP, TIFF
// and WebP are delivered as PNG.
package imagefile

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/kyojin/kyojin/sanitize"
)

// JPEGQuality is the re-encoding quality; high enough that documents stay
// legible, and a full re-quantisation destroys steganographic payloads in
// the DCT coefficients as a side effect.
const JPEGQuality = 90

// Handler implements sanitize.Handler for the image types.
type Handler struct{}

type codec struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
}

var codecs = map[sanitize.Type]codec{
	sanitize.TypePNG:  {png.DecodeConfig, png.Decode},
	sanitize.TypeJPEG: {jpeg.DecodeConfig, jpeg.Decode},
	sanitize.TypeGIF:  {gif.DecodeConfig, gif.Decode},
	sanitize.TypeBMP:  {bmp.DecodeConfig, bmp.Decode},
	sanitize.TypeTIFF: {tiff.DecodeConfig, tiff.Decode},
	sanitize.TypeWebP: {webp.DecodeConfig, webp.Decode},
}

// Sanitize re-encodes the image into w.
func (Handler) Sanitize(ctx context.Context, in *sanitize.Input, w io.Writer) (*sanitize.Result, error) {
	c, ok := codecs[in.Type]
	if !ok {
		return nil, fmt.Errorf("imagefile: unsupported type %s", in.Type)
	}
	cfg, err := c.config(io.NewSectionReader(in.R, 0, in.Size))
	if err != nil {
		return nil, fmt.Errorf("imagefile: read header: %w", err)
	}
	if err := checkDims(cfg.Width, cfg.Height, 1, in.Limits); err != nil {
		return nil, err
	}
	res := &sanitize.Result{OutType: in.Type}
	for obj, n := range metadataBlocks(in) {
		res.Add("removed", obj, n)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if in.Type == sanitize.TypeGIF {
		return res, reencodeGIF(in, cfg, w, res)
	}
	img, err := c.decode(io.NewSectionReader(in.R, 0, in.Size))
	if err != nil {
		return nil, fmt.Errorf("imagefile: decode: %w", err)
	}
	if b := img.Bounds(); b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fmt.Errorf("imagefile: decoded size %dx%d differs from the header: %w", b.Dx(), b.Dy(), sanitize.ErrRejected)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch in.Type {
	case sanitize.TypeJPEG:
		err = jpeg.Encode(w, img, &jpeg.Options{Quality: JPEGQuality})
	default:
		err = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(w, img)
		if in.Type != sanitize.TypePNG {
			res.OutType = sanitize.TypePNG
			res.Add("converted", string(in.Type)+"→png", 1)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("imagefile: encode: %w", err)
	}
	res.Add("re-encoded", "image", 1)
	return res, nil
}

func checkDims(w, h, frames int, l sanitize.Limits) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("imagefile: empty image %dx%d: %w", w, h, sanitize.ErrRejected)
	}
	if w > l.MaxImageDimension || h > l.MaxImageDimension {
		return fmt.Errorf("imagefile: %dx%d over max_image_dimension %d: %w", w, h, l.MaxImageDimension, sanitize.ErrLimit)
	}
	if int64(w)*int64(h)*int64(frames) > l.MaxImagePixels {
		return fmt.Errorf("imagefile: %dx%d×%d pixels over max_image_pixels %d: %w", w, h, frames, l.MaxImagePixels, sanitize.ErrLimit)
	}
	return nil
}

// reencodeGIF keeps the frames, delays, disposal and loop count; comment,
// plain-text and application extensions are not carried over.
func reencodeGIF(in *sanitize.Input, cfg image.Config, w io.Writer, res *sanitize.Result) error {
	g, err := gif.DecodeAll(io.NewSectionReader(in.R, 0, in.Size))
	if err != nil {
		return fmt.Errorf("imagefile: decode: %w", err)
	}
	if err := checkDims(cfg.Width, cfg.Height, len(g.Image), in.Limits); err != nil {
		return err
	}
	out := &gif.GIF{Image: g.Image, Delay: g.Delay, Disposal: g.Disposal, LoopCount: g.LoopCount,
		Config: g.Config, BackgroundIndex: g.BackgroundIndex}
	if err := gif.EncodeAll(w, out); err != nil {
		return fmt.Errorf("imagefile: encode: %w", err)
	}
	res.Add("re-encoded", "image", len(g.Image))
	return nil
}

// metadataBlocks counts, for the audit record, the metadata the re-encoding
// drops. It is a best-effort scan of the first 1 MiB: the re-encoding, not
// this count, is what removes the metadata.
func metadataBlocks(in *sanitize.Input) map[string]int {
	head := make([]byte, min(in.Size, 1<<20))
	n, _ := in.R.ReadAt(head, 0)
	head = head[:n]
	found := map[string]int{}
	switch in.Type {
	case sanitize.TypePNG:
		for p := 8; p+8 <= len(head); {
			l := int(binary.BigEndian.Uint32(head[p:]))
			typ := string(head[p+4 : p+8])
			switch typ {
			case "IHDR", "PLTE", "IDAT", "IEND", "tRNS":
			default:
				found["png:"+typ]++
			}
			if l < 0 || l > len(head) {
				break
			}
			p += 12 + l
		}
	case sanitize.TypeJPEG:
		for p := 2; p+4 <= len(head) && head[p] == 0xFF; {
			m := head[p+1]
			if m == 0xDA || m == 0xD9 { // start of scan: no more headers
				break
			}
			switch {
			case m >= 0xE0 && m <= 0xEF:
				found[fmt.Sprintf("jpeg:APP%d", m-0xE0)]++
			case m == 0xFE:
				found["jpeg:COM"]++
			}
			p += 2 + int(binary.BigEndian.Uint16(head[p+2:]))
		}
	case sanitize.TypeGIF:
		found["gif:comment"] = bytes.Count(head, []byte{0x21, 0xFE})
		if found["gif:comment"] == 0 {
			delete(found, "gif:comment")
		}
	}
	return found
}
