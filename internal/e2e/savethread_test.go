package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
)

const saveShortcut = "soe_save_thread"

// savedThread is a thread in #general: bob asks, carol answers, dave thanks.
type savedThread struct {
	parent, answer, thanks slackfake.Message
}

func (e *Env) thread(t *testing.T, app ...string) savedThread {
	t.Helper()
	bob, carol, dave := SlackUser("bob"), SlackUser("carol"), SlackUser("dave")
	name := "web"
	if len(app) > 0 {
		name = app[0]
	}
	p := e.Slack.PostAsUser(bob, General, "How do I restart our kubernetes deployment "+name+" safely?\nWe tried `kubectl delete pods` and got downtime.", "")
	a := e.Slack.PostAsUser(carol, General, "Use `kubectl rollout restart deployment/web`: it replaces the pods *one by one*.", p.TS)
	th := e.Slack.PostAsUser(dave, General, "thanks <@"+carol+">!", p.TS)
	return savedThread{parent: p, answer: a, thanks: th}
}

// saveForm runs "Save to Stack Overflow" as user on msg and waits for the
// filled form.
func (e *Env) saveForm(t *testing.T, user string, msg slackfake.Message) (*slackfake.View, *slackfake.Sent) {
	t.Helper()
	s, err := e.Slack.MessageShortcut(user, General, saveShortcut, msg)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	v, err := e.Slack.WaitViewMatch(wait(t), user, askModal, "Which reply answers it?")
	if err != nil {
		t.Fatal(err)
	}
	return v, s
}

// saveValues is the form as submitted: what it was prefilled with, and the
// reply chosen ("" none).
func saveValues(t *testing.T, v *slackfake.View, reply string) map[string]map[string]any {
	t.Helper()
	vals := askValues{title: initial(t, v, "ask_title"), body: initial(t, v, "ask_body"), tags: strings.Split(initial(t, v, "ask_tags"), ",")}.state()
	if reply == "" {
		reply = "none"
	}
	vals["save_reply"] = map[string]any{"save_reply": slackfake.StaticSelectValue(reply)}
	return vals
}

func (e *Env) submitSave(t *testing.T, user string, v *slackfake.View, vals map[string]map[string]any) {
	t.Helper()
	s, err := e.Slack.ViewSubmission(user, v, vals)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
		t.Fatal(err)
	}
}

// answersBy lists the bodies of the answers login posted to question id.
func (e *Env) answersBy(scope soe.Scope, id int, login string) []string {
	c := e.soeAs(scope, "heidi")
	p, err := c.AnswersPage(context.Background(), id, soe.AnswerListOptions{PageSize: 100})
	if err != nil {
		return []string{"error: " + err.Error()}
	}
	var out []string
	for _, a := range p.Items {
		if a.Owner != nil && a.Owner.ID == e.SOE.UserByName(login).ID {
			out = append(out, a.Body)
		}
	}
	return out
}

