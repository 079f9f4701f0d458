package e2e

import (
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// linkedAs connects Slack user SlackUser(login) to the SOE account login
// (main site, or the team when given) through the real flow, and returns
// the Slack user id.
func (e *Env) linkedAs(t *testing.T, login, team string) string {
	t.Helper()
	if team != "" {
		e.link(t, login, team)
	} else {
		e.link(t, login)
	}
	return SlackUser(login)
}

// soeAs is a direct SOE API client acting as login (test setup only).
func (e *Env) soeAs(scope soe.Scope, login string) *soe.Client {
	u := e.SOE.UserByName(login)
	return soe.NewService(soe.Config{APIURL: e.SOE.APIURL()}).Client(scope, e.SOE.MintToken(u.ID, "access_team", "no_expiry"))
}

// searchCalls counts the GET /search requests SOE saw.
func (e *Env) searchCalls() int {
	n := 0
	for _, r := range e.SOE.Requests() {
		if strings.HasSuffix(r.Path, "/search") {
			n++
		}
	}
	return n
}

// ephemeral returns the ephemeral message of user containing match (the
// current state, after replacements).
func (e *Env) ephemeral(t *testing.T, user, match string) slackfake.Message {
	t.Helper()
	m, err := e.Slack.WaitEphemeral(wait(t), user, match)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestSearchPagingAndShare(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")

	s := e.slash(t, alice, General, "search kubernetes")
	first := e.sees(t, s, "Results 1–5 of", "kubernetes", "Share", "Next →")
	if first.InChannel {
		t.Fatal("search results must be ephemeral")
	}
	if strings.Contains(first.Flat(), "← Previous") {
		t.Error("page 1 offers Previous")
	}
	calls := e.searchCalls()

	// Next replaces the results in place (response_url replace_original).
	cur := e.ephemeral(t, alice, "Results 1–5")
	if _, err := e.Slack.BlockAction(alice, General, &cur, "search_page:next", "", ""); err != nil {
		t.Fatal(err)
	}
	cur = e.ephemeral(t, alice, "Results 6–10")
	if !cur.Replaced || !strings.Contains(cur.Flat(), "← Previous") {
		t.Fatalf("page 2 did not replace page 1 or lacks Previous:\n%s", cur.Flat())
	}
	n := 0
	for _, m := range e.Slack.Ephemerals(alice) {
		if m.Matches("Results") {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d search messages shown, want 1", n)
	}
	if got := e.searchCalls(); got != calls && replicaMode <= 1 { // the page cache is per replica
		t.Errorf("page 2 of the same SOE page cost %d more /search calls", got-calls)
	}
	if _, err := e.Slack.BlockAction(alice, General, &cur, "search_page:prev", "", ""); err != nil {
		t.Fatal(err)
	}
	cur = e.ephemeral(t, alice, "Results 1–5")

	// Share posts a card in the channel, from the bot, naming the sharer.
	if _, err := e.Slack.BlockAction(alice, General, &cur, "search_share:0", "", ""); err != nil {
		t.Fatal(err)
	}
	shared, err := e.Slack.WaitMessage(wait(t), General, "Shared by")
	if err != nil {
		t.Fatal(err)
	}
	if !shared.BotPosted || !strings.Contains(shared.Text, "<@"+alice+">") {
		t.Errorf("shared card not from the bot or not naming the sharer: %+v", shared)
	}
	if !strings.Contains(shared.Flat(), "votes") {
		t.Errorf("shared card lacks the numbers:\n%s", shared.Flat())
	}
	e.Slack.T(t).ExpectNoErrors()
}

func TestSearchNoResultsUsageAndLongQuery(t *testing.T) {
	e := bot(t)
	bob := e.linkedAs(t, "bob", "")

	e.sees(t, e.slash(t, bob, General, "search zzyzx quuxly"), "Nothing on main site matches", "zzyzx quuxly")
	if e.App.Parts.Router.HasSubcommand("ask") {
		// "Ask a new question" opens the ask feature's modal with the query as title.
		cur := e.ephemeral(t, bob, "zzyzx quuxly")
		if _, err := e.Slack.BlockAction(bob, General, &cur, "ask_open:search", "", ""); err != nil {
			t.Fatalf("no Ask button: %v", err)
		}
		v, err := e.Slack.WaitView(wait(t), bob, "soe_ask_modal")
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(v.JSON), "zzyzx quuxly") {
			t.Errorf("ask modal not prefilled with the query:\n%s", v.Flat())
		}
	}
	e.sees(t, e.slash(t, bob, General, "search"), "Tell me what to search for", "/soe search")
	long := strings.Repeat("terraform ", 70)
	e.sees(t, e.slash(t, bob, General, "search "+long), "longer than 500 characters")
	// <!channel> in a query stays inert.
	m := e.sees(t, e.slash(t, bob, General, "search <!channel> nothing here"), "Nothing on main site")
	if strings.Contains(m.Text+string(m.Blocks), "<!channel>") {
		t.Fatalf("query echoed unescaped: %s", m.Blocks)
	}
	// A private team the user is not connected to: the Connect prompt.
	e.sees(t, e.slash(t, bob, General, "search etcd team platform"), "Connect", "team platform")
}

func TestSearchTeamAndAfterLinking(t *testing.T) {
	e := bot(t)
	carol := SlackUser("carol")
	// Not linked yet: the Connect prompt, and the search is answered once connected.
	s := e.slash(t, carol, General, "search etcd team platform")
	m := e.sees(t, s, "Connect your Stack Overflow account", "team platform")
	e.connect(t, buttonURL(t, m, "Connect"), "carol")
	if _, err := e.Slack.WaitResponse(wait(t), s.ResponseURL, "EtcdHighFsyncDurations"); err != nil {
		t.Fatalf("search not answered after linking: %v%s", err, dump(e.Slack.Responses(s.ResponseURL)))
	}
}

func TestSearchMessageShortcut(t *testing.T) {
	e := bot(t)
	dave := e.linkedAs(t, "dave", "")
	msg := e.Slack.PostAsUser(SlackUser("judy"), General, "<@UALICE> how do we store *terraform state* securely?", "")
	sent, err := e.Slack.MessageShortcut(dave, General, "soe_search_message", msg)
	if err != nil {
		t.Fatal(err)
	}
	got, err := e.Slack.WaitResponse(wait(t), sent.ResponseURL, "How do we store Terraform state securely in S3?")
	if err != nil {
		t.Fatalf("%v%s", err, dump(e.Slack.Responses(sent.ResponseURL)))
	}
	if got.InChannel {
		t.Fatal("shortcut results must be ephemeral")
	}
	// A message without text.
	empty := e.Slack.PostAsUser(SlackUser("judy"), General, " ", "")
	sent, err = e.Slack.MessageShortcut(dave, General, "soe_search_message", empty)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitResponse(wait(t), sent.ResponseURL, "no text"); err != nil {
		t.Fatal(err)
	}
}

// Security #4: a private team's post is shared in a channel not all known
// to be on the team only after the sharer says so.
func TestSearchShareTeamPostAsksFirst(t *testing.T) {
	e := bot(t)
	carol := e.linkedAs(t, "carol", "platform")
	e.sees(t, e.slash(t, carol, General, "search etcd team platform"), "EtcdHighFsyncDurations")
	cur := e.ephemeral(t, carol, "EtcdHighFsyncDurations")
	if _, err := e.Slack.BlockAction(carol, General, &cur, "search_share:0", "", ""); err != nil {
		t.Fatal(err)
	}
	q := e.ephemeral(t, carol, "Show this post from *team platform* to everyone")
	settle()
	for _, m := range e.Slack.Messages(General) {
		if m.Matches("Shared by") {
			t.Fatalf("shared before the sharer agreed:\n%s", m.Flat())
		}
	}
	e.Slack.T(t).Click(carol, q, "search_share_reveal", "")
	if _, err := e.Slack.WaitMessage(wait(t), General, "Shared by"); err != nil {
		t.Fatal(err)
	}
	e.Slack.T(t).ExpectNoErrors()
}
