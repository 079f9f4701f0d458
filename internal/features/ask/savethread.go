package ask

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// Saving a thread as Q&A: the message shortcut "Save to Stack Overflow"
// opens the ask form prefilled from the thread (its parent as the question,
// tags suggested by SOE) with "Which reply answers it?". The question is
// posted as the saver; the chosen reply's author is asked, by DM, whether to
// post it as their own answer (savedanswer.go).
const (
	ShortcutSaveThread = "soe_save_thread" // message shortcut "Save to Stack Overflow"

	askBlockReply  = "save_reply"
	askActionReply = "save_reply"
	replyNone      = "none"
	// maxReplyChoices is how many replies the select offers (Slack allows
	// 100 options; one is "None of them"): the latest ones.
	maxReplyChoices = 99
)

// replyChoice is one reply offered under "Which reply answers it?".
type replyChoice struct {
	TS    string
	Label string // plain text: author and first words
}

// replyInput is "Which reply answers it?": the thread's replies, or none.
func replyInput(choices []replyChoice, selected string) *slack.InputBlock {
	none := slack.NewOptionBlockObject(replyNone, blockkit.Plain("None of them (no answer yet)"), nil)
	opts := []*slack.OptionBlockObject{none}
	initial := none
	for _, c := range choices {
		o := slack.NewOptionBlockObject(c.TS, blockkit.Plain(mrkdwn.CutWords(c.Label, 75)), nil)
		opts = append(opts, o)
		if c.TS == selected {
			initial = o
		}
	}
	sel := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, blockkit.Plain("Choose a reply"), askActionReply, opts...)
	sel.InitialOption = initial
	b := slack.NewInputBlock(askBlockReply, blockkit.Plain("Which reply answers it?"),
		blockkit.Plain("Its author is asked first: it is posted only by them, as their own answer, if they agree."), sel)
	b.Optional = true
	return b
}

// replyChoicesFromView reads the choices back from an open form.
func replyChoicesFromView(v *slack.View) []replyChoice {
	for _, b := range v.Blocks.BlockSet {
		in, ok := b.(*slack.InputBlock)
		if !ok || in.BlockID != askBlockReply {
			continue
		}
		sel, ok := in.Element.(*slack.SelectBlockElement)
		if !ok {
			return nil
		}
		var out []replyChoice
		for _, o := range sel.Options {
			if o.Value != replyNone && o.Text != nil {
				out = append(out, replyChoice{TS: o.Value, Label: o.Text.Text})
			}
		}
		return out
	}
	return nil
}

// thread is a Slack thread: the parent and its replies, oldest first.
type thread struct {
	parent  slack.Message
	replies []slack.Message
}

// readThread reads the whole thread (conversations.replies, every page).
func (a *Feature) readThread(ctx context.Context, channel, ts string) (*thread, error) {
	ms, err := a.slack.Replies(ctx, channel, ts)
	if err != nil {
		return nil, err
	}
	if len(ms) == 0 || ms[0].SubType == "tombstone" { // a deleted parent with replies stays as a tombstone
		return nil, errThreadGone
	}
	th := &thread{parent: ms[0]}
	for _, m := range ms[1:] {
		if m.SubType == "" || m.SubType == "thread_broadcast" {
			th.replies = append(th.replies, m)
		}
	}
	return th, nil
}

var errThreadGone = errors.New("ask: the thread's message was deleted")

// find returns the reply with ts.
func (th *thread) find(ts string) (slack.Message, bool) {
	i := slices.IndexFunc(th.replies, func(m slack.Message) bool { return m.Timestamp == ts })
	if i < 0 {
		return slack.Message{}, false
	}
	return th.replies[i], true
}

