package sanitize_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
)

type handlerFunc func(ctx context.Context, in *sanitize.Input, w io.Writer) (*sanitize.Result, error)

func (f handlerFunc) Sanitize(ctx context.Context, in *sanitize.Input, w io.Writer) (*sanitize.Result, error) {
	return f(ctx, in, w)
}

type inspectorFunc func(r io.ReaderAt, size int64) ([]sanitize.Finding, error)

func (f inspectorFunc) Inspect(_ context.Context, r io.ReaderAt, size int64) ([]sanitize.Finding, error) {
	return f(r, size)
}

// noActiveText is a stand-in inspector: it flags the word ACTIVE.
var noActiveText = inspectorFunc(func(r io.ReaderAt, size int64) ([]sanitize.Finding, error) {
	b := make([]byte, size)
	r.ReadAt(b, 0)
	if bytes.Contains(b, []byte("ACTIVE")) {
		return []sanitize.Finding{{Construct: "ACTIVE", Location: "body"}}, nil
	}
	return nil, nil
})

func TestHandlerFailures(t *testing.T) {
	copyThrough := func(ctx context.Context, in *sanitize.Input, w io.Writer) (*sanitize.Result, error) {
		io.Copy(w, io.NewSectionReader(in.R, 0, in.Size))
		return &sanitize.Result{}, nil
	}
	tests := []struct {
		name    string
		h       handlerFunc
		insp    sanitize.Inspector
		data    string
		verdict sanitize.Verdict
		reason  string
	}{
		{"ok", copyThrough, noActiveText, "plain", sanitize.VerdictClean, ""},
		{"panic", func(context.Context, *sanitize.Input, io.Writer) (*sanitize.Result, error) { panic("boom") },
			noActiveText, "plain", sanitize.VerdictFailed, sanitize.ReasonPanic},
		{"timeout ignoring ctx", func(context.Context, *sanitize.Input, io.Writer) (*sanitize.Result, error) {
			time.Sleep(2 * time.Second)
			return &sanitize.Result{}, nil
		}, noActiveText, "plain", sanitize.VerdictFailed, sanitize.ReasonTimeout},
		{"parse error", func(context.Context, *sanitize.Input, io.Writer) (*sanitize.Result, error) {
			return nil, errors.New("bad xref")
		}, noActiveText, "plain", sanitize.VerdictFailed, sanitize.ReasonHandler},
		{"encrypted", func(context.Context, *sanitize.Input, io.Writer) (*sanitize.Result, error) {
			return nil, fmt.Errorf("needs password: %w", sanitize.ErrEncrypted)
		}, noActiveText, "plain", sanitize.VerdictHeld, sanitize.ReasonEncrypted},
		{"limit", func(context.Context, *sanitize.Input, io.Writer) (*sanitize.Result, error) {
			return nil, fmt.Errorf("too many pages: %w", sanitize.ErrLimit)
		}, noActiveText, "plain", sanitize.VerdictBlocked, sanitize.ReasonLimit},
		{"nil result", func(context.Context, *sanitize.Input, io.Writer) (*sanitize.Result, error) { return nil, nil },
			noActiveText, "plain", sanitize.VerdictFailed, sanitize.ReasonHandler},
		{"handler leaves active content", copyThrough, noActiveText, "ACTIVE", sanitize.VerdictFailed, sanitize.ReasonInspection},
		{"inspector panics", copyThrough, inspectorFunc(func(io.ReaderAt, int64) ([]sanitize.Finding, error) { panic("x") }),
			"plain", sanitize.VerdictFailed, sanitize.ReasonInspection},
		{"no inspector", copyThrough, nil, "plain", sanitize.VerdictFailed, sanitize.ReasonNoInspector},
		{"output over the limit", func(ctx context.Context, in *sanitize.Input, w io.Writer) (*sanitize.Result, error) {
			if _, err := w.Write(make([]byte, 2<<20)); err != nil {
				return nil, err
			}
			return &sanitize.Result{}, nil
		}, noActiveText, "plain", sanitize.VerdictBlocked, sanitize.ReasonLimit},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := sanitize.DefaultPolicy()
			p.Clamd.Enabled, p.Quarantine.Enabled = false, false
			p.Limits.Timeout = 300 * time.Millisecond
			p.Limits.MaxDecompressedBytes = 1 << 20
			insp := map[sanitize.Type]sanitize.Inspector{}
			if tc.insp != nil {
				insp[sanitize.TypeText] = tc.insp
			}
			e, err := sanitize.New(sanitize.Config{Policy: p, Handlers: map[sanitize.Type]sanitize.Handler{sanitize.TypeText: tc.h},
				Inspectors: insp, TempDir: t.TempDir()})
			if err != nil {
				t.Fatal(err)
			}
			out, err := e.Process(context.Background(), sanitize.Submission{Name: "a.txt", R: bytes.NewReader([]byte(tc.data)), Size: int64(len(tc.data))})
			if err != nil {
				t.Fatal(err)
			}
			defer out.Close()
			rec := out.Record()
			if rec.Verdict != tc.verdict || rec.ReasonCode != tc.reason {
				t.Errorf("verdict %s %s (%s), want %s %s", rec.Verdict, rec.ReasonCode, rec.Reason, tc.verdict, tc.reason)
			}
			if (out.Output != nil) != tc.verdict.Delivered() {
				t.Errorf("output present = %v for %s", out.Output != nil, rec.Verdict)
			}
		})
	}
}

func TestNewRequiresScannerAndVault(t *testing.T) {
	p := sanitize.DefaultPolicy()
	if _, err := sanitize.New(sanitize.Config{Policy: p}); err == nil {
		t.Error("engine built without the scanner the policy requires")
	}
	p.Clamd.Enabled = false
	if _, err := sanitize.New(sanitize.Config{Policy: p}); err == nil {
		t.Error("engine built without the vault the policy requires")
	}
}

func TestTooLarge(t *testing.T) {
	p := sanitize.DefaultPolicy()
	p.Clamd.Enabled, p.Quarantine.Enabled = false, false
	p.Limits.MaxInputBytes = 4
	e, _ := sanitize.New(sanitize.Config{Policy: p, TempDir: t.TempDir()})
	out, _ := e.Process(context.Background(), sanitize.Submission{Name: "a.txt", R: bytes.NewReader([]byte("12345")), Size: 5})
	if r := out.Record(); r.Verdict != sanitize.VerdictBlocked || r.ReasonCode != sanitize.ReasonTooLarge {
		t.Errorf("verdict %s %s", r.Verdict, r.ReasonCode)
	}
}
