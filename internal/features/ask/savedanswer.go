package ask

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/reveal"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/vault"
)

// After a thread is saved: the thread gets one message linking the question,
// and the author of the chosen reply is asked by DM whether to post it as
// their own answer. It is posted only with their own token and only if they
// agree; nobody's words are posted under someone else's name.
const (
	actionSavedPost    = "saved_answer_post"
	actionSavedEdit    = "saved_answer_edit"
	actionSavedDecline = "saved_answer_decline"
	savedAnswerModal   = "soe_saved_answer_modal"
	savedBlockBody     = "saved_body"
	savedActionBody    = "saved_body"
	// savedSubcommand replays "Post it as my answer" after its author
	// connects (linking.Resume is a /soe text); hidden from help.
	savedSubcommand = "saved-answer"
)

// savedAnswer is the value of the DM's buttons: which reply, of which thread,
// for which question, saved by whom, and the bot's message to update. It is
// sealed with the bot's key (sealSaved), so a crafted value (for the hidden
// /soe saved-answer) cannot name another saver or another bot message; the
// reply's author is still checked against Slack on use.
type savedAnswer struct {
	Scope   string `json:"s"`
	ID      int    `json:"q"`
	Channel string `json:"c"`
	Thread  string `json:"t"`
	Reply   string `json:"r"`
	Msg     string `json:"m,omitempty"` // the bot's message in the thread
	Saver   string `json:"b"`
}

// savedAAD binds sealed button values to this use.
var savedAAD = []byte("soebot/ask/saved-answer/v1")

// sealSaved is the buttons' value for v: sealed JSON, base64url.
func (a *Feature) sealSaved(v savedAnswer) (string, error) {
	if a.sealer == nil {
		return "", errors.New("ask: no sealer for the saved-answer buttons")
	}
	return vault.SealText(a.sealer, v, savedAAD)
}

// parseSavedAnswer opens a value made by sealSaved; anything else (forged,
// altered, or sealed with a key the bot no longer has) is not ok.
func (a *Feature) parseSavedAnswer(s string) (savedAnswer, soe.Scope, bool) {
	var v savedAnswer
	if a.sealer == nil || vault.OpenText(a.sealer, s, savedAAD, &v) != nil || v.ID <= 0 || !chat.ValidID(v.Channel) || !chat.ValidID(v.Saver) ||
		v.Thread == "" || v.Reply == "" {
		return v, soe.Scope{}, false
	}
	scope, err := soe.ParseScopeKey(v.Scope)
	return v, scope, err == nil
}

// threadStillThere reads the thread again before posting: a deleted parent
// or chosen reply puts the form back with a clear error, nothing posted.
func (a *Feature) threadStillThere(ctx context.Context, p *posting) bool {
	th, err := a.readThread(ctx, p.meta.Channel, p.meta.Thread)
	if err != nil {
		a.showForm(ctx, p, threadProblem(err)+" Nothing was posted.", nil)
		return false
	}
	if p.d.Reply != "" {
		if _, ok := th.find(p.d.Reply); !ok {
			a.showForm(ctx, p, ":warning: The reply you chose was deleted. Choose another one, or none. Nothing was posted.",
				map[string][]string{"reply": {"That reply is no longer in the thread."}})
			return false
		}
	}
	p.thread = th
	return true
}

// threadSaved links the question in the thread (where everyone may see it)
// and asks the chosen reply's author whether to post it as their answer.
func (a *Feature) threadSaved(ctx context.Context, p *posting, q *soe.Question) {
	channel, saver := p.meta.Channel, p.env.UserID
	reply, chosen := p.thread.find(p.d.Reply)
	var notes []string
	msgTS := ""
	if reveal.MayShow(ctx, a.aud, a.log, p.env.TeamID, channel, p.scope) {
		card := threadCard(p.scope, q, saver, "", chosen && reply.User != "")
		card.ThreadTS = p.meta.Thread
		ts, err := a.slack.Post(ctx, channel, card)
		if err != nil {
			a.log.WarnContext(ctx, "ask: could not link the question in the thread", "channel", channel, "err", err)
			notes = append(notes, "I could not post the link in the thread (am I still in the channel?).")
		}
		msgTS = ts
	} else {
		notes = append(notes, fmt.Sprintf("I did not post the link in the thread: not everyone in %s is known to be on %s. Use *Share in channel* above if they may see it.",
			mrkdwn.ChannelMention(channel), mrkdwn.Escape(p.scope.String())))
	}
	switch {
	case !chosen:
	case reply.User == "" || reply.BotID != "":
		notes = append(notes, "The reply you chose was not written by a person, so nobody was asked to post it.")
	default:
		v := savedAnswer{Scope: p.scope.Key(), ID: q.ID, Channel: channel, Thread: p.meta.Thread, Reply: reply.Timestamp, Msg: msgTS, Saver: saver}
		value, err := a.sealSaved(v)
		if err == nil {
			_, _, err = a.slack.DM(ctx, reply.User, savedAnswerDM(saver, q, value))
		}
		if err != nil {
			a.log.WarnContext(ctx, "ask: could not DM the reply's author", "err", err)
			notes = append(notes, "I could not send "+mrkdwn.Mention(reply.User)+" a message about their reply.")
		} else {
			notes = append(notes, "I asked "+mrkdwn.Mention(reply.User)+" whether to post their reply as their answer.")
		}
	}
	if len(notes) > 0 {
		a.tell(ctx, p.env, p.meta, blockkit.Text(strings.Join(notes, " ")))
	}
}

