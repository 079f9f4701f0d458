package e2e

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

// Act from the card (issue 17 point 5): the Upvote, Bookmark and Accept
// buttons of a real notification card, clicked by people connected or
// not, with SOE's refusals and the card refreshed in place.

// postedCard subscribes General to tag as alice and makes the poller post
// one card: a new question by judy (answer empty) or, when answer is set, an
// answer by erin to judy's question. It returns the card and the ids.
func (e *Env) postedCard(t *testing.T, scope soe.Scope, channel, tag, answer string) (card slackfake.Message, qid, aid int) {
	t.Helper()
	team := ""
	if scope.IsTeam() {
		team = " team " + scope.Team
	}
	if answer != "" {
		qid = e.SOE.AddQuestion(scope, e.soeUser("judy"), "How do we pin the Go toolchain in CI builds?", "We keep drifting.", tag)
	}
	e.sees(t, e.slash(t, SlackUser("alice"), channel, "subscribe "+tag+team), "subscribed this channel to")
	e.cycle(t)
	time.Sleep(5 * time.Millisecond)
	if answer == "" {
		qid = e.SOE.AddQuestion(scope, e.soeUser("judy"), "Which Go linter settings do we share across repos?", "Looking for a baseline.", tag)
	} else {
		aid = e.SOE.AddAnswer(scope, qid, e.soeUser("erin"), answer)
	}
	e.cycle(t)
	cs := e.cards(channel)
	if len(cs) != 1 {
		t.Fatalf("want one card:%s", dump(cs))
	}
	return cs[0], qid, aid
}

// clickCard clicks the button whose action id starts with prefix on the card's
// current version.
func (e *Env) clickCard(t *testing.T, user, channel, ts, prefix string) *slackfake.Sent {
	t.Helper()
	for _, m := range e.Slack.Messages(channel) {
		if m.TS != ts {
			continue
		}
		for _, id := range actionIDs(t, m) {
			if strings.HasPrefix(id, prefix) {
				return e.Slack.T(t).Click(user, m, id, "")
			}
		}
		t.Fatalf("no %s button on the card:\n%s", prefix, m.Flat())
	}
	t.Fatalf("no card %s in %s", ts, channel)
	return nil
}

// actionIDs are the action ids of m's buttons.
func actionIDs(t *testing.T, m slackfake.Message) []string {
	t.Helper()
	var bs slack.Blocks
	if err := bs.UnmarshalJSON(m.Blocks); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, b := range bs.BlockSet {
		if ab, ok := b.(*slack.ActionBlock); ok {
			for _, el := range ab.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok {
					ids = append(ids, btn.ActionID)
				}
			}
		}
	}
	return ids
}

func TestCardActionsOnAQuestionCard(t *testing.T) {
	e := bot(t)
	e.notifyLink(t, "alice", "")
	main := soe.MainSite()
	card, qid, _ := e.postedCard(t, main, General, "go", "")
	if !strings.Contains(card.Flat(), "Upvote") || !strings.Contains(card.Flat(), "Bookmark") {
		t.Fatalf("no buttons on the card:\n%s", card.Flat())
	}
	dave, judy := SlackUser("dave"), SlackUser("judy")

	// dave is not connected: Connect, then the click is replayed.
	click := e.clickCard(t, dave, General, card.TS, "card_upvote")
	prompt := e.sees(t, click, "Connect your Stack Overflow account", "I will finish your command once you are connected")
	e.connect(t, buttonURL(t, prompt, "Connect"), "dave")
	if _, err := e.Slack.WaitResponse(wait(t), click.ResponseURL, "You upvoted"); err != nil {
		t.Fatalf("no confirmation after connecting: %v%s", err, dump(e.Slack.Responses(click.ResponseURL)))
	}
	if q, _ := e.SOE.QuestionByID(main, qid); q.Score != 1 {
		t.Fatalf("score = %d, want 1", q.Score)
	}
	refreshed, err := e.Slack.WaitMessage(wait(t), General, "Upvote (score 1)")
	if err != nil {
		t.Fatalf("card not refreshed: %v%s", err, dump(e.cards(General)))
	}
	for _, keep := range []string{"Which Go linter settings", "Asked by", "Answer on Stack Overflow", "Bookmark"} {
		if !strings.Contains(refreshed.Flat(), keep) {
			t.Errorf("the refreshed card lost %q:\n%s", keep, refreshed.Flat())
		}
	}
	if refreshed.MetadataType != "soe_event" || refreshed.Text != card.Text {
		t.Errorf("the refreshed card lost its metadata or text: %q %q", refreshed.MetadataType, refreshed.Text)
	}

	// Again: SOE counts one vote per person.
	e.sees(t, e.clickCard(t, dave, General, card.TS, "card_upvote"), "You already upvoted this")
	// The asker may not vote on her own question.
	e.link(t, "judy")
	e.sees(t, e.clickCard(t, judy, General, card.TS, "card_upvote"), "You cannot vote on your own post")
	if q, _ := e.SOE.QuestionByID(main, qid); q.Score != 1 {
		t.Fatalf("score = %d after refusals, want 1", q.Score)
	}
	// Bookmark, with dave's own token.
	e.sees(t, e.clickCard(t, dave, General, card.TS, "card_bookmark"), "You bookmarked", "Which Go linter settings")
	if !e.SOE.Bookmarked(main, qid, e.soeUser("dave")) || e.SOE.Bookmarked(main, qid, e.soeUser("alice")) {
		t.Fatal("the bookmark is not dave's")
	}
	// Every answer was the clicker's alone: the channel has the card only.
	for _, m := range e.Slack.Messages(General) {
		if m.MetadataType != "soe_event" && strings.Contains(m.Flat(), "You ") {
			t.Fatalf("told the channel: %s", m.Flat())
		}
	}
}

