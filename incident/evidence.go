package incident

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/kyojin/kyojin/auth"
	"github.com/kyojin/kyojin/store"
)

// ErrEvidenceTampered means a stored attachment does not decrypt or does
// not match the hash recorded at upload.
var ErrEvidenceTampered = errors.New("incident: evidence failed its integrity check")

// evidenceAD binds a sealed attachment to its tenant, incident, id and
// hash: a ciphertext copied to another row does not open.
func evidenceAD(e *store.IncidentEvidence) []byte {
	return []byte("kyojin-evidence/v1\x00" + e.Tenant + "\x00" + e.IncidentID + "\x00" + e.ID + "\x00" + e.SHA256)
}

// sealEvidence fills SHA256, Size and Sealed from data.
func sealEvidence(s *auth.Sealer, e *store.IncidentEvidence, data []byte) error {
	sum := sha256.Sum256(data)
	e.SHA256, e.Size = hex.EncodeToString(sum[:]), int64(len(data))
	sealed, err := s.Seal(data, evidenceAD(e))
	if err != nil {
		return fmt.Errorf("seal evidence: %w", err)
	}
	e.Sealed = sealed
	return nil
}

// openEvidence decrypts e and checks the plaintext against the recorded hash.
func openEvidence(s *auth.Sealer, e *store.IncidentEvidence) ([]byte, error) {
	data, err := s.Open(e.Sealed, evidenceAD(e))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrEvidenceTampered, err)
	}
	sum := sha256.Sum256(data)
	if hex.EncodeToString(sum[:]) != e.SHA256 || int64(len(data)) != e.Size {
		return nil, fmt.Errorf("%w: hash or size differs", ErrEvidenceTampered)
	}
	return data, nil
}
