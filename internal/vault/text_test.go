package vault

import (
	"bytes"
	"testing"
)

func TestSealTextRoundTripAndRefusals(t *testing.T) {
	k, err := NewKeyring(bytes.Repeat([]byte{7}, 32))
	if err != nil {
		t.Fatal(err)
	}
	type value struct {
		ID   int    `json:"i"`
		User string `json:"u"`
	}
	in := value{ID: 42, User: "UALICE"}
	text, err := SealText(k, in, []byte("use/a"))
	if err != nil {
		t.Fatal(err)
	}
	var out value
	if err := OpenText(k, " "+text+"\n", []byte("use/a"), &out); err != nil || out != in {
		t.Fatalf("round trip: %+v, %v", out, err)
	}
	flip := map[bool]string{true: "B", false: "A"}[text[len(text)/2] == 'A']
	altered := text[:len(text)/2] + flip + text[len(text)/2+1:]
	for name, c := range map[string]struct {
		text, aad string
	}{"another use": {text, "use/b"}, "altered": {altered, "use/a"}, "not base64": {"!!", "use/a"}, "plain JSON": {`{"i":1}`, "use/a"}} {
		if err := OpenText(k, c.text, []byte(c.aad), &out); err == nil {
			t.Errorf("%s: opened", name)
		}
	}
	if _, err := SealText(nil, in, nil); err == nil {
		t.Error("sealed without a sealer")
	}
}
