package pdf

import (
	"context"
	"errors"
	"fmt"
	"io"
	"reflect"
	"sort"
	"strings"
	"sync"
	"unsafe"

	"github.com/kyojin/kyojin/sanitize"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/types"
)

// maxDepth bounds recursion over direct objects; deeper nesting is hostile.
const maxDepth = 256

var confOnce sync.Once

// readConfig returns a pdfcpu configuration in relaxed mode (real-world
// files are rarely strictly valid) that never touches the user's config
// directory and carries the handler limits.
func readConfig(lim sanitize.Limits) *model.Configuration {
	confOnce.Do(func() { model.ConfigPath = "disable" })
	c := model.NewDefaultConfiguration()
	c.ValidationMode = model.ValidationRelaxed
	c.DecodeAllStreams = false
	c.UserPW, c.OwnerPW = "", ""
	if lim.MaxDecompressedBytes > 0 {
		c.Limits.MaxDecodeBytes = lim.MaxDecompressedBytes
	}
	if lim.MaxInputBytes > 0 {
		c.Limits.MaxStreamBytes = lim.MaxInputBytes
	}
	if lim.MaxImagePixels > 0 {
		c.Limits.MaxImagePixels = lim.MaxImagePixels
	}
	return c
}

// readContext parses data with pdfcpu. Encrypted files open only with the
// empty user password; anything else is ErrEncrypted (HELD by the engine).
func readContext(ctx context.Context, rs io.ReadSeeker, lim sanitize.Limits) (*model.Context, error) {
	pc, err := pdfcpu.ReadWithContext(ctx, rs, readConfig(lim))
	if err != nil {
		if errors.Is(err, pdfcpu.ErrWrongPassword) {
			return nil, fmt.Errorf("%w: %v", ErrEncrypted, err)
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("%w: %v", ErrParse, err)
	}
	if pc.XRefTable == nil || pc.Root == nil {
		return nil, fmt.Errorf("%w: no catalog", ErrParse)
	}
	return pc, nil
}

func structural(ctx context.Context, in *sanitize.Input, rs io.ReadSeeker, w io.Writer) (*sanitize.Result, error) {
	pc, err := readContext(ctx, rs, in.Limits)
	if err != nil {
		return nil, err
	}
	res := &sanitize.Result{OutType: sanitize.TypePDF}
	wk := &walker{
		xt:      pc.XRefTable,
		res:     res,
		keepURI: in.Option(OptKeepURIActions, "false") == "true",
		counted: map[unsafe.Pointer]bool{},
	}
	if err := wk.walkAll(ctx); err != nil {
		return nil, err
	}
	if pc.Encrypt != nil {
		res.Add("removed", "/Encrypt", 1)
	}
	if err := writeClean(ctx, pc.XRefTable, in.Limits, res, w); err != nil {
		return nil, err
	}
	return res, nil
}

// Action types (ISO 32000-1 §12.6.4) that are kept. Everything else is
// removed: JavaScript, Launch, SubmitForm, ImportData, GoToR, GoToE, Sound,
// Movie, Rendition (may carry JS), RichMediaExecute, GoTo3DView and any type
// this code does not know (fail closed).
var allowedActions = map[string]bool{
	"GoTo": true, "Named": true, "Thread": true, "Hide": true,
	"SetOCGState": true, "Trans": true, "ResetForm": true,
}

// knownActions lets a dict with an /S entry be recognised as an action even
// without /Type /Action; /S has other meanings elsewhere (page labels,
// transitions, structure elements), so it alone is not enough.
var knownActions = map[string]bool{
	"GoTo": true, "GoToR": true, "GoToE": true, "GoToDp": true, "Launch": true,
	"Thread": true, "URI": true, "Sound": true, "Movie": true, "Hide": true,
	"Named": true, "SubmitForm": true, "ResetForm": true, "ImportData": true,
	"JavaScript": true, "ECMAScript": true, "SetOCGState": true, "Rendition": true,
	"Trans": true, "GoTo3DView": true, "RichMediaExecute": true,
}

// Annotation subtypes removed with the annotation: attachments (embedded
// files) and multimedia that can carry scripts or foreign content.
var removedAnnots = map[string]bool{
	"FileAttachment": true, "RichMedia": true, "Sound": true, "Movie": true,
	"Screen": true, "3D": true,
}

// forbiddenName reports names that must not appear anywhere in the output,
// as keys or as values. The independent inspector checks the same list.
func (wk *walker) forbiddenName(n string) bool {
	switch n {
	case "JavaScript", "JS", "AA", "Launch", "SubmitForm", "ImportData", "GoToR",
		"GoToE", "XFA", "EmbeddedFile", "EmbeddedFiles", "FileAttachment", "EF":
		return true
	case "URI":
		return !wk.keepURI
	}
	return strings.HasPrefix(n, "RichMedia")
}

// removedKeys are entries deleted wherever they appear, with the name they
// are counted under ("" = not counted: the XFA rendering flag, portfolios
// and slideshows only make sense with content that is removed anyway).
var removedKeys = map[string]string{
	"JavaScript": "/JavaScript", "JS": "/JavaScript",
	"EmbeddedFiles": "/EmbeddedFiles", "EF": "/EmbeddedFile", "RF": "/EmbeddedFile",
	"XFA": "/XFA", "NeedsRendering": "", "Collection": "", "AlternatePresentations": "",
}

type walker struct {
	xt      *model.XRefTable
	res     *sanitize.Result
	keepURI bool
	// counted holds dicts (by map identity) already counted as removed, so an
	// action reached from its parent and again as a table entry counts once.
	counted map[unsafe.Pointer]bool
	n       int
}

func mapID(d types.Dict) unsafe.Pointer { return reflect.ValueOf(d).UnsafePointer() }

// resolve dereferences o (decoding objects stored in object streams).
func (wk *walker) resolve(o types.Object) types.Object {
	ir, ok := o.(types.IndirectRef)
	if !ok {
		return o
	}
	v, err := wk.xt.Dereference(ir)
	if err != nil {
		return nil
	}
	return v
}

func dictOf(o types.Object) types.Dict {
	switch v := o.(type) {
	case types.Dict:
		return v
	case types.StreamDict:
		return v.Dict
	}
	return nil
}

func nameOf(d types.Dict, key string) string {
	if n, ok := d[key].(types.Name); ok {
		return string(n)
	}
	return ""
}

// walkAll visits every object of the cross-reference table, including
// objects from object streams and objects no longer reachable.
func (wk *walker) walkAll(ctx context.Context) error {
	keys := make([]int, 0, len(wk.xt.Table))
	for k := range wk.xt.Table {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	for _, nr := range keys {
		if nr&255 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		e := wk.xt.Table[nr]
		if e == nil || e.Free {
			continue
		}
		if l, ok := e.Object.(types.LazyObjectStreamObject); ok {
			o, err := l.DecodedObject(ctx)
			if err != nil {
				// Unreadable compressed object: it is dropped (never written).
				e.Object = nil
				continue
			}
			e.Object = o
		}
		switch o := e.Object.(type) {
		case types.ObjectStreamDict, types.XRefStreamDict:
			// Containers; their objects are table entries of their own and
			// the containers themselves are never written.
		case types.StreamDict:
			if nameOf(o.Dict, "Type") == "EmbeddedFile" {
				// Embedded file data: drop the bytes outright.
				e.Object = nil
				continue
			}
			if err := wk.dict(o.Dict, 0); err != nil {
				return err
			}
		case types.Dict:
			if err := wk.dict(o, 0); err != nil {
				return err
			}
		case types.Array:
			a, err := wk.array(o, "", 0)
			if err != nil {
				return err
			}
			e.Object = a
		}
	}
	return nil
}

// classifyAction tells whether d is an action to remove and under which name
// it is counted. asAction says the context (an /A, /OpenAction, /Next, /AA
// entry) makes d an action even without /Type /Action.
func (wk *walker) classifyAction(d types.Dict, asAction bool) (remove bool, label string) {
	s := nameOf(d, "S")
	if _, hasJS := d["JS"]; hasJS {
		return true, "/JavaScript"
	}
	if !asAction && nameOf(d, "Type") != "Action" && !knownActions[s] {
		return false, ""
	}
	if s == "URI" && wk.keepURI {
		return false, ""
	}
	if allowedActions[s] {
		return false, ""
	}
	switch s {
	case "RichMediaExecute":
		return true, "/RichMedia"
	case "":
		return true, "/Action"
	case "ECMAScript":
		return true, "/JavaScript"
	}
	return true, "/" + types.EncodeName(s)
}

// count records label once per dict.
func (wk *walker) count(d types.Dict, label string) {
	id := mapID(d)
	if wk.counted[id] {
		return
	}
	wk.counted[id] = true
	wk.res.Add("removed", label, 1)
}

// sortedKeys gives a deterministic order, so the actions in the audit
// record come out the same on every run.
func sortedKeys(d types.Dict) []string {
	keys := make([]string, 0, len(d))
	for k := range d {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func clearDict(d types.Dict) {
	for k := range d {
		delete(d, k)
	}
}

// removeAction checks the action value v (direct or indirect, a dict or an
// array of dicts for /Next) and reports whether the entry holding it must
// be deleted. Removed action dicts are also emptied in place, so a second
// reference that this code missed points to nothing active.
func (wk *walker) removeAction(v types.Object) bool {
	d := dictOf(wk.resolve(v))
	if d == nil {
		return false
	}
	if len(d) == 0 {
		// Already emptied (removed and counted when first reached).
		return true
	}
	remove, label := wk.classifyAction(d, true)
	if remove {
		wk.count(d, label)
		clearDict(d)
	}
	return remove
}

func (wk *walker) dict(d types.Dict, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("%w: nesting deeper than %d", ErrLimit, maxDepth)
	}
	if len(d) == 0 {
		return nil
	}
	if remove, label := wk.classifyAction(d, false); remove {
		wk.count(d, label)
		clearDict(d)
		return nil
	}
	if st := nameOf(d, "Subtype"); removedAnnots[st] && (nameOf(d, "Type") == "Annot" || d["Rect"] != nil) {
		wk.count(d, "/"+st)
		clearDict(d)
		return nil
	}
	for _, k := range sortedKeys(d) {
		v, ok := d[k]
		if !ok {
			continue // deleted while handling an earlier key
		}
		switch k {
		case "AA":
			// Additional actions (§12.6.3) run on events: always removed.
			if ad := dictOf(wk.resolve(v)); ad != nil {
				for _, ak := range sortedKeys(ad) {
					wk.removeAction(ad[ak])
				}
			}
			delete(d, k)
			wk.res.Add("removed", "/AA", 1)
			continue
		case "OpenAction":
			if !wk.openActionOK(v) {
				delete(d, k)
				continue
			}
		case "A", "PA":
			if wk.removeAction(v) {
				delete(d, k)
				continue
			}
		case "Next":
			// In an action, /Next chains further actions (§12.6.2); in an
			// outline item it is the next sibling and is left alone.
			if (nameOf(d, "Type") == "Action" || knownActions[nameOf(d, "S")]) && wk.removeNext(d, v) {
				continue
			}
		}
		if label, ok := removedKeys[k]; ok {
			if label != "" {
				wk.res.Add("removed", label, 1)
			}
			delete(d, k)
			continue
		}
		if wk.forbiddenName(k) {
			wk.res.Add("removed", "/"+types.EncodeName(k), 1)
			delete(d, k)
			continue
		}
		switch o := v.(type) {
		case types.Name:
			if wk.forbiddenName(string(o)) {
				wk.res.Add("removed", "/"+types.EncodeName(string(o)), 1)
				delete(d, k)
			}
		case types.Dict:
			if err := wk.dict(o, depth+1); err != nil {
				return err
			}
		case types.Array:
			a, err := wk.array(o, k, depth+1)
			if err != nil {
				return err
			}
			d[k] = a
		}
	}
	return nil
}

// openActionOK tells whether a document open action may stay: only a
// destination or a plain GoTo runs when the file opens. Anything else is
// counted (under its action type, or /OpenAction for otherwise harmless
// types such as Named) and must be deleted by the caller.
func (wk *walker) openActionOK(v types.Object) bool {
	switch ov := wk.resolve(v).(type) {
	case types.Array:
		return true
	case types.Dict:
		if nameOf(ov, "S") == "GoTo" && ov["JS"] == nil {
			if next, ok := ov["Next"]; ok {
				wk.removeNext(ov, next) // counts what the chain would have run
				delete(ov, "Next")
			}
			return true
		}
		if !wk.removeAction(ov) {
			wk.count(ov, "/OpenAction")
		}
	}
	return false
}

// removeNext filters an action's /Next entry (a dict or an array of dicts);
// it reports whether the entry was deleted.
func (wk *walker) removeNext(d types.Dict, v types.Object) bool {
	if a, ok := wk.resolve(v).(types.Array); ok {
		out := a[:0]
		for _, e := range a {
			if !wk.removeAction(e) {
				out = append(out, e)
			}
		}
		if len(out) == 0 {
			delete(d, "Next")
			return true
		}
		if _, direct := v.(types.Array); direct {
			d["Next"] = out
		}
		return false
	}
	if wk.removeAction(v) {
		delete(d, "Next")
		return true
	}
	return false
}

// array sanitizes the direct elements of a and removes forbidden names and,
// in /Annots arrays, annotations that are removed as a whole.
func (wk *walker) array(a types.Array, key string, depth int) (types.Array, error) {
	if depth > maxDepth {
		return nil, fmt.Errorf("%w: nesting deeper than %d", ErrLimit, maxDepth)
	}
	out := a[:0]
	for _, e := range a {
		switch o := e.(type) {
		case types.Name:
			if wk.forbiddenName(string(o)) {
				wk.res.Add("removed", "/"+types.EncodeName(string(o)), 1)
				continue
			}
		case types.Dict:
			if err := wk.dict(o, depth+1); err != nil {
				return nil, err
			}
		case types.Array:
			s, err := wk.array(o, "", depth+1)
			if err != nil {
				return nil, err
			}
			e = s
		}
		if key == "Annots" {
			if d := dictOf(wk.resolve(e)); d != nil {
				if st := nameOf(d, "Subtype"); removedAnnots[st] {
					wk.count(d, "/"+st)
					clearDict(d)
					continue
				}
			}
		}
		out = append(out, e)
	}
	return out, nil
}
