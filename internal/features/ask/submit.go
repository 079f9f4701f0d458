package ask

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/reveal"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/soe"
)

// ack validates a submission before Slack's 3 s are up (no I/O): problems
// are shown next to their fields and nothing is posted; otherwise the modal
// turns into "Posting your question…" and submit (after the ack) posts.
func (a *Feature) ack(_ context.Context, env *chat.Envelope) any {
	d, meta, problems := parseSubmission(&env.Interaction.View)
	if len(problems) > 0 {
		return slack.NewErrorsViewSubmissionResponse(problems)
	}
	v := postingView(d, meta)
	return slack.NewUpdateViewSubmissionResponse(&v)
}

// submit posts the question as the user, after the ack. Whatever happens the
// modal ends up showing it: "Posted", or the form again with everything the
// user wrote and what went wrong.
func (a *Feature) submit(ctx context.Context, env *chat.Envelope) {
	start := time.Now()
	view := &env.Interaction.View
	d, meta, problems := parseSubmission(view)
	if len(problems) > 0 {
		return // ack showed them
	}
	scope, _ := soe.ParseScopeKey(d.Scope) // validated by parseSubmission
	p := &posting{env: env, replyEnv: a.originEnv(env, meta), viewID: view.ID, d: d, meta: meta, scope: scope, start: start,
		replies: replyChoicesFromView(view)}
	if !a.loadTail(ctx, p) {
		return
	}
	if meta.Thread != "" && !a.threadStillThere(ctx, p) {
		return
	}
	c, link, ok := a.writer(ctx, p)
	if !ok {
		return
	}
	q, ok := a.post(ctx, p, c, link)
	if !ok {
		return
	}
	a.posted(ctx, p, c, link, q)
}

// posting is one submitted question on its way to SOE.
type posting struct {
	env      *chat.Envelope
	replyEnv *chat.Envelope // env redirected to where the user started
	viewID   string         // the modal
	d        askDraft
	meta     askMeta
	scope    soe.Scope
	start    time.Time // when the submission arrived
	// Saving a thread: the choices of the form, and the thread as it is now.
	replies []replyChoice
	thread  *thread
	tail    string // the end of the body kept server-side (meta.Draft)
}

// loadTail reads the end of the body kept server-side, if any; when it is
// gone the form comes back saying so, nothing posted.
func (a *Feature) loadTail(ctx context.Context, p *posting) bool {
	if p.meta.Draft == "" {
		return true
	}
	tail, ok, err := a.tails.Get(ctx, p.meta.Draft)
	switch {
	case err != nil:
		a.log.WarnContext(ctx, "ask: reading the end of the body failed", "err", err)
		a.showForm(ctx, p, ":warning: I could not read the end of your message just now, so I posted nothing. Please press *Post question* again in a moment.", nil)
		return false
	case !ok:
		p.meta.Draft, p.meta.Tail = "", 0
		a.showForm(ctx, p, ":warning: "+lostTail, map[string][]string{"body": {lostTail}})
		return false
	}
	p.tail = tail
	return true
}

// body is the whole body: the text box and the end kept server-side.
func (a *Feature) body(p *posting) string { return p.d.Body + p.tail }

// showForm puts the form back, with the user's values and the error; when
// the modal is gone (closed by the user) it sends them their text.
func (a *Feature) showForm(ctx context.Context, p *posting, errText string, fields map[string][]string) {
	a.settleSince(ctx, p.start)
	f := askForm{Draft: p.d, Meta: p.meta, Error: errText, FieldErrors: fields, Replies: p.replies}
	if _, err := a.slack.UpdateView(ctx, p.viewID, "", formView(f)); err != nil {
		a.log.WarnContext(ctx, "ask: could not put the form back", "user", p.env.UserID, "err", err)
		for _, m := range lostDraftMessages(p.d, a.body(p), errText) {
			a.tell(ctx, p.env, p.meta, m)
		}
	}
}