// threadCard is the one message the thread gets. answerBy is the reply
// author who posted the answer ("" none yet); waiting: one was asked.
func threadCard(scope soe.Scope, q *soe.Question, saver, answerBy string, waiting bool) chat.Message {
	link := mrkdwn.Link(q.WebURL, mrkdwn.Truncate(q.Title, 200))
	text := ":floppy_disk: Saved to Stack Overflow: *" + link + "*"
	if answerBy != "" {
		text += " (answer by " + mrkdwn.Mention(answerBy) + ")"
	}
	ctxLine := "Saved by " + mrkdwn.Mention(saver) + " on " + mrkdwn.Escape(theScope(scope))
	if waiting && answerBy == "" {
		ctxLine += " · the reply's author was asked whether to post it as their answer"
	}
	return chat.Message{Text: "Saved to Stack Overflow: " + mrkdwn.Escape(mrkdwn.Truncate(q.Title, 200)),
		Blocks: []slack.Block{blockkit.Section(text), blockkit.Context(ctxLine)}}
}

// savedAnswerDM asks the reply's author; value is a savedAnswer.
func savedAnswerDM(saver string, q *soe.Question, value string) chat.Message {
	text := fmt.Sprintf("%s saved your reply as the answer to *%s*. Post it on Stack Overflow as your answer?",
		mrkdwn.Mention(saver), mrkdwn.Link(q.WebURL, mrkdwn.Truncate(q.Title, 200)))
	return chat.Message{
		Text: "Your reply was saved as the answer to " + mrkdwn.Escape(mrkdwn.Truncate(q.Title, 200)),
		Blocks: []slack.Block{
			blockkit.Section(text),
			blockkit.Actions("saved_answer",
				blockkit.PrimaryButton(actionSavedPost, "Post it as my answer", value),
				blockkit.Button(actionSavedEdit, "Edit first", value),
				blockkit.Button(actionSavedDecline, "No thanks", value)),
			blockkit.Context("Nothing is posted unless you say so; it is posted as you, with your own Stack Overflow account."),
		},
	}
}

// registerSaved adds the shortcut, the DM's buttons, the edit form and the
// hidden replay command.
func (a *Feature) registerSaved(r *router.Router) {
	r.Shortcut(ShortcutSaveThread, a.saveShortcut)
	r.Action(actionSavedPost, func(ctx context.Context, env *chat.Envelope, act *slack.BlockAction) {
		a.postSaved(ctx, env, act.Value, "")
	})
	r.Action(actionSavedEdit, a.editSaved)
	r.Action(actionSavedDecline, a.declineSaved)
	r.View(savedAnswerModal, router.ViewHandler{Ack: a.ackSavedEdit, Handle: a.submitSavedEdit})
	r.Subcommand(&router.Subcommand{Name: savedSubcommand, Usage: savedSubcommand, Hidden: true,
		Summary: "Post a reply someone saved as your answer (from the button).",
		Run: func(ctx context.Context, r *router.Request) {
			a.postSaved(ctx, r.Env, r.Rest, "")
		}})
}

// authorsReply finds the reply v names and checks that user wrote it.
func (a *Feature) authorsReply(ctx context.Context, env *chat.Envelope, v savedAnswer) (slack.Message, bool) {
	th, err := a.readThread(ctx, v.Channel, v.Thread)
	var reply slack.Message
	found := false
	if err == nil {
		reply, found = th.find(v.Reply)
	}
	switch {
	case err != nil && !errors.Is(err, errThreadGone) && !isSlackError(err, "thread_not_found"):
		a.r.Reply(ctx, env, blockkit.Warning("I could not read the thread just now. Please try again in a moment."))
	case !found:
		a.r.Reply(ctx, env, blockkit.Warning("Your reply is no longer in the thread (it was deleted), so there is nothing to post."))
	case reply.User != env.UserID:
		a.r.Reply(ctx, env, blockkit.Warning("Only the author of that reply can post it as their answer."))
	default:
		return reply, true
	}
	return slack.Message{}, false
}

