package vault

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// Sealer seals and opens small values (*Keyring).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// SealText is v as JSON, sealed for aad and base64url-encoded: a value that
// can travel through Slack (a button's value, a replayed command) and
// come back unaltered or not at all.
func SealText(s Sealer, v any, aad []byte) (string, error) {
	if s == nil {
		return "", errors.New("vault: no sealer")
	}
	plain, err := json.Marshal(v)
	if err != nil {
		return "", fmt.Errorf("vault: seal: %w", err)
	}
	sealed, err := s.Seal(plain, aad)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(sealed), nil
}

// OpenText reads a value made by SealText into v; anything forged, altered
// or sealed with a key the keyring no longer has is an error.
func OpenText(s Sealer, text string, aad []byte, v any) error {
	if s == nil {
		return errors.New("vault: no sealer")
	}
	sealed, err := base64.RawURLEncoding.DecodeString(strings.TrimSpace(text))
	if err != nil {
		return fmt.Errorf("vault: open: %w", err)
	}
	plain, err := s.Open(sealed, aad)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(plain, v); err != nil {
		return fmt.Errorf("vault: open: %w", err)
	}
	return nil
}
