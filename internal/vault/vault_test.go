package vault

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newKey(t testing.TB) []byte {
	t.Helper()
	k := make([]byte, KeySize)
	if _, err := rand.Read(k); err != nil {
		t.Fatal(err)
	}
	return k
}

func mustKeyring(t testing.TB, keys ...[]byte) *Keyring {
	t.Helper()
	k, err := NewKeyring(keys...)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// isErrDecrypt reports whether err is ErrDecrypt itself: Open's contract is
// that every failure returns that one value, with nothing wrapped around it
// that could tell the failures apart.
func isErrDecrypt(err error) bool {
	return err == ErrDecrypt //nolint:errorlint // identity, not errors.Is, is the contract under test
}

func aadFor(team, user string) []byte { return []byte("soe.example|E1|" + team + "|" + user) }

func TestSealOpenRoundTrip(t *testing.T) {
	k := mustKeyring(t, newKey(t))
	tests := []struct {
		name string
		pt   []byte
		aad  []byte
	}{
		{"token", []byte("tok-SENTINEL-9f3"), aadFor("T1", "U1")},
		{"empty plaintext", []byte{}, aadFor("T1", "U1")},
		{"nil aad", []byte("x"), nil},
		{"large", bytes.Repeat([]byte("a"), 1<<16), []byte("r")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sealed, err := k.Seal(tt.pt, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if len(sealed) != len(tt.pt)+Overhead {
				t.Errorf("len = %d, want %d", len(sealed), len(tt.pt)+Overhead)
			}
			if sealed[0] != version1 {
				t.Errorf("version byte = %#x", sealed[0])
			}
			if len(tt.pt) > 4 && bytes.Contains(sealed, tt.pt) {
				t.Error("plaintext visible in sealed value")
			}
			got, err := k.Open(sealed, tt.aad)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.pt) || got == nil {
				t.Errorf("Open = %q, want %q", got, tt.pt)
			}
			if !k.Current(sealed) {
				t.Error("Current = false for a fresh seal")
			}
		})
	}
}

func TestSealUsesFreshNonces(t *testing.T) {
	k := mustKeyring(t, newKey(t))
	seen := make(map[string]bool)
	for range 10_000 {
		s, err := k.Seal([]byte("same"), []byte("aad"))
		if err != nil {
			t.Fatal(err)
		}
		n := string(s[headerLen : headerLen+nonceSize])
		if seen[n] {
			t.Fatal("nonce repeated")
		}
		seen[n] = true
	}
}