// postSaved posts the reply (or body, when edited) as the clicking user's
// answer, with their own token. Not connected: they connect first, and the
// post resumes after linking.
func (a *Feature) postSaved(ctx context.Context, env *chat.Envelope, value, body string) {
	v, scope, ok := a.parseSavedAnswer(value)
	if !ok {
		a.r.Reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	reply, ok := a.authorsReply(ctx, env, v)
	if !ok {
		return
	}
	resume := &linking.Resume{Text: savedSubcommand + " " + value, ChannelID: env.ChannelID(), ResponseURL: env.ResponseURL()}
	if body != "" {
		resume = nil // an edited answer is not replayed: the form is gone
	}
	a.r.WithSOE(ctx, env, scope, resume, func(ctx context.Context, c *soe.Client, l *linking.Link) error {
		if !l.WriteAccess {
			a.readOnly(ctx, env, scope, resume)
			return nil
		}
		if body == "" {
			names := a.resolveNames(ctx, mrkdwn.SlackMentions(reply.Text))
			body = strings.TrimSpace(mrkdwn.SlackToMarkdown(reply.Text, names))
		}
		return a.createSaved(ctx, env, c, l, v, scope, body, resume)
	})
}

// readOnly explains that posting needs write access and offers to reconnect.
func (a *Feature) readOnly(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume) {
	a.r.Reply(ctx, env, a.r.LinkPrompt(ctx, env.TeamID, env.UserID, scope, resume, true,
		":lock: Your connection is read-only; reconnect with write access to post your answer."))
}

// createSaved posts the answer once (an answer of theirs already there is
// not posted again), then updates the DM, the thread's message, and tells
// the saver.
func (a *Feature) createSaved(ctx context.Context, env *chat.Envelope, c *soe.Client, l *linking.Link, v savedAnswer, scope soe.Scope,
	body string, resume *linking.Resume) error {
	qctx, cancel := context.WithTimeout(ctx, a.cfg.SOETimeout)
	q, err := c.Question(qctx, v.ID)
	cancel()
	if err != nil {
		return err
	}
	if mine, err := a.myAnswer(ctx, c, l, v.ID); err != nil {
		return err
	} else if mine != nil {
		a.answered(ctx, env, v, scope, q, mine, "You already answered it")
		return nil
	}
	pctx, cancel := context.WithTimeout(ctx, 2*a.cfg.SOETimeout)
	ans, err := c.CreateAnswer(pctx, v.ID, body)
	cancel()
	a.recordWrite(ctx, l, err)
	if errors.Is(err, soe.ErrWriteAccess) {
		a.readOnly(ctx, env, scope, resume)
		return nil
	}
	if err != nil {
		return err
	}
	a.answered(ctx, env, v, scope, q, ans, "Posted as your answer")
	return nil
}

func (a *Feature) myAnswer(ctx context.Context, c *soe.Client, l *linking.Link, qid int) (*soe.Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.SOETimeout)
	defer cancel()
	p, err := c.AnswersPage(ctx, qid, soe.AnswerListOptions{PageSize: 100, Sort: soe.SortCreation, Order: soe.OrderDesc})
	if err != nil {
		return nil, err
	}
	for _, s := range p.Items {
		if s.Owner != nil && s.Owner.ID == l.SOEUserID && l.SOEUserID > 0 {
			return &soe.Answer{AnswerSummary: s}, nil
		}
	}
	return nil, nil
}

// answered shows the answer in the DM, adds "answer by" to the thread's
// message and tells the saver.
func (a *Feature) answered(ctx context.Context, env *chat.Envelope, v savedAnswer, scope soe.Scope, q *soe.Question, ans *soe.Answer, what string) {
	url := ans.WebURL
	if url == "" {
		url = q.WebURL
	}
	done := blockkit.Text(fmt.Sprintf(":white_check_mark: %s to *%s*: %s", what, mrkdwn.Link(q.WebURL, mrkdwn.Truncate(q.Title, 200)),
		mrkdwn.Link(url, "open it on Stack Overflow")))
	a.replaceOrReply(ctx, env, done)
	if v.Msg != "" {
		if err := a.slack.Update(ctx, v.Channel, v.Msg, threadCard(scope, q, v.Saver, env.UserID, true)); err != nil {
			a.log.InfoContext(ctx, "ask: could not update the thread's message", "err", err)
		}
	}
	if v.Saver != env.UserID {
		msg := blockkit.Text(fmt.Sprintf("%s posted their reply as the answer to *%s*.", mrkdwn.Mention(env.UserID), mrkdwn.Link(q.WebURL, mrkdwn.Truncate(q.Title, 200))))
		if _, _, err := a.slack.DM(ctx, v.Saver, msg); err != nil {
			a.log.InfoContext(ctx, "ask: could not tell the saver", "err", err)
		}
	}
}

