package subscriptions

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/golden"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

type fakeUsers map[string]*slack.User

func (f fakeUsers) UserInfo(_ context.Context, id string) (*slack.User, error) {
	if u, ok := f[id]; ok {
		return u, nil
	}
	if id == "UBROKEN" {
		return nil, errors.New("slack down")
	}
	return nil, chat.ErrUserNotFound
}

func TestIsWorkspaceAdmin(t *testing.T) {
	users := fakeUsers{
		"UADMIN": {ID: "UADMIN", IsAdmin: true}, "UOWNER": {ID: "UOWNER", IsOwner: true},
		"UPLAIN": {ID: "UPLAIN"}, "UGONE": {ID: "UGONE", IsAdmin: true, Deleted: true},
	}
	n := New(Config{AdminUsers: []string{"ULISTED"}}, Deps{Router: router.New(router.Config{}, router.Deps{}), Users: users})
	for user, want := range map[string]bool{"UADMIN": true, "UOWNER": true, "ULISTED": true, "UPLAIN": false, "UGONE": false, "UBROKEN": false, "UNOBODY": false} {
		if got := n.isWorkspaceAdmin(context.Background(), user); got != want {
			t.Errorf("%s: admin %v, want %v", user, got, want)
		}
	}
}

func TestAuditGolden(t *testing.T) {
	now := time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)
	var entries []notify.AuditEntry
	for i := range 17 {
		e := notify.AuditEntry{Subscription: notify.Subscription{ID: fmt.Sprint(i), TeamID: "T1", ChannelID: fmt.Sprintf("C%02d", i),
			CreatorID: "UALICE", Scope: soe.MainSite(), Tags: []string{"go"}, Kinds: notify.DefaultKinds}}
		switch i {
		case 0:
			e.Scope, e.Tags, e.Owners = soe.TeamScope("platform"), nil, []string{"UALICE", "UCAROL"}
			e.LastDelivery = now.Add(-90 * time.Minute)
		case 1:
			e.Disabled, e.DisabledReason = true, "is_archived"
			e.LastError, e.LastErrorAt = "is_archived", now.Add(-3*24*time.Hour)
		case 2:
			e.Paused, e.Tags = true, []string{"kubernetes", "<!here>"}
			e.LastDelivery = now.Add(-20 * time.Second)
		}
		entries = append(entries, e)
	}
	golden.Message(t, "notify_audit_page1", renderAudit(entries, 1, "/soe", now))
	golden.Message(t, "notify_audit_page2", renderAudit(entries, 2, "/soe", now))
	golden.Message(t, "notify_audit_one_page", renderAudit(entries[:3], 1, "/soe", now))
	golden.Message(t, "notify_audit_none", renderAudit(nil, 1, "/soe", now))
	golden.Message(t, "notify_audit_refused", auditRefusal())
	if m := renderAudit(entries, 99, "/soe", now); len(m.Blocks) != 2+2+1 {
		t.Errorf("past the end shows the last page: %d blocks", len(m.Blocks))
	}
}
