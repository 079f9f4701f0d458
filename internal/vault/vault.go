// Package vault encrypts secrets (SOE OAuth tokens) at rest with
// AES-256-GCM and keeps them out of logs.
//
// Sealed format (version 1):
//
//	version (1 byte, 0x01) | key id (8 bytes) | nonce (12 bytes) | ciphertext || tag (16 bytes)
//
// The key id is the first 8 bytes of SHA-256 over a domain-separation label
// and the key, so it identifies the key without revealing it. The version
// byte and key id are authenticated together with the caller's additional
// data, which should name the record the secret belongs to (for example
// site|team|user), so a sealed value copied to another record fails to open.
package vault

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// ErrDecrypt is the only error Open returns: wrong key, unknown key id,
// tampering, wrong additional data, truncation and unknown versions all look
// the same to the caller.
var ErrDecrypt = errors.New("vault: cannot decrypt sealed value")

const (
	// KeySize is the length of an AES-256 key.
	KeySize = 32

	version1  = 0x01
	keyIDSize = 8
	nonceSize = 12
	tagSize   = 16
	headerLen = 1 + keyIDSize
	// Overhead is the number of bytes Seal adds to the plaintext.
	Overhead = headerLen + nonceSize + tagSize

	keyIDLabel = "soebot/vault/key-id/v1\x00"
)

type keyID [keyIDSize]byte

type key struct {
	id   keyID
	aead cipher.AEAD
}

// Keyring holds one or more AES-256 keys. The first (current) key seals;
// every key opens. A Keyring is immutable and safe for concurrent use. It
// never prints key material.
type Keyring struct {
	keys []key
}

// NewKeyring builds a keyring from raw 32-byte keys, current key first.
// Errors name the key by position only.
func NewKeyring(keys ...[]byte) (*Keyring, error) {
	if len(keys) == 0 {
		return nil, errors.New("vault: no keys")
	}
	k := &Keyring{keys: make([]key, 0, len(keys))}
	for i, raw := range keys {
		if len(raw) != KeySize {
			return nil, fmt.Errorf("vault: key %d: not %d bytes (got %d)", i+1, KeySize, len(raw))
		}
		id := computeKeyID(raw)
		for j, prev := range k.keys {
			if prev.id == id {
				return nil, fmt.Errorf("vault: key %d: duplicate of key %d", i+1, j+1)
			}
		}
		block, err := aes.NewCipher(raw)
		if err != nil {
			return nil, fmt.Errorf("vault: key %d: %w", i+1, err)
		}
		aead, err := cipher.NewGCM(block)
		if err != nil {
			return nil, fmt.Errorf("vault: key %d: %w", i+1, err)
		}
		k.keys = append(k.keys, key{id: id, aead: aead})
	}
	return k, nil
}

func computeKeyID(raw []byte) keyID {
	h := sha256.New()
	h.Write([]byte(keyIDLabel))
	h.Write(raw)
	var id keyID
	copy(id[:], h.Sum(nil))
	return id
}

// ParseKeys parses comma-separated base64 keys (standard or URL alphabet,
// with or without padding; surrounding whitespace ignored), current key
// first. Errors give the key's position and never include key text.
func ParseKeys(s string) (*Keyring, error) {
	parts := strings.Split(s, ",")
	if strings.TrimSpace(s) == "" {
		return nil, errors.New("vault: no keys")
	}
	raws := make([][]byte, 0, len(parts))
	for i, p := range parts {
		raw, err := decodeKey(p)
		if err != nil {
			return nil, fmt.Errorf("vault: key %d: %w", i+1, err)
		}
		raws = append(raws, raw)
	}
	k, err := NewKeyring(raws...)
	for _, raw := range raws {
		clear(raw)
	}
	return k, err
}

