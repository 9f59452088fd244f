// Package aeszip writes and reads password-protected ZIP files in the
// WinZip AES format (AE-2, 256-bit): PBKDF2-HMAC-SHA1 key derivation, AES
// in WinZip's little-endian counter mode, HMAC-SHA1 over the ciphertext,
// compression method 99 with the 0x9901 extra field. 7-Zip, WinZip and the
// archivers common in Japanese local government (Lhaplus, CubeICE) open
// it; the legacy ZipCrypto scheme is broken and is never written.
//
// Package transfer uses it for exports from LGWAN classified 機密性2 or
// above, which the policy requires to leave encrypted (guideline standards
// clause 2, handling of information assets by classification).
//
// The format is the public "AES Encryption Information: Encryption
// Specification AE-1 and AE-2" by WinZip Computing.
package aeszip

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha1"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"time"
	"unicode/utf8"
)

const (
	methodAES   = 99     // compression method of an AES-encrypted entry
	extraID     = 0x9901 // AES extra field header ID
	keyLen      = 32     // AES-256
	saltLen     = 16     // salt length for AES-256
	pwvLen      = 2      // password verification value
	macLen      = 10     // truncated HMAC-SHA1
	iterations  = 1000   // fixed by the specification
	strength256 = 3
	versionAE2  = 2 // AE-2: CRC is not stored (the MAC authenticates)
	zipVersion  = 51
)

// ErrPassword is returned by Open when the password is wrong.
var ErrPassword = errors.New("aeszip: wrong password")

// ErrAuth is returned by Open when the authentication code does not match:
// the entry was altered or truncated.
var ErrAuth = errors.New("aeszip: authentication failed")

// ErrFormat is returned by Open for an entry that is not WinZip AES-256.
var ErrFormat = errors.New("aeszip: not a WinZip AES-256 entry")

// Writer writes an encrypted ZIP archive; every entry uses the same
// password with its own random salt.
type Writer struct {
	zw       *zip.Writer
	password string
	// TempDir holds the compressed copy of an entry while it is encrypted
	// ("" = os.TempDir). The copy is removed before Add returns.
	TempDir string
}

// NewWriter returns a Writer to w. The password must not be empty.
func NewWriter(w io.Writer, password string) *Writer {
	return &Writer{zw: zip.NewWriter(w), password: password}
}

// Add compresses src, encrypts it and writes it as entry name. The sizes
// go in the local header (no data descriptor), which every reader accepts.
func (w *Writer) Add(name string, modified time.Time, src io.Reader) error {
	if w.password == "" {
		return errors.New("aeszip: empty password")
	}
	tmp, err := os.CreateTemp(w.TempDir, "aeszip-")
	if err != nil {
		return fmt.Errorf("aeszip: spool: %w", err)
	}
	defer os.Remove(tmp.Name())
	defer tmp.Close()
	src, method, err := chooseMethod(src)
	if err != nil {
		return fmt.Errorf("aeszip: read %s: %w", name, err)
	}
	var n int64
	if method == zip.Deflate {
		fw, _ := flate.NewWriter(tmp, flate.BestSpeed) // level is valid
		if n, err = io.Copy(fw, src); err == nil {
			err = fw.Close()
		}
	} else {
		n, err = io.Copy(tmp, src)
	}
	if err != nil {
		return fmt.Errorf("aeszip: compress %s: %w", name, err)
	}
	csize, err := tmp.Seek(0, io.SeekCurrent)
	if err != nil {
		return err
	}
	if _, err := tmp.Seek(0, io.SeekStart); err != nil {
		return err
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return err
	}
	enc, mac, pwv, err := deriveKeys(w.password, salt)
	if err != nil {
		return err
	}
	fh := &zip.FileHeader{Name: name, Method: methodAES, Flags: 0x1, ReaderVersion: zipVersion, CreatorVersion: zipVersion,
		CompressedSize64: uint64(saltLen + pwvLen + csize + macLen), UncompressedSize64: uint64(n),
		Extra: extraField(method)}
	if !isASCII(name) && utf8.ValidString(name) {
		fh.Flags |= 0x800 // the name is UTF-8 (APPNOTE 4.4.4 bit 11)
	}
	fh.ModifiedDate, fh.ModifiedTime = msdosTime(modified)
	out, err := w.zw.CreateRaw(fh)
	if err != nil {
		return fmt.Errorf("aeszip: %w", err)
	}
	if _, err := out.Write(salt); err != nil {
		return err
	}
	if _, err := out.Write(pwv); err != nil {
		return err
	}
	m := hmac.New(sha1.New, mac)
	cw := &ctrWriter{ctr: newCTR(enc), w: io.MultiWriter(out, m)}
	if _, err := io.Copy(cw, tmp); err != nil {
		return fmt.Errorf("aeszip: encrypt %s: %w", name, err)
	}
	_, err = out.Write(m.Sum(nil)[:macLen])
	return err
}

