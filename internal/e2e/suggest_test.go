package e2e

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// say is user posting text as a top-level message in channel: the message
// event Slack sends (message.channels / message.groups). extra fields
// (subtype, thread_ts, bot_id…) are added to the event.
func (e *Env) say(t *testing.T, user, channel, text string, extra ...map[string]any) string {
	t.Helper()
	ev := map[string]any{"user": user, "channel": channel, "text": text}
	for _, x := range extra {
		for k, v := range x {
			ev[k] = v
		}
	}
	s, err := e.Slack.Event("message", ev)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	ms := e.Slack.Messages(channel)
	for i := len(ms) - 1; i >= 0; i-- {
		if ms[i].User == user && ms[i].Text == text {
			return ms[i].TS
		}
	}
	return ""
}

// suggestions counts user's ephemerals "These may answer your question".
func (e *Env) suggestions(user string) int {
	return countMatching(e.Slack.Ephemerals(user), "These may answer your question")
}

// quiet waits a little and checks that user got no new suggestion.
func (e *Env) noNewSuggestion(t *testing.T, user string, before int, why string) {
	t.Helper()
	time.Sleep(300 * time.Millisecond)
	if n := e.suggestions(user); n != before {
		t.Fatalf("%s: %d suggestions, want %d", why, n, before)
	}
}

