package auth

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"testing"

	"github.com/fxamacker/cbor/v2"
	"github.com/kyojin/kyojin/store"
)

const testOrigin = "https://kyojin.example.lg.jp"

// softKey is a minimal software authenticator (ES256, "none" attestation)
// that answers real WebAuthn ceremonies, so the library's verification runs
// end to end without a browser.
type softKey struct {
	id    []byte
	priv  *ecdsa.PrivateKey
	count uint32
}

func newSoftKey(t *testing.T) *softKey {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	id := make([]byte, 16)
	rand.Read(id)
	return &softKey{id: id, priv: priv}
}

var b64 = base64.RawURLEncoding

func clientData(t *testing.T, typ string, options []byte, origin string) []byte {
	var opts struct {
		PublicKey struct {
			Challenge string `json:"challenge"`
		} `json:"publicKey"`
	}
	if err := json.Unmarshal(options, &opts); err != nil {
		t.Fatal(err)
	}
	cd, _ := json.Marshal(map[string]string{"type": typ, "challenge": opts.PublicKey.Challenge, "origin": origin})
	return cd
}

func (k *softKey) authData(rpID string, flags byte, attested []byte) []byte {
	h := sha256.Sum256([]byte(rpID))
	k.count++
	var b bytes.Buffer
	b.Write(h[:])
	b.WriteByte(flags)
	binary.Write(&b, binary.BigEndian, k.count)
	b.Write(attested)
	return b.Bytes()
}

func (k *softKey) register(t *testing.T, options []byte, origin string) []byte {
	pad := func(b []byte) []byte { return append(make([]byte, 32-len(b)), b...) }
	cose, _ := cbor.Marshal(map[int]any{1: 2, 3: -7, -1: 1, -2: pad(k.priv.X.Bytes()), -3: pad(k.priv.Y.Bytes())})
	var att bytes.Buffer
	att.Write(make([]byte, 16)) // AAGUID
	binary.Write(&att, binary.BigEndian, uint16(len(k.id)))
	att.Write(k.id)
	att.Write(cose)
	ad := k.authData("kyojin.example.lg.jp", 0x01|0x04|0x40, att.Bytes()) // UP, UV, AT
	obj, _ := cbor.Marshal(map[string]any{"fmt": "none", "attStmt": map[string]any{}, "authData": ad})
	body, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]string{"clientDataJSON": b64.EncodeToString(clientData(t, "webauthn.create", options, origin)), "attestationObject": b64.EncodeToString(obj)}})
	return body
}

func (k *softKey) assert(t *testing.T, options []byte, origin string, userID int64) []byte {
	cd := clientData(t, "webauthn.get", options, origin)
	ad := k.authData("kyojin.example.lg.jp", 0x01|0x04, nil)
	h := sha256.Sum256(cd)
	digest := sha256.Sum256(append(append([]byte{}, ad...), h[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.priv, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	uh := make([]byte, 8)
	binary.BigEndian.PutUint64(uh, uint64(userID))
	body, _ := json.Marshal(map[string]any{"id": b64.EncodeToString(k.id), "rawId": b64.EncodeToString(k.id), "type": "public-key",
		"response": map[string]string{"clientDataJSON": b64.EncodeToString(cd), "authenticatorData": b64.EncodeToString(ad),
			"signature": b64.EncodeToString(sig), "userHandle": b64.EncodeToString(uh)}})
	return body
}

func TestWebAuthnCeremonies(t *testing.T) {
	f := newFixture(t)
	wa, err := NewWebAuthn("kyojin.example.lg.jp", []string{testOrigin})
	if err != nil {
		t.Fatal(err)
	}
	f.svc.WebAuthn = wa
	u := f.user(t, "officer", store.Grant{Role: "security-officer", Scope: "department:somu"})
	key := newSoftKey(t)

	if _, _, err := f.svc.BeginWebAuthnLogin(ctx, u); !errors.Is(err, ErrNoMFA) {
		t.Errorf("login before registration: %v", err)
	}
	opts, state, err := f.svc.BeginWebAuthnRegistration(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	// A response from a phishing origin is refused.
	req := httptest.NewRequest("POST", "/mfa/webauthn/register", bytes.NewReader(key.register(t, opts, "https://evil.example")))
	if err := f.svc.FinishWebAuthnRegistration(ctx, u, state, req, "phished"); err == nil {
		t.Error("registration from a foreign origin accepted")
	}
	req = httptest.NewRequest("POST", "/mfa/webauthn/register", bytes.NewReader(key.register(t, opts, testOrigin)))
	if err := f.svc.FinishWebAuthnRegistration(ctx, u, state, req, "USB キー"); err != nil {
		t.Fatalf("registration: %v", err)
	}
	st, _ := f.svc.MFA(ctx, u, nil)
	if st.Keys != 1 {
		t.Fatalf("keys after registration = %d", st.Keys)
	}

	opts, state, err = f.svc.BeginWebAuthnLogin(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	req = httptest.NewRequest("POST", "/login/webauthn", bytes.NewReader(key.assert(t, opts, testOrigin, u.ID)))
	if err := f.svc.FinishWebAuthnLogin(ctx, u, state, req, "ip"); err != nil {
		t.Fatalf("login: %v", err)
	}
	// The same challenge cannot be answered twice with a different key.
	other := newSoftKey(t)
	other.id = key.id
	req = httptest.NewRequest("POST", "/login/webauthn", bytes.NewReader(other.assert(t, opts, testOrigin, u.ID)))
	if err := f.svc.FinishWebAuthnLogin(ctx, u, state, req, "ip"); !errors.Is(err, ErrBadCode) {
		t.Errorf("assertion signed by another key: %v", err)
	}
	if got := f.actions(t); got != "user.create mfa.enrol login.mfa login.mfa_fail" {
		t.Errorf("audit actions = %s", got)
	}
	creds, _ := f.store.WebAuthnCredentials(ctx, u.ID)
	if len(creds) != 1 || creds[0].Name != "USB キー" || !bytes.Contains(creds[0].Data, []byte(`"signCount":3`)) {
		t.Errorf("stored credential after login = %s %s", creds[0].Name, creds[0].Data)
	}
}