func TestSaveThreadAsQAndAnswerAfterTheAuthorConnects(t *testing.T) {
	e := bot(t)
	alice, carol := e.linkedAs(t, "alice", ""), SlackUser("carol")
	th := e.thread(t)
	v, sent := e.saveForm(t, alice, th.thanks)

	if got := initial(t, v, "ask_title"); got != "How do I restart our kubernetes deployment web safely?" {
		t.Errorf("title = %q", got)
	}
	body := initial(t, v, "ask_body")
	for _, want := range []string{"We tried `kubectl delete pods`", "*Asked in [Slack](https://", "/archives/" + General + "/p", "by @bob (a thread with 2 replies).*"} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if got := initial(t, v, "ask_tags"); got != "kubernetes,kubectl" {
		t.Errorf("suggested tags = %q, want kubernetes,kubectl", got)
	}
	if got := replyOptions(t, v); len(got) != 3 || !strings.HasPrefix(got[1], "carol: Use kubectl rollout restart deployment/web: it replaces") ||
		got[2] != "dave: thanks @carol!" || !v.Matches("Saving a thread started by bob (2 replies)") {
		t.Errorf("reply options %q", got)
		t.Errorf("form:\n%s", v.Flat())
	}
	if initial(t, v, "save_reply") != "none" {
		t.Errorf("a reply is preselected")
	}

	e.submitSave(t, alice, v, saveValues(t, v, th.answer.TS))
	conf, err := e.Slack.WaitResponse(wait(t), sent.ResponseURL, "Posted:")
	if err != nil {
		t.Fatal(err)
	}
	q := postedQuestion(t, e, soe.MainSite(), conf)
	if q.AuthorID != e.SOE.UserByName("alice").ID || q.Title != "How do I restart our kubernetes deployment web safely?" {
		t.Errorf("question = %+v", q)
	}
	card, err := e.Slack.WaitMessage(wait(t), General, "Saved to Stack Overflow")
	if err != nil || card.ThreadTS != th.parent.TS || !strings.Contains(card.Flat(), "Saved by @"+alice) {
		t.Fatalf("thread message = %+v, %v", card, err)
	}
	if _, err := e.Slack.WaitResponse(wait(t), sent.ResponseURL, "I asked"); err != nil {
		t.Fatal(err)
	}

	// carol is asked once; she is not connected: Connect, then it resumes.
	dm, err := e.Slack.WaitDM(wait(t), carol, "saved your reply as the answer to")
	if err != nil {
		t.Fatal(err)
	}
	if n := len(e.Slack.DMs(carol)); n != 1 {
		t.Errorf("carol got %d DMs, want 1", n)
	}
	if len(e.answersBy(soe.MainSite(), q.ID, "carol")) != 0 {
		t.Fatal("posted before carol agreed")
	}
	click := e.Slack.T(t).Click(carol, dm, "saved_answer_post", "")
	prompt := e.sees(t, click, "Connect your Stack Overflow account", "I will finish your command once you are connected")
	e.connect(t, buttonURL(t, prompt, "Connect"), "carol")
	if _, err := e.Slack.WaitResponse(wait(t), click.ResponseURL, "Posted as your answer"); err != nil {
		t.Fatalf("no confirmation after connecting: %v\n%s", err, dump(e.Slack.Responses(click.ResponseURL)))
	}
	got := e.answersBy(soe.MainSite(), q.ID, "carol")
	if len(got) != 1 || !strings.Contains(got[0], "kubectl rollout restart deployment/web") {
		t.Fatalf("carol's answers = %q", got)
	}
	if len(e.answersBy(soe.MainSite(), q.ID, "alice")) != 0 {
		t.Fatal("an answer was posted under the saver's name")
	}
	if _, err := e.Slack.WaitMessage(wait(t), General, "(answer by @"+carol+")"); err != nil {
		t.Fatal(err)
	}
	if cards := e.Slack.Thread(General, th.parent.TS); countMatching(cards, "Saved to Stack Overflow") != 1 {
		t.Errorf("the thread got %d saved messages, want 1", countMatching(cards, "Saved to Stack Overflow"))
	}
	if _, err := e.Slack.WaitDM(wait(t), alice, "posted their reply as the answer"); err != nil {
		t.Fatal(err)
	}
	// The buttons are gone; the same request again (a replay) posts nothing more.
	e.sees(t, e.slash(t, carol, General, "saved-answer "+buttonValue(t, dm, "saved_answer_post")), "You already answered it")
	if n := len(e.answersBy(soe.MainSite(), q.ID, "carol")); n != 1 {
		t.Errorf("carol has %d answers after a second click", n)
	}
}

// buttonValue is the value of the button actionID in m.
func buttonValue(t *testing.T, m slackfake.Message, actionID string) string {
	t.Helper()
	var bs slack.Blocks
	if err := bs.UnmarshalJSON(m.Blocks); err != nil {
		t.Fatal(err)
	}
	for _, b := range bs.BlockSet {
		if ab, ok := b.(*slack.ActionBlock); ok {
			for _, el := range ab.Elements.ElementSet {
				if btn, ok := el.(*slack.ButtonBlockElement); ok && btn.ActionID == actionID {
					return btn.Value
				}
			}
		}
	}
	t.Fatalf("no button %s in:\n%s", actionID, m.Flat())
	return ""
}

// replyOptions are the labels of "Which reply answers it?", "None" first.
func replyOptions(t *testing.T, v *slackfake.View) []string {
	t.Helper()
	for _, b := range viewBlocks(t, v) {
		if in, ok := b.(*slack.InputBlock); ok && in.BlockID == "save_reply" {
			var out []string
			for _, o := range in.Element.(*slack.SelectBlockElement).Options {
				out = append(out, o.Text.Text)
			}
			return out
		}
	}
	t.Fatalf("no reply select:\n%s", v.Flat())
	return nil
}

