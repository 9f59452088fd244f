package pdf

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/kyojin/kyojin/sanitize"
)

// Raster mode defaults.
const (
	defaultDPI          = 100
	minDPI              = 18
	defaultRenderTime   = 2 * time.Minute
	rendererMemory      = 2 << 30 // address-space limit for the renderer
	maxProbeOutput      = 16 << 20
	defaultMaxPages     = 2000
	defaultMaxPixels    = 50_000_000
	defaultMaxDimension = 20_000
	jpegQuality         = 85
)

// renderer is an external page renderer (mupdf's mutool or poppler's
// pdftoppm), run in a confined subprocess.
type renderer struct {
	name  string
	probe func(ctx context.Context, sb *sandbox, file string) ([]pageBox, error)
	draw  func(ctx context.Context, sb *sandbox, file string, dpi int) error
}

// pageBox is a page size in points.
type pageBox struct{ w, h float64 }

var (
	findOnce  sync.Once
	renderers []renderer
	unshareOK bool
	setprivOK bool
)

// nobody is the unprivileged user the renderer runs as when kyojin runs as
// root (Debian's nobody/nogroup).
const nobody = 65534

// findRenderers looks up the installed renderers once, preferring mutool,
// and whether network namespaces can be used to cut the renderer off the
// network.
func findRenderers() []renderer {
	findOnce.Do(func() {
		if p, err := exec.LookPath("mutool"); err == nil {
			renderers = append(renderers, mutoolRenderer(p))
		}
		if p, err := exec.LookPath("pdftoppm"); err == nil {
			if info, err := exec.LookPath("pdfinfo"); err == nil {
				renderers = append(renderers, popplerRenderer(p, info))
			}
		}
		if u, err := exec.LookPath("unshare"); err == nil {
			unshareOK = exec.Command(u, "-n", "true").Run() == nil
		}
		if sp, err := exec.LookPath("setpriv"); err == nil && os.Geteuid() == 0 {
			setprivOK = exec.Command(sp, "--reuid="+strconv.Itoa(nobody), "--regid="+strconv.Itoa(nobody),
				"--clear-groups", "--no-new-privs", "--", "true").Run() == nil
		}
	})
	return renderers
}

// sandbox runs commands with an empty environment, in a private directory,
// under rlimits (prlimit), when possible in an empty network namespace
// (unshare -n) and, when kyojin runs as root, as user nobody (setpriv).
type sandbox struct {
	dir     string
	cpuSecs int
}

func (sb *sandbox) run(ctx context.Context, argv ...string) ([]byte, error) {
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		return nil, fmt.Errorf("%w: prlimit not installed", ErrRenderer)
	}
	args := []string{
		"--as=" + strconv.Itoa(rendererMemory),
		"--cpu=" + strconv.Itoa(sb.cpuSecs),
		"--fsize=" + strconv.Itoa(1<<30),
		"--nofile=64",
		"--core=0",
		"--",
	}
	if unshareOK {
		u, _ := exec.LookPath("unshare")
		args = append(args, u, "-n", "--")
	}
	if setprivOK {
		sp, _ := exec.LookPath("setpriv")
		args = append(args, sp, "--reuid="+strconv.Itoa(nobody), "--regid="+strconv.Itoa(nobody),
			"--clear-groups", "--no-new-privs", "--")
	}
	args = append(args, argv...)
	cmd := exec.CommandContext(ctx, prlimit, args...)
	cmd.Env = []string{}
	cmd.Dir = sb.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.Cancel = func() error {
		// Kill the whole process group, not only prlimit's child.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = 5 * time.Second
	var out, errb limitedBuffer
	out.max, errb.max = maxProbeOutput, 64<<10
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %s: %v: %s", ErrRenderer, filepath.Base(argv[0]), err, bytes.TrimSpace(errb.Bytes()))
	}
	if out.overflow {
		return nil, fmt.Errorf("%w: renderer output too large", ErrLimit)
	}
	return out.Bytes(), nil
}

// limitedBuffer keeps at most max bytes and notes an overflow.
type limitedBuffer struct {
	bytes.Buffer
	max      int
	overflow bool
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); len(p) > room {
		b.overflow = true
		if room > 0 {
			b.Buffer.Write(p[:room])
		}
		return len(p), nil
	}
	return b.Buffer.Write(p)
}

var (
	reMuPage = regexp.MustCompile(`<page pagenum="\d+">`)
	reMuBox  = regexp.MustCompile(`<MediaBox l="(-?[\d.]+)" b="(-?[\d.]+)" r="(-?[\d.]+)" t="(-?[\d.]+)"`)
	rePopNum = regexp.MustCompile(`(?m)^Pages:\s+(\d+)`)
	rePopBox = regexp.MustCompile(`(?m)^Page\s+\d+\s+size:\s+([\d.]+) x ([\d.]+) pts`)
)

