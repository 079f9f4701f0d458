package e2e

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/slackapp/slackfake"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

const askModal = "soe_ask_modal"

// askValues is what a person types into the ask modal.
type askValues struct {
	title, body string
	tags        []string
	where       string // scope key; "" when the form has no Where field
	notify      bool
}

func (v askValues) state() map[string]map[string]any {
	s := map[string]map[string]any{
		"ask_title":  {"ask_title": slackfake.TextValue(v.title)},
		"ask_body":   {"body": slackfake.TextValue(v.body)},
		"ask_tags":   {"ask_tags": slackfake.OptionsValue(v.tags...)},
		"ask_notify": {"notify": slackfake.CheckboxValue(v.notify, "notify")},
	}
	if v.where != "" {
		s["ask_where"] = map[string]any{"where": slackfake.StaticSelectValue(v.where)}
	}
	return s
}

// askForm waits for user's ask modal showing the form (not "Reading…").
func (e *Env) askForm(t *testing.T, user string) *slackfake.View {
	t.Helper()
	v, err := e.Slack.WaitViewMatch(wait(t), user, askModal, "Notify the subject-matter experts")
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// submitAsk submits v with values and waits for the ack.
func (e *Env) submitAsk(t *testing.T, user string, v *slackfake.View, vals askValues) slackfake.Ack {
	t.Helper()
	s, err := e.Slack.ViewSubmission(user, v, vals.state())
	if err != nil {
		t.Fatal(err)
	}
	ack, err := e.Slack.WaitAck(wait(t), s.EnvelopeID)
	if err != nil {
		t.Fatal(err)
	}
	if d := ack.At.Sub(s.SentAt); d > 3*time.Second {
		t.Fatalf("view submission acked after %v", d)
	}
	return ack
}

// viewState decodes the modal's blocks with slack-go.
func viewBlocks(t *testing.T, v *slackfake.View) []slack.Block {
	t.Helper()
	sv, err := v.SlackView()
	if err != nil {
		t.Fatal(err)
	}
	return sv.Blocks.BlockSet
}

// inputValue returns the initial value (text) or initial options (values)
// of the input block blockID, and whether the block exists.
func inputValue(t *testing.T, v *slackfake.View, blockID string) ([]string, bool) {
	t.Helper()
	for _, b := range viewBlocks(t, v) {
		in, ok := b.(*slack.InputBlock)
		if !ok || in.BlockID != blockID {
			continue
		}
		switch el := in.Element.(type) {
		case *slack.PlainTextInputBlockElement:
			return []string{el.InitialValue}, true
		case *slack.MultiSelectBlockElement:
			var out []string
			for _, o := range el.InitialOptions {
				out = append(out, o.Value)
			}
			return out, true
		case *slack.SelectBlockElement:
			if el.InitialOption != nil {
				return []string{el.InitialOption.Value}, true
			}
			return nil, true
		case *slack.CheckboxGroupsBlockElement:
			var out []string
			for _, o := range el.InitialOptions {
				out = append(out, o.Value)
			}
			return out, true
		}
		return nil, true
	}
	return nil, false
}

func initial(t *testing.T, v *slackfake.View, blockID string) string {
	t.Helper()
	vals, ok := inputValue(t, v, blockID)
	if !ok {
		t.Fatalf("modal has no %s field:\n%s", blockID, v.Flat())
	}
	return strings.Join(vals, ",")
}

// createdQuestions counts the questions SOE created (POST /questions → 201).
func (e *Env) createdQuestions() int {
	n := 0
	for _, r := range e.SOE.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/questions") && r.Status == http.StatusCreated {
			n++
		}
	}
	return n
}

var questionURL = regexp.MustCompile(`/questions/(\d+)`)

// postedQuestion finds the question a confirmation links to.
func postedQuestion(t *testing.T, e *Env, scope soe.Scope, m slackfake.Message) soefake.FakeQuestion {
	t.Helper()
	sm := questionURL.FindStringSubmatch(string(m.Blocks))
	if sm == nil {
		t.Fatalf("confirmation has no question link:\n%s", m.Flat())
	}
	id, _ := strconv.Atoi(sm[1])
	q, ok := e.SOE.QuestionByID(scope, id)
	if !ok {
		t.Fatalf("question %d does not exist in %s", id, scope)
	}
	return q
}