// writer is the user's client in the chosen scope, with write access. When
// there is none the form comes back saying why (and a Connect or Reconnect
// prompt goes where the user started).
func (a *Feature) writer(ctx context.Context, p *posting) (*soe.Client, *linking.Link, bool) {
	if a.links == nil {
		a.showForm(ctx, p, ":warning: This soebot is not connected to Stack Overflow yet. Nothing was posted.", nil)
		return nil, nil, false
	}
	c, link, err := a.links.Client(ctx, p.env.TeamID, p.env.UserID, p.scope)
	switch {
	case errors.Is(err, linking.ErrNotLinked), errors.Is(err, linking.ErrLinkInvalid):
		reconnect := errors.Is(err, linking.ErrLinkInvalid)
		a.r.ConnectPrompt(ctx, p.replyEnv, p.scope, nil, reconnect)
		what := "is not connected"
		if reconnect {
			what = "needs reconnecting"
		}
		a.showForm(ctx, p, fmt.Sprintf(":warning: Your Stack Overflow account (%s) %s. I sent you a message with the button; then press *Post question* again. Nothing was posted.", mrkdwn.Escape(p.scope.String()), what), nil)
	case err != nil:
		a.log.ErrorContext(ctx, "ask: reading the link failed", "user", p.env.UserID, "err", err)
		a.showForm(ctx, p, ":warning: I could not read your Stack Overflow connection just now. Nothing was posted; please try again.", nil)
	case !link.WriteAccess:
		a.r.Failed(ctx, p.replyEnv, link, fmt.Errorf("ask: %w", soe.ErrWriteAccess))
		a.showForm(ctx, p, ":lock: Your connection is read-only; reconnect with write access to post questions. I sent you a message with the button. Nothing was posted.", nil)
	default:
		return c, link, true
	}
	return nil, nil, false
}

// post creates the question. After an unclear failure it looks whether the
// question exists anyway (a timeout after SOE stored it), so a retry makes
// no duplicate. When nothing was posted the form comes back saying why.
func (a *Feature) post(ctx context.Context, p *posting, c *soe.Client, link *linking.Link) (*soe.Question, bool) {
	in := soe.QuestionInput{Title: strings.TrimSpace(p.d.Title), Body: a.body(p), Tags: p.d.Tags}
	pctx, cancel := context.WithTimeout(ctx, 2*a.cfg.SOETimeout)
	q, err := c.CreateQuestion(pctx, in)
	cancel()
	a.recordWrite(ctx, link, err)
	var rl *soe.RateLimitError
	if err != nil && soe.Temporary(err) && !errors.As(err, &rl) && ctx.Err() == nil {
		if found, ferr := a.findPosted(ctx, c, link, in.Title, p.start); ferr == nil && found != nil {
			q, err = found, nil
		} else if ferr != nil {
			a.log.WarnContext(ctx, "ask: could not check whether the question was posted", "err", ferr)
			a.showForm(ctx, p, ":warning: Stack Overflow did not answer, and I could not check whether your question was posted. "+
				"Look at your questions on Stack Overflow before posting again.", nil)
			return nil, false
		}
	}
	if err != nil {
		if errors.Is(err, context.Canceled) && ctx.Err() != nil {
			return nil, false // shutting down
		}
		a.log.InfoContext(ctx, "ask: posting the question failed", "user", p.env.UserID, "scope", p.scope.Key(), "err", err)
		msg, fields := a.explain(ctx, p.replyEnv, link, err)
		a.showForm(ctx, p, msg, fields)
		return nil, false
	}
	return q, true
}

// recordWrite tells linking what a write said about the link's access.
func (a *Feature) recordWrite(ctx context.Context, link *linking.Link, err error) {
	if err != nil && !errors.Is(err, soe.ErrWriteAccess) {
		return // says nothing about access
	}
	if rerr := a.links.RecordWrite(ctx, link.TeamID, link.UserID, link.Scope, err == nil); rerr != nil {
		a.log.WarnContext(ctx, "ask: could not record the link's access", "err", rerr)
	}
}

