package linking

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
	"github.com/soebot/soebot/internal/store"
)

func (e *tenv) link1(user string, scope soe.Scope) Link {
	e.t.Helper()
	for _, l := range e.links(user) {
		if l.Scope == scope {
			return l
		}
	}
	e.t.Fatalf("%s has no link for %v", user, scope)
	return Link{}
}

// write posts a question with the user's link and records what it showed,
// as the commands do.
func (e *tenv) write(user string) error {
	e.writes++
	e.t.Helper()
	ctx := context.Background()
	c, _, err := e.svc.Client(ctx, team, user, soe.MainSite())
	if err != nil {
		e.t.Fatal(err)
	}
	_, err = c.CreateQuestion(ctx, soe.QuestionInput{Title: fmt.Sprintf("How do I record what token number %d may do?", e.writes), Body: "SOE does not say which scopes it granted, so how do I know?", Tags: []string{"go"}})
	switch {
	case err == nil:
		return e.svc.RecordWrite(ctx, team, user, soe.MainSite(), true)
	case errors.Is(err, soe.ErrWriteAccess):
		if rerr := e.svc.RecordWrite(ctx, team, user, soe.MainSite(), false); rerr != nil {
			e.t.Fatal(rerr)
		}
		return err
	}
	return err
}

// TestAccessStateSaysOnlyWhatIsKnown: SOE does not say which scopes it
// granted, so a link that asked for write access is "read-write requested"
// (in the DM too) until a write succeeds ("read-write") or is refused for
// lack of write access ("read-only").
func TestAccessStateSaysOnlyWhatIsKnown(t *testing.T) {
	t.Run("write succeeds", func(t *testing.T) {
		e := newEnv(t)
		e.link("UALICE", "alice", soe.MainSite())
		if l := e.link1("UALICE", soe.MainSite()); l.AccessState != AccessWriteRequested || l.Access() != "read-write requested" || !l.WriteAccess {
			t.Fatalf("new link: %q %v", l.Access(), l.WriteAccess)
		}
		if dm := e.slack.DMs("UALICE"); len(dm) != 1 || !strings.Contains(dm[0], "(read-write requested, main site)") || strings.Contains(dm[0], "(read-write,") {
			t.Fatalf("DM %q", dm)
		}
		if err := e.write("UALICE"); err != nil {
			t.Fatal(err)
		}
		if l := e.link1("UALICE", soe.MainSite()); l.AccessState != AccessReadWrite || l.Access() != "read-write" || !l.WriteAccess {
			t.Fatalf("after a write: %q %v", l.Access(), l.WriteAccess)
		}
		// The link still works (the token was not touched).
		if err := e.write("UALICE"); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("SOE granted read-only", func(t *testing.T) {
		e := newEnv(t)
		alice := e.soe.UserByName("alice")
		// The bot asked for write access; SOE granted a read-only token.
		err := e.svc.Import(context.Background(), []Imported{{
			Link:  Link{TeamID: team, UserID: "UALICE", Scope: soe.MainSite(), SOEUserID: alice.ID, SOEName: alice.Name, WriteAccess: true, Scopes: []string{soe.ScopeWriteAccess}},
			Token: e.soe.MintToken(alice.ID, soe.ScopeNoExpiry),
		}})
		if err != nil {
			t.Fatal(err)
		}
		if l := e.link1("UALICE", soe.MainSite()); l.Access() != "read-write requested" {
			t.Fatalf("imported: %q", l.Access())
		}
		if err := e.write("UALICE"); !errors.Is(err, soe.ErrWriteAccess) {
			t.Fatalf("write with a read-only token: %v", err)
		}
		if l := e.link1("UALICE", soe.MainSite()); l.AccessState != AccessReadOnly || l.Access() != "read-only" || l.WriteAccess || l.Invalid {
			t.Fatalf("after a refused write: %q write=%v invalid=%v", l.Access(), l.WriteAccess, l.Invalid)
		}
	})
	t.Run("write access not requested", func(t *testing.T) {
		e := newEnv(t, func(c *Config, _ *soefake.Options) { c.WriteAccess = false })
		e.link("UALICE", "alice", soe.MainSite())
		if l := e.link1("UALICE", soe.MainSite()); l.AccessState != AccessReadOnly || l.WriteAccess {
			t.Fatalf("%q", l.Access())
		}
		if dm := e.slack.DMs("UALICE"); !strings.Contains(dm[0], "(read-only, main site).") || strings.Contains(dm[0], "does not say") {
			t.Fatalf("DM %q", dm)
		}
	})
	t.Run("relinking starts again from the request", func(t *testing.T) {
		e := newEnv(t)
		e.link("UALICE", "alice", soe.MainSite())
		if err := e.svc.RecordWrite(context.Background(), team, "UALICE", soe.MainSite(), false); err != nil {
			t.Fatal(err)
		}
		e.link("UALICE", "alice", soe.MainSite())
		if l := e.link1("UALICE", soe.MainSite()); l.AccessState != AccessWriteRequested {
			t.Fatalf("%q", l.Access())
		}
	})
}

func TestRecordWriteEdgeCases(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t)
	// No link: nothing happens, nothing is created.
	if err := e.svc.RecordWrite(ctx, team, "UNOBODY", soe.MainSite(), true); err != nil || e.countLinks() != 0 {
		t.Fatalf("%v, %d links", err, e.countLinks())
	}
	e.link("UALICE", "alice", soe.MainSite())
	if err := e.svc.RecordWrite(ctx, team, "UALICE", soe.MainSite(), true); err != nil {
		t.Fatal(err)
	}
	// An unchanged state does not take the write lock.
	release := holdWriteLock(t, e)
	done := make(chan error, 1)
	go func() { done <- e.svc.RecordWrite(ctx, team, "UALICE", soe.MainSite(), true) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("RecordWrite with an unchanged state waited for the write lock")
	}
	release()
	// Other scopes are untouched.
	e.link("UALICE", "alice", soe.TeamScope("platform"))
	if err := e.svc.RecordWrite(ctx, team, "UALICE", soe.MainSite(), false); err != nil {
		t.Fatal(err)
	}
	if l := e.link1("UALICE", soe.TeamScope("platform")); l.AccessState != AccessWriteRequested {
		t.Fatalf("team link changed: %q", l.Access())
	}
	if !strings.Contains(e.logs.String(), `"msg":"link access learned"`) {
		t.Fatal("the change was not logged")
	}
}

// TestLinkRecordsStoredBeforeAccessState: records written by earlier
// versions (write_access only) decode as what they were: a request.
func TestLinkRecordsStoredBeforeAccessState(t *testing.T) {
	cases := []struct {
		name, json string
		want       AccessState
		write      bool
	}{
		{"old record, write requested", `{"write_access":true}`, AccessWriteRequested, true},
		{"old record, read-only", `{"write_access":false}`, AccessReadOnly, false},
		{"old record without the flag", `{}`, AccessReadOnly, false},
		{"new record, confirmed", `{"access":"read-write","write_access":true}`, AccessReadWrite, true},
		{"new record, refused", `{"access":"read-only","write_access":false}`, AccessReadOnly, false},
		{"unknown state from a newer version", `{"access":"read-write-maybe","write_access":true}`, AccessWriteRequested, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.link("UALICE", "alice", soe.MainSite())
			tamper(e, bucketLinks, func(m map[string]any) {
				delete(m, "access")
				delete(m, "write_access")
				var extra map[string]any
				if err := json.Unmarshal([]byte(tc.json), &extra); err != nil {
					t.Fatal(err)
				}
				for k, v := range extra {
					m[k] = v
				}
			})
			l := e.link1("UALICE", soe.MainSite())
			if l.AccessState != tc.want || l.Access() != string(tc.want) || l.WriteAccess != tc.write {
				t.Fatalf("decoded %q (write %v), want %q (write %v)", l.AccessState, l.WriteAccess, tc.want, tc.write)
			}
			// The token still opens, and a recorded write upgrades the record.
			if _, _, err := e.svc.Client(context.Background(), team, "UALICE", soe.MainSite()); err != nil {
				t.Fatal(err)
			}
			if err := e.svc.RecordWrite(context.Background(), team, "UALICE", soe.MainSite(), true); err != nil {
				t.Fatal(err)
			}
			var raw map[string]any
			_ = e.db.View(context.Background(), func(tx store.Tx) error {
				return json.Unmarshal(tx.Bucket(bucketLinks).Get([]byte(linkKey(team, "UALICE", soe.MainSite()))), &raw)
			})
			if w, _ := raw["write_access"].(bool); raw["access"] != "read-write" || !w {
				t.Fatalf("stored after a write: %v", raw)
			}
		})
	}
}

func TestInitialAccess(t *testing.T) {
	w := []string{soe.ScopeWriteAccess, soe.ScopeNoExpiry}
	cases := []struct {
		name      string
		reported  []string
		requested []string
		want      AccessState
	}{
		{"nothing reported, write requested", nil, w, AccessWriteRequested},
		{"nothing reported, write not requested", nil, []string{soe.ScopeNoExpiry}, AccessReadOnly},
		{"reported with write", w, w, AccessReadWrite},
		{"reported without write", []string{soe.ScopeNoExpiry}, w, AccessReadOnly},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := initialAccess(&soe.Token{Scopes: tc.reported}, tc.requested); got != tc.want {
				t.Fatalf("%q, want %q", got, tc.want)
			}
		})
	}
}

func TestAccessOfHandBuiltLinks(t *testing.T) {
	for _, tc := range []struct {
		l    Link
		want string
	}{
		{Link{WriteAccess: true}, "read-write"},
		{Link{}, "read-only"},
		{Link{AccessState: AccessWriteRequested, WriteAccess: true}, "read-write requested"},
	} {
		if got := tc.l.Access(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.l, got, tc.want)
		}
	}
}
