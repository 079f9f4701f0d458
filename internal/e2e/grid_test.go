package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// Enterprise Grid (issue 20): one org-wide install serving two workspaces
// of one organization, and a Slack Connect channel shared with another.

const (
	gridA      = "T0ACME" // the first workspace: General, Random, … live here
	gridB      = "T0BETA"
	betaChan   = "CBETA"    // a public channel of workspace B, the bot in it
	connect    = "CCONNECT" // Slack Connect: shared with Vendor Inc.
	vendorUser = "WVENDOR"  // a person of Vendor Inc. (another organization)
)

// gridBot is a bot installed org-wide on a fake Grid organization.
func gridBot(t *testing.T) *Env {
	t.Helper()
	e := bot(t, func(o *Options) {
		o.Grid = &slackfake.Grid{EnterpriseID: "E0ACME", EnterpriseName: "Acme Corp", Workspaces: []slackfake.Workspace{
			{ID: gridA, Name: "Acme", Domain: "acme"}, {ID: gridB, Name: "Acme Beta", Domain: "acme-beta"},
		}}
	})
	everyone := []string{e.Slack.BotUserID()}
	for _, u := range e.SOE.Users() {
		everyone = append(everyone, SlackUser(u.Login))
	}
	// erin lives in workspace B; user ids are org-wide.
	erin := e.SOE.UserByName("erin")
	e.Slack.AddUser(slackfake.User{ID: SlackUser("erin"), Name: "erin", RealName: erin.Name, Email: erin.Email, TeamID: gridB})
	e.Slack.AddChannel(slackfake.Channel{ID: betaChan, Name: "beta-general", TeamID: gridB, Members: everyone})
	e.Slack.AddUser(slackfake.User{ID: vendorUser, Name: "vic", RealName: "Vic Vendor", Email: "vic@vendor.example",
		TeamID: "T0VENDOR", EnterpriseID: "E0VENDOR"})
	e.Slack.AddChannel(slackfake.Channel{ID: connect, Name: "acme-vendor", ExtShared: true,
		Members: []string{e.Slack.BotUserID(), SlackUser("alice"), SlackUser("carol"), vendorUser}})
	return e
}

func TestGridConnectInOneWorkspaceUseInAnother(t *testing.T) {
	e := gridBot(t)
	alice := SlackUser("alice")
	e.link(t, "alice") // in General, workspace A

	s := e.slash(t, alice, betaChan, "experts kubernetes") // workspace B: no new Connect prompt
	m := e.sees(t, s, "Experts on kubernetes")
	if strings.Contains(flat(m), "Connect your Stack Overflow account") {
		t.Fatalf("alice is connected org-wide, but workspace B asked again:\n%s", flat(m))
	}
	e.sees(t, e.slash(t, alice, betaChan, "whoami"), "Alice")

	// Home: alice's (workspace A) and erin's (home workspace B), each connected.
	e.link(t, "erin")
	if _, err := e.Slack.AppHomeOpened(alice); err != nil {
		t.Fatal(err)
	}
	for _, u := range []string{alice, SlackUser("erin")} {
		if _, err := e.Slack.WaitHome(wait(t), u, "connected as"); err != nil {
			t.Fatalf("home of %s: %v", u, err)
		}
	}
}

func TestGridSubscriptionsAcrossWorkspacesAndRemoval(t *testing.T) {
	e := gridBot(t)
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "")
	main := soe.MainSite()
	e.sees(t, e.slash(t, alice, General, "subscribe go"), "subscribed this channel to")
	e.sees(t, e.slash(t, alice, betaChan, "subscribe go"), "subscribed this channel to")
	e.sees(t, e.slash(t, alice, betaChan, "subscriptions"), "Subscriptions in this channel", "`go`")
	e.cycle(t)

	ask := func(title string) {
		time.Sleep(5 * time.Millisecond)
		e.SOE.AddQuestion(main, e.soeUser("judy"), title, "Details.", "go")
		e.cycle(t)
	}
	ask("How do we pin Go toolchain versions in CI?")
	if len(e.cards(General)) != 1 || len(e.cards(betaChan)) != 1 {
		t.Fatalf("one card in each workspace: A%s\nB%s", dump(e.cards(General)), dump(e.cards(betaChan)))
	}

	// An org admin removes the app from workspace B: its subscription is
	// switched off and kept; workspace A goes on.
	if _, err := e.Slack.TeamAccess(false, gridB); err != nil {
		t.Fatal(err)
	}
	e.waitSubs(t, func(active, off int) bool { return active == 1 && off == 1 })
	ask("How do we vendor Go modules?")
	if len(e.cards(General)) != 2 || len(e.cards(betaChan)) != 1 {
		t.Fatalf("after removal: A%s\nB%s", dump(e.cards(General)), dump(e.cards(betaChan)))
	}

	// Added back: the same subscription resumes.
	if _, err := e.Slack.TeamAccess(true, gridB); err != nil {
		t.Fatal(err)
	}
	e.waitSubs(t, func(active, off int) bool { return active == 2 && off == 0 })
	ask("How do we lint Go code?")
	if len(e.cards(General)) != 3 || len(e.cards(betaChan)) != 2 {
		t.Fatalf("after access granted again: A%s\nB%s", dump(e.cards(General)), dump(e.cards(betaChan)))
	}
}