func TestCardActionsAcceptOnAnAnswerCard(t *testing.T) {
	e := bot(t)
	e.notifyLink(t, "alice", "")
	main := soe.MainSite()
	card, qid, aid := e.postedCard(t, main, General, "go", "Use the `toolchain` directive in go.mod.")
	if !strings.Contains(card.Flat(), "Accept") {
		t.Fatalf("no Accept on the answer card:\n%s", card.Flat())
	}
	dave, judy, erin := SlackUser("dave"), SlackUser("judy"), SlackUser("erin")

	// Only the asker can accept: SOE refuses dave, and only dave hears it.
	e.link(t, "dave")
	refused := e.clickCard(t, dave, General, card.TS, "card_accept")
	e.sees(t, refused, "Only the asker can accept this answer")
	if q, _ := e.SOE.QuestionByID(main, qid); q.AcceptedAnswerID != 0 {
		t.Fatal("accepted by someone else")
	}
	if m, _ := e.Slack.WaitResponse(wait(t), refused.ResponseURL, "Only the asker"); m.InChannel {
		t.Fatal("the refusal was shown to the channel")
	}

	// judy asked it; she is not connected: Connect, then the Accept is replayed.
	click := e.clickCard(t, judy, General, card.TS, "card_accept")
	prompt := e.sees(t, click, "Connect your Stack Overflow account")
	e.connect(t, buttonURL(t, prompt, "Connect"), "judy")
	if _, err := e.Slack.WaitResponse(wait(t), click.ResponseURL, "You accepted"); err != nil {
		t.Fatalf("no confirmation after connecting: %v%s", err, dump(e.Slack.Responses(click.ResponseURL)))
	}
	if q, _ := e.SOE.QuestionByID(main, qid); q.AcceptedAnswerID != aid {
		t.Fatalf("accepted answer = %d, want %d", q.AcceptedAnswerID, aid)
	}
	if _, err := e.Slack.WaitMessage(wait(t), General, "✓ Accepted"); err != nil {
		t.Fatalf("card not refreshed after the replay: %v%s", err, dump(e.cards(General)))
	}

	// erin wrote it: no vote on her own answer; dave's vote counts, ✓ stays.
	e.link(t, "erin")
	e.sees(t, e.clickCard(t, erin, General, card.TS, "card_upvote"), "You cannot vote on your own post")
	e.sees(t, e.clickCard(t, dave, General, card.TS, "card_upvote"), "You upvoted", "score is now 1")
	if got := e.SOE.AnswerScore(main, aid); got != 1 {
		t.Fatalf("answer score = %d", got)
	}
	m, err := e.Slack.WaitMessage(wait(t), General, "Upvote (score 1)")
	if err != nil || !strings.Contains(m.Flat(), "✓ Accepted") {
		t.Fatalf("card = %v\n%s", err, m.Flat())
	}
}

func TestCardActionsReadOnlyConnectionIsOfferedReconnect(t *testing.T) {
	e := bot(t)
	e.notifyLink(t, "alice", "")
	card, qid, _ := e.postedCard(t, soe.MainSite(), General, "go", "")
	e.opts.Env = map[string]string{"LINK_WRITE_ACCESS": "false"} // dave connects read-only
	if err := e.Restart(wait(t)); err != nil {
		t.Fatal(err)
	}
	dave := e.linkedAs(t, "dave", "")
	e.sees(t, e.clickCard(t, dave, General, card.TS, "card_upvote"), "read-only", "Reconnect")
	if q, _ := e.SOE.QuestionByID(soe.MainSite(), qid); q.Score != 0 {
		t.Fatalf("score = %d with a read-only connection", q.Score)
	}
}