func noOpenModal(t *testing.T, e *Env, user string) {
	t.Helper()
	if vs := e.Slack.OpenViews(user); len(vs) > 0 {
		t.Fatalf("%s has a modal open: %s", user, vs[0].Flat())
	}
}

func TestAskFromSlashCommand(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	before := e.createdQuestions()
	// SOE does not say what it granted: until a write succeeds, the bot only
	// knows what it asked for.
	e.sees(t, e.slash(t, alice, General, "whoami"), "Your Stack Overflow connections", "read-write requested")

	s := e.slash(t, alice, General, "ask How do I roll back a Helm release?")
	v := e.askForm(t, alice)
	if got := initial(t, v, "ask_title"); got != "How do I roll back a Helm release?" {
		t.Errorf("title prefilled with %q", got)
	}
	if _, ok := inputValue(t, v, "ask_where"); ok {
		t.Error("Where shown to a user without team links")
	}
	body := "I ran `helm rollback web 3` and got:\n\n```\nError: release: not found\n```\n\nWhat am I **missing**?"
	ack := e.submitAsk(t, alice, v, askValues{
		title: "How do I roll back a Helm release?", body: body, tags: []string{"kubernetes", "helm"},
	})
	if !strings.Contains(string(ack.Payload), `"update"`) || !strings.Contains(string(ack.Payload), "Posting your question") {
		t.Errorf("ack is not the Posting… update: %s", ack.Payload)
	}
	if _, err := e.Slack.WaitViewMatch(wait(t), alice, askModal, "Posted"); err != nil {
		t.Fatal(err)
	}
	conf := e.sees(t, s, "Posted:", "How do I roll back a Helm release?", "Share in channel")
	if conf.InChannel {
		t.Error("confirmation must be ephemeral")
	}
	q := postedQuestion(t, e, soe.MainSite(), conf)
	if q.AuthorID != e.SOE.UserByName("alice").ID || q.Title != "How do I roll back a Helm release?" ||
		q.BodyMarkdown != body || !slices.Equal(q.Tags, []string{"kubernetes", "helm"}) {
		t.Errorf("question not as asked: %+v", q)
	}
	if got := e.createdQuestions() - before; got != 1 {
		t.Errorf("%d questions created, want 1", got)
	}
	// The question was posted, so the connection can write: say so.
	who := e.sees(t, e.slash(t, alice, General, "whoami"), "Your Stack Overflow connections", "read-write")
	if strings.Contains(who.Text+slackfake.Flatten(who.Blocks), "requested") {
		t.Errorf("whoami still says only requested after a successful write:\n%s", slackfake.Flatten(who.Blocks))
	}

	// Share in channel posts a card from the bot, asked by alice.
	cur := e.ephemeral(t, alice, "Posted:")
	if _, err := e.Slack.BlockAction(alice, General, &cur, "ask_share", "", ""); err != nil {
		t.Fatal(err)
	}
	card, err := e.Slack.WaitMessage(wait(t), General, "Asked by")
	if err != nil {
		t.Fatal(err)
	}
	if !card.BotPosted || !strings.Contains(card.Text, "<@"+alice+">") || !card.Matches("How do I roll back a Helm release?") {
		t.Errorf("shared card: %+v\n%s", card, card.Flat())
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskInvalidInputShowsInlineErrorsAndCreatesNothing(t *testing.T) {
	e := bot(t)
	bob := e.linkedAs(t, "bob", "")
	before := e.createdQuestions()

	e.slash(t, bob, General, "ask Too short")
	v := e.askForm(t, bob)
	ack := e.submitAsk(t, bob, v, askValues{
		title: "Too short", body: "Some body text that is long enough.",
		tags: []string{"go", "kubernetes", "postgresql", "terraform", "python", "react"},
	})
	var resp slack.ViewSubmissionResponse
	if err := ack.Decode(&resp); err != nil || resp.ResponseAction != slack.RAErrors {
		t.Fatalf("ack = %s (%v), want response_action errors", ack.Payload, err)
	}
	errs := e.Slack.ViewErrors(v.ID)
	if !strings.Contains(errs["ask_title"], "at least 15 characters") || !strings.Contains(errs["ask_tags"], "at most 5 tags") {
		t.Fatalf("inline errors = %q", errs)
	}
	if _, bad := errs["ask_body"]; bad {
		t.Errorf("the body was fine: %q", errs)
	}
	// An empty body and no tags are explained too.
	e.submitAsk(t, bob, v, askValues{title: "A perfectly long enough title", body: "  "})
	errs = e.Slack.ViewErrors(v.ID)
	if errs["ask_body"] == "" || errs["ask_tags"] == "" || errs["ask_title"] != "" {
		t.Fatalf("inline errors = %q", errs)
	}
	// The modal is still the form, nothing was posted.
	if top := e.Slack.TopView(bob); top == nil || top.ID != v.ID {
		t.Fatal("the form was closed")
	}
	time.Sleep(200 * time.Millisecond)
	if n := e.createdQuestions() - before; n != 0 {
		t.Fatalf("%d questions created from invalid input", n)
	}
	for _, r := range e.SOE.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/questions") {
			t.Fatalf("SOE got a POST for invalid input: %+v", r)
		}
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

// problemProxy sits between the bot and the fake SOE and, while armed,
// answers POST …/questions with the given ProblemDetails body, as SOE does
// for validation errors it alone knows about.
type problemProxy struct {
	srv   *httptest.Server
	armed atomic.Bool
	body  string
}

func newProblemProxy(t *testing.T, target string, status int, body string) *problemProxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	p := &problemProxy{body: body}
	rp := httputil.NewSingleHostReverseProxy(u)
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.armed.Load() && r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/questions") {
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/problem+json")
			w.WriteHeader(status)
			_, _ = io.WriteString(w, p.body)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	p.armed.Store(true)
	return p
}

// botBehind starts a bot whose SOE API calls go through a problemProxy.
func botBehind(t *testing.T, status int, problem string) (*Env, *problemProxy) {
	t.Helper()
	f := slackfake.New(slackfake.Options{PingEvery: 100 * time.Millisecond})
	s := soefake.New(soefake.Options{AutoApprove: true, Seed: true})
	t.Cleanup(func() { f.Close(); s.Close() })
	seedSlack(f, s)
	p := newProblemProxy(t, s.URL(), status, problem)
	p.armed.Store(false) // linking goes through untouched
	e := bot(t, func(o *Options) {
		o.Slack, o.SOE = f, s
		o.Env = map[string]string{"SOE_API_URL": p.srv.URL + "/api/v3"}
	})
	return e, p
}

func TestAskSOEFieldErrorsShownUnderTheFields(t *testing.T) {
	problem := `{"type":"https://tools.ietf.org/html/rfc9110#section-15.5.1","title":"One or more validation errors occurred.","status":400,` +
		`"errors":{"Title":["Title must not look like <!channel> spam."],"Tags[1]":["Only moderators can create the tag 'helm-v4'."]}}`
	e, proxy := botBehind(t, http.StatusBadRequest, problem)
	carol := e.linkedAs(t, "carol", "")
	proxy.armed.Store(true)
	before := e.createdQuestions()

	e.slash(t, carol, General, "ask Which Helm version does the platform cluster run?")
	v := e.askForm(t, carol)
	vals := askValues{
		title: "Which Helm version does the platform cluster run?",
		body:  "We need to know before upgrading charts.", tags: []string{"kubernetes", "helm-v4"}, notify: true,
	}
	e.submitAsk(t, carol, v, vals)
	back, err := e.Slack.WaitViewMatch(wait(t), carol, askModal, "did not accept the question")
	if err != nil {
		t.Fatal(err)
	}
	// Everything typed is still there, and each error sits under its field.
	if initial(t, back, "ask_title") != vals.title || initial(t, back, "ask_body") != vals.body ||
		initial(t, back, "ask_tags") != "kubernetes,helm-v4" || initial(t, back, "ask_notify") != "notify" {
		t.Fatalf("the form lost what was typed:\n%s", back.Flat())
	}
	after := func(blockID string) string {
		bs := viewBlocks(t, back)
		for i, b := range bs {
			if in, ok := b.(*slack.InputBlock); ok && in.BlockID == blockID && i+1 < len(bs) {
				if c, ok := bs[i+1].(*slack.ContextBlock); ok {
					var texts []string
					for _, el := range c.ContextElements.Elements {
						if tx, ok := el.(*slack.TextBlockObject); ok {
							texts = append(texts, tx.Text)
						}
					}
					return strings.Join(texts, " ")
				}
			}
		}
		return ""
	}
	if got := after("ask_title"); !strings.Contains(got, "must not look like &lt;!channel&gt; spam") {
		t.Errorf("no (escaped) title error under the title: %s", got)
	}
	if got := after("ask_tags"); !strings.Contains(got, "Only moderators can create the tag") {
		t.Errorf("no tags error under the tags: %s", got)
	}
	if got := after("ask_body"); got != "" {
		t.Errorf("an error under the body: %s", got)
	}
	if n := e.createdQuestions() - before; n != 0 {
		t.Fatalf("%d questions created", n)
	}

	// Fixed on the SOE side: the same form posts.
	proxy.armed.Store(false)
	vals.tags = []string{"kubernetes"}
	e.submitAsk(t, carol, back, vals)
	if _, err := e.Slack.WaitViewMatch(wait(t), carol, askModal, "Posted"); err != nil {
		t.Fatal(err)
	}
	if n := e.createdQuestions() - before; n != 1 {
		t.Fatalf("%d questions created, want 1", n)
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskDuplicateTitleIsExplainedUnderTheTitle(t *testing.T) {
	e := bot(t)
	dave := e.linkedAs(t, "dave", "")
	e.slash(t, dave, General, "ask")
	v := e.askForm(t, dave)
	if got := initial(t, v, "ask_title"); got != "" {
		t.Errorf("title prefilled with %q", got)
	}
	// A seed question has this title: SOE refuses duplicates.
	e.submitAsk(t, dave, v, askValues{title: "How do we store Terraform state securely in S3?", body: "Asking again.", tags: []string{"terraform"}})
	back, err := e.Slack.WaitViewMatch(wait(t), dave, askModal, "already exists")
	if err != nil {
		t.Fatal(err)
	}
	if initial(t, back, "ask_body") != "Asking again." {
		t.Errorf("body lost:\n%s", back.Flat())
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskSOEDownKeepsTheFormAndCreatesNothing(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	before := e.createdQuestions()
	e.SOE.SetFaults(soefake.Faults{Status: map[string]int{"POST /questions": http.StatusServiceUnavailable}})

	s := e.slash(t, alice, General, "ask Why is the staging cluster out of disk space?")
	v := e.askForm(t, alice)
	vals := askValues{title: "Why is the staging cluster out of disk space?", body: "Nodes report DiskPressure since Monday.", tags: []string{"kubernetes"}}
	e.submitAsk(t, alice, v, vals)
	back, err := e.Slack.WaitViewMatch(wait(t), alice, askModal, "did not answer")
	if err != nil {
		t.Fatal(err)
	}
	if initial(t, back, "ask_title") != vals.title || initial(t, back, "ask_body") != vals.body || initial(t, back, "ask_tags") != "kubernetes" {
		t.Fatalf("the form lost what was typed:\n%s", back.Flat())
	}
	if n := e.createdQuestions() - before; n != 0 {
		t.Fatalf("%d questions created", n)
	}
	if rs := e.Slack.Responses(s.ResponseURL); len(rs) != 0 {
		t.Errorf("a confirmation was sent although nothing was posted: %s", dump(rs))
	}

	// SOE is back: posting the same form works, once.
	e.SOE.SetFaults(soefake.Faults{})
	e.submitAsk(t, alice, back, vals)
	e.sees(t, s, "Posted:", vals.title)
	if n := e.createdQuestions() - before; n != 1 {
		t.Fatalf("%d questions created, want 1", n)
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskFromMessageShortcutUsesTheThreadParent(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	bob, carol := SlackUser("bob"), SlackUser("carol")

	parent := e.Slack.PostAsUser(bob, General,
		"*Deploys* fail for <@"+carol+"> with `exit 1` &amp; a _weird_ error, see <https://ci.acme.example/run/42|run 42>\n&gt; error: &lt;nil&gt;\n<!channel> anyone?", "")
	e.Slack.PostAsUser(carol, General, "same here", parent.TS)
	reply := e.Slack.PostAsUser(alice, General, "I will ask on SOE", parent.TS)

	sent, err := e.Slack.MessageShortcut(alice, General, "soe_ask_message", reply)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitAck(wait(t), sent.EnvelopeID); err != nil {
		t.Fatal(err)
	}
	v := e.askForm(t, alice)
	title := initial(t, v, "ask_title")
	if title != "Deploys fail for @carol with exit 1 & a weird error, see run 42" {
		t.Errorf("title suggestion %q", title)
	}
	body := initial(t, v, "ask_body")
	for _, want := range []string{
		"**Deploys** fail for @carol with `exit 1` & a *weird* error, see [run 42](https://ci.acme.example/run/42)  \n> error: <nil>  \n@channel anyone?",
		"[Slack message](https://", "/archives/" + General + "/p", "by @bob", "a thread with 2 replies",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("body lacks %q:\n%s", want, body)
		}
	}
	if strings.Contains(body, "<@") || strings.Contains(body, "<!") {
		t.Errorf("Slack control sequences left in the body:\n%s", body)
	}
	if !v.Matches("Prefilled from a thread started by bob (2 replies)") {
		t.Errorf("no note about the source:\n%s", v.Flat())
	}

	e.submitAsk(t, alice, v, askValues{title: title, body: body, tags: []string{"kubernetes"}})
	conf, err := e.Slack.WaitResponse(wait(t), sent.ResponseURL, "Posted:")
	if err != nil {
		t.Fatal(err)
	}
	q := postedQuestion(t, e, soe.MainSite(), conf)
	if q.BodyMarkdown != body || q.AuthorID != e.SOE.UserByName("alice").ID {
		t.Errorf("question = %+v", q)
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskLongMessageKeepsItsEnd(t *testing.T) {
	e := bot(t)
	judy := e.linkedAs(t, "judy", "")
	var lines []string
	for i := range 120 {
		lines = append(lines, "Line "+strconv.Itoa(i)+" of a long incident write-up about the on-call rota.")
	}
	msg := e.Slack.PostAsUser(judy, General, strings.Join(lines, "\n"), "")
	if _, err := e.Slack.MessageShortcut(judy, General, "soe_ask_message", msg); err != nil {
		t.Fatal(err)
	}
	v := e.askForm(t, judy)
	box := initial(t, v, "ask_body")
	if n := len([]rune(box)); n > 3000 || n < 2000 {
		t.Fatalf("text box holds %d characters", n)
	}
	if !v.Matches("last") || !v.Matches("I will add them after your text") {
		t.Fatalf("no note about the rest of the message:\n%s", v.Flat())
	}
	e.submitAsk(t, judy, v, askValues{title: "How should the on-call rota handle long incidents?", body: box, tags: []string{"oncall"}})
	conf, err := e.Slack.WaitEphemeral(wait(t), judy, "Posted:")
	if err != nil {
		t.Fatal(err)
	}
	q := postedQuestion(t, e, soe.MainSite(), conf)
	for _, want := range []string{"Line 0 of", "Line 119 of a long incident", "by @judy"} {
		if !strings.Contains(q.BodyMarkdown, want) {
			t.Errorf("posted body lacks %q", want)
		}
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskNotifiesEachExpertOnce(t *testing.T) {
	e := bot(t)
	// kubernetes: SMEs alice, bob + group Platform Team (carol, dave);
	// oncall: SME judy + group Platform Team. Only linked people can be
	// found in Slack (SOE shows e-mails to admins only).
	alice := e.linkedAs(t, "alice", "")
	carol := e.linkedAs(t, "carol", "")
	judy := e.linkedAs(t, "judy", "")
	bob, dave := SlackUser("bob"), SlackUser("dave")

	s := e.slash(t, alice, General, "ask Who owns the on-call rota for the platform cluster?")
	v := e.askForm(t, alice)
	e.submitAsk(t, alice, v, askValues{
		title: "Who owns the on-call rota for the platform cluster?", body: "Pages go nowhere at night.",
		tags: []string{"kubernetes", "oncall"}, notify: true,
	})
	conf := e.sees(t, s, "Posted:", "I let 2 subject-matter experts know")
	q := postedQuestion(t, e, soe.MainSite(), conf)

	dm, err := e.Slack.WaitDM(wait(t), carol, "asked a question in")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(dm.Text, "<@"+alice+">") || !dm.Matches("`kubernetes` and `oncall`") || !dm.Matches(q.Title) {
		t.Errorf("carol's DM:\n%s", dm.Flat())
	}
	if _, err := e.Slack.WaitDM(wait(t), judy, "`oncall` you are an expert in"); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond)
	count := func(user string) int {
		n := 0
		for _, m := range e.Slack.DMs(user) {
			if m.Matches("asked a question in") {
				n++
			}
		}
		return n
	}
	for user, want := range map[string]int{carol: 1, judy: 1, alice: 0, bob: 0, dave: 0} {
		if got := count(user); got != want {
			t.Errorf("%s got %d expert DMs, want %d", user, got, want)
		}
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskInPrivateTeam(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	e.linkedAs(t, "alice", "platform")

	s := e.slash(t, alice, Private, "ask Where is the runbook for rotating cluster certificates?")
	v := e.askForm(t, alice)
	if got := initial(t, v, "ask_where"); got != "main" {
		t.Errorf("Where starts at %q, want main", got)
	}
	e.submitAsk(t, alice, v, askValues{
		title: "Where is the runbook for rotating cluster certificates?", body: "The old one is gone.",
		tags: []string{"runbooks"}, where: "team:platform",
	})
	conf := e.sees(t, s, "Posted:", "team platform")
	q := postedQuestion(t, e, soe.TeamScope("platform"), conf)
	if q.AuthorID != e.SOE.UserByName("alice").ID || !slices.Equal(q.Tags, []string{"runbooks"}) || q.Scope != soe.TeamScope("platform") {
		t.Errorf("team question = %+v", q)
	}
	if _, ok := e.SOE.QuestionByID(soe.MainSite(), q.ID); ok {
		t.Error("the question landed on the main site too")
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskTheExpertsButtonOpensTheForm(t *testing.T) {
	e := bot(t)
	frank := e.linkedAs(t, "frank", "")
	e.sees(t, e.slash(t, frank, General, "experts postgresql"), "Ask the experts")
	m := e.ephemeral(t, frank, "Ask the experts")
	if _, err := e.Slack.BlockAction(frank, General, &m, "ask_open:postgresql", "", ""); err != nil {
		t.Fatal(err)
	}
	v := e.askForm(t, frank)
	if got := initial(t, v, "ask_tags"); got != "postgresql" {
		t.Errorf("tags prefilled with %q", got)
	}
	if got := initial(t, v, "ask_notify"); got != "notify" {
		t.Errorf("notify the experts not ticked: %q", got)
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskTagSuggestions(t *testing.T) {
	e := bot(t)
	erin := e.linkedAs(t, "erin", "")
	if _, err := e.Slack.GlobalShortcut(erin, "soe_ask"); err != nil {
		t.Fatal(err)
	}
	v := e.askForm(t, erin)
	options := func(typed string) []string {
		s, err := e.Slack.BlockSuggestion(erin, v, "ask_tags", "", typed)
		if err != nil {
			t.Fatal(err)
		}
		ack, err := e.Slack.WaitAck(wait(t), s.EnvelopeID)
		if err != nil {
			t.Fatal(err)
		}
		var resp struct {
			Options []slack.OptionBlockObject `json:"options"`
		}
		if err := ack.Decode(&resp); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range resp.Options {
			out = append(out, o.Value+"|"+o.Text.Text)
		}
		return out
	}
	got := options("kube")
	if len(got) < 2 || !strings.HasPrefix(got[0], "kubernetes|kubernetes (") || !slices.ContainsFunc(got, func(s string) bool { return strings.HasPrefix(s, "kubectl|") }) {
		t.Errorf("suggestions for kube: %q", got)
	}
	if got := options("Kubernetes"); !strings.HasPrefix(got[0], "kubernetes|") || slices.ContainsFunc(got, func(s string) bool { return strings.Contains(s, "new tag") }) {
		t.Errorf("an existing tag is offered as new: %q", got)
	}
	if got := options("helm-charts"); !slices.Equal(got, []string{"helm-charts|helm-charts (new tag)"}) {
		t.Errorf("suggestions for a new tag: %q", got)
	}
	if got := options("bad tag!"); len(got) != 0 {
		t.Errorf("suggestions for an invalid tag: %q", got)
	}

	// From the global shortcut the confirmation comes as a DM.
	e.submitAsk(t, erin, v, askValues{title: "How do I write table-driven tests for generics?", body: "With type parameters.", tags: []string{"go", "golang-generics"}})
	if _, err := e.Slack.WaitDM(wait(t), erin, "Posted:"); err != nil {
		t.Fatal(err)
	}
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskNeedsAWritableConnection(t *testing.T) {
	e := bot(t, func(o *Options) { o.Env = map[string]string{"LINK_WRITE_ACCESS": "false"} })
	grace := SlackUser("grace")

	// Not connected: the Connect prompt, no form, and no replay afterwards.
	e.sees(t, e.slash(t, grace, General, "ask How do I lazy-load React routes?"), "Connect your Stack Overflow account")
	noOpenModal(t, e, grace)

	// Connected read-only: the read-only message with its button, no form.
	e.linkedAs(t, "grace", "")
	e.sees(t, e.slash(t, grace, General, "ask How do I lazy-load React routes?"), "read-only", "Reconnect")
	noOpenModal(t, e, grace)
	if _, err := e.Slack.GlobalShortcut(grace, "soe_ask"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.WaitDM(wait(t), grace, "read-only"); err != nil {
		t.Fatal(err)
	}
	noOpenModal(t, e, grace)
	e.Slack.T(t).ExpectNoErrorsBut("hash_conflict") // late similar questions, refused
}

func TestAskModalClosedWhilePostingStillKeepsTheText(t *testing.T) {
	e := bot(t)
	ivan := e.linkedAs(t, "ivan", "")
	e.SOE.SetFaults(soefake.Faults{Status: map[string]int{"POST /questions": http.StatusBadGateway}, Latency: 400 * time.Millisecond})
	t.Cleanup(func() { e.SOE.SetFaults(soefake.Faults{}) })

	s := e.slash(t, ivan, General, "ask How do I version feature stores for models?")
	v := e.askForm(t, ivan)
	e.submitAsk(t, ivan, v, askValues{title: "How do I version feature stores for models?", body: "We use *parquet* files <today>.", tags: []string{"python"}})
	if _, err := e.Slack.WaitViewMatch(wait(t), ivan, askModal, "Posting your question"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Slack.CloseView(ivan); err != nil {
		t.Fatal(err)
	}
	e.sees(t, s, "Here is what you wrote", "How do I version feature stores for models?")
	if _, err := e.Slack.WaitResponse(wait(t), s.ResponseURL, "We use *parquet* files <today>."); err != nil {
		t.Fatalf("the body was not given back: %v\n%s", err, dump(e.Slack.Responses(s.ResponseURL)))
	}
}

// The token is revoked at SOE between opening the form and submitting it:
// the form comes back with what was typed, the user is offered Reconnect,
// and nothing is created.
func TestAskTokenRevokedBeforeSubmitOffersReconnect(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	before := e.createdQuestions()
	e.slash(t, alice, General, "ask How do we rotate the staging database password?")
	v := e.askForm(t, alice)
	e.SOE.RevokeToken(e.storedToken(t, alice, "main")) // restarts the bot on the same database
	vals := askValues{title: "How do we rotate the staging database password?", body: "The password in Vault is a year old.", tags: []string{"postgresql"}}
	e.submitAsk(t, alice, v, vals)
	back, err := e.Slack.WaitViewMatch(wait(t), alice, askModal, "Post question")
	if err != nil {
		t.Fatal(err)
	}
	if initial(t, back, "ask_title") != vals.title || initial(t, back, "ask_body") != vals.body {
		t.Fatalf("the form lost what was typed:\n%s", back.Flat())
	}
	if _, err := e.Slack.WaitEphemeral(wait(t), alice, "Reconnect"); err != nil {
		if _, derr := e.Slack.WaitDM(wait(t), alice, "Reconnect"); derr != nil {
			t.Fatalf("no Reconnect offered: %v / %v", err, derr)
		}
	}
	if n := e.createdQuestions() - before; n != 0 {
		t.Fatalf("%d questions created with a revoked token", n)
	}
}

// A message that carries files: the form says they are not copied and the
// body names them, so the asker can add them on Stack Overflow; a message
// that is only files still opens a form to fill in. Saving a thread whose
// question carries files does the same.
func TestAskAndSaveFromMessagesWithFiles(t *testing.T) {
	e := bot(t)
	alice := e.linkedAs(t, "alice", "")
	bob := SlackUser("bob")

	withText := e.Slack.ShareFilesAsUser(bob, General, "Why does the build log end with this stack trace?", "", "build.log", "trace`1`.png")
	onlyFiles := e.Slack.ShareFilesAsUser(bob, General, "", "", "diagram.png")
	for _, c := range []struct {
		msg           slackfake.Message
		title, inBody string
		noteSays      string
	}{
		{withText, "Why does the build log end with this stack trace?", "*(2 files attached in Slack, not copied here: `build.log`, `trace'1'.png`.)*", "Its 2 files are not copied"},
		{onlyFiles, "", "*(1 file attached in Slack, not copied here: `diagram.png`.)*", "Its file is not copied"},
	} {
		sent, err := e.Slack.MessageShortcut(alice, General, "soe_ask_message", c.msg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := e.Slack.WaitAck(wait(t), sent.EnvelopeID); err != nil {
			t.Fatal(err)
		}
		v := e.askForm(t, alice)
		if got := initial(t, v, "ask_title"); got != c.title {
			t.Errorf("title %q, want %q", got, c.title)
		}
		if body := initial(t, v, "ask_body"); !strings.Contains(body, c.inBody) || !strings.Contains(body, "by @bob") {
			t.Errorf("body lacks %q:\n%s", c.inBody, body)
		}
		if !v.Matches(c.noteSays) {
			t.Errorf("the form does not say %q:\n%s", c.noteSays, v.Flat())
		}
		if _, err := e.Slack.CloseView(alice); err != nil {
			t.Fatal(err)
		}
	}

	// Save to Stack Overflow on a thread whose question has a file.
	parent := e.Slack.ShareFilesAsUser(bob, General, "How do I read this flame graph of the web service?", "", "flame.svg")
	e.Slack.PostAsUser(SlackUser("carol"), General, "The widest bars at the top are where the time goes.", parent.TS)
	v, _ := e.saveForm(t, alice, parent)
	if body := initial(t, v, "ask_body"); !strings.Contains(body, "not copied here: `flame.svg`") {
		t.Errorf("saved body lacks the file:\n%s", body)
	}
	if !v.Matches("Its file is not copied") {
		t.Errorf("the save form does not say the file is not copied:\n%s", v.Flat())
	}
	e.Slack.T(t).ExpectNoErrors()
}
