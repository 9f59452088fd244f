package auth

import (
	"strings"
	"testing"
)

// Stored hashes come from the database (or a restored backup): a tampered
// one must be rejected without panicking or allocating without bound.
func FuzzVerifyPassword(f *testing.F) {
	h, _ := HashPassword("correct horse battery", testParams)
	f.Add("correct horse battery", h)
	f.Add("x", "$argon2id$v=19$m=64,t=1,p=1$$")
	f.Add("x", strings.Replace(h, "m=64", "m=4294967295", 1))
	f.Fuzz(func(t *testing.T, pw, encoded string) {
		ok, _, err := VerifyPassword(pw, encoded, testParams)
		if err != nil && ok {
			t.Fatal("error and success at once")
		}
		if ok && encoded != h {
			if p, _, _, err := parsePHC(encoded); err != nil || p.Memory > 1024*1024 {
				t.Fatalf("accepted an unparseable hash %q", encoded)
			}
		}
	})
}