func TestAADBinding(t *testing.T) {
	k := mustKeyring(t, newKey(t))
	sealed, err := k.Seal([]byte("tok-U1"), aadFor("T1", "U1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, aad := range [][]byte{aadFor("T1", "U2"), aadFor("T2", "U1"), nil, aadFor("T1", "U1")[1:]} {
		if pt, err := k.Open(sealed, aad); !errors.Is(err, ErrDecrypt) || pt != nil {
			t.Errorf("Open with aad %q = %q, %v; want ErrDecrypt", aad, pt, err)
		}
	}
}

func TestTamperEveryRegion(t *testing.T) {
	k := mustKeyring(t, newKey(t))
	aad := aadFor("T1", "U1")
	sealed, err := k.Seal([]byte("tok-SENTINEL-9f3"), aad)
	if err != nil {
		t.Fatal(err)
	}
	regions := []struct {
		name       string
		start, end int
	}{
		{"version", 0, 1},
		{"key id", 1, headerLen},
		{"nonce", headerLen, headerLen + nonceSize},
		{"ciphertext", headerLen + nonceSize, len(sealed) - tagSize},
		{"tag", len(sealed) - tagSize, len(sealed)},
	}
	for _, r := range regions {
		t.Run(r.name, func(t *testing.T) {
			for i := r.start; i < r.end; i++ {
				for _, bit := range []byte{0x01, 0x80} {
					bad := bytes.Clone(sealed)
					bad[i] ^= bit
					if pt, err := k.Open(bad, aad); !isErrDecrypt(err) || pt != nil {
						t.Fatalf("byte %d ^ %#x: Open = %q, %v; want ErrDecrypt", i, bit, pt, err)
					}
				}
			}
		})
	}
	t.Run("truncated", func(t *testing.T) {
		for n := range len(sealed) {
			if _, err := k.Open(sealed[:n], aad); !isErrDecrypt(err) {
				t.Fatalf("len %d: err = %v", n, err)
			}
		}
	})
	t.Run("extended", func(t *testing.T) {
		if _, err := k.Open(append(bytes.Clone(sealed), 0), aad); !isErrDecrypt(err) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestWrongKey(t *testing.T) {
	k1 := mustKeyring(t, newKey(t))
	k2 := mustKeyring(t, newKey(t))
	sealed, err := k1.Seal([]byte("tok"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := k2.Open(sealed, []byte("aad")); !isErrDecrypt(err) {
		t.Errorf("err = %v, want ErrDecrypt", err)
	}
	if k2.Current(sealed) {
		t.Error("Current = true under another key")
	}
	// Forge the key id of k2 onto k1's ciphertext: still fails.
	forged := bytes.Clone(sealed)
	copy(forged[1:headerLen], k2.keys[0].id[:])
	if _, err := k2.Open(forged, []byte("aad")); !isErrDecrypt(err) {
		t.Errorf("forged key id: err = %v", err)
	}
}

func TestRotation(t *testing.T) {
	oldKey, newK := newKey(t), newKey(t)
	before := mustKeyring(t, oldKey)
	aad := aadFor("T1", "U1")
	sealedOld, err := before.Seal([]byte("tok"), aad)
	if err != nil {
		t.Fatal(err)
	}

	after := mustKeyring(t, newK, oldKey)
	if after.Current(sealedOld) {
		t.Error("old ciphertext reported Current after rotation")
	}
	pt, err := after.Open(sealedOld, aad)
	if err != nil || string(pt) != "tok" {
		t.Fatalf("old ciphertext under rotated keyring: %q, %v", pt, err)
	}
	resealed, err := after.Seal(pt, aad)
	if err != nil {
		t.Fatal(err)
	}
	if !after.Current(resealed) {
		t.Error("re-sealed value not Current")
	}
	// Once the old key is retired, only re-sealed values open.
	retired := mustKeyring(t, newK)
	if _, err := retired.Open(resealed, aad); err != nil {
		t.Errorf("resealed under new key: %v", err)
	}
	if _, err := retired.Open(sealedOld, aad); !isErrDecrypt(err) {
		t.Errorf("old value after retirement: err = %v", err)
	}
}

func TestKeyIDIsNotKeyPrefix(t *testing.T) {
	raw := newKey(t)
	k := mustKeyring(t, raw)
	s, _ := k.Seal(nil, nil)
	if bytes.Equal(s[1:headerLen], raw[:keyIDSize]) {
		t.Error("key id leaks key bytes")
	}
	plain := sha256Sum(raw)
	if bytes.Equal(s[1:headerLen], plain[:keyIDSize]) {
		t.Error("key id is not domain-separated")
	}
}

func TestNewKeyringErrors(t *testing.T) {
	k := newKey(t)
	tests := []struct {
		name string
		keys [][]byte
		want string
	}{
		{"none", nil, "no keys"},
		{"short", [][]byte{k, k[:31]}, "key 2: not 32 bytes"},
		{"long", [][]byte{append(bytes.Clone(k), 0)}, "key 1: not 32 bytes"},
		{"duplicate", [][]byte{k, newKey(t), k}, "key 3: duplicate of key 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewKeyring(tt.keys...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

// sentinelKey is a valid 32-byte key whose text is easy to grep for.
var sentinelKey = []byte("SENTINELKEYSENTINELKEYSENTINELKY")

func TestParseKeys(t *testing.T) {
	k1, k2 := newKey(t), newKey(t)
	std := base64.StdEncoding.EncodeToString
	tests := []struct {
		name string
		in   string
		want [][]byte
	}{
		{"std padded", std(k1), [][]byte{k1}},
		{"std raw", base64.RawStdEncoding.EncodeToString(k1), [][]byte{k1}},
		{"url padded", base64.URLEncoding.EncodeToString(k1), [][]byte{k1}},
		{"url raw", base64.RawURLEncoding.EncodeToString(k1), [][]byte{k1}},
		{"two keys with spaces and newline", " " + std(k1) + " , " + base64.RawURLEncoding.EncodeToString(k2) + "\n", [][]byte{k1, k2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseKeys(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			want := mustKeyring(t, tt.want...)
			if got.Len() != want.Len() || got.CurrentKeyID() != want.CurrentKeyID() {
				t.Fatalf("got %v, want %v", got, want)
			}
			// Each key decrypts what the reference keyring sealed with it.
			for i := range tt.want {
				s, _ := mustKeyring(t, tt.want[i]).Seal([]byte("x"), nil)
				if _, err := got.Open(s, nil); err != nil {
					t.Errorf("key %d: %v", i+1, err)
				}
			}
		})
	}
}

func TestParseKeysErrorsNeverEchoKeys(t *testing.T) {
	good := base64.StdEncoding.EncodeToString(sentinelKey)
	// Variants that contain the sentinel text but are invalid somehow.
	short := base64.StdEncoding.EncodeToString(sentinelKey[:31])
	long := base64.StdEncoding.EncodeToString(append(bytes.Clone(sentinelKey), 'X'))
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty", "", "no keys"},
		{"blank", "  \n", "no keys"},
		{"empty second", good + ",", "key 2: empty"},
		{"short", good + "," + short, "key 2: not 32 bytes (got 31)"},
		{"long", long, "key 1: not 32 bytes (got 33)"},
		{"not base64", "SENTINEL!KEY*SENTINEL", "key 1: not valid base64"},
		{"mixed alphabets", strings.Replace(strings.Replace(good, "S", "+", 1), "E", "-", 1), "key 1: not valid base64"},
		{"inner space", good[:10] + " " + good[10:], "key 1: not valid base64"},
		{"raw key text", string(sentinelKey), "key 1: not"},
		{"duplicate", good + "," + good, "key 2: duplicate of key 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := ParseKeys(tt.in)
			if err == nil {
				t.Fatalf("ParseKeys succeeded: %v", k)
			}
			msg := fmt.Sprintf("%v %+v %#v", err, err, err)
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %q, want %q", err, tt.want)
			}
			for _, leak := range []string{"SENTINEL", good[:12], short[:12], long[:12]} {
				if strings.Contains(msg, leak) {
					t.Errorf("error leaks key text %q: %s", leak, msg)
				}
			}
		})
	}
}

func TestKeyringNeverPrintsKeys(t *testing.T) {
	k := mustKeyring(t, sentinelKey)
	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("keys", "k", k)
	j, _ := json.Marshal(struct{ K *Keyring }{k}) // a field, as a config struct would hold it
	out := fmt.Sprintf("%v %+v %#v %s %x %q", k, k, k, k, k, k) + buf.String() + string(j)
	hexKey := fmt.Sprintf("%x", sentinelKey)
	for _, leak := range []string{"SENTINEL", hexKey[:16], base64.StdEncoding.EncodeToString(sentinelKey)[:12]} {
		if strings.Contains(out, leak) {
			t.Errorf("keyring output leaks %q: %s", leak, out)
		}
	}
	if !strings.Contains(fmt.Sprint(k), "keys: 1") {
		t.Errorf("String = %q", fmt.Sprint(k))
	}
}

func TestZeroKeyring(t *testing.T) {
	var k *Keyring
	if _, err := k.Seal([]byte("x"), nil); err == nil {
		t.Error("Seal on nil keyring succeeded")
	}
	if _, err := k.Open(make([]byte, 64), nil); !isErrDecrypt(err) {
		t.Errorf("Open on nil keyring: %v", err)
	}
	if k.Current(make([]byte, 64)) || k.Len() != 0 || k.CurrentKeyID() != "" {
		t.Error("nil keyring reports keys")
	}
	var z Keyring
	if _, err := z.Seal([]byte("x"), nil); err == nil {
		t.Error("Seal on zero keyring succeeded")
	}
}

func TestConcurrentSealOpen(t *testing.T) {
	k := mustKeyring(t, newKey(t), newKey(t))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				aad := fmt.Appendf(nil, "%d/%d", g, i)
				s, err := k.Seal(aad, aad)
				if err != nil {
					t.Error(err)
					return
				}
				if pt, err := k.Open(s, aad); err != nil || !bytes.Equal(pt, aad) {
					t.Error("round trip failed")
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "soebot.key")

	k1, created, err := LoadOrCreateKeyFile(path)
	if err != nil || !created {
		t.Fatalf("create: %v, created=%v", err, created)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %04o, want 0600", fi.Mode().Perm())
	}
	data, _ := os.ReadFile(path)
	if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(data))); err != nil || len(raw) != KeySize {
		t.Errorf("file content is not one base64 key: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("temp files left: %v", entries)
	}

	sealed, err := k1.Seal([]byte("tok"), []byte("aad"))
	if err != nil {
		t.Fatal(err)
	}
	k2, created, err := LoadOrCreateKeyFile(path)
	if err != nil || created {
		t.Fatalf("reuse: %v, created=%v", err, created)
	}
	if pt, err := k2.Open(sealed, []byte("aad")); err != nil || string(pt) != "tok" {
		t.Errorf("reloaded key cannot open: %q %v", pt, err)
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(after, data) {
		t.Error("existing key file rewritten")
	}
}

func TestLoadOrCreateKeyFileConcurrent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "soebot.key")
	const n = 8
	ids := make([]string, n)
	createdN := make([]bool, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k, created, err := LoadOrCreateKeyFile(path)
			if err != nil {
				t.Error(err)
				return
			}
			ids[i], createdN[i] = k.CurrentKeyID(), created
		})
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if ids[i] != ids[0] {
			t.Errorf("caller %d got a different key", i)
		}
		if createdN[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d callers report created=true, want 1", creators)
	}
}

func TestLoadKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	good := base64.StdEncoding.EncodeToString(sentinelKey) + "\n"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"group readable", good, 0o640, "group/other"},
		{"world readable", good, 0o604, "group/other"},
		{"empty", "", 0o600, "no keys"},
		{"bad key", base64.StdEncoding.EncodeToString(sentinelKey[:16]) + "\n", 0o600, "key 1: not 32 bytes"},
		{"too large", strings.Repeat("A", maxKeyFile+10), 0o600, "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "_")+".key")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			k, created, err := LoadOrCreateKeyFile(path)
			if err == nil {
				t.Fatalf("succeeded: %v", k)
			}
			if created {
				t.Error("created = true")
			}
			if !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), path) {
				t.Errorf("err = %q, want %q and the path", err, tt.want)
			}
			if strings.Contains(err.Error(), "SENTINEL") || strings.Contains(err.Error(), good[:12]) {
				t.Errorf("error leaks key text: %v", err)
			}
			after, _ := os.ReadFile(path)
			if string(after) != tt.content {
				t.Error("file was modified")
			}
		})
	}
	t.Run("missing directory", func(t *testing.T) {
		p := filepath.Join(dir, "nope", "soebot.key")
		if _, _, err := LoadOrCreateKeyFile(p); err == nil || !errors.Is(err, os.ErrNotExist) {
			t.Errorf("err = %v", err)
		}
		if _, err := os.Stat(filepath.Dir(p)); !errors.Is(err, os.ErrNotExist) {
			t.Error("directory was created")
		}
	})
	t.Run("directory at path", func(t *testing.T) {
		if _, _, err := LoadOrCreateKeyFile(dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("err = %v", err)
		}
	})
}

func sha256Sum(b []byte) [32]byte { return sha256.Sum256(b) }
