// Package soffice converts legacy Office documents (Word 97, Excel 97,
// PowerPoint 97, RTF) to OOXML with a headless LibreOffice run as a
// sandboxed subprocess (issue 3 §2 Legacy OLE2/RTF: "subprocess, timeout, no
// network, check the output really exists").
//
// Every conversion gets its own temporary directory and LibreOffice profile
// (-env:UserInstallation), an empty environment, its own process group that
// is killed on timeout, and — when running as root with unshare(1) present —
// a fresh network namespace with no interfaces but loopback.
package soffice

import (
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"time"

	"github.com/kyojin/kyojin/sanitize"
)

// ErrUnavailable means LibreOffice is not installed.
var ErrUnavailable = errors.New("LibreOffice (soffice) not available")

// ErrFailed means the conversion did not produce a valid document.
var ErrFailed = errors.New("LibreOffice conversion failed")

// Converter runs conversions.
type Converter struct {
	Bin     string        // soffice binary; found on PATH when empty
	Timeout time.Duration // per conversion; 120 s when zero
	MaxOut  int64         // largest output accepted; 1 GiB when zero
	Log     *slog.Logger
}

// Filters are the LibreOffice export filters for each OOXML target.
var Filters = map[string]string{
	"docx": "docx:MS Word 2007 XML",
	"xlsx": "xlsx:Calc MS Excel 2007 XML",
	"pptx": "pptx:Impress MS PowerPoint 2007 XML",
}

func (c *Converter) bin() (string, error) {
	if c.Bin != "" {
		return c.Bin, nil
	}
	for _, n := range []string{"soffice", "libreoffice"} {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, d := range []string{"/usr/bin", "/usr/local/bin", "/opt/libreoffice/program"} {
			p := filepath.Join(d, n)
			if st, err := os.Stat(p); err == nil && !st.IsDir() {
				return p, nil
			}
		}
	}
	return "", ErrUnavailable
}

var (
	unshareOnce sync.Once
	unsharePath string
)

// netns returns the unshare command prefix when a network namespace can be
// created here (root and a working unshare), nil otherwise.
func netns() []string {
	unshareOnce.Do(func() {
		if os.Geteuid() != 0 {
			return
		}
		p, err := exec.LookPath("unshare")
		if err != nil {
			return
		}
		if exec.Command(p, "-n", "true").Run() == nil {
			unsharePath = p
		}
	})
	if unsharePath == "" {
		return nil
	}
	return []string{unsharePath, "-n", "--"}
}

// Convert writes the input to a private directory as input.<inExt>, converts
// it to outExt ("docx", "xlsx" or "pptx") and returns the open output file
// with its size. The caller must call cleanup, which removes everything.
func (c *Converter) Convert(ctx context.Context, r io.ReaderAt, size int64, inExt, outExt string) (f *os.File, n int64, cleanup func(), err error) {
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	filter, ok := Filters[outExt]
	if !ok {
		return nil, 0, nil, fmt.Errorf("soffice: unknown target %q", outExt)
	}
	bin, err := c.bin()
	if err != nil {
		return nil, 0, nil, err
	}
	dir, err := os.MkdirTemp("", "kyojin-soffice-")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("soffice: %w", err)
	}
	rmdir := func() { os.RemoveAll(dir) }
	defer func() {
		if err != nil {
			if f != nil {
				f.Close()
			}
			rmdir()
		}
	}()
	in := filepath.Join(dir, "input."+inExt)
	if err := writeFile(in, io.NewSectionReader(r, 0, size)); err != nil {
		return nil, 0, nil, fmt.Errorf("soffice: %w", err)
	}
	outDir := filepath.Join(dir, "out")
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 120 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	args := append(netns(), bin, "--headless", "--invisible", "--norestore", "--nologo", "--nodefault",
		"--nolockcheck", "--nofirststartwizard",
		"-env:UserInstallation=file://"+filepath.Join(dir, "profile"),
		"--convert-to", filter, "--outdir", outDir, in)
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	// An empty environment: no proxies, no display, no inherited secrets.
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/bin:/bin", "LANG=C.UTF-8", "TMPDIR=" + dir}
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, runErr := cmd.CombinedOutput()
	if cmd.Process != nil {
		// LibreOffice may leave helpers behind; the whole group goes.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	if ctx.Err() != nil {
		log.Warn("soffice: timeout", "timeout", timeout)
		return nil, 0, nil, fmt.Errorf("%w: timeout after %s", ErrFailed, timeout)
	}
	if runErr != nil {
		log.Warn("soffice: failed", "err", runErr, "output", truncate(out, 2000))
		return nil, 0, nil, fmt.Errorf("%w: %v", ErrFailed, runErr)
	}
	// soffice exits 0 even when it could not load the input: only the output
	// file tells (and it must be a real zip, not an empty or partial file).
	outPath := filepath.Join(outDir, "input."+outExt)
	st, err := os.Lstat(outPath)
	if err != nil || !st.Mode().IsRegular() || st.Size() == 0 {
		log.Warn("soffice: no output", "output", truncate(out, 2000))
		return nil, 0, nil, fmt.Errorf("%w: no output written", ErrFailed)
	}
	maxOut := c.MaxOut
	if maxOut <= 0 {
		maxOut = 1 << 30
	}
	if st.Size() > maxOut {
		return nil, 0, nil, fmt.Errorf("%w: output of %d bytes too large", ErrFailed, st.Size())
	}
	f, err = os.Open(outPath)
	if err != nil {
		return nil, 0, nil, fmt.Errorf("%w: %v", ErrFailed, err)
	}
	if _, err := zip.NewReader(f, st.Size()); err != nil {
		return nil, 0, nil, fmt.Errorf("%w: output is not a valid package: %v", ErrFailed, err)
	}
	return f, st.Size(), func() { f.Close(); rmdir() }, nil
}

func writeFile(name string, r io.Reader) error {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		b = b[:n]
	}
	return string(b)
}

// ConvertThen converts in (named with inExt) to outExt and runs next (the
// OOXML sanitizer) over the converted package, writing its output to w. The
// result's actions start with the conversion.
func (c *Converter) ConvertThen(ctx context.Context, in *sanitize.Input, inExt, outExt string, next sanitize.Handler, w io.Writer) (*sanitize.Result, error) {
	f, n, cleanup, err := c.Convert(ctx, in.R, in.Size, inExt, outExt)
	if err != nil {
		return nil, err
	}
	defer cleanup()
	conv := *in
	conv.Name = in.Name + "." + outExt
	conv.R, conv.Size = f, n
	conv.Type = sanitize.Type(outExt)
	res, err := next.Sanitize(ctx, &conv, w)
	if err != nil {
		return nil, fmt.Errorf("sanitizing converted %s: %w", outExt, err)
	}
	out := &sanitize.Result{OutType: res.OutType}
	out.Add("converted", inExt+"→"+outExt, 1)
	out.Actions = append(out.Actions, res.Actions...)
	return out, nil
}