func countMatching(ms []slackfake.Message, match string) int {
	n := 0
	for _, m := range ms {
		if strings.Contains(m.Flat(), match) {
			n++
		}
	}
	return n
}

func TestSaveThreadAuthorDeclinesOrEditsFirst(t *testing.T) {
	e := bot(t)
	alice, carol := e.linkedAs(t, "alice", ""), e.linkedAs(t, "carol", "")
	dave := e.linkedAs(t, "dave", "")

	// carol declines: nothing posted, alice is told.
	th := e.thread(t)
	v, sent := e.saveForm(t, alice, th.parent)
	e.submitSave(t, alice, v, saveValues(t, v, th.answer.TS))
	q := postedQuestion(t, e, soe.MainSite(), e.sees(t, sent, "Posted:"))
	dm, err := e.Slack.WaitDM(wait(t), carol, "saved your reply")
	if err != nil {
		t.Fatal(err)
	}
	// Someone else cannot use carol's buttons.
	e.sees(t, e.Slack.T(t).Click(dave, dm, "saved_answer_post", ""), "Only the author of that reply")
	// Nor forge a value naming another saver or another bot message: the
	// buttons' value is sealed with the bot's key.
	forged := fmt.Sprintf(`{"s":"main","q":%d,"c":%q,"t":%q,"r":%q,"m":"1.000001","b":"UDAVE"}`, q.ID, General, th.parent.TS, th.answer.TS)
	e.sees(t, e.slash(t, carol, General, "saved-answer "+forged), "That button is out of date")
	if strings.Contains(buttonValue(t, dm, "saved_answer_post"), carol) {
		t.Error("the button value shows its content in clear")
	}
	e.sees(t, e.Slack.T(t).Click(carol, dm, "saved_answer_decline", ""), "I did not post your reply")
	if _, err := e.Slack.WaitDM(wait(t), alice, "preferred not to post their reply"); err != nil {
		t.Fatal(err)
	}
	if n := len(e.answersBy(soe.MainSite(), q.ID, "carol")); n != 0 {
		t.Fatalf("declined, yet %d answers", n)
	}

	// Edit first: the reply in a form; what carol submits is posted as her.
	th = e.thread(t, "api")
	v, sent = e.saveForm(t, alice, th.parent)
	e.submitSave(t, alice, v, saveValues(t, v, th.answer.TS))
	q = postedQuestion(t, e, soe.MainSite(), e.sees(t, sent, "Posted:"))
	dm, err = e.Slack.WaitDM(wait(t), carol, "Post it on Stack Overflow as your answer?")
	if err != nil {
		t.Fatal(err)
	}
	e.Slack.T(t).Click(carol, dm, "saved_answer_edit", "")
	ev, err := e.Slack.WaitView(wait(t), carol, "soe_saved_answer_modal")
	if err != nil {
		t.Fatal(err)
	}
	if got := initial(t, ev, "saved_body"); !strings.Contains(got, "`kubectl rollout restart deployment/web`") {
		t.Errorf("edit form body = %q", got)
	}
	s, err := e.Slack.ViewSubmission(carol, ev, map[string]map[string]any{"saved_body": {"saved_body": slackfake.TextValue("Run `kubectl rollout restart deployment/web` (edited).")}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitAck(wait(t), s.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitDM(wait(t), carol, "Posted as your answer"); err != nil {
		t.Fatal(err)
	}
	if got := e.answersBy(soe.MainSite(), q.ID, "carol"); len(got) != 1 || !strings.Contains(got[0], "(edited)") {
		t.Fatalf("carol's answers = %q", got)
	}
}

func TestSaveThreadMessageDeletedBeforeSubmitKeepsTheForm(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	th := e.thread(t)
	before := e.createdQuestions()

	v, _ := e.saveForm(t, alice, th.parent)
	e.Slack.DeleteAsUser(General, th.answer.TS)
	e.submitSave(t, alice, v, saveValues(t, v, th.answer.TS))
	back, err := e.Slack.WaitViewMatch(wait(t), alice, askModal, "The reply you chose was deleted")
	if err != nil {
		t.Fatal(err)
	}
	if initial(t, back, "ask_title") != initial(t, v, "ask_title") || !back.Matches("Which reply answers it?") {
		t.Fatalf("form not kept:\n%s", back.Flat())
	}

	e.Slack.DeleteAsUser(General, th.parent.TS)
	e.submitSave(t, alice, back, saveValues(t, back, ""))
	if _, err := e.Slack.WaitViewMatch(wait(t), alice, askModal, "That message was deleted"); err != nil {
		t.Fatal(err)
	}
	if n := e.createdQuestions() - before; n != 0 {
		t.Fatalf("%d questions created for a deleted thread", n)
	}
}

func TestSaveLongThreadOffersTheLatestReplies(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	parent := e.Slack.PostAsUser(SlackUser("bob"), General, "Which terraform version do we pin in CI?", "")
	for i := range 250 {
		e.Slack.PostAsUser(SlackUser("dave"), General, fmt.Sprintf("reply %d", i+1), parent.TS)
	}
	v, _ := e.saveForm(t, alice, parent)
	opts := replyOptions(t, v)
	if !v.Matches("(250 replies)") || !v.Matches("The last 99 replies are offered") || len(opts) != 100 ||
		opts[1] != "dave: reply 152" || opts[99] != "dave: reply 250" {
		t.Errorf("options: %d, %q … %q", len(opts), opts[1], opts[len(opts)-1])
		t.Fatalf("long thread form:\n%s", v.Flat())
	}
	if !strings.Contains(initial(t, v, "ask_body"), "a thread with 250 replies") {
		t.Errorf("body: %s", initial(t, v, "ask_body"))
	}
	if n := len(e.Slack.Calls("conversations.replies")); n < 2 {
		t.Errorf("a 251-message thread read in %d call(s): not paginated", n)
	}
}

func TestSaveThreadNeedsWritableConnections(t *testing.T) {
	e := bot(t, func(o *Options) { o.Env = map[string]string{"LINK_WRITE_ACCESS": "false"} })
	grace := e.linkedAs(t, "grace", "")
	th := e.thread(t)
	s, err := e.Slack.MessageShortcut(grace, General, saveShortcut, th.parent)
	if err != nil {
		t.Fatal(err)
	}
	e.sees(t, s, "read-only", "Reconnect")
	noOpenModal(t, e, grace)
}

func TestSaveThreadReadOnlyAuthorIsOfferedReconnect(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.opts.Env = map[string]string{"LINK_WRITE_ACCESS": "false"} // carol connects read-only
	if err := e.Restart(wait(t)); err != nil {
		t.Fatal(err)
	}
	carol := e.linkedAs(t, "carol", "")
	th := e.thread(t)
	v, sent := e.saveForm(t, alice, th.parent)
	e.submitSave(t, alice, v, saveValues(t, v, th.answer.TS))
	q := postedQuestion(t, e, soe.MainSite(), e.sees(t, sent, "Posted:"))
	dm, err := e.Slack.WaitDM(wait(t), carol, "Post it on Stack Overflow as your answer?")
	if err != nil {
		t.Fatal(err)
	}
	e.sees(t, e.Slack.T(t).Click(carol, dm, "saved_answer_post", ""), "read-only", "Reconnect")
	if n := len(e.answersBy(soe.MainSite(), q.ID, "carol")); n != 0 {
		t.Fatalf("%d answers posted with a read-only connection", n)
	}
}

// A parent longer than a Slack text box: the box keeps its start, the rest
// is added when posting, as ask does.
func TestSaveThreadLongParentKeepsItsEnd(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	long := "How do we size the postgres connection pool for the billing service?\n" + strings.Repeat("We measured latency at peak. ", 180) + "THE END"
	parent := e.Slack.PostAsUser(SlackUser("bob"), General, long, "")
	e.Slack.PostAsUser(SlackUser("frank"), General, "Use pgbouncer in transaction mode.", parent.TS)
	v, sent := e.saveForm(t, alice, parent)
	box := initial(t, v, "ask_body")
	if n := len([]rune(box)); n > 3000 || !v.Matches("are not shown here") {
		t.Fatalf("box of %d characters:\n%s", n, v.Flat())
	}
	vals := saveValues(t, v, "")
	vals["ask_tags"] = map[string]any{"ask_tags": slackfake.OptionsValue("postgresql")} // "postgres" is no tag: none suggested
	e.submitSave(t, alice, v, vals)
	q := postedQuestion(t, e, soe.MainSite(), e.sees(t, sent, "Posted:"))
	if !strings.Contains(q.BodyMarkdown, "THE END") || !strings.Contains(q.BodyMarkdown, "by @bob (a thread with 1 reply)") {
		t.Errorf("the end of the message was lost: …%s", q.BodyMarkdown[max(0, len(q.BodyMarkdown)-200):])
	}
}
