package cardactions

import (
	"encoding/base64"
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/vault"
)

// The replay carries a sealed job: it opens as it was, and nothing forged,
// altered or sealed for another use opens.
func TestSealedReplay(t *testing.T) {
	keys, err := vault.NewKeyring(make([]byte, 32))
	if err != nil {
		t.Fatal(err)
	}
	f := New(Config{}, Deps{Sealer: keys})
	env := &chat.Envelope{UserID: "UDAVE"}
	j := job{Verb: verbAccept, Scope: "team:platform", Q: 12, A: 34, Channel: "CGENERAL", TS: "1700000000.000100", User: "UDAVE"}
	res := f.resume(env, j)
	if res == nil || !strings.HasPrefix(res.Text, Subcommand+" ") {
		t.Fatalf("resume = %+v", res)
	}
	arg := strings.TrimPrefix(res.Text, Subcommand+" ")
	if got, ok := f.open(arg); !ok || got != j {
		t.Fatalf("open = %+v, %v", got, ok)
	}
	raw, _ := base64.RawURLEncoding.DecodeString(arg)
	raw[len(raw)-1] ^= 1
	foreign, _ := keys.Seal([]byte(`{"v":"accept","s":"main","q":1,"a":2,"u":"UDAVE"}`), []byte("another/use"))
	bad, _ := keys.Seal([]byte(`{"v":"delete","s":"main","q":1,"u":"UDAVE"}`), aad)
	noAnswer, _ := keys.Seal([]byte(`{"v":"accept","s":"main","q":1,"u":"UDAVE"}`), aad)
	for name, s := range map[string]string{
		"altered": base64.RawURLEncoding.EncodeToString(raw), "other use": base64.RawURLEncoding.EncodeToString(foreign),
		"unknown verb": base64.RawURLEncoding.EncodeToString(bad), "accept without answer": base64.RawURLEncoding.EncodeToString(noAnswer),
		"plain": "main 12 34", "empty": "",
	} {
		if _, ok := f.open(s); ok {
			t.Errorf("%s: opened", name)
		}
	}
	if New(Config{}, Deps{}).resume(env, j) != nil {
		t.Error("a resume without a sealer")
	}
}
