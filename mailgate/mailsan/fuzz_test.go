package mailsan

import (
	"errors"
	"testing"
	"time"
)

// FuzzSanitize: the sanitizer never panics, and whatever it accepts comes
// out as strict MIME with no text/html part, no non-allow-listed
// attachment and no raw or injected header bytes.
func FuzzSanitize(f *testing.F) {
	for _, tc := range goldenCases(&testing.T{}) {
		f.Add([]byte(tc.msg))
	}
	f.Add([]byte("Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/html\r\n\r\n<script>x</script>\r\n--x--"))
	f.Add([]byte("Subject: =?iso-2022-jp?B?GyRCJCIbKEI=?=\r\n\r\n\x1b$B$\"\x1b(B"))
	s, _ := newTestSanitizer(f, DefaultPolicy())
	f.Fuzz(func(t *testing.T, msg []byte) {
		start := time.Now()
		out, _, err := run1(t, s, msg)
		if d := time.Since(start); d > 20*time.Second { // generous: the machine may be loaded
			t.Fatalf("slow input: %v", d)
		}
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrPolicy) && !errors.Is(err, ErrLoop) {
				t.Fatalf("unexpected error class: %v", err)
			}
			return
		}
		if err := checkInvariants(out); err != nil {
			t.Fatalf("%v\ninput: %q\noutput:\n%s", err, msg, out)
		}
	})
}
