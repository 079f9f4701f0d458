package e2e

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// share posts text with urls as user in channel and sends link_shared.
func (e *Env) share(t *testing.T, user, channel string, urls ...string) string {
	t.Helper()
	msg := e.Slack.PostAsUser(user, channel, "look: "+strings.Join(urls, " "), "")
	s, err := e.Slack.LinkShared(user, channel, msg.TS, urls)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	return msg.TS
}

// unfurled waits for url's preview on channel/ts and returns it as text.
func (e *Env) unfurled(t *testing.T, channel, ts, url string, match ...string) string {
	t.Helper()
	raw, err := e.Slack.WaitUnfurl(wait(t), channel, ts, url)
	if err != nil {
		t.Fatalf("%s not unfurled: %v (have %v)", url, err, e.Slack.Unfurls(channel, ts))
	}
	for _, m := range match {
		if !strings.Contains(string(raw), m) {
			t.Fatalf("preview of %s lacks %q:\n%s", url, m, raw)
		}
	}
	return string(raw)
}

// seedQuestionURL finds a seed question by words, searching as login.
func (e *Env) seedQuestionURL(t *testing.T, scope soe.Scope, login, words string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	hits, err := e.soeAs(scope, login).Search(ctx, soe.SearchOptions{Query: words + " is:question"})
	if err != nil || len(hits.Items) == 0 {
		t.Fatalf("seed question %q not found in %s: %v", words, scope.Key(), err)
	}
	return hits.Items[0].WebURL
}

// settle waits until the bot has handled what it was sent (the fake has no
// "handler done" signal; previews and hints come within this time).
func settle() { time.Sleep(300 * time.Millisecond) }

func TestUnfurlEachURLForm(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.linkedAs(t, "alice", "platform")

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	main := e.soeAs(soe.MainSite(), "alice")
	hits, err := main.Search(ctx, soe.SearchOptions{Query: "restart deployment downtime is:question"})
	if err != nil || len(hits.Items) == 0 {
		t.Fatalf("seed question not found: %v", err)
	}
	q := hits.Items[0]
	answers, err := main.AnswersPage(ctx, q.ID, soe.AnswerListOptions{})
	if err != nil || len(answers.Items) == 0 {
		t.Fatalf("answers: %v", err)
	}
	var accepted soe.AnswerSummary
	for _, a := range answers.Items {
		if a.IsAccepted {
			accepted = a
		}
	}
	arts, err := main.Search(ctx, soe.SearchOptions{Query: "handbook is:article"})
	if err != nil || len(arts.Items) == 0 {
		t.Fatalf("seed article not found: %v", err)
	}
	art := arts.Items[0]
	team, err := e.soeAs(soe.TeamScope("platform"), "alice").Search(ctx, soe.SearchOptions{Query: "etcd is:question"})
	if err != nil || len(team.Items) == 0 {
		t.Fatalf("team question not found: %v", err)
	}
	tq := team.Items[0]

	site := e.SOE.URL()
	qid, aid := strconv.Itoa(q.ID), strconv.Itoa(accepted.ID)
	forms := map[string][]string{
		q.WebURL:                                 {"How do I restart a Kubernetes deployment without downtime?", "2 answers", "accepted", "kubernetes", "Alice Anderson"},
		site + "/questions/" + qid:               {"How do I restart a Kubernetes deployment", "12 votes"},
		site + "/q/" + qid:                       {"How do I restart a Kubernetes deployment"},
		site + "/questions/" + qid + "/x#" + aid: {"Answer to: How do I restart", "accepted", "Carol Chen", "rollout restart"},
		site + "/questions/" + qid + "/x/" + aid: {"Answer to: How do I restart", "15 votes"},
		site + "/a/" + aid:                       {"Answer to: How do I restart", "Carol Chen"}, // share link, via the site's redirect
		// Security #8: what follows the id is never forwarded to SOE.
		site + "/a/" + aid + "/..%2F..%2Fadmin%2Fusers?delete=1": {"Answer to: How do I restart"},
		art.WebURL: {"On-call handbook for Platform Engineering", "Knowledge article", "oncall"},
	}
	ignored := []string{
		site + "/a/999999", // a share link the site does not redirect
		site + "/users/1/alice",
		site + "/questions/tagged/go",
		"https://other.example/questions/" + qid,
	}
	var urls []string
	for u := range forms {
		urls = append(urls, u)
	}
	ts := e.share(t, alice, General, append(urls, ignored...)...)
	for u, want := range forms {
		raw := e.unfurled(t, General, ts, u, want...)
		for _, bad := range []string{"<!channel>", "<!here>"} {
			if strings.Contains(raw, bad) {
				t.Errorf("preview of %s contains %s", u, bad)
			}
		}
	}
	settle()
	got := e.Slack.Unfurls(General, ts)
	for _, u := range ignored {
		if _, ok := got[u]; ok {
			t.Errorf("%s was unfurled", u)
		}
	}
	// A private team's post is previewed in #general only once alice says
	// so (not everyone there is known to be on the team).
	ts = e.share(t, alice, General, tq.WebURL)
	e.Slack.T(t).Click(alice, e.ephemeral(t, alice, "Show the preview"), "unfurl_reveal", "")
	e.unfurled(t, General, ts, tq.WebURL, "etcd disk latency", "team platform", "runbooks")
	for _, m := range e.Slack.Ephemerals(alice) {
		if m.Matches("previews of Stack Overflow links") {
			t.Errorf("a linked user got a hint: %s", m.Flat())
		}
	}
	for _, r := range e.SOE.Requests() {
		if strings.Contains(r.Path, "admin") || strings.Contains(r.Query, "delete") {
			t.Errorf("SOE was asked for %s?%s", r.Path, r.Query)
		}
	}
	e.Slack.T(t).ExpectNoErrors()
}

