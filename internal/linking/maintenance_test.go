package linking

import (
	"context"
	"fmt"
	"testing"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/vault"
)

// TestRotateKeysAcrossBatches: more links than one batch, with one that no
// key opens in the middle: every other token is re-encrypted exactly once.
func TestRotateKeysAcrossBatches(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	const n = 2*rotateBatchSize + 50
	var in []Imported
	for i := range n {
		in = append(in, Imported{Link: Link{TeamID: team, UserID: fmt.Sprintf("U%04d", i), Scope: soe.MainSite(), SOEUserID: i + 1}, Token: fmt.Sprintf("token-%d", i)})
	}
	if err := e.svc.Import(ctx, in); err != nil {
		t.Fatal(err)
	}
	// One record sealed with a key the new ring does not have.
	stranger, _ := vault.NewKeyring(testKey(9))
	if err := e.newService(stranger).Import(ctx, []Imported{{Link: Link{TeamID: team, UserID: "U0200x", Scope: soe.MainSite(), SOEUserID: 99999}, Token: "lost"}}); err != nil {
		t.Fatal(err)
	}
	ring, _ := vault.NewKeyring(testKey(2), testKey(1))
	got, err := e.newService(ring).RotateKeys(ctx)
	if got != n || err == nil {
		t.Fatalf("rotated %d (%v), want %d and an error for the lost token", got, err, n)
	}
	if got, _ := e.newService(ring).RotateKeys(ctx); got != 0 {
		t.Fatalf("second pass re-encrypted %d", got)
	}
	only2, _ := vault.NewKeyring(testKey(2))
	for _, u := range []string{"U0000", "U0199", "U0200", "U0449"} {
		if _, _, err := e.newService(only2).Client(ctx, team, u, soe.MainSite()); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	if l := e.links("U0200x"); len(l) != 1 || !l[0].Invalid {
		t.Fatalf("lost token not marked invalid: %+v", l)
	}
}
