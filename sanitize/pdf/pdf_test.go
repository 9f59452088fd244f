package pdf_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kyojin/kyojin/internal/goldenfile"
	"github.com/kyojin/kyojin/sanitize"
	"github.com/kyojin/kyojin/sanitize/inspect/pdfinspect"
	fx "github.com/kyojin/kyojin/sanitize/internal/pdffixture"
	"github.com/kyojin/kyojin/sanitize/pdf"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
)

var update = flag.Bool("update", false, "rewrite golden files")

func run(t testing.TB, in []byte, opts map[string]string, lim sanitize.Limits) ([]byte, *sanitize.Result, error) {
	t.Helper()
	var out bytes.Buffer
	res, err := pdf.New(nil).Sanitize(context.Background(), &sanitize.Input{
		Name: "test.pdf", Type: sanitize.TypePDF, R: bytes.NewReader(in), Size: int64(len(in)),
		Options: opts, Limits: lim,
	}, &out)
	return out.Bytes(), res, err
}

func inspect(t testing.TB, b []byte, allowURI bool) []sanitize.Finding {
	t.Helper()
	fs, err := (&pdfinspect.Inspector{AllowURI: allowURI}).Inspect(context.Background(), bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatalf("inspect: %v", err)
	}
	return fs
}

func constructs(fs []sanitize.Finding) []string {
	var out []string
	for _, f := range fs {
		out = append(out, f.Construct)
	}
	return out
}

// qpdfFindings is the second, external check: qpdf rewrites the file with
// every object uncompressed and outside object streams, and the dictionary
// text (stream data left out) is searched for active constructs.
var (
	reQDFName  = regexp.MustCompile(`/(JavaScript|JS|AA|Launch|SubmitForm|ImportData|GoToR|GoToE|XFA|EmbeddedFiles?|FileAttachment|EF|RichMedia\w*|URI)[\s/<>\[\]()]`)
	reQDFOpen  = regexp.MustCompile(`/OpenAction\s+(\d+)\s+0\s+R`)
	reQDFOpenD = regexp.MustCompile(`/OpenAction\s*<<`)
	reStream   = regexp.MustCompile(`(?s)\nstream\n.*?\nendstream`)
)

func qpdfFindings(t testing.TB, b []byte, allowURI bool) []string {
	t.Helper()
	qpdf, err := exec.LookPath("qpdf")
	if err != nil {
		t.Log("qpdf not installed: skipping the qpdf cross-check")
		return nil
	}
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(qpdf, "--qdf", "--object-streams=disable", in, "-").Output()
	var ee *exec.ExitError
	if err != nil && !(errors.As(err, &ee) && ee.ExitCode() == 3) { // 3 = warnings
		return []string{"qpdf cannot read: " + err.Error()}
	}
	text := reStream.ReplaceAllString(string(out), "\nstream\nendstream")
	var found []string
	for _, m := range reQDFName.FindAllStringSubmatch(text, -1) {
		if m[1] == "URI" && allowURI {
			continue
		}
		found = append(found, "/"+m[1])
	}
	if reQDFOpenD.MatchString(text) && !regexp.MustCompile(`/OpenAction\s*<<[^>]*/S\s*/GoTo[\s/>]`).MatchString(text) {
		found = append(found, "/OpenAction")
	}
	for _, m := range reQDFOpen.FindAllStringSubmatch(text, -1) {
		obj := regexp.MustCompile(`(?s)\n` + m[1] + ` 0 obj\n(.*?)\nendobj`).FindStringSubmatch(text)
		if obj != nil && !strings.HasPrefix(strings.TrimSpace(obj[1]), "[") && !regexp.MustCompile(`/S\s*/GoTo[\s/>]`).MatchString(obj[1]) {
			found = append(found, "/OpenAction")
		}
	}
	return found
}

func pageCount(t testing.TB, b []byte) int {
	t.Helper()
	qpdf, err := exec.LookPath("qpdf")
	if err != nil {
		return -1
	}
	f := filepath.Join(t.TempDir(), "p.pdf")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := exec.Command(qpdf, "--show-npages", f).Output()
	n, err := strconv.Atoi(strings.TrimSpace(string(out)))
	if err != nil {
		return 0
	}
	return n
}

func golden(t *testing.T, name string, actions []sanitize.Action) {
	t.Helper()
	got, _ := json.MarshalIndent(actions, "", "  ")
	goldenfile.Check(t, "sanitize/pdf", filepath.Join("golden", name+".json"), append(got, '\n'), *update)
}