func mutoolRenderer(bin string) renderer {
	return renderer{
		name: "mutool",
		probe: func(ctx context.Context, sb *sandbox, file string) ([]pageBox, error) {
			out, err := sb.run(ctx, bin, "pages", file)
			if err != nil {
				return nil, err
			}
			n := len(reMuPage.FindAll(out, -1))
			var boxes []pageBox
			for _, m := range reMuBox.FindAllSubmatch(out, -1) {
				l, b, r, t := atof(m[1]), atof(m[2]), atof(m[3]), atof(m[4])
				boxes = append(boxes, pageBox{math.Abs(r - l), math.Abs(t - b)})
			}
			if n == 0 || len(boxes) != n {
				return nil, fmt.Errorf("%w: mutool pages: cannot read page sizes", ErrRenderer)
			}
			return boxes, nil
		},
		draw: func(ctx context.Context, sb *sandbox, file string, dpi int) error {
			_, err := sb.run(ctx, bin, "draw", "-q", "-r", strconv.Itoa(dpi), "-c", "rgb",
				"-o", "page-%d.png", file)
			return err
		},
	}
}

func popplerRenderer(bin, info string) renderer {
	return renderer{
		name: "pdftoppm",
		probe: func(ctx context.Context, sb *sandbox, file string) ([]pageBox, error) {
			out, err := sb.run(ctx, info, "-f", "1", "-l", "1000000", file)
			if err != nil {
				return nil, err
			}
			m := rePopNum.FindSubmatch(out)
			if m == nil {
				return nil, fmt.Errorf("%w: pdfinfo: no page count", ErrRenderer)
			}
			n, _ := strconv.Atoi(string(m[1]))
			var boxes []pageBox
			for _, m := range rePopBox.FindAllSubmatch(out, -1) {
				boxes = append(boxes, pageBox{atof(m[1]), atof(m[2])})
			}
			if n == 0 || len(boxes) != n {
				return nil, fmt.Errorf("%w: pdfinfo: cannot read page sizes", ErrRenderer)
			}
			return boxes, nil
		},
		draw: func(ctx context.Context, sb *sandbox, file string, dpi int) error {
			_, err := sb.run(ctx, bin, "-q", "-png", "-r", strconv.Itoa(dpi), file, "page")
			return err
		},
	}
}

func atof(b []byte) float64 {
	f, err := strconv.ParseFloat(string(b), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0
	}
	return f
}

// chooseDPI lowers the resolution until the largest page fits the pixel
// limits; a page that does not fit even at minDPI is refused.
func chooseDPI(boxes []pageBox, want int, lim sanitize.Limits) (int, error) {
	maxPix, maxDim := lim.MaxImagePixels, lim.MaxImageDimension
	if maxPix <= 0 {
		maxPix = defaultMaxPixels
	}
	if maxDim <= 0 {
		maxDim = defaultMaxDimension
	}
	var w, h float64
	for _, b := range boxes {
		w, h = math.Max(w, math.Max(b.w, b.h)), math.Max(h, math.Max(b.w, b.h))
	}
	for dpi := want; dpi >= minDPI; dpi = dpi * 3 / 4 {
		pw, ph := w*float64(dpi)/72, h*float64(dpi)/72
		if pw <= float64(maxDim) && ph <= float64(maxDim) && pw*ph <= float64(maxPix) {
			return dpi, nil
		}
	}
	return 0, fmt.Errorf("%w: page %.0fx%.0f pt too large to render", ErrLimit, w, h)
}

// raster renders every page and rebuilds an image-only PDF.
func (h *Handler) raster(ctx context.Context, in *sanitize.Input, data []byte, w io.Writer) (*sanitize.Result, error) {
	rs := findRenderers()
	if len(rs) == 0 {
		return nil, fmt.Errorf("%w: neither mutool nor pdftoppm is installed", ErrRenderer)
	}
	dpi, err := strconv.Atoi(in.Option(OptRasterDPI, strconv.Itoa(defaultDPI)))
	if err != nil || dpi < minDPI || dpi > 600 {
		return nil, fmt.Errorf("%w: raster_dpi %q", ErrOption, in.Option(OptRasterDPI, ""))
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultRenderTime)
		defer cancel()
	}
	var lastErr error
	for _, r := range rs {
		res, err := h.rasterWith(ctx, r, in, data, dpi, w)
		if err == nil {
			return res, nil
		}
		if errors.Is(err, ErrLimit) || ctx.Err() != nil {
			return nil, err
		}
		h.log.Info("pdf renderer failed", "renderer", r.name, "name", in.Name, "err", err)
		lastErr = err
	}
	return nil, lastErr
}