func TestNoUnfurlForUnlinkedOrForeignTeam(t *testing.T) {
	e := bot(t)
	site := e.SOE.URL()
	mainURL := e.seedQuestionURL(t, soe.MainSite(), "alice", "terraform state")
	teamURL := e.seedQuestionURL(t, soe.TeamScope("platform"), "carol", "argo")
	if !strings.HasPrefix(teamURL, site+"/c/platform/") {
		t.Fatalf("team URL %q", teamURL)
	}

	// Dave never linked: no preview, and one hint a day, only to him.
	dave := SlackUser("dave")
	ts := e.share(t, dave, General, mainURL)
	hint := e.ephemeral(t, dave, "previews of Stack Overflow links")
	if !strings.Contains(hint.Flat(), "Connect") {
		t.Errorf("hint has no Connect button:\n%s", hint.Flat())
	}
	ts2 := e.share(t, dave, General, mainURL)
	settle()
	if n := len(e.Slack.Ephemerals(dave)); n != 1 {
		t.Errorf("%d hints, want 1:%s", n, dump(e.Slack.Ephemerals(dave)))
	}
	if len(e.Slack.Unfurls(General, ts))+len(e.Slack.Unfurls(General, ts2)) != 0 {
		t.Error("an unlinked user's link was unfurled")
	}

	// Bob is linked to the main site only: the main-site link unfurls with
	// his token, the platform team link does not (nobody else's token is used,
	// although carol is linked there).
	bob := e.linkedAs(t, "bob", "")
	e.linkedAs(t, "carol", "platform")
	ts = e.share(t, bob, General, mainURL, teamURL)
	e.unfurled(t, General, ts, mainURL, "Terraform state")
	settle()
	if _, ok := e.Slack.Unfurls(General, ts)[teamURL]; ok {
		t.Error("foreign team link unfurled")
	}
	// Security #4: carol (linked to platform) is asked first, because not
	// everyone in #general is known to be on the team; nothing is shown
	// until she says yes.
	carol := SlackUser("carol")
	ts = e.share(t, carol, General, teamURL)
	q := e.ephemeral(t, carol, "Show the preview from *team platform* to everyone")
	settle()
	if _, ok := e.Slack.Unfurls(General, ts)[teamURL]; ok {
		t.Fatal("team preview shown before the sharer agreed")
	}
	e.Slack.T(t).Click(carol, q, "unfurl_reveal", "")
	e.unfurled(t, General, ts, teamURL, "Argo CD", "team platform")
	// Not now shows nothing; Always in this channel shows it, and from then
	// on nobody is asked in #general for that team.
	ts = e.share(t, carol, General, teamURL)
	e.Slack.T(t).Click(carol, e.ephemeral(t, carol, "Show the preview"), "reveal_not_now", "no")
	settle()
	if _, ok := e.Slack.Unfurls(General, ts)[teamURL]; ok {
		t.Fatal("Not now showed the preview")
	}
	ts = e.share(t, carol, General, teamURL)
	e.ephemeral(t, carol, "Show the preview")
	settle()
	e.Slack.T(t).Click(carol, lastMatching(t, e.Slack.Ephemerals(carol), "Show the preview"), "unfurl_reveal_always", "")
	e.unfurled(t, General, ts, teamURL, "Argo CD")
	questions := func() int {
		n := 0
		for _, m := range e.Slack.Ephemerals(carol) {
			if m.Matches("Show the preview") {
				n++
			}
		}
		return n
	}
	settle()
	asked := questions()
	ts = e.share(t, carol, General, teamURL)
	e.unfurled(t, General, ts, teamURL, "Argo CD")
	settle()
	if n := questions(); n != asked {
		t.Fatalf("asked again after Always in this channel:%s", dump(e.Slack.Ephemerals(carol)))
	}
}

// lastMatching is the newest of ms that matches.
func lastMatching(t *testing.T, ms []slackfake.Message, match string) slackfake.Message {
	t.Helper()
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].Matches(match) {
			return ms[i]
		}
	}
	t.Fatalf("no message matching %q:%s", match, dump(ms))
	return slackfake.Message{}
}

// Links typed in the message box get their preview before the message is
// sent (link_shared with source "composer"); an unlinked user gets none,
// and the connect hint waits until the message is actually posted.
func TestUnfurlInComposer(t *testing.T) {
	e := bot(t)
	link := e.seedQuestionURL(t, soe.MainSite(), "alice", "terraform state")

	compose := func(user string) string {
		t.Helper()
		s, id, err := e.Slack.ComposerLinkShared(user, []string{link})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
			t.Fatal(err)
		}
		return id
	}

	alice := e.linkedAs(t, "alice", "")
	id := compose(alice)
	e.unfurled(t, slackfake.ComposerChannel, id, link, "Terraform state")

	dave := SlackUser("dave")
	id = compose(dave)
	settle()
	if u := e.Slack.Unfurls(slackfake.ComposerChannel, id); len(u) != 0 {
		t.Errorf("an unlinked user's composer link was unfurled: %v", u)
	}
	if n := len(e.Slack.Ephemerals(dave)); n != 0 {
		t.Errorf("hint shown while the link was only in the composer:%s", dump(e.Slack.Ephemerals(dave)))
	}
	// Sent: now the hint comes, in the channel.
	e.share(t, dave, General, link)
	e.ephemeral(t, dave, "previews of Stack Overflow links")
	e.Slack.T(t).ExpectNoErrors()
}
