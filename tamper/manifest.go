package tamper

import (
	"bytes"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Files inside a site's baseline directory.
const (
	ManifestFile  = "manifest.json"
	SignatureFile = "manifest.sig"
	objectsDir    = "objects"
	quarantineDir = "quarantine"
	restoreLog    = "restore.jsonl"
)

// ErrSignature means the manifest does not verify against the public key:
// the baseline itself was altered (or signed by another key) and must not
// be trusted.
var ErrSignature = errors.New("baseline signature does not verify")

// Manifest is the signed baseline of one site.
type Manifest struct {
	Version int       `json:"version"`
	Tenant  string    `json:"tenant"`
	Site    string    `json:"site"`
	Created time.Time `json:"created"`
	Roots   []Root    `json:"roots"`
	Pages   []Page    `json:"pages,omitempty"`
	// Objects says whether a content-addressed copy of every file was kept
	// (needed for restore).
	Objects bool `json:"objects"`
}

// Root is the baseline of one web root; entries are sorted by path.
type Root struct {
	Path    string  `json:"path"`
	Entries []Entry `json:"entries"`
}

// Page is the baseline of one fetched URL.
type Page struct {
	URL        string   `json:"url"`
	Mode       string   `json:"mode"`
	Status     int      `json:"status"`
	Location   string   `json:"location,omitempty"`
	SHA256     string   `json:"sha256"`
	NormSHA256 string   `json:"norm_sha256"`
	Analysis   Analysis `json:"analysis"`
}

// Save writes the manifest and its detached ed25519 signature into dir.
// Both files are written to temporaries first and renamed, so a reader sees
// the old pair or the new pair (the signature is renamed last).
func (m *Manifest) Save(dir string, priv ed25519.PrivateKey) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("baseline dir: %w", err)
	}
	body, err := json.Marshal(m)
	if err != nil {
		return fmt.Errorf("encode manifest: %w", err)
	}
	sig := base64.StdEncoding.EncodeToString(ed25519.Sign(priv, body)) + "\n"
	if err := writeAtomic(filepath.Join(dir, ManifestFile), body, 0o600); err != nil {
		return err
	}
	return writeAtomic(filepath.Join(dir, SignatureFile), []byte(sig), 0o600)
}

// LoadManifest reads and verifies the manifest in dir. A signature that
// fails gives ErrSignature; the manifest is not returned then.
func LoadManifest(dir string, pub ed25519.PublicKey) (*Manifest, error) {
	body, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	sigText, err := os.ReadFile(filepath.Join(dir, SignatureFile))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrSignature, err)
	}
	sig, err := base64.StdEncoding.DecodeString(string(bytes.TrimSpace(sigText)))
	if err != nil || len(sig) != ed25519.SignatureSize || !ed25519.Verify(pub, body, sig) {
		return nil, ErrSignature
	}
	var m Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("decode manifest: %w", err)
	}
	return &m, nil
}

// LoadSiteManifest loads the site's manifest with its public key and
// checks that it describes this site and these roots: a validly signed
// manifest of another site (same key) is as wrong as a forged one.
func LoadSiteManifest(s *Site) (*Manifest, error) {
	pub, err := LoadPublicKey(s.PublicKeyFile())
	if err != nil {
		return nil, err
	}
	m, err := LoadManifest(s.Baseline, pub)
	if err != nil {
		return nil, err
	}
	if m.Tenant != s.Tenant || m.Site != s.ID || len(m.Roots) != len(s.Roots) {
		return nil, fmt.Errorf("%w: manifest is for %s/%s", ErrSignature, m.Tenant, m.Site)
	}
	for i, r := range m.Roots {
		if r.Path != s.Roots[i] {
			return nil, fmt.Errorf("manifest root %s differs from the configured %s: make a new baseline", r.Path, s.Roots[i])
		}
	}
	return m, nil
}

// writeAtomic writes data to a temporary file beside path and renames it.
func writeAtomic(path string, data []byte, mode os.FileMode) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