func (h *Handler) rasterWith(ctx context.Context, r renderer, in *sanitize.Input, data []byte, dpi int, w io.Writer) (*sanitize.Result, error) {
	dir, err := os.MkdirTemp("", "kyojin-pdf-raster-")
	if err != nil {
		return nil, fmt.Errorf("pdf: raster temp dir: %w", err)
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o700); err != nil {
		return nil, fmt.Errorf("pdf: raster temp dir: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.pdf"), data, 0o600); err != nil {
		return nil, fmt.Errorf("pdf: raster input: %w", err)
	}
	if findRenderers(); setprivOK {
		// The renderer runs as nobody: give it the private directory.
		for _, p := range []string{dir, filepath.Join(dir, "in.pdf")} {
			if err := os.Chown(p, nobody, nobody); err != nil {
				return nil, fmt.Errorf("pdf: raster temp dir: %w", err)
			}
		}
	}
	cpu := 60
	if dl, ok := ctx.Deadline(); ok {
		cpu = max(1, int(time.Until(dl).Seconds())+1)
	}
	sb := &sandbox{dir: dir, cpuSecs: cpu}

	boxes, err := r.probe(ctx, sb, "in.pdf")
	if err != nil {
		return nil, err
	}
	maxPages := in.Limits.MaxPages
	if maxPages <= 0 {
		maxPages = defaultMaxPages
	}
	if len(boxes) > maxPages {
		return nil, fmt.Errorf("%w: %d pages > %d", ErrLimit, len(boxes), maxPages)
	}
	dpi, err = chooseDPI(boxes, dpi, in.Limits)
	if err != nil {
		return nil, err
	}
	if err := r.draw(ctx, sb, "in.pdf", dpi); err != nil {
		return nil, err
	}
	pages, err := renderedPages(dir, len(boxes))
	if err != nil {
		return nil, err
	}
	ib := newImagePDF(w)
	for _, p := range pages {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		jpg, pw, ph, err := pngToJPEG(p, in.Limits)
		if err != nil {
			return nil, err
		}
		ib.addPage(jpg, pw, ph, float64(pw)*72/float64(dpi), float64(ph)*72/float64(dpi))
	}
	if err := ib.finish(); err != nil {
		return nil, fmt.Errorf("pdf: write raster output: %w", err)
	}
	res := &sanitize.Result{OutType: sanitize.TypePDF}
	res.Actions = append(res.Actions, sanitize.Action{
		Kind: "converted", Object: "pages", Count: len(pages),
		Detail: fmt.Sprintf("rasterized with %s at %d dpi", r.name, dpi),
	})
	return res, nil
}

// renderedPages lists the page images in page order and checks that the
// renderer produced exactly one per page.
func renderedPages(dir string, want int) ([]string, error) {
	files, err := filepath.Glob(filepath.Join(dir, "page-*.png"))
	if err != nil {
		return nil, err
	}
	num := func(p string) int {
		b := filepath.Base(p)
		n, _ := strconv.Atoi(b[len("page-") : len(b)-len(".png")])
		return n
	}
	sort.Slice(files, func(i, j int) bool { return num(files[i]) < num(files[j]) })
	if len(files) != want {
		return nil, fmt.Errorf("%w: rendered %d of %d pages", ErrRenderer, len(files), want)
	}
	return files, nil
}

// pngToJPEG checks the rendered page's dimensions before decoding it, then
// re-encodes it as baseline JPEG.
func pngToJPEG(path string, lim sanitize.Limits) ([]byte, int, int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: %v", ErrRenderer, err)
	}
	defer f.Close()
	cfg, err := png.DecodeConfig(f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: page image: %v", ErrRenderer, err)
	}
	maxPix := lim.MaxImagePixels
	if maxPix <= 0 {
		maxPix = defaultMaxPixels
	}
	if int64(cfg.Width)*int64(cfg.Height) > maxPix || cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, 0, 0, fmt.Errorf("%w: rendered page %dx%d", ErrLimit, cfg.Width, cfg.Height)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, 0, 0, err
	}
	img, err := png.Decode(f)
	if err != nil {
		return nil, 0, 0, fmt.Errorf("%w: page image: %v", ErrRenderer, err)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: jpegQuality}); err != nil {
		return nil, 0, 0, fmt.Errorf("pdf: encode page: %w", err)
	}
	return buf.Bytes(), cfg.Width, cfg.Height, nil
}
