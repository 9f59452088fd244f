package auth

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/kyojin/kyojin/audit"
	"github.com/kyojin/kyojin/store"
)

// ErrNoWebAuthn is returned when security keys are not configured.
var ErrNoWebAuthn = errors.New("security keys are not configured")

// NewWebAuthn configures the relying party: rpID is the console's host
// name, origins the URLs the browser shows (https://host:port).
func NewWebAuthn(rpID string, origins []string) (*webauthn.WebAuthn, error) {
	return webauthn.New(&webauthn.Config{RPID: rpID, RPDisplayName: "kyojin", RPOrigins: origins})
}

// waUser adapts a store user and its keys to the library's User.
type waUser struct {
	u     *store.User
	creds []webauthn.Credential
}

func (w *waUser) WebAuthnID() []byte {
	// A stable, opaque handle: the user id, not the name (WebAuthn §14.6.1
	// advises against personal data in the user handle).
	b := make([]byte, 8)
	binary.BigEndian.PutUint64(b, uint64(w.u.ID))
	return b
}
func (w *waUser) WebAuthnName() string                       { return w.u.Name }
func (w *waUser) WebAuthnDisplayName() string                { return w.u.DisplayName }
func (w *waUser) WebAuthnCredentials() []webauthn.Credential { return w.creds }

func (s *Service) waUser(ctx context.Context, u *store.User) (*waUser, error) {
	stored, err := s.Store.WebAuthnCredentials(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	w := &waUser{u: u}
	for _, c := range stored {
		var cred webauthn.Credential
		if err := json.Unmarshal(c.Data, &cred); err != nil {
			return nil, fmt.Errorf("stored security key of %s: %w", u.Name, err)
		}
		w.creds = append(w.creds, cred)
	}
	return w, nil
}

// BeginWebAuthnRegistration returns the options for
// navigator.credentials.create and the ceremony state to keep server-side.
func (s *Service) BeginWebAuthnRegistration(ctx context.Context, u *store.User) (options []byte, state string, err error) {
	if s.WebAuthn == nil {
		return nil, "", ErrNoWebAuthn
	}
	w, err := s.waUser(ctx, u)
	if err != nil {
		return nil, "", err
	}
	exclude := make([]protocol.CredentialDescriptor, 0, len(w.creds))
	for _, c := range w.creds {
		exclude = append(exclude, c.Descriptor())
	}
	creation, sd, err := s.WebAuthn.BeginRegistration(w, webauthn.WithExclusions(exclude))
	if err != nil {
		return nil, "", err
	}
	return marshalCeremony(creation, sd)
}

func marshalCeremony(options any, sd *webauthn.SessionData) ([]byte, string, error) {
	opt, err := json.Marshal(options)
	if err != nil {
		return nil, "", err
	}
	st, err := json.Marshal(sd)
	return opt, string(st), err
}

// resume restores a ceremony begun by a Begin call.
func (s *Service) resume(ctx context.Context, u *store.User, state string) (*waUser, webauthn.SessionData, error) {
	var sd webauthn.SessionData
	if s.WebAuthn == nil {
		return nil, sd, ErrNoWebAuthn
	}
	if err := json.Unmarshal([]byte(state), &sd); err != nil {
		return nil, sd, fmt.Errorf("webauthn ceremony state: %w", err)
	}
	w, err := s.waUser(ctx, u)
	return w, sd, err
}

// FinishWebAuthnRegistration verifies the browser's attestation (in r's
// body) against state and stores the new key.
func (s *Service) FinishWebAuthnRegistration(ctx context.Context, u *store.User, state string, r *http.Request, name string) error {
	w, sd, err := s.resume(ctx, u, state)
	if err != nil {
		return err
	}
	cred, err := s.WebAuthn.FinishRegistration(w, sd, r)
	if err != nil {
		return fmt.Errorf("webauthn registration: %w", err)
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	if err := s.Store.AddWebAuthn(ctx, &store.WebAuthnCredential{ID: cred.ID, UserID: u.ID, Name: name, Data: data}); err != nil {
		return err
	}
	s.record(ctx, u.Name, audit.MFAEnrol, "user/"+u.Name, map[string]any{"factor": "webauthn", "name": name})
	return nil
}

// BeginWebAuthnLogin returns the options for navigator.credentials.get.
func (s *Service) BeginWebAuthnLogin(ctx context.Context, u *store.User) (options []byte, state string, err error) {
	if s.WebAuthn == nil {
		return nil, "", ErrNoWebAuthn
	}
	w, err := s.waUser(ctx, u)
	if err != nil {
		return nil, "", err
	}
	if len(w.creds) == 0 {
		return nil, "", ErrNoMFA
	}
	assertion, sd, err := s.WebAuthn.BeginLogin(w)
	if err != nil {
		return nil, "", err
	}
	return marshalCeremony(assertion, sd)
}

// FinishWebAuthnLogin verifies the assertion in r and updates the key's
// sign counter. Failures count towards the lockout like wrong codes.
func (s *Service) FinishWebAuthnLogin(ctx context.Context, u *store.User, state string, r *http.Request, ip string) error {
	w, sd, err := s.resume(ctx, u, state)
	if err != nil {
		return err
	}
	cred, err := s.WebAuthn.FinishLogin(w, sd, r)
	if err != nil {
		s.Log.Info("webauthn assertion rejected", "user", u.Name, "err", err)
		if locked, ferr := s.fail(ctx, u); ferr != nil {
			return ferr
		} else if locked {
			s.Store.DeleteUserSessions(ctx, u.ID)
		}
		s.record(ctx, u.Name, audit.LoginMFAFail, "user/"+u.Name, map[string]any{"ip": ip, "factor": "webauthn"})
		return ErrBadCode
	}
	if cred.Authenticator.CloneWarning {
		// A sign counter that went backwards suggests a cloned key.
		s.record(ctx, "system", "mfa.clone_warning", "user/"+u.Name, map[string]any{"factor": "webauthn"})
	}
	data, err := json.Marshal(cred)
	if err != nil {
		return err
	}
	if err := s.Store.UpdateWebAuthn(ctx, &store.WebAuthnCredential{ID: cred.ID, UserID: u.ID, Name: nameOf(ctx, s, u, cred.ID), Data: data}); err != nil {
		return err
	}
	u.FailedLogins = 0
	if err := s.Store.UpdateUser(ctx, u); err != nil {
		return err
	}
	s.record(ctx, u.Name, audit.LoginMFA, "user/"+u.Name, map[string]any{"ip": ip, "factor": "webauthn"})
	return nil
}

func nameOf(ctx context.Context, s *Service, u *store.User, id []byte) string {
	creds, _ := s.Store.WebAuthnCredentials(ctx, u.ID)
	for _, c := range creds {
		if string(c.ID) == string(id) {
			return c.Name
		}
	}
	return ""
}