func TestStructuralFixtures(t *testing.T) {
	for _, f := range fixtures() {
		t.Run(f.name, func(t *testing.T) {
			in := f.doc.Bytes()
			allowURI := f.options["keep_uri_actions"] == "true"
			found := constructs(inspect(t, in, allowURI))
			for _, c := range f.inInput {
				if c == "/URI" && allowURI {
					found = constructs(inspect(t, in, false))
				}
				if !hasConstruct(found, c) {
					t.Errorf("inspector missed %s in the input; found %v", c, found)
				}
			}
			if len(f.inInput) == 0 && len(found) > 0 {
				t.Errorf("inspector flags the clean input: %v", found)
			}
			out, res, err := run(t, in, f.options, sanitize.Limits{})
			if err != nil {
				t.Fatalf("sanitize: %v", err)
			}
			if res.OutType != sanitize.TypePDF {
				t.Errorf("OutType = %q", res.OutType)
			}
			golden(t, f.name, res.Actions)
			for _, s := range f.notInOutput {
				if bytes.Contains(out, []byte(s)) {
					t.Errorf("output still contains %q", s)
				}
			}
			if fs := inspect(t, out, allowURI); len(fs) > 0 {
				t.Errorf("inspector finds %v in the output", fs)
			}
			if q := qpdfFindings(t, out, allowURI); len(q) > 0 {
				t.Errorf("qpdf check finds %v in the output", q)
			}
			if n := pageCount(t, out); n != -1 && n != 1 {
				t.Errorf("output has %d pages, want 1", n)
			}
			if allowURI && !bytes.Contains(out, []byte("/URI")) {
				t.Errorf("keep_uri_actions=true but the URI action is gone")
			}
			// Idempotence: a second pass has nothing left to remove.
			_, res2, err := run(t, out, f.options, sanitize.Limits{})
			if err != nil {
				t.Fatalf("second pass: %v", err)
			}
			if len(res2.Actions) != 0 {
				t.Errorf("second pass still removes %v", res2.Actions)
			}
		})
	}
}

func TestCleanTextSurvives(t *testing.T) {
	pdftotext, err := exec.LookPath("pdftotext")
	if err != nil {
		t.Skip("pdftotext not installed (poppler-utils)")
	}
	out, _, err := run(t, fx.Doc{Root: 1, ObjStm: true, Objs: fx.Page("Hello kyojin", "", "")}.Bytes(), nil, sanitize.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "o.pdf")
	os.WriteFile(f, out, 0o600)
	txt, err := exec.Command(pdftotext, f, "-").Output()
	if err != nil || !strings.Contains(string(txt), "Hello kyojin") {
		t.Errorf("text lost: %q %v", txt, err)
	}
}

// TestBadFiles runs testdata/*.bad.pdf; the .err file next to each holds
// the expected error text.
func TestBadFiles(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.bad.pdf")
	if len(files) == 0 {
		t.Fatal("no testdata/*.bad.pdf")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			in, _ := os.ReadFile(file)
			want, err := os.ReadFile(file + ".err")
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = run(t, in, nil, sanitize.Limits{})
			if err == nil || !strings.Contains(err.Error(), strings.TrimSpace(string(want))) {
				t.Errorf("err = %v, want it to contain %q", err, strings.TrimSpace(string(want)))
			}
		})
	}
}

func TestMalformed(t *testing.T) {
	good := fixtureNamed(t, "js-objstm").doc.Bytes()
	cases := map[string][]byte{
		"truncated-half":  good[:len(good)/2],
		"truncated-tail":  good[:len(good)-40],
		"no-xref":         bytes.Split(good, []byte("startxref"))[0],
		"empty":           {},
		"header-only":     []byte("%PDF-1.7\n"),
		"garbage-objects": []byte("%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj 2 0 obj << /Kids [ 3 0 R"),
	}
	for name, in := range cases {
		for _, fallback := range []string{"block", "raster"} {
			t.Run(name+"/"+fallback, func(t *testing.T) {
				out, res, err := run(t, in, map[string]string{"fallback": fallback}, sanitize.Limits{Timeout: 30 * time.Second})
				if err != nil {
					if errors.Is(err, pdf.ErrEncrypted) {
						t.Errorf("malformed file reported as encrypted: %v", err)
					}
					return // blocked: fine
				}
				if len(out) == 0 || res == nil {
					t.Fatal("no error and no output")
				}
				if fs := inspect(t, out, false); len(fs) > 0 {
					t.Errorf("output of malformed input has %v", fs)
				}
			})
		}
	}
}