// posted shows "Posted" in the modal, tells the experts when asked to, and
// confirms where the user started.
func (a *Feature) posted(ctx context.Context, p *posting, c *soe.Client, link *linking.Link, q *soe.Question) {
	if p.meta.Draft != "" {
		if err := a.tails.Delete(ctx, p.meta.Draft); err != nil {
			a.log.InfoContext(ctx, "ask: could not forget the end of the body; it expires", "err", err)
		}
	}
	a.settleSince(ctx, p.start)
	if _, err := a.slack.UpdateView(ctx, p.viewID, "", postedView(p.scope, q, p.meta)); err != nil {
		a.log.InfoContext(ctx, "ask: could not show 'posted' in the modal", "err", err)
	}
	var notified []string
	var notifyNote string
	if p.d.Notify {
		notified, notifyNote = a.notifyExperts(ctx, p.env, c, link, p.scope, q, p.d.Tags)
	}
	a.tell(ctx, p.env, p.meta, confirmation(p.scope, q, p.meta, notified, notifyNote))
	if p.thread != nil {
		a.threadSaved(ctx, p, q)
	}
}

// settleSince waits until a.settle has passed since start (see ask.settle).
func (a *Feature) settleSince(ctx context.Context, start time.Time) {
	d := a.settle - time.Since(start)
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// originEnv is env redirected to where the user started (the response_url
// and channel of the command, shortcut or button), so replies land there.
func (a *Feature) originEnv(env *chat.Envelope, meta askMeta) *chat.Envelope {
	e := *env
	ic := *env.Interaction
	ic.ResponseURL, ic.ResponseURLs = meta.Response, nil
	ic.Channel = slack.Channel{}
	ic.Channel.ID = meta.Channel
	ic.Container = slack.Container{ChannelID: meta.Channel}
	e.Interaction = &ic
	return &e
}

// tell sends m where the user started: response_url, else an ephemeral in
// the channel, else a DM (global shortcut).
func (a *Feature) tell(ctx context.Context, env *chat.Envelope, meta askMeta, m chat.Message) {
	a.r.Reply(ctx, a.originEnv(env, meta), m)
}

// lostDraftMessages keep the user's text when the modal is gone (closed
// while posting): the problem, then the title, tags and the whole body in
// code blocks, split over as many messages as Slack needs.
func lostDraftMessages(d askDraft, body, problem string) []chat.Message {
	head := []slack.Block{
		blockkit.Section(problem + "\nHere is what you wrote, so nothing is lost:"),
		blockkit.Section("*" + mrkdwn.Escape(mrkdwn.Truncate(d.Title, 150)) + "*"),
	}
	if len(d.Tags) > 0 {
		head = append(head, blockkit.Context("Tags: "+tagCodes(d.Tags)))
	}
	out := []chat.Message{{Text: "Your question was not posted: " + mrkdwn.Escape(d.Title), Blocks: head}}
	const chunk, perMessage = 2000, 4 // runes per section; sections per message (Slack caps the text of one message)
	runes := []rune(body)
	var blocks []slack.Block
	for i := 0; i < len(runes); i += chunk {
		part := string(runes[i:min(i+chunk, len(runes))])
		part = strings.ReplaceAll(mrkdwn.Escape(part), "```", "`\u200b``")
		blocks = append(blocks, blockkit.Section("```"+part+"```"))
		if len(blocks) == perMessage {
			out = append(out, chat.Message{Text: "Your question (continued)", Blocks: blocks})
			blocks = nil
		}
	}
	if len(blocks) > 0 {
		out = append(out, chat.Message{Text: "Your question (continued)", Blocks: blocks})
	}
	return out
}

// findPosted looks for the question just posted (same title, by this user,
// created since start) after an unclear failure.
func (a *Feature) findPosted(ctx context.Context, c *soe.Client, link *linking.Link, title string, start time.Time) (*soe.Question, error) {
	if link == nil || link.SOEUserID <= 0 {
		return nil, errors.New("ask: no SOE user id to look up")
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.SOETimeout)
	defer cancel()
	p, err := c.QuestionsPage(ctx, soe.QuestionListOptions{AuthorID: link.SOEUserID, Sort: soe.SortCreation, Order: soe.OrderDesc, PageSize: 15})
	if err != nil {
		return nil, err
	}
	for _, s := range p.Items {
		if strings.EqualFold(strings.TrimSpace(s.Title), title) && !s.CreationDate.Before(start.Add(-2*time.Minute)) {
			return &soe.Question{QuestionSummary: s}, nil
		}
	}
	return nil, nil
}

// explain turns a failed post into the modal's error line and field errors.
// Reconnect prompts (401, read-only token) are also sent where the user
// started, with their button.
func (a *Feature) explain(ctx context.Context, replyEnv *chat.Envelope, link *linking.Link, err error) (string, map[string][]string) {
	var pe *soe.ProblemError
	var rl *soe.RateLimitError
	var paced *soe.PacedError
	switch {
	case errors.As(err, &paced):
		return fmt.Sprintf(":warning: Stack Overflow is busy for your account right now, so your question was not posted. Try again in %s; everything you wrote is still here.",
			paced.RetryAfter.Round(time.Second)), nil
	case errors.Is(err, soe.ErrUnauthorized):
		a.r.Failed(ctx, replyEnv, link, err) // marks the link invalid, sends Reconnect
		return ":warning: Stack Overflow no longer accepts your connection. I sent you a message to reconnect; then press *Post question* again. Nothing was posted.", nil
	case errors.Is(err, soe.ErrWriteAccess):
		a.r.Failed(ctx, replyEnv, link, err)
		return ":lock: Your connection is read-only; reconnect with write access to post questions. I sent you a message with the button. Nothing was posted.", nil
	case errors.As(err, &rl):
		return fmt.Sprintf(":warning: Stack Overflow is busy right now, so your question was not posted. Try again in %s; everything you wrote is still here.", rl.RetryAfter.Round(time.Second)), nil
	case soe.Temporary(err) || errors.Is(err, context.DeadlineExceeded):
		return ":warning: Stack Overflow did not answer, so your question was not posted. Everything you wrote is still here: try again in a moment.", nil
	case errors.Is(err, soe.ErrForbidden):
		msg := ":no_entry: Stack Overflow says you are not allowed to post questions there"
		if errors.As(err, &pe) && strings.TrimSpace(pe.Detail) != "" {
			msg += ": " + mrkdwn.Escape(mrkdwn.Truncate(strings.TrimSpace(pe.Detail), 500))
		}
		return msg + ". Nothing was posted.", nil
	case errors.As(err, &pe):
		fields, general := problemFields(pe)
		msg := ":warning: Stack Overflow did not accept the question"
		if len(fields) > 0 {
			msg += "; see the notes under the fields below"
		}
		msg += "."
		if len(general) > 0 {
			msg += " " + mrkdwn.Escape(mrkdwn.Truncate(strings.Join(general, " "), 1000))
		}
		return msg + " Nothing was posted.", fields
	}
	a.log.ErrorContext(ctx, "ask: posting failed", "err", err)
	return ":warning: Something went wrong talking to Stack Overflow, so your question was not posted. Please try again.", nil
}

// problemFields maps SOE's ProblemDetails onto the form's fields: its field
// errors ("Title", "$.body", "Tags[2]"…) and, when there are none, a detail
// that names a field. What fits no field is returned as general text.
func problemFields(pe *soe.ProblemError) (map[string][]string, []string) {
	fields := map[string][]string{}
	var general []string
	keys := make([]string, 0, len(pe.Errors))
	for k := range pe.Errors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		msgs := pe.Errors[k]
		if len(msgs) == 0 {
			msgs = []string{k + " is not valid."}
		}
		if f := fieldOf(k); f != "" {
			fields[f] = append(fields[f], msgs...)
		} else {
			general = append(general, msgs...)
		}
	}
	if len(pe.Errors) == 0 {
		detail := strings.TrimSpace(pe.Detail)
		if detail == "" {
			detail = strings.TrimSpace(pe.Title)
		}
		lower := strings.ToLower(detail)
		switch {
		case detail == "":
		case strings.Contains(lower, "title"):
			fields["title"] = append(fields["title"], detail)
		case strings.Contains(lower, "tag"):
			fields["tags"] = append(fields["tags"], detail)
		case strings.Contains(lower, "body"):
			fields["body"] = append(fields["body"], detail)
		default:
			general = append(general, detail)
		}
	}
	if len(fields) == 0 {
		fields = nil
	}
	return fields, general
}