// metric reads one line of /metrics ("" when absent).
func (e *Env) metric(t *testing.T, name string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	e.App.Parts.Metrics.Handler().ServeHTTP(rec, httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/metrics", nil))
	for _, l := range strings.Split(rec.Body.String(), "\n") {
		if strings.HasPrefix(l, name+" ") {
			return strings.TrimPrefix(l, name+" ")
		}
	}
	return ""
}

// waitMetric waits until the metric line name reads want (counters move
// just after what they count). With several replicas each exports its own
// counters, so there is no one figure to check.
func (e *Env) waitMetric(t *testing.T, name, want string) {
	t.Helper()
	if replicaMode > 1 {
		return
	}
	deadline := time.Now().Add(3 * time.Second)
	for got := e.metric(t, name); got != want; got = e.metric(t, name) {
		if time.Now().After(deadline) {
			t.Fatalf("%s = %q, want %q", name, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

const kubeQuestion = "How do I restart a kubernetes deployment without downtime?"

func TestSuggestAnswersInAnOptInChannel(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	bob := e.linkedAs(t, "bob", "")

	// Off by default.
	e.say(t, alice, General, kubeQuestion)
	e.noNewSuggestion(t, alice, 0, "suggestions are off by default")
	e.sees(t, e.slash(t, alice, General, "config suggest"), "Answer suggestions are *off*")

	m := e.sees(t, e.slash(t, alice, General, "config suggest on"), "turned answer suggestions *on*")
	if !m.InChannel {
		t.Error("turning suggestions on must be said in the channel")
	}
	before := e.searchCalls()
	ts := e.say(t, bob, General, "hey, "+strings.ToLower(kubeQuestion))
	sug, err := e.Slack.WaitEphemeral(wait(t), bob, "These may answer your question")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sug.Flat(), "How do I restart a Kubernetes deployment without downtime?") || !strings.Contains(sug.Flat(), "✓ accepted") {
		t.Errorf("suggestion:\n%s", sug.Flat())
	}
	if n := e.searchCalls() - before; n != 1 {
		t.Errorf("%d searches for one question", n)
	}
	if e.suggestions(alice) != 0 {
		t.Error("someone other than the asker saw the suggestion")
	}
	e.waitMetric(t, `soebot_suggestions_total{outcome="shown"}`, "1")

	// One per person per channel every 10 minutes.
	e.say(t, bob, General, "Why does my Go service leak goroutines when the HTTP client times out?")
	e.noNewSuggestion(t, bob, 1, "a second question within 10 minutes")

	// Share in thread: from the bot, saying who shared it.
	click := e.Slack.T(t).Click(bob, sug, "suggest_share:0", "")
	card, err := e.Slack.WaitMessage(wait(t), General, "shared this from Stack Overflow")
	if err != nil {
		t.Fatal(err)
	}
	if ts == "" || card.ThreadTS != ts || !strings.Contains(card.Flat(), "@"+bob) {
		t.Errorf("shared card = %+v\n%s", card, card.Flat())
	}
	if _, err := e.Slack.WaitResponse(wait(t), click.ResponseURL, "Shared in the thread"); err != nil {
		t.Fatal(err)
	}
	e.waitMetric(t, `soebot_suggestions_total{outcome="shared"}`, "1")

	// Not helpful: remembered, counted.
	e.say(t, alice, General, "Is there a runbook for draining a kubernetes node safely?")
	sug, err = e.Slack.WaitEphemeral(wait(t), alice, "These may answer your question")
	if err != nil {
		t.Fatal(err)
	}
	click = e.Slack.T(t).Click(alice, sug, "suggest_not_helpful", "")
	if _, err := e.Slack.WaitResponse(wait(t), click.ResponseURL, "only stronger matches"); err != nil {
		t.Fatal(err)
	}
	e.waitMetric(t, `soebot_suggestions_total{outcome="dismissed"}`, "1")

	// Off again.
	e.sees(t, e.slash(t, alice, General, "config suggest off"), "turned answer suggestions *off*")
	e.Slack.T(t).ExpectNoErrors()
}

func TestSuggestAskOnStackOverflowOpensThePrefilledForm(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.sees(t, e.slash(t, alice, General, "config suggest on"), "turned answer suggestions *on*")
	e.say(t, alice, General, kubeQuestion)
	sug, err := e.Slack.WaitEphemeral(wait(t), alice, "These may answer your question")
	if err != nil {
		t.Fatal(err)
	}
	e.Slack.T(t).Click(alice, sug, "ask_open:suggest", "")
	v := e.askForm(t, alice)
	if got := initial(t, v, "ask_title"); got != kubeQuestion {
		t.Errorf("ask form title = %q", got)
	}
}

func TestSuggestIgnoresWhatIsNotAPersonsNewQuestion(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.sees(t, e.slash(t, alice, General, "config suggest on"), "turned answer suggestions *on*")
	e.Slack.AddChannel(slackfake.Channel{ID: "CSHARED", Name: "shared-with-vendor", ExtShared: true, Members: []string{e.Slack.BotUserID(), alice}})
	e.sees(t, e.slash(t, alice, "CSHARED", "config suggest on"), "turned answer suggestions *on*")
	parent := e.Slack.PostAsUser(SlackUser("carol"), General, "deploy done", "").TS

	for _, c := range []struct {
		why     string
		channel string
		text    string
		extra   map[string]any
	}{
		{"not a question", General, "Deploy of web 4.2 is done, all green", nil},
		{"small talk", General, "Who's in for lunch at 12?", nil},
		{"a thread reply", General, kubeQuestion, map[string]any{"thread_ts": parent}},
		{"an edit", General, kubeQuestion, map[string]any{"subtype": "message_changed"}},
		{"a bot", General, kubeQuestion, map[string]any{"bot_id": "B123"}},
		{"Slack Connect", "CSHARED", kubeQuestion, nil},
		{"a channel that did not opt in", Private, kubeQuestion, nil},
	} {
		e.say(t, alice, c.channel, c.text, c.extra)
		e.noNewSuggestion(t, alice, 0, c.why)
	}
	// And a real question still gets one.
	e.say(t, alice, General, kubeQuestion)
	if _, err := e.Slack.WaitEphemeral(wait(t), alice, "These may answer your question"); err != nil {
		t.Fatal(err)
	}
}

func TestSuggestNotConnectedGetsOneHintADay(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	grace := SlackUser("grace")
	e.sees(t, e.slash(t, alice, General, "config suggest on"), "turned answer suggestions *on*")
	e.say(t, grace, General, kubeQuestion)
	hint, err := e.Slack.WaitEphemeral(wait(t), grace, "I can suggest Stack Overflow answers")
	if err != nil {
		t.Fatal(err)
	}
	if buttonURL(t, hint, "Connect") == "" {
		t.Fatal("no Connect button")
	}
	e.say(t, grace, General, "Why does my Go service leak goroutines when the HTTP client times out?")
	time.Sleep(300 * time.Millisecond)
	if n := countMatching(e.Slack.Ephemerals(grace), "I can suggest Stack Overflow answers"); n != 1 {
		t.Fatalf("%d connect hints, want 1 a day", n)
	}
	if e.suggestions(grace) != 0 {
		t.Fatal("a suggestion without a connection")
	}
}

// A channel whose default is a private team: its content is never
// suggested where members may not all be on the team.
func TestSuggestNeverShowsPrivateTeamContentToOutsiders(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.linkedAs(t, "alice", "platform")
	e.sees(t, e.slash(t, alice, General, "config team platform"), "platform")
	e.sees(t, e.slash(t, alice, General, "config suggest on"), "turned answer suggestions *on*")
	before := e.searchCalls()
	e.say(t, alice, General, "Is there a runbook for draining a kubernetes node safely?")
	e.noNewSuggestion(t, alice, 0, "private team content in a channel with outsiders")
	if n := e.searchCalls() - before; n != 0 {
		t.Errorf("%d searches made for a channel where nothing may be shown", n)
	}
}

func TestSuggestConfigRefusals(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.sees(t, e.slash(t, alice, Random, "config suggest on"), "Invite me")
	e.sees(t, e.slash(t, alice, General, "config suggest maybe"), "Usage:")
	e.sees(t, e.slash(t, alice, "D"+alice, "config suggest on"), "Usage:")
	e.sees(t, e.slash(t, alice, Random, "config suggest"), "*off*")
}

// "Not helpful" raises the channel's bar: a hit that was just strong enough
// (an accepted answer, score 0) is no longer suggested there, to anyone,
// while another channel still gets it.
func TestSuggestNotHelpfulRaisesTheChannelsThreshold(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	bob := e.linkedAs(t, "bob", "")
	carol := e.linkedAs(t, "carol", "")
	author := e.soeUser("dave")
	q := e.SOE.AddQuestion(soe.MainSite(), author, "How do I rotate zookeeper quorum certificates?", "We run a zookeeper quorum.", "zookeeper")
	e.SOE.AcceptAnswer(soe.MainSite(), q, e.SOE.AddAnswer(soe.MainSite(), q, author, "Roll them one member at a time."))
	const asked = "How can I rotate zookeeper quorum certificates?"

	for _, ch := range []string{General, Private} {
		e.sees(t, e.slash(t, alice, ch, "config suggest on"), "turned answer suggestions *on*")
	}
	e.say(t, alice, General, asked)
	sug, err := e.Slack.WaitEphemeral(wait(t), alice, "These may answer your question")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sug.Flat(), "zookeeper quorum certificates") {
		t.Fatalf("suggestion:\n%s", sug.Flat())
	}
	click := e.Slack.T(t).Click(alice, sug, "suggest_not_helpful", "")
	if _, err := e.Slack.WaitResponse(wait(t), click.ResponseURL, "only stronger matches"); err != nil {
		t.Fatal(err)
	}

	// Someone else asking the same in that channel: the weak hit is not shown.
	before := e.searchCalls()
	e.say(t, bob, General, asked)
	e.waitSearches(t, before+1)
	e.noNewSuggestion(t, bob, 0, "a hit below the raised threshold")

	// The bar is per channel: in another one the same hit is still suggested.
	e.say(t, carol, Private, asked)
	if _, err := e.Slack.WaitEphemeral(wait(t), carol, "These may answer your question"); err != nil {
		t.Fatal(err)
	}
	e.Slack.T(t).ExpectNoErrors()
}

// waitSearches waits until the fake SOE has served n searches in all.
func (e *Env) waitSearches(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for e.searchCalls() < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d searches, want %d", e.searchCalls(), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
