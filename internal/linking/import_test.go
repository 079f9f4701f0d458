package linking

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/soebot/soebot/internal/soe"
)

// Imported links behave like linked ones: a working client, the SOE → Slack
// index, listing; the token is sealed, never stored in clear.
func TestImport(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	alice := e.soe.UserByName("alice")
	tok := e.soe.MintToken(alice.ID, soe.ScopeWriteAccess, soe.ScopeNoExpiry)
	var batch []Imported
	for i := range 50 {
		batch = append(batch, Imported{Link: Link{TeamID: team, UserID: fmt.Sprintf("UIMP%03d", i), Scope: soe.MainSite(),
			SOEUserID: 100 + i, SOEName: "Someone"}, Token: "tok-" + fmt.Sprint(i)})
	}
	batch = append(batch, Imported{Link: Link{TeamID: team, UserID: "UALICE", Scope: soe.MainSite(), SOEUserID: alice.ID,
		SOEName: alice.Name, WriteAccess: true}, Token: tok})
	if err := e.svc.Import(ctx, batch); err != nil {
		t.Fatal(err)
	}
	if n := e.countLinks(); n != 51 {
		t.Fatalf("%d links stored, want 51", n)
	}
	c, l, err := e.svc.Client(ctx, team, "UALICE", soe.MainSite())
	if err != nil || !l.WriteAccess || l.CreatedAt.IsZero() {
		t.Fatalf("client: %v %+v", err, l)
	}
	if me, err := c.Me(ctx); err != nil || me.ID != alice.ID {
		t.Fatalf("Me: %v %+v", err, me)
	}
	if id, ok, err := e.svc.SlackUserFor(ctx, team, soe.MainSite(), alice.ID); err != nil || !ok || id != "UALICE" {
		t.Fatalf("SlackUserFor = %q %v %v", id, ok, err)
	}
	var file bytes.Buffer
	if _, err := e.db.Backup(&file); err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(file.Bytes(), []byte(tok)) || bytes.Contains(file.Bytes(), []byte("tok-7")) {
		t.Fatal("a token is stored in clear")
	}
	for _, bad := range [][]Imported{
		{{Link: Link{UserID: "U1", Scope: soe.MainSite(), SOEUserID: 1}, Token: "t"}},
		{{Link: Link{TeamID: team, UserID: "U1", Scope: soe.MainSite(), SOEUserID: 1}}},
		{{Link: Link{TeamID: team, UserID: "U1", Scope: soe.TeamScope("Bad Slug!"), SOEUserID: 1}, Token: "t"}},
	} {
		if err := e.svc.Import(ctx, bad); err == nil {
			t.Errorf("import of %+v succeeded", bad[0])
		}
	}
}