// decodeKey decodes one base64 key. Its errors are fixed strings: the
// base64 package's errors carry offsets into the secret, so they are not
// wrapped.
func decodeKey(p string) ([]byte, error) {
	p = strings.TrimSpace(p)
	if p == "" {
		return nil, errors.New("empty")
	}
	p = strings.TrimRight(p, "=")
	enc := base64.RawStdEncoding
	if strings.ContainsAny(p, "-_") {
		enc = base64.RawURLEncoding
	}
	raw, err := enc.Strict().DecodeString(p)
	if err != nil {
		return nil, errors.New("not valid base64")
	}
	if len(raw) != KeySize {
		n := len(raw)
		clear(raw)
		return nil, fmt.Errorf("not %d bytes (got %d)", KeySize, n)
	}
	return raw, nil
}

// Len returns the number of keys.
func (k *Keyring) Len() int {
	if k == nil {
		return 0
	}
	return len(k.keys)
}

// CurrentKeyID returns the hex key id of the sealing key, for logs.
func (k *Keyring) CurrentKeyID() string {
	if k == nil || len(k.keys) == 0 {
		return ""
	}
	return hex.EncodeToString(k.keys[0].id[:])
}

// String describes the keyring without key material.
func (k *Keyring) String() string {
	if k == nil || len(k.keys) == 0 {
		return "vault.Keyring{}"
	}
	return fmt.Sprintf("vault.Keyring{keys: %d, current: %s}", len(k.keys), k.CurrentKeyID())
}

// GoString is String, so %#v cannot dump the cipher state.
func (k *Keyring) GoString() string { return k.String() }

// Format makes every fmt verb print String.
func (k *Keyring) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(k.String())) }

// LogValue logs the description only.
func (k *Keyring) LogValue() slog.Value { return slog.StringValue(k.String()) }

// Seal encrypts plaintext under the current key, binding it to aad.
func (k *Keyring) Seal(plaintext, aad []byte) ([]byte, error) {
	if k == nil || len(k.keys) == 0 {
		return nil, errors.New("vault: seal: empty keyring")
	}
	cur := k.keys[0]
	out := make([]byte, headerLen+nonceSize, Overhead+len(plaintext))
	out[0] = version1
	copy(out[1:headerLen], cur.id[:])
	if _, err := rand.Read(out[headerLen:]); err != nil {
		return nil, fmt.Errorf("vault: seal: nonce: %w", err)
	}
	nonce := out[headerLen : headerLen+nonceSize]
	return cur.aead.Seal(out, nonce, plaintext, fullAAD(out[:headerLen], aad)), nil
}

// Open decrypts a value produced by Seal with the same aad. Every failure
// returns ErrDecrypt.
func (k *Keyring) Open(sealed, aad []byte) ([]byte, error) {
	if k == nil || len(sealed) < Overhead || sealed[0] != version1 {
		return nil, ErrDecrypt
	}
	kk, ok := k.find(sealed[1:headerLen])
	if !ok {
		return nil, ErrDecrypt
	}
	nonce := sealed[headerLen : headerLen+nonceSize]
	pt, err := kk.aead.Open(nil, nonce, sealed[headerLen+nonceSize:], fullAAD(sealed[:headerLen], aad))
	if err != nil {
		return nil, ErrDecrypt
	}
	if pt == nil {
		pt = []byte{}
	}
	return pt, nil
}

// Current reports whether sealed was made with the current key (so it does
// not need re-sealing after a rotation). It does not authenticate sealed.
func (k *Keyring) Current(sealed []byte) bool {
	if k == nil || len(k.keys) == 0 || len(sealed) < Overhead || sealed[0] != version1 {
		return false
	}
	return subtle.ConstantTimeCompare(sealed[1:headerLen], k.keys[0].id[:]) == 1
}

func (k *Keyring) find(id []byte) (key, bool) {
	for _, kk := range k.keys {
		if subtle.ConstantTimeCompare(kk.id[:], id) == 1 {
			return kk, true
		}
	}
	return key{}, false
}

// fullAAD authenticates the header together with the caller's data. The
// header has a fixed length, so the concatenation is unambiguous.
func fullAAD(header, aad []byte) []byte {
	out := make([]byte, 0, len(header)+len(aad))
	out = append(out, header...)
	return append(out, aad...)
}