func TestOptionsAndLimits(t *testing.T) {
	in := fixtureNamed(t, "clean").doc.Bytes()
	if _, _, err := run(t, in, map[string]string{"mode": "magic"}, sanitize.Limits{}); !errors.Is(err, pdf.ErrOption) {
		t.Errorf("bad mode: err = %v", err)
	}
	if _, _, err := run(t, in, map[string]string{"fallback": "pass"}, sanitize.Limits{}); !errors.Is(err, pdf.ErrOption) {
		t.Errorf("bad fallback: err = %v", err)
	}
	if _, _, err := run(t, in, nil, sanitize.Limits{MaxInputBytes: 10}); !errors.Is(err, pdf.ErrLimit) {
		t.Errorf("input limit: err = %v", err)
	}
	two := fx.Doc{Root: 1, Objs: []fx.Obj{
		{Num: 1, Body: "<</Type /Catalog /Pages 2 0 R>>"},
		{Num: 2, Body: "<</Type /Pages /Kids [3 0 R 4 0 R] /Count 2>>"},
		{Num: 3, Body: "<</Type /Page /Parent 2 0 R /MediaBox [0 0 200 200]>>"},
		{Num: 4, Body: "<</Type /Page /Parent 2 0 R /MediaBox [0 0 200 200]>>"},
	}}.Bytes()
	if _, _, err := run(t, two, nil, sanitize.Limits{MaxPages: 1}); !errors.Is(err, pdf.ErrLimit) {
		t.Errorf("page limit: err = %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := pdf.New(nil).Sanitize(ctx, &sanitize.Input{R: bytes.NewReader(in), Size: int64(len(in))}, &bytes.Buffer{})
	if err == nil {
		t.Error("cancelled context: no error")
	}
}

func encrypt(t *testing.T, in []byte, userPW string) []byte {
	t.Helper()
	api.DisableConfigDir()
	conf := model.NewAESConfiguration(userPW, "owner-secret", 256)
	var out bytes.Buffer
	if err := api.Encrypt(bytes.NewReader(in), &out, conf); err != nil {
		t.Fatalf("encrypt fixture: %v", err)
	}
	return out.Bytes()
}

func TestEncrypted(t *testing.T) {
	in := fixtureNamed(t, "openaction-js").doc.Bytes()
	t.Run("user-password", func(t *testing.T) {
		_, _, err := run(t, encrypt(t, in, "secret"), map[string]string{"fallback": "raster"}, sanitize.Limits{})
		if !errors.Is(err, pdf.ErrEncrypted) {
			t.Fatalf("err = %v, want ErrEncrypted", err)
		}
	})
	t.Run("empty-user-password", func(t *testing.T) {
		enc := encrypt(t, in, "")
		if fs := constructs(inspect(t, enc, false)); !hasConstruct(fs, "/Encrypt") {
			t.Errorf("inspector does not flag encryption: %v", fs)
		}
		out, res, err := run(t, enc, nil, sanitize.Limits{})
		if err != nil {
			t.Fatalf("sanitize: %v", err)
		}
		if !hasAction(res, "/Encrypt") || !hasAction(res, "/JavaScript") {
			t.Errorf("actions = %v", res.Actions)
		}
		if fs := inspect(t, out, false); len(fs) > 0 {
			t.Errorf("output has %v", fs)
		}
	})
}

func hasAction(res *sanitize.Result, object string) bool {
	for _, a := range res.Actions {
		if a.Object == object && a.Count > 0 {
			return true
		}
	}
	return false
}

func haveRenderer() bool {
	for _, b := range []string{"mutool", "pdftoppm"} {
		if _, err := exec.LookPath(b); err == nil {
			return true
		}
	}
	return false
}

func TestRaster(t *testing.T) {
	if !haveRenderer() {
		t.Skip("neither mutool (mupdf-tools) nor pdftoppm (poppler-utils) installed")
	}
	for _, name := range []string{"js-objstm", "hex-escaped-names", "launch"} {
		f := fixtureNamed(t, name)
		t.Run(f.name, func(t *testing.T) {
			out, res, err := run(t, f.doc.Bytes(), map[string]string{"mode": "raster", "raster_dpi": "50"}, sanitize.Limits{Timeout: time.Minute})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Actions) != 1 || res.Actions[0].Kind != "converted" || res.Actions[0].Count != 1 {
				t.Errorf("actions = %+v", res.Actions)
			}
			if fs := inspect(t, out, false); len(fs) > 0 {
				t.Errorf("raster output has %v", fs)
			}
			if n := pageCount(t, out); n != -1 && n != 1 {
				t.Errorf("pages = %d", n)
			}
			if !bytes.Contains(out, []byte("/MediaBox [0 0 612.00 792.00]")) {
				t.Error("page size not preserved")
			}
		})
	}
	t.Run("page-limit", func(t *testing.T) {
		_, _, err := run(t, fixtureNamed(t, "clean").doc.Bytes(), map[string]string{"mode": "raster"}, sanitize.Limits{MaxPages: 0, MaxImagePixels: 100})
		if !errors.Is(err, pdf.ErrLimit) {
			t.Errorf("pixel limit: err = %v", err)
		}
	})
	t.Run("fallback", func(t *testing.T) {
		// Without a %PDF header pdfcpu refuses the file; the renderers
		// still draw it. fallback=raster converts it, fallback=block blocks.
		in := bytes.Replace(fixtureNamed(t, "openaction-js").doc.Bytes(), []byte("%PDF-1.7"), []byte("%XYZ-1.7"), 1)
		if _, _, err := run(t, in, map[string]string{"fallback": "block"}, sanitize.Limits{}); !errors.Is(err, pdf.ErrParse) {
			t.Fatalf("fallback=block: err = %v, want ErrParse", err)
		}
		out, res, err := run(t, in, map[string]string{"fallback": "raster"}, sanitize.Limits{Timeout: time.Minute})
		if err != nil {
			t.Fatalf("fallback=raster: %v", err)
		}
		if len(res.Actions) != 1 || res.Actions[0].Kind != "converted" {
			t.Errorf("actions = %+v", res.Actions)
		}
		if fs := inspect(t, out, false); len(fs) > 0 {
			t.Errorf("fallback output has %v", fs)
		}
	})
}

// TestOutlineSiblingsKept: /Next in an outline item is a sibling link, not
// an action chain, and must survive.
func TestOutlineSiblingsKept(t *testing.T) {
	in := fx.Doc{Root: 1, Objs: with(fx.Page("x", "/Outlines 6 0 R", ""),
		fx.Obj{Num: 6, Body: "<</Type /Outlines /First 7 0 R /Last 8 0 R /Count 2>>"},
		fx.Obj{Num: 7, Body: "<</Title (one) /Parent 6 0 R /Next 8 0 R /Dest [3 0 R /Fit]>>"},
		fx.Obj{Num: 8, Body: "<</Title (two) /Parent 6 0 R /Prev 7 0 R /A <</S /GoTo /D [3 0 R /Fit]>>>>"},
	)}.Bytes()
	out, res, err := run(t, in, nil, sanitize.Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Actions) != 0 {
		t.Errorf("actions = %v, want none", res.Actions)
	}
	if n := bytes.Count(out, []byte("/Title")); n != 2 {
		t.Errorf("%d outline titles survive, want 2", n)
	}
	if !bytes.Contains(out, []byte("/S /GoTo")) {
		t.Error("GoTo action removed")
	}
}

// TestConcurrent: one Handler serves many files at once (the engine runs
// handlers in parallel); run with -race.
func TestConcurrent(t *testing.T) {
	h := pdf.New(nil)
	fs := fixtures()
	errs := make(chan error, len(fs)*4)
	for i := 0; i < 4; i++ {
		for _, f := range fs {
			go func() {
				in := f.doc.Bytes()
				var out bytes.Buffer
				_, err := h.Sanitize(context.Background(), &sanitize.Input{R: bytes.NewReader(in), Size: int64(len(in)), Options: f.options}, &out)
				if err == nil && len(inspect(t, out.Bytes(), f.options["keep_uri_actions"] == "true")) > 0 {
					err = errors.New(f.name + ": output not clean")
				}
				errs <- err
			}()
		}
	}
	for range len(fs) * 4 {
		if err := <-errs; err != nil {
			t.Error(err)
		}
	}
}

// TestHostileScaleTimeout: a large pathological file either finishes or is
// stopped by Limits.Timeout; the handler returns promptly either way.
func TestHostileScaleTimeout(t *testing.T) {
	var b bytes.Buffer
	b.WriteString("%PDF-1.7\n")
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, "%d 0 obj\n<</Length %d 0 R /Kids [%d 0 R]>>\nstream\n(trailer (\n", i+1, i+2, i+2)
	}
	start := time.Now()
	_, _, err := run(t, b.Bytes(), nil, sanitize.Limits{Timeout: 3 * time.Second})
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("handler took %v with a 3s timeout", d)
	}
	if err == nil {
		t.Error("pathological file passed")
	}
}