// sampleSize is how much of an entry decides whether to compress it.
const sampleSize = 256 << 10

// chooseMethod compresses a sample of the start of src: content that
// does not shrink by 5 % (Office files, PDF, images: already compressed)
// is stored, which is an order of magnitude faster than deflating it
// again. It returns a reader giving the whole of src.
func chooseMethod(src io.Reader) (io.Reader, uint16, error) {
	head := make([]byte, sampleSize)
	n, err := io.ReadFull(src, head)
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, 0, err
	}
	head = head[:n]
	var c countWriter
	fw, _ := flate.NewWriter(&c, flate.BestSpeed)
	fw.Write(head)
	fw.Close()
	r := io.MultiReader(bytes.NewReader(head), src)
	if c.n >= int64(n)*95/100 {
		return r, zip.Store, nil
	}
	return r, zip.Deflate, nil
}

type countWriter struct{ n int64 }

func (c *countWriter) Write(p []byte) (int, error) { c.n += int64(len(p)); return len(p), nil }

// Close finishes the archive (central directory).
func (w *Writer) Close() error { return w.zw.Close() }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// extraField is the AES extra data: vendor version AE-2, vendor "AE",
// strength 256 bits, and the real compression method.
func extraField(method uint16) []byte {
	b := make([]byte, 11)
	binary.LittleEndian.PutUint16(b[0:], extraID)
	binary.LittleEndian.PutUint16(b[2:], 7)
	binary.LittleEndian.PutUint16(b[4:], versionAE2)
	b[6], b[7] = 'A', 'E'
	b[8] = strength256
	binary.LittleEndian.PutUint16(b[9:], method)
	return b
}