// waitSubs waits until the stored subscriptions' active/off counts satisfy ok.
func (e *Env) waitSubs(t *testing.T, ok func(active, off int) bool) {
	t.Helper()
	ctx := wait(t)
	for {
		subs, err := e.App.Parts.Notify.ScopeSubscriptions(ctx, soe.MainSite())
		if err != nil {
			t.Fatal(err)
		}
		active, off := 0, 0
		for _, s := range subs {
			if s.Active() {
				active++
			} else {
				off++
			}
		}
		if ok(active, off) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("subscriptions: %d active, %d off", active, off)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func TestGridExternalPersonRefused(t *testing.T) {
	e := gridBot(t)
	s := e.slash(t, vendorUser, connect, "experts kubernetes")
	m := e.sees(t, s, "another organization")
	if !strings.Contains(m.Text, router.ExternalMessage().Text[:40]) {
		t.Fatalf("refusal: %s", m.Text)
	}
	// A click of theirs (a button on a message in the shared channel).
	c, err := e.Slack.BlockAction(vendorUser, connect, nil, "experts_share", "experts_share", "x")
	if err != nil {
		t.Fatal(err)
	}
	e.sees(t, c, "another organization")
	for _, team := range []string{"E0VENDOR", "E0ACME"} {
		if ls, err := e.App.Parts.Links.Links(wait(t), team, vendorUser); err != nil || len(ls) != 0 {
			t.Fatalf("links of the external person: %v %v", ls, err)
		}
	}
}

func TestGridColleagueOfAnotherWorkspaceClicks(t *testing.T) {
	e := gridBot(t)
	erin := SlackUser("erin") // home workspace B, acting in General (A)
	e.link(t, "erin")
	m := e.sees(t, e.slash(t, erin, General, "experts kubernetes"), "Experts on kubernetes")
	if _, err := e.Slack.BlockAction(erin, General, &m, "experts_share", "experts_share", shareValue(t, m)); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitMessage(wait(t), General, "Experts on kubernetes"); err != nil {
		t.Fatal(err)
	}
}

func TestGridSlackConnectNeverShowsPrivateTeams(t *testing.T) {
	e := gridBot(t)
	teamURL := e.seedQuestionURL(t, soe.TeamScope("platform"), "carol", "argo")
	mainURL := e.seedQuestionURL(t, soe.MainSite(), "alice", "terraform state")
	carol := e.linkedAs(t, "carol", "platform")
	e.linkedAs(t, "carol", "")

	// carol is on the platform team, but the channel is shared with Vendor
	// Inc.: no question with a Share button, just the reason.
	ts := e.share(t, carol, connect, teamURL)
	e.ephemeral(t, carol, "shared with another organization")
	// The main site is not private: previewed as anywhere.
	ts2 := e.share(t, carol, connect, mainURL)
	e.unfurled(t, connect, ts2, mainURL, "Terraform state")
	settle()
	if _, ok := e.Slack.Unfurls(connect, ts)[teamURL]; ok {
		t.Fatal("a private team's preview was shown in a Slack Connect channel")
	}

	// The vendor's own links: no preview and no Connect hint for them.
	ts3 := e.share(t, vendorUser, connect, mainURL)
	settle()
	if len(e.Slack.Ephemerals(vendorUser)) != 0 || len(e.Slack.Unfurls(connect, ts3)) != 0 {
		t.Fatalf("the external person got something: %s", dump(e.Slack.Ephemerals(vendorUser)))
	}
}