// fieldOf maps an ASP.NET error key to a form field ("" when none).
func fieldOf(key string) string {
	k := strings.ToLower(strings.TrimSpace(key))
	k = strings.TrimPrefix(k, "$")
	k = strings.TrimPrefix(k, ".")
	if i := strings.LastIndexByte(k, '.'); i >= 0 {
		k = k[i+1:]
	}
	if i := strings.IndexByte(k, '['); i >= 0 {
		k = k[:i]
	}
	switch k {
	case "title":
		return "title"
	case "body", "bodymarkdown":
		return "body"
	case "tags", "tag", "tagnames":
		return "tags"
	}
	return ""
}

// askShare is the value of the "Share in channel" button.
type askShare struct {
	Scope string `json:"s"`
	ID    int    `json:"q"`
}

func tagCodes(names []string) string {
	var out []string
	for _, t := range names {
		out = append(out, mrkdwn.Code(t))
	}
	return strings.Join(out, " ")
}

// confirmation is what the asker sees where they started.
func confirmation(scope soe.Scope, q *soe.Question, meta askMeta, notified []string, notifyNote string) chat.Message {
	blocks := []slack.Block{
		blockkit.Section(fmt.Sprintf(":white_check_mark: *Posted:* %s", mrkdwn.Link(q.WebURL, mrkdwn.Truncate(q.Title, 200)))),
	}
	ctxLine := strings.TrimSpace(tagCodes(q.TagNames()) + " · " + mrkdwn.Escape(scope.String()))
	blocks = append(blocks, blockkit.Context(strings.TrimPrefix(ctxLine, "· ")))
	switch {
	case len(notified) > 0:
		var ms []string
		for _, id := range notified {
			ms = append(ms, mrkdwn.Mention(id))
		}
		who := "expert"
		if len(notified) > 1 {
			who = "experts"
		}
		blocks = append(blocks, blockkit.Context(fmt.Sprintf(":bell: I let %d subject-matter %s know: %s", len(notified), who, strings.Join(ms, ", "))))
	case notifyNote != "":
		blocks = append(blocks, blockkit.Context(":bell: "+notifyNote))
	}
	var els []slack.BlockElement
	if q.WebURL != "" {
		els = append(els, blockkit.LinkButton("ask_view_question", "Open on Stack Overflow", q.WebURL))
	}
	if meta.Channel != "" && !strings.HasPrefix(meta.Channel, "D") {
		v, _ := json.Marshal(askShare{Scope: scope.Key(), ID: q.ID})
		els = append(els, blockkit.PrimaryButton(actionAskShare, "Share in channel", string(v)))
	}
	if len(els) > 0 {
		blocks = append(blocks, blockkit.Actions("ask_done", els...))
	}
	return chat.Message{Text: "Posted: " + mrkdwn.Escape(mrkdwn.Truncate(q.Title, 200)), Blocks: blocks}
}