func msdosTime(t time.Time) (date, tm uint16) {
	if t.IsZero() || t.Year() < 1980 {
		t = time.Date(1980, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	date = uint16(t.Day() + int(t.Month())<<5 + (t.Year()-1980)<<9)
	tm = uint16(t.Second()/2 + t.Minute()<<5 + t.Hour()<<11)
	return date, tm
}

// deriveKeys is PBKDF2-HMAC-SHA1 with 1000 iterations giving the AES key,
// the HMAC key and the two-byte password verifier, in that order.
func deriveKeys(password string, salt []byte) (enc, mac, pwv []byte, err error) {
	k, err := pbkdf2.Key(sha1.New, password, salt, iterations, 2*keyLen+pwvLen)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("aeszip: derive key: %w", err)
	}
	return k[:keyLen], k[keyLen : 2*keyLen], k[2*keyLen:], nil
}

// ctr is WinZip's counter mode: the 16-byte counter block is a
// little-endian integer starting at 1 (Go's cipher.NewCTR counts
// big-endian, so it cannot be used). The key stream is made 64 blocks at
// a time.
type ctr struct {
	block   cipher.Block
	counter [aes.BlockSize]byte
	stream  [64 * aes.BlockSize]byte
	used    int
}

func newCTR(key []byte) *ctr {
	b, err := aes.NewCipher(key)
	if err != nil {
		panic(err) // key length is fixed above
	}
	c := &ctr{block: b}
	c.used = len(c.stream)
	return c
}

func (c *ctr) refill() {
	for off := 0; off < len(c.stream); off += aes.BlockSize {
		for j := range c.counter {
			c.counter[j]++
			if c.counter[j] != 0 {
				break
			}
		}
		c.block.Encrypt(c.stream[off:off+aes.BlockSize], c.counter[:])
	}
	c.used = 0
}

func (c *ctr) xor(dst, src []byte) {
	for len(src) > 0 {
		if c.used == len(c.stream) {
			c.refill()
		}
		n := subtle.XORBytes(dst, src, c.stream[c.used:])
		c.used += n
		dst, src = dst[n:], src[n:]
	}
}

type ctrWriter struct {
	ctr *ctr
	w   io.Writer
	buf []byte
}

func (cw *ctrWriter) Write(p []byte) (int, error) {
	if cap(cw.buf) < len(p) {
		cw.buf = make([]byte, len(p))
	}
	b := cw.buf[:len(p)]
	cw.ctr.xor(b, p)
	return cw.w.Write(b)
}

// Open checks the password and the authentication code of an entry read
// with archive/zip and returns its content, at most limit bytes after
// decompression. Nothing is returned unless the whole entry authenticates.
func Open(f *zip.File, password string, limit int64) ([]byte, error) {
	if f.Method != methodAES {
		return nil, fmt.Errorf("%w: method %d", ErrFormat, f.Method)
	}
	method, err := parseExtra(f.Extra)
	if err != nil {
		return nil, err
	}
	raw, err := f.OpenRaw()
	if err != nil {
		return nil, err
	}
	if f.CompressedSize64 > uint64(limit)+saltLen+pwvLen+macLen || f.CompressedSize64 < saltLen+pwvLen+macLen {
		return nil, fmt.Errorf("%w: entry size %d", ErrFormat, f.CompressedSize64)
	}
	data, err := io.ReadAll(io.LimitReader(raw, int64(f.CompressedSize64)))
	if err != nil {
		return nil, err
	}
	if uint64(len(data)) != f.CompressedSize64 {
		return nil, fmt.Errorf("%w: truncated entry", ErrAuth)
	}
	return Decrypt(data, password, method, limit)
}

// Decrypt opens the raw data of an AES entry (salt, verifier, ciphertext,
// code) whose real compression method is method (0 stored, 8 deflate).
func Decrypt(data []byte, password string, method uint16, limit int64) ([]byte, error) {
	if len(data) < saltLen+pwvLen+macLen {
		return nil, fmt.Errorf("%w: entry too short", ErrFormat)
	}
	if method != zip.Store && method != zip.Deflate {
		return nil, fmt.Errorf("%w: inner method %d", ErrFormat, method)
	}
	salt, pwvGot := data[:saltLen], data[saltLen:saltLen+pwvLen]
	body, code := data[saltLen+pwvLen:len(data)-macLen], data[len(data)-macLen:]
	enc, macKey, pwv, err := deriveKeys(password, salt)
	if err != nil {
		return nil, err
	}
	if subtle.ConstantTimeCompare(pwv, pwvGot) != 1 {
		return nil, ErrPassword
	}
	var m hash.Hash = hmac.New(sha1.New, macKey)
	m.Write(body)
	if !hmac.Equal(m.Sum(nil)[:macLen], code) {
		return nil, ErrAuth
	}
	plain := make([]byte, len(body))
	newCTR(enc).xor(plain, body)
	if method == zip.Store {
		if int64(len(plain)) > limit {
			return nil, fmt.Errorf("%w: entry larger than %d bytes", ErrFormat, limit)
		}
		return plain, nil
	}
	fr := flate.NewReader(bytes.NewReader(plain))
	defer fr.Close()
	out, err := io.ReadAll(io.LimitReader(fr, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: inflate: %v", ErrFormat, err)
	}
	if int64(len(out)) > limit {
		return nil, fmt.Errorf("%w: entry larger than %d bytes", ErrFormat, limit)
	}
	return out, nil
}

// parseExtra finds the AES extra field and returns the real compression
// method; anything but AE-1/AE-2 with 256-bit strength is refused.
func parseExtra(extra []byte) (uint16, error) {
	for len(extra) >= 4 {
		id := binary.LittleEndian.Uint16(extra)
		size := int(binary.LittleEndian.Uint16(extra[2:]))
		extra = extra[4:]
		if size > len(extra) {
			break
		}
		if id == extraID {
			d := extra[:size]
			if size != 7 || d[2] != 'A' || d[3] != 'E' {
				return 0, fmt.Errorf("%w: bad AES extra field", ErrFormat)
			}
			if v := binary.LittleEndian.Uint16(d); v != 1 && v != versionAE2 {
				return 0, fmt.Errorf("%w: vendor version %d", ErrFormat, v)
			}
			if d[4] != strength256 {
				return 0, fmt.Errorf("%w: strength %d", ErrFormat, d[4])
			}
			return binary.LittleEndian.Uint16(d[5:]), nil
		}
		extra = extra[size:]
	}
	return 0, fmt.Errorf("%w: no AES extra field", ErrFormat)
}