// replaceOrReply replaces the DM with the buttons when it can (the reply
// chain tries the response_url first), else replies.
func (a *Feature) replaceOrReply(ctx context.Context, env *chat.Envelope, m chat.Message) {
	m.ReplaceOriginal = true
	a.r.Reply(ctx, env, m)
}

// declineSaved: nothing is posted; the saver is told.
func (a *Feature) declineSaved(ctx context.Context, env *chat.Envelope, act *slack.BlockAction) {
	v, _, ok := a.parseSavedAnswer(act.Value)
	if !ok {
		a.r.Reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	if _, ok := a.authorsReply(ctx, env, v); !ok {
		return
	}
	a.replaceOrReply(ctx, env, blockkit.Text("OK, I did not post your reply. "+mrkdwn.Mention(v.Saver)+" knows."))
	where := "the thread"
	if link, err := a.slack.Permalink(ctx, v.Channel, v.Thread); err == nil && link != "" {
		where = mrkdwn.Link(link, "the thread")
	}
	msg := blockkit.Text(fmt.Sprintf("%s preferred not to post their reply in %s as an answer to the question you saved. The question stays open for answers.",
		mrkdwn.Mention(env.UserID), where))
	if _, _, err := a.slack.DM(ctx, v.Saver, msg); err != nil {
		a.log.InfoContext(ctx, "ask: could not tell the saver", "err", err)
	}
}

// editSaved opens a form with the reply as the answer's body, to edit
// before posting. Not connected: the Connect prompt (press Edit first again).
func (a *Feature) editSaved(ctx context.Context, env *chat.Envelope, act *slack.BlockAction) {
	v, scope, ok := a.parseSavedAnswer(act.Value)
	if !ok {
		a.r.Reply(ctx, env, blockkit.Warning("That button is out of date."))
		return
	}
	reply, ok := a.authorsReply(ctx, env, v)
	if !ok || a.links == nil {
		return
	}
	switch _, l, err := a.links.Client(ctx, env.TeamID, env.UserID, scope); {
	case errors.Is(err, linking.ErrNotLinked), errors.Is(err, linking.ErrLinkInvalid):
		a.r.ConnectPrompt(ctx, env, scope, nil, errors.Is(err, linking.ErrLinkInvalid))
		return
	case err != nil:
		a.r.Reply(ctx, env, blockkit.Warning("I could not read your Stack Overflow connection just now. Please try again."))
		return
	case !l.WriteAccess:
		a.readOnly(ctx, env, scope, nil)
		return
	}
	names := a.resolveNames(ctx, mrkdwn.SlackMentions(reply.Text))
	body := strings.TrimSpace(mrkdwn.SlackToMarkdown(reply.Text, names))
	box, _ := splitBody(body, askBoxBudget)
	if _, err := a.slack.OpenView(ctx, env.Interaction.TriggerID, savedEditView(box, act.Value)); err != nil {
		a.openFailed(ctx, env, err)
	}
}

func savedEditView(body, value string) slack.ModalViewRequest {
	in := slack.NewPlainTextInputBlockElement(blockkit.Plain("Your answer, in Markdown"), savedActionBody)
	in.Multiline, in.MaxLength, in.InitialValue = true, askMaxBox, body
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: savedAnswerModal,
		Title: blockkit.Plain("Post your answer"), Submit: blockkit.Plain("Post answer"), Close: blockkit.Plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock(savedBlockBody, blockkit.Plain("Answer"), blockkit.Plain("Posted as you, with your own Stack Overflow account."), in),
		}},
		PrivateMetadata: value,
	}
}

func (a *Feature) ackSavedEdit(_ context.Context, env *chat.Envelope) any {
	v := &env.Interaction.View
	body := ""
	if v.State != nil {
		body = v.State.Values[savedBlockBody][savedActionBody].Value
	}
	if strings.TrimSpace(body) == "" {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{savedBlockBody: "Write your answer, or press Cancel."})
	}
	return nil // closes the form; the DM shows what happened
}

func (a *Feature) submitSavedEdit(ctx context.Context, env *chat.Envelope) {
	v := &env.Interaction.View
	if v.State == nil {
		return
	}
	body := v.State.Values[savedBlockBody][savedActionBody].Value
	if strings.TrimSpace(body) == "" {
		return
	}
	a.postSaved(ctx, env, v.PrivateMetadata, strings.TrimSpace(body))
}