func TestCardActionsPrivateTeamCardActsInTheTeam(t *testing.T) {
	e := bot(t)
	alice := SlackUser("alice")
	e.notifyLink(t, "alice", "platform")
	platform := soe.TeamScope("platform")
	e.Slack.AddChannel(slackfake.Channel{ID: "CTEAMONLY", Name: "platform-only", Private: true, Members: []string{e.Slack.BotUserID(), alice}})
	card, qid, _ := e.postedCard(t, platform, "CTEAMONLY", "runbooks", "")
	e.sees(t, e.clickCard(t, alice, "CTEAMONLY", card.TS, "card_upvote"), "You upvoted")
	if q, _ := e.SOE.QuestionByID(platform, qid); q.Score != 1 {
		t.Fatalf("team question score = %d", q.Score)
	}
	found := false
	for _, r := range e.SOE.Requests() {
		found = found || (r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/teams/platform/questions/"+strconv.Itoa(qid)+"/upvote"))
	}
	if !found {
		t.Fatal("the upvote did not go to the team")
	}
}

func TestCardActionsSlackRefusingTheUpdateIsNotRetried(t *testing.T) {
	e := bot(t)
	e.notifyLink(t, "alice", "")
	card, _, _ := e.postedCard(t, soe.MainSite(), General, "go", "")
	e.Slack.FailMethod("chat.update", "message_not_found", 1)
	e.sees(t, e.clickCard(t, SlackUser("alice"), General, card.TS, "card_bookmark"), "You bookmarked")
	time.Sleep(300 * time.Millisecond)
	for _, m := range e.cards(General) {
		if m.Edits != 0 {
			t.Fatalf("the card was updated %d times after Slack refused once", m.Edits)
		}
	}
	// The next click updates it (so the first did try, once).
	e.sees(t, e.clickCard(t, SlackUser("alice"), General, card.TS, "card_bookmark"), "You bookmarked")
	if _, err := e.Slack.WaitMessage(wait(t), General, "Upvote (score 0)"); err != nil {
		t.Fatalf("card not refreshed by the second click: %v%s", err, dump(e.cards(General)))
	}
	if m := e.cards(General)[0]; m.Edits != 1 {
		t.Fatalf("edits = %d, want 1", m.Edits)
	}
}

// A search result shared in the channel carries the same buttons.
func TestCardActionsOnASharedSearchResult(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	main := soe.MainSite()
	qid := e.SOE.AddQuestion(main, e.soeUser("judy"), "How do we rotate zebrafish staging certificates?", "By hand today.", "tls")
	e.sees(t, e.slash(t, alice, General, "search zebrafish"), "zebrafish", "Share")
	cur := e.ephemeral(t, alice, "zebrafish")
	if _, err := e.Slack.BlockAction(alice, General, &cur, "search_share:0", "", ""); err != nil {
		t.Fatal(err)
	}
	shared, err := e.Slack.WaitMessage(wait(t), General, "Shared by")
	if err != nil || !strings.Contains(shared.Flat(), "Upvote (score 0)") {
		t.Fatalf("shared card = %v\n%s", err, shared.Flat())
	}
	e.sees(t, e.clickCard(t, alice, General, shared.TS, "card_upvote"), "You upvoted", "score is now 1")
	if q, _ := e.SOE.QuestionByID(main, qid); q.Score != 1 {
		t.Fatalf("score = %d", q.Score)
	}
	if _, err := e.Slack.WaitMessage(wait(t), General, "Upvote (score 1)"); err != nil {
		t.Fatalf("shared card not refreshed: %v", err)
	}
}

// On Stack Overflow for Teams Basic/Business the same buttons act in the
// team; a token SOE no longer accepts gets Reconnect, and the click is
// carried out after the new token is pasted.
func TestCardActionsBasicBusinessAndRevokedToken(t *testing.T) {
	e := bbBot(t)
	e.linkPAT(t, "alice", true)
	dave, pat := e.linkPAT(t, "dave", true)
	card, qid, aid := e.postedCard(t, soe.MainSite(), General, "go", "Use the `toolchain` directive in go.mod.")
	e.sees(t, e.clickCard(t, dave, General, card.TS, "card_upvote"), "You upvoted", "score is now 1")
	if got := e.SOE.AnswerScore(soe.MainSite(), aid); got != 1 {
		t.Fatalf("answer score = %d", got)
	}

	e.SOE.RevokeToken(pat)
	click := e.clickCard(t, dave, General, card.TS, "card_bookmark")
	prompt := e.sees(t, click, "Reconnect", "I will finish your command once you are connected")
	if status, body := e.pastePAT(t, buttonURL(t, prompt, "Reconnect"), e.SOE.MintPAT(e.soeUser("dave"), true), true); status != http.StatusOK {
		t.Fatalf("reconnect: %d\n%s", status, body)
	}
	if _, err := e.Slack.WaitResponse(wait(t), click.ResponseURL, "You bookmarked"); err != nil {
		t.Fatalf("not replayed after reconnecting: %v%s", err, dump(e.Slack.Responses(click.ResponseURL)))
	}
	if !e.SOE.Bookmarked(soe.MainSite(), qid, e.soeUser("dave")) {
		t.Fatal("not bookmarked")
	}
}