// saveShortcut opens the form at once ("Reading the thread…") and fills it
// once the thread is read, so the trigger_id never runs out.
func (a *Feature) saveShortcut(ctx context.Context, env *chat.Envelope) {
	ic := env.Interaction
	v, meta, initial, ok := a.openLoading(ctx, env, func(meta askMeta) slack.ModalViewRequest {
		return statusView("Save to Stack Overflow", "Cancel", meta, blockkit.Section(":hourglass_flowing_sand: Reading the thread…"))
	})
	if !ok {
		return
	}
	root := ic.Message.ThreadTimestamp
	if root == "" {
		root = ic.Message.Timestamp
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	th, err := a.readThread(rctx, ic.Channel.ID, root)
	cancel()
	if err != nil {
		a.log.InfoContext(ctx, "ask: could not read the thread to save", "channel", ic.Channel.ID, "err", err)
		_, _ = a.slack.UpdateView(ctx, v.ID, v.Hash, statusView("Save to Stack Overflow", "Close", meta, blockkit.Section(threadProblem(err))))
		return
	}
	meta.Thread = th.parent.Timestamp
	d, note, choices := a.prefillFromThread(ctx, ic.Channel.ID, th)
	d.Scope = initial
	d.Tags = a.tagsFor(ctx, env, initial, th.parent.Text)
	a.fill(ctx, env, v, askForm{Draft: d, Meta: meta, Note: note, Replies: choices})
}

// threadProblem says why a thread cannot be read (mrkdwn).
func threadProblem(err error) string {
	switch {
	case errors.Is(err, errThreadGone), isSlackError(err, "thread_not_found", "message_not_found"):
		return ":warning: That message was deleted, so there is no thread to save."
	case errors.Is(err, chat.ErrChannelGone):
		return ":warning: I can only save threads of channels I am in. Invite me with `/invite @soebot` and try again."
	}
	return ":warning: I could not read this thread just now. Please try again in a moment."
}

func isSlackError(err error, codes ...string) bool {
	var se *chat.Error
	return errors.As(err, &se) && slices.Contains(codes, se.Code)
}

// prefillFromThread turns a thread into a draft (its parent as the question,
// with a line linking back to the thread), the note at the top of the form
// and the replies to choose the answer from.
func (a *Feature) prefillFromThread(ctx context.Context, channel string, th *thread) (askDraft, string, []replyChoice) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	parent := th.parent
	ids := mrkdwn.SlackMentions(parent.Text)
	for _, m := range append([]slack.Message{parent}, th.replies...) {
		if m.User != "" && chat.ValidID(m.User) && !slices.Contains(ids, m.User) {
			ids = append(ids, m.User)
		}
	}
	names := a.resolveNames(ctx, ids)
	permalink, err := a.slack.Permalink(ctx, channel, parent.Timestamp)
	if err != nil {
		a.log.InfoContext(ctx, "ask: no permalink for the thread", "channel", channel, "err", err)
	}
	author := authorName(parent, names)
	body := strings.TrimSpace(mrkdwn.SlackToMarkdown(parent.Text, names))
	if files := filesNote(parent.Files); files != "" {
		body = strings.TrimSpace(body + "\n\n" + files)
	}
	source := "Slack"
	if permalink != "" {
		source = "[Slack](" + mrkdwn.MarkdownURL(permalink) + ")"
	}
	line := fmt.Sprintf("*Asked in %s by @%s (a thread with %s).*", source, mrkdwn.MarkdownLabel(author), plural(len(th.replies), "reply", "replies"))
	body = strings.TrimSpace(body + "\n\n" + line)
	d := askDraft{Title: mrkdwn.TitleFromSlack(parent.Text, names, askMaxTitle), Body: body}
	note := fmt.Sprintf("Saving a thread started by %s (%s). Edit anything before saving.", mrkdwn.Escape(author), plural(len(th.replies), "reply", "replies"))
	if n := len(parent.Files); n > 0 {
		note += " " + filesHint(n) + "."
	}
	replies := th.replies
	if len(replies) > maxReplyChoices {
		replies = replies[len(replies)-maxReplyChoices:]
		note += fmt.Sprintf(" The last %d replies are offered as the answer.", maxReplyChoices)
	}
	var choices []replyChoice
	for _, m := range replies {
		words := mrkdwn.CutWords(strings.Join(strings.Fields(mrkdwn.SlackToPlain(m.Text, names)), " "), 60)
		if words == "" {
			words = "(no text)"
		}
		choices = append(choices, replyChoice{TS: m.Timestamp, Label: authorName(m, names) + ": " + words})
	}
	return d, note, choices
}

func authorName(m slack.Message, names func(string) string) string {
	switch n := names(m.User); {
	case n != "":
		return n
	case m.Username != "":
		return m.Username
	case m.User != "":
		return m.User
	}
	return "someone"
}

// tagsFor suggests up to askMaxTags tags for text: the SOE tags, found with
// the user's token, named exactly like one of its words. Best effort, within
// a short time.
func (a *Feature) tagsFor(ctx context.Context, env *chat.Envelope, scopeKey, text string) []string {
	if a.links == nil {
		return nil
	}
	scope, err := soe.ParseScopeKey(scopeKey)
	if err != nil {
		return nil
	}
	c, _, err := a.links.Client(ctx, env.TeamID, env.UserID, scope)
	if err != nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	words := strings.Fields(terms(text, 10))
	found := make([]string, len(words))
	var wg sync.WaitGroup
	for i, w := range words {
		if len(w) < 2 || router.ValidateTag(router.NormalizeTag(w)) != "" {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, err := c.TagsPage(ctx, soe.TagListOptions{PartialName: w, PageSize: 15})
			if err != nil {
				return
			}
			for _, t := range p.Items {
				if strings.EqualFold(t.Name, w) {
					found[i] = strings.ToLower(t.Name)
				}
			}
		}()
	}
	wg.Wait()
	var tags []string
	for _, t := range found {
		if t != "" && !slices.Contains(tags, t) && len(tags) < askMaxTags {
			tags = append(tags, t)
		}
	}
	return tags
}
