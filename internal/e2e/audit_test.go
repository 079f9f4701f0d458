package e2e

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/app"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

func TestSubscriptionsAllForAdminsPagedAndExported(t *testing.T) {
	e := bot(t, func(o *Options) { o.Env = map[string]string{"ADMIN_SLACK_USERS": "UIVAN"} })
	e.notifyLink(t, "alice", "")
	// One subscription typed in Slack, 19 more made directly (setup), in
	// channels of their own: 20 in all, two pages.
	e.sees(t, e.slash(t, SlackUser("alice"), General, "subscribe go"), "subscribed this channel to")
	for i := range 19 {
		ch := fmt.Sprintf("CTEAM%02d", i)
		e.Slack.AddChannel(slackfake.Channel{ID: ch, Name: fmt.Sprintf("team-%02d", i), Members: []string{e.Slack.BotUserID(), SlackUser("alice")}})
		if _, err := e.App.Parts.Notify.Subscribe(wait(t), notify.SubscribeRequest{TeamID: e.Slack.TeamID(), ChannelID: ch,
			CreatorID: SlackUser("alice"), Scope: soe.MainSite(), Tags: []string{"kubernetes"}}); err != nil {
			t.Fatal(err)
		}
	}

	// Everyone else is refused.
	e.sees(t, e.slash(t, SlackUser("alice"), General, "subscriptions all"), "only workspace admins can list every subscription")

	// A Slack admin (users.info is_admin) sees page 1 of 2 …
	heidi := SlackUser("heidi")
	m := e.sees(t, e.slash(t, heidi, General, "subscriptions all"), "Every subscription in this workspace", "(20)",
		"Page 1 of 2", "#CGENERAL", "`go`", "Kept running by @UALICE", "Last delivery: none", "Next")
	if m.InChannel || strings.Contains(m.Flat(), "Previous") {
		t.Fatalf("page 1 must be ephemeral, without Previous:\n%s", m.Flat())
	}
	// … and Next replaces it with page 2.
	cur := e.ephemeral(t, heidi, "Page 1 of 2")
	if _, err := e.Slack.BlockAction(heidi, General, &cur, "notify_audit_page:next", "", ""); err != nil {
		t.Fatal(err)
	}
	cur = e.ephemeral(t, heidi, "Page 2 of 2")
	if !cur.Replaced || !strings.Contains(cur.Flat(), "Previous") || strings.Contains(cur.Flat(), "Next") {
		t.Fatalf("page 2:\n%s", cur.Flat())
	}
	// Somebody named in ADMIN_SLACK_USERS may too.
	e.sees(t, e.slash(t, SlackUser("ivan"), General, "subscriptions all"), "Every subscription in this workspace")

	// The operator's CSV: on bbolt refused while the bot holds the file,
	// then (bot stopped) the same 20 rows; on PostgreSQL while it runs.
	var out bytes.Buffer
	if e.opts.DatabaseURL == "" {
		if err := app.ExportSubscriptions(wait(t), "", e.DBPath(), &out, nil); !errors.Is(err, app.ErrExportLocked) {
			t.Fatalf("export while running: %v", err)
		}
		if err := e.Stop(); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.ExportSubscriptions(wait(t), e.opts.DatabaseURL, e.DBPath(), &out, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&out).ReadAll()
	if err != nil || len(rows) != 21 || strings.Join(rows[0], ",") != strings.Join(notify.AuditCSVHeader, ",") {
		t.Fatalf("%d rows, %v:\n%s", len(rows), err, out.String())
	}
}
