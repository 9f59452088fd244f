package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// DefaultParams is the second recommended option of RFC 9106 section 4
// ("if much less memory is available"): argon2id, 3 passes, 64 MiB, 4 lanes,
// 128-bit salt, 256-bit tag. About 0.1-0.3 s per hash on one server core;
// Service bounds how many run at once so that login floods cannot exhaust
// memory.
var DefaultParams = Params{Memory: 64 * 1024, Time: 3, Threads: 4, SaltLen: 16, KeyLen: 32}

// MinPasswordLen and MaxPasswordLen bound accepted passwords (in
// characters and bytes). Length, not composition rules, is what makes a
// password strong (NIST SP 800-63B 3.1.1.2); the upper bound keeps hashing
// cost predictable.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 256
)

// ErrWeakPassword is returned for passwords outside the length policy.
var ErrWeakPassword = errors.New("password does not meet the policy")

// ErrPasswordIsName is returned for a password equal to the user name.
var ErrPasswordIsName = errors.New("password equals the user name")

// CheckPasswordFor applies the password policy for the user named name:
// the length bounds, and not the user name itself (case-insensitive).
func CheckPasswordFor(name, pw string) error {
	if err := CheckPassword(pw); err != nil {
		return err
	}
	if name != "" && strings.EqualFold(strings.TrimSpace(pw), name) {
		return fmt.Errorf("%w: %w", ErrWeakPassword, ErrPasswordIsName)
	}
	return nil
}

// GeneratePassword returns a random password of 20 characters from an
// alphabet without look-alikes (about 117 bits), drawn without modulo bias.
func GeneratePassword() string {
	const alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	const limit = 256 - 256%len(alphabet) // reject bytes that would bias the draw
	out := make([]byte, 0, 20)
	b := make([]byte, 32)
	for len(out) < 20 {
		rand.Read(b)
		for _, c := range b {
			if int(c) < limit && len(out) < 20 {
				out = append(out, alphabet[int(c)%len(alphabet)])
			}
		}
	}
	return string(out)
}

// CheckPassword applies the password policy.
func CheckPassword(pw string) error {
	if n := utf8.RuneCountInString(pw); n < MinPasswordLen {
		return fmt.Errorf("%w: at least %d characters (got %d)", ErrWeakPassword, MinPasswordLen, n)
	}
	if len(pw) > MaxPasswordLen {
		return fmt.Errorf("%w: at most %d bytes", ErrWeakPassword, MaxPasswordLen)
	}
	return nil
}

// HashPassword returns the PHC string
// $argon2id$v=19$m=MEM,t=TIME,p=THREADS$SALT$HASH (unpadded base64).
func HashPassword(pw string, p Params) (string, error) {
	salt := make([]byte, p.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// parsePHC reads a hash written by HashPassword.
func parsePHC(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("not an argon2id hash")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return p, nil, nil, fmt.Errorf("unsupported argon2 version %q", parts[2])
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return p, nil, nil, fmt.Errorf("bad argon2 parameters %q", parts[3])
	}
	// Refuse parameters that would make one verification a denial of
	// service (a tampered hash must not allocate gigabytes).
	if p.Memory < 8 || p.Memory > 1024*1024 || p.Time < 1 || p.Time > 16 || p.Threads < 1 {
		return p, nil, nil, fmt.Errorf("argon2 parameters out of range %q", parts[3])
	}
	b64 := base64.RawStdEncoding
	if salt, err = b64.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("bad argon2 salt")
	}
	if key, err = b64.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 64 {
		return p, nil, nil, errors.New("bad argon2 hash")
	}
	p.SaltLen, p.KeyLen = uint32(len(salt)), uint32(len(key))
	return p, salt, key, nil
}

// VerifyPassword reports whether pw matches encoded, comparing in constant
// time, and whether the hash should be upgraded to want.
func VerifyPassword(pw, encoded string, want Params) (ok, rehash bool, err error) {
	if len(pw) > MaxPasswordLen {
		return false, false, nil
	}
	p, salt, key, err := parsePHC(encoded)
	if err != nil {
		return false, false, err
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	ok = subtle.ConstantTimeCompare(got, key) == 1
	rehash = ok && (p.Memory != want.Memory || p.Time != want.Time || p.Threads != want.Threads || p.KeyLen != want.KeyLen)
	return ok, rehash, nil
}