// sharedCard is the in-channel card "asked by @user".
func sharedCard(scope soe.Scope, q *soe.Question, asker string) chat.Message {
	text := "*" + mrkdwn.Link(q.WebURL, mrkdwn.Truncate(q.Title, 200)) + "*"
	if ex := mrkdwn.Excerpt(q.Body, 300); ex != "" {
		text += "\n" + ex
	}
	blocks := []slack.Block{blockkit.Section(text)}
	meta := []string{"Asked by " + mrkdwn.Mention(asker) + " on " + mrkdwn.Escape(theScope(scope))}
	if tags := tagCodes(q.TagNames()); tags != "" {
		meta = append([]string{tags}, meta...)
	}
	blocks = append(blocks, blockkit.Context(strings.Join(meta, " · ")))
	if q.WebURL != "" {
		blocks = append(blocks, blockkit.Actions("ask_shared", blockkit.LinkButton("ask_answer", "Answer on Stack Overflow", q.WebURL)))
	}
	return chat.Message{Text: "Question asked by " + mrkdwn.Mention(asker) + ": " + mrkdwn.Escape(mrkdwn.Truncate(q.Title, 200)), Blocks: blocks}
}

// share posts the in-channel card for the asker's question, from the bot,
// and takes the Share button off their confirmation.
func (a *Feature) share(ctx context.Context, env *chat.Envelope, act *slack.BlockAction) {
	var v askShare
	if json.Unmarshal([]byte(act.Value), &v) != nil || v.ID <= 0 {
		a.r.Reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	scope, err := soe.ParseScopeKey(v.Scope)
	if err != nil {
		a.r.Reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	g := reveal.Gate{Audience: a.aud, Log: a.log}
	b := reveal.Buttons{Show: actionAskShareReveal, Always: actionAskShareAlways, ShowLabel: "Share", Value: act.Value}
	if !g.Pass(ctx, env, act.ActionID, scope, "your question", b, func(m chat.Message) { a.r.Reply(ctx, env, m) }) {
		return
	}
	a.r.WithSOE(ctx, env, scope, nil, func(ctx context.Context, c *soe.Client, _ *linking.Link) error {
		qctx, cancel := context.WithTimeout(ctx, a.cfg.SOETimeout)
		q, err := c.Question(qctx, v.ID)
		cancel()
		if err != nil {
			return err
		}
		a.postShared(ctx, env, scope, q)
		return nil
	})
}

// postShared posts the card in the channel (else through response_url) and
// replaces the asker's confirmation with one without the Share button.
func (a *Feature) postShared(ctx context.Context, env *chat.Envelope, scope soe.Scope, q *soe.Question) {
	card := sharedCard(scope, q, env.UserID)
	channel := env.ChannelID()
	if _, err := a.slack.Post(ctx, channel, card); err != nil {
		a.log.WarnContext(ctx, "ask share: post failed; falling back to response_url", "channel", channel, "err", err)
		card.InChannel = true
		if u := env.ResponseURL(); u == "" || a.slack.Respond(ctx, u, card) != nil {
			a.r.Reply(ctx, env, blockkit.Warning("I could not post in this channel. Invite me with `/invite @soebot` and try again."))
			return
		}
	}
	if u := env.ResponseURL(); u != "" {
		done := confirmation(scope, q, askMeta{}, nil, "Shared in this channel.")
		done.ReplaceOriginal = true
		_ = a.slack.Respond(ctx, u, done)
	}
}

// unreachable is the note when SOE did not say who the experts are.
const unreachable = "I could not reach the subject-matter experts (Stack Overflow did not answer)."

// notifyExperts DMs the subject-matter experts of the question's tags: one
// DM per expert (naming every tag they are an expert in), never the asker.
// It returns who was told, or a note saying why nobody was.
func (a *Feature) notifyExperts(ctx context.Context, env *chat.Envelope, c *soe.Client, link *linking.Link, scope soe.Scope, q *soe.Question, typed []string) ([]string, string) {
	ctx, cancel := context.WithTimeout(ctx, 2*a.cfg.SOETimeout)
	defer cancel()
	tags := q.TagNames()
	if len(tags) == 0 {
		tags = typed
	}
	caller := 0
	if link != nil {
		caller = link.SOEUserID
	}
	found := newRecipients(link, env.UserID)
	for _, name := range tags {
		tag, _, err := a.people.Tag(ctx, c, name)
		if errors.Is(err, soe.ErrNotFound) {
			continue // a new tag has no experts yet
		}
		if err != nil {
			a.log.WarnContext(ctx, "ask: tag lookup failed", "tag", name, "err", err)
			return nil, unreachable
		}
		experts, err := a.people.TagExperts(ctx, c, tag.ID)
		switch {
		case errors.Is(err, soe.ErrSMEDisabled):
			return nil, "Subject-matter experts are turned off on " + mrkdwn.Escape(theScope(scope)) + ", so I notified nobody."
		case err != nil:
			a.log.WarnContext(ctx, "ask: SME lookup failed", "tag", name, "err", err)
			return nil, unreachable
		}
		experts, err = a.people.InSlack(ctx, env.TeamID, c, caller, experts)
		if err != nil {
			a.log.WarnContext(ctx, "ask: mapping experts to Slack failed", "err", err)
		}
		found.add(tag.Name, experts.Everyone())
	}
	return a.tellExperts(ctx, env.UserID, scope, q, found)
}

// recipients are the experts to DM, in the order found, with the tags each
// is an expert in; unmapped are the SOE users not found in Slack.
type recipients struct {
	asker    *linking.Link // nil when unknown
	askerID  string        // the asker's Slack id
	order    []string
	tags     map[string][]string // Slack id -> tag names
	unmapped map[int]bool
}

func newRecipients(asker *linking.Link, askerID string) *recipients {
	return &recipients{asker: asker, askerID: askerID, tags: map[string][]string{}, unmapped: map[int]bool{}}
}

// add records tag's experts, never the asker.
func (r *recipients) add(tag string, experts []people.Person) {
	for _, p := range experts {
		if (r.asker != nil && p.ID == r.asker.SOEUserID) || p.SlackID == r.askerID {
			continue // never the asker
		}
		if p.SlackID == "" {
			r.unmapped[p.ID] = true
			continue
		}
		tags, known := r.tags[p.SlackID]
		if !known {
			r.order = append(r.order, p.SlackID)
		}
		if !slices.Contains(tags, tag) {
			r.tags[p.SlackID] = append(tags, tag)
		}
	}
}

// tellExperts sends each recipient their DM and returns who got it, or a
// note saying why nobody did.
func (a *Feature) tellExperts(ctx context.Context, asker string, scope soe.Scope, q *soe.Question, r *recipients) ([]string, string) {
	var told []string
	for _, id := range r.order {
		if _, _, err := a.slack.DM(ctx, id, expertDM(asker, scope, q, r.tags[id])); err != nil {
			a.log.WarnContext(ctx, "ask: could not DM an expert", "expert", id, "err", err)
			continue
		}
		told = append(told, id)
	}
	if len(told) == 0 {
		if len(r.unmapped) > 0 {
			return nil, fmt.Sprintf("The %s of these tags could not be found in Slack, so I notified nobody.", plural(len(r.unmapped), "subject-matter expert", "subject-matter experts"))
		}
		return nil, "These tags have no subject-matter experts (other than you), so I notified nobody."
	}
	return told, ""
}

// expertDM is the DM an SME gets.
func expertDM(asker string, scope soe.Scope, q *soe.Question, tags []string) chat.Message {
	var codes []string
	for _, t := range tags {
		codes = append(codes, mrkdwn.Code(t))
	}
	in := codes[0]
	if len(codes) > 1 {
		in = strings.Join(codes[:len(codes)-1], ", ") + " and " + codes[len(codes)-1]
	}
	what := "you are an expert in"
	if len(codes) > 1 {
		what = "which you are an expert in"
	}
	text := fmt.Sprintf("%s asked a question in %s %s: %s", mrkdwn.Mention(asker), in, what, mrkdwn.Link(q.WebURL, mrkdwn.Truncate(q.Title, 200)))
	if len(codes) > 1 {
		text = fmt.Sprintf("%s asked a question in %s, %s: %s", mrkdwn.Mention(asker), in, what, mrkdwn.Link(q.WebURL, mrkdwn.Truncate(q.Title, 200)))
	}
	blocks := []slack.Block{blockkit.Section(text)}
	if ex := mrkdwn.Excerpt(q.Body, 300); ex != "" {
		blocks = append(blocks, blockkit.Context(ex))
	}
	blocks = append(blocks, blockkit.Context("You get this because you are a subject-matter expert on "+mrkdwn.Escape(theScope(scope))+"."))
	if q.WebURL != "" {
		blocks = append(blocks, blockkit.Actions("ask_expert", blockkit.LinkButton("ask_answer", "Answer on Stack Overflow", q.WebURL)))
	}
	return chat.Message{Text: text, Blocks: blocks}
}

// theScope names a scope inside a sentence: "the main site", "team platform".
func theScope(s soe.Scope) string {
	if s.IsTeam() {
		return s.String()
	}
	return "the " + s.String()
}
