package cloud

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/japanese"

	"github.com/kyojin/kyojin/logparse"
)

// TestHostileInput (issue 8 §5, bad input): malformed syslog, lines and
// frames over 64 KiB, invalid UTF-8, Shift_JIS text, control bytes, an
// oversized UDP datagram and a stream with an impossible octet count reach
// the intake of one tenant. Nothing crashes, the server keeps serving,
// every line is counted (received = parsed + failed), every failure is
// stored raw with its reason, and the cut stream is counted as a framing
// error.
func TestHostileInput(t *testing.T) {
	r, _ := start(t, 1024)
	r.in.Start(1)
	defer r.stop(t)
	sjis, err := japanese.ShiftJIS.NewEncoder().Bytes([]byte("<13>Nov 22 05:00:00 fw1 app: 管理者ログイン失敗 user=山田"))
	if err != nil {
		t.Fatal(err)
	}
	long := "<13>Nov 22 05:00:00 h app: " + strings.Repeat("A", 100<<10)
	longFrame := "<13>Nov 22 05:00:00 h app: " + strings.Repeat("B", 70000)
	frames := []string{
		"<999>garbage",            // PRI out of range, nothing else: failed
		"\x00\x01\x02binary junk", // not syslog: failed
		long,                      // over 64 KiB, newline framed: failed, kept cut
		"<13>Nov 22 05:00:00 h app: bad \xff\xfe bytes", // invalid UTF-8: parsed, escaped
		string(sjis), // Shift_JIS: decoded
		"<13>Nov 31 05:00:00 h app: impossible date",        // go-syslog refuses the stamp: loose frame
		"<13>Nov 22 05:00:00 h app: tab\there and \x1b[31m", // control bytes
		"<13>1 - - - - - - rfc5424 of nil values",
		"<165>1 2026-11-22T05:00:00Z host app - ID47 [bad sd here",
	}
	c, err := net.Dial("tcp", r.srv.Addr("tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range frames {
		fmt.Fprintf(c, "%s\n", f)
	}
	fmt.Fprintf(c, "%d %s", len(longFrame), longFrame) // octet counted, over 64 KiB: failed
	fmt.Fprintf(c, "\n   \n")                          // blank lines: no frames
	c.Close()
	// a stream whose octet count is absurd is cut and counted
	c2, _ := net.Dial("tcp", r.srv.Addr("tcp").String())
	fmt.Fprintf(c2, "2000000000 x")
	c2.Close()
	// an oversized, invalid UTF-8 datagram
	u, _ := net.Dial("udp", r.srv.Addr("udp").String())
	u.Write([]byte("<13>Nov 22 05:00:00 h udp: " + strings.Repeat("\xff", 60000)))
	u.Close()
	want := int64(len(frames) + 2)
	if !waitFor(10*time.Second, func() bool {
		s := r.in.Stats()["pref"]
		return s.Parsed+s.Failed >= want && s.Framing >= 1
	}) {
		t.Fatalf("not everything counted: %+v", r.in.Stats()["pref"])
	}
	// the server still serves after all of it
	c3, err := net.Dial("tcp", r.srv.Addr("tcp").String())
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c3, "<13>Nov 22 05:00:00 h app: still alive\n")
	c3.Close()
	if !waitFor(5*time.Second, func() bool { s := r.in.Stats()["pref"]; return s.Parsed+s.Failed >= want+1 }) {
		t.Fatalf("server stopped serving: %+v", r.in.Stats()["pref"])
	}
	r.stop(t)
	st := r.in.Stats()["pref"]
	if st.Received != want+1 || st.Parsed+st.Failed != st.Received || st.Dropped != 0 || st.Framing != 1 {
		t.Errorf("counters %+v, want %d received = parsed + failed, 1 framing error", st, want+1)
	}
	if st.Failed != 4 {
		t.Errorf("failed %d, want 4 (bad PRI, binary, two over 64 KiB)", st.Failed)
	}
	tooLong := search(t, r.store, "pref", "parse_error="+logparse.ErrTooLong.Error())
	if len(tooLong) != 2 || len(tooLong[0].Raw) != logparse.MaxLine || len(tooLong[1].Raw) != logparse.MaxLine {
		t.Errorf("over-long lines: %d events", len(tooLong))
	}
	if got := search(t, r.store, "pref", "parse_error=not a syslog message"); len(got) != 2 {
		t.Errorf("malformed lines kept raw: %d (%v)", len(got), raws(got))
	}
	if got := search(t, r.store, "pref", "charset=shift_jis", "host=fw1", "program=app"); len(got) != 1 || !strings.Contains(got[0].Fields["message"], "管理者ログイン失敗") {
		t.Errorf("Shift_JIS line: %d events", len(got))
	}
	inv := search(t, r.store, "pref", "charset=invalid-utf8")
	if len(inv) != 2 {
		t.Errorf("invalid UTF-8: %d events (TCP line and UDP datagram)", len(inv))
	}
	for _, ev := range inv {
		if !strings.Contains(ev.Raw, `\xFF`) {
			t.Errorf("invalid bytes not escaped in raw: %.80q", ev.Raw)
		}
	}
	if got := search(t, r.store, "pref", "message=still alive"); len(got) != 1 {
		t.Errorf("line after the hostile input: %d", len(got))
	}
}
