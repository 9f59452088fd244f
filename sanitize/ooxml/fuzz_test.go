package ooxml

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/inspect/ooxmlinspect"
	"github.com/kyojin/kyojin/sanitize/internal/officetest"
)

func fuzzInput(b []byte) *sanitize.Input {
	return &sanitize.Input{R: bytes.NewReader(b), Size: int64(len(b)),
		Limits: sanitize.Limits{MaxDecompressedBytes: 8 << 20, MaxArchiveEntries: 1000}}
}

// FuzzSanitize feeds arbitrary packages to the handler (without its recover
// wrapper). Whenever it succeeds, the independent inspector must find the
// output clean: the handler never emits what the checker forbids.
func FuzzSanitize(f *testing.F) {
	for _, b := range [][]byte{officetest.WordActive(f), officetest.XlsxExternalLink(f),
		officetest.XlsmActive(f), officetest.PptmActive(f)} {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var out bytes.Buffer
		res, err := watchdog(t, func() (*sanitize.Result, error) {
			return New(nil).sanitize(context.Background(), fuzzInput(b), &out)
		})
		if err != nil {
			return
		}
		if res.OutType == "" {
			t.Fatal("success without OutType")
		}
		var fs []sanitize.Finding
		_, err = watchdog(t, func() (*sanitize.Result, error) {
			fs, err = ooxmlinspect.New().Inspect(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()))
			return nil, err
		})
		if err != nil || len(fs) != 0 {
			t.Fatalf("sanitized output not clean: %v %v", fs, err)
		}
	})
}

// FuzzWordFields mutates the body of a Word document (fields, fldSimple,
// objects). A successful sanitization must leave no field the inspector
// considers dangerous, and the edited XML must stay well-formed.
func FuzzWordFields(f *testing.F) {
	for _, s := range []string{officetest.DDEField, officetest.NestedDDEField, officetest.SimpleDDE,
		officetest.PageField, officetest.Para("x")} {
		f.Add(s)
	}
	ct := officetest.ContentTypes("/word/document.xml=" + officetest.CTDocx)
	rels := officetest.Rels(officetest.Rel{ID: "rId1", Type: "officeDocument", Target: "word/document.xml"})
	f.Fuzz(func(t *testing.T, body string) {
		if _, err := newScanner(strings.NewReader(officetest.WordBody(body)), kindOther, nil, false, &sanitize.Result{}).run(); err != nil {
			return // malformed input: nothing to compare
		}
		pkgBytes := officetest.Zip(t, officetest.Part{"[Content_Types].xml", ct}, officetest.Part{"_rels/.rels", rels},
			officetest.Part{"word/document.xml", officetest.WordBody(body)})
		var out bytes.Buffer
		if _, err := New(nil).sanitize(context.Background(), fuzzInput(pkgBytes), &out); err != nil {
			return
		}
		zr, err := zip.NewReader(bytes.NewReader(out.Bytes()), int64(out.Len()))
		if err != nil {
			t.Fatal(err)
		}
		for _, zf := range zr.File {
			if zf.Name != "word/document.xml" {
				continue
			}
			rc, _ := zf.Open()
			doc, _ := io.ReadAll(rc)
			rc.Close()
			if _, err := newScanner(bytes.NewReader(doc), kindOther, nil, false, &sanitize.Result{}).run(); err != nil {
				t.Fatalf("edited document is not well-formed: %v\n%s", err, doc)
			}
		}
		fs, _ := ooxmlinspect.New().Inspect(context.Background(), bytes.NewReader(out.Bytes()), int64(out.Len()))
		for _, fd := range fs {
			if fd.Construct != "control" && !strings.HasPrefix(fd.Construct, "oleObject") {
				t.Fatalf("field construct survived: %v", fs)
			}
		}
	})
}

// watchdog fails the fuzz input with every goroutine's stack when fn takes
// more than 10 s, so a hang is reported with its input instead of stalling.
func watchdog(t *testing.T, fn func() (*sanitize.Result, error)) (*sanitize.Result, error) {
	type ret struct {
		r   *sanitize.Result
		err error
	}
	ch := make(chan ret, 1)
	go func() {
		r, err := fn()
		ch <- ret{r, err}
	}()
	select {
	case v := <-ch:
		return v.r, v.err
	case <-time.After(10 * time.Second):
		buf := make([]byte, 1<<20)
		n := runtime.Stack(buf, true)
		panic("hang:\n" + string(buf[:n]))
	}
}
