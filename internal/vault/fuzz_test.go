package vault

import (
	"bytes"
	"testing"
)

// fuzzKey is fixed so the committed seed corpus (testdata/fuzz/FuzzOpen)
// contains envelopes sealed under it. Test-only, not a real key.
var fuzzKey = []byte("soebot-vault-fuzz-key-0123456789")

var fuzzAAD = []byte("soe.example|E1|T1|U1")

// FuzzOpen checks that Open never panics and never accepts anything but an
// unmodified envelope under its own additional data.
func FuzzOpen(f *testing.F) {
	k, err := NewKeyring(fuzzKey)
	if err != nil {
		f.Fatal(err)
	}
	valid, err := k.Seal([]byte("tok-fuzz"), fuzzAAD)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte{}, fuzzAAD)
	f.Add([]byte{version1}, fuzzAAD)
	f.Add(make([]byte, 16), fuzzAAD)
	f.Add(make([]byte, Overhead), fuzzAAD)
	f.Add(valid, fuzzAAD)
	f.Add(valid[:len(valid)-1], fuzzAAD)
	f.Add(valid, []byte("soe.example|E1|T1|U2"))

	f.Fuzz(func(t *testing.T, sealed, aad []byte) {
		pt, err := k.Open(sealed, aad)
		if err != nil {
			if !isErrDecrypt(err) || pt != nil {
				t.Fatalf("Open = %q, %v; want nil, ErrDecrypt", pt, err)
			}
			return
		}
		// Success is only possible for an authentic envelope; re-sealing
		// must round-trip and Current must agree with the key id.
		if !k.Current(sealed) {
			t.Fatalf("opened a value that is not under the current key")
		}
		if !bytes.Equal(aad, fuzzAAD) {
			t.Fatalf("opened under unexpected aad %q", aad)
		}
	})
}
