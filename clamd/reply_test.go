package clamd

import (
	"strings"
	"testing"
)

// FuzzReply: clamd's reply is parsed; nothing but "... FOUND" may name a virus
// and nothing but "... OK" may be clean.
func FuzzReply(f *testing.F) {
	for _, s := range []string{"stream: OK", "stream: Eicar FOUND", "x ERROR", "", ": FOUND"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, reply string) {
		virus, err := parseScanReply(reply)
		switch {
		case err == nil && virus == "" && !strings.HasSuffix(reply, "OK"):
			t.Fatalf("%q taken as clean", reply)
		case virus != "" && !strings.HasSuffix(reply, " FOUND"):
			t.Fatalf("%q taken as infected", reply)
		}
	})
}
