package subscriptions

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/notify"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
)

// /soe subscribe … preview: what the last 7 days would have posted, shown
// only to the caller (read with their own token) before anything is
// created, with a button that creates it.

const (
	// actionPreviewCreate creates a previewed subscription; value: previewValue JSON.
	actionPreviewCreate = "notify_preview_create"
	previewDays         = 7
	// previewPages bounds the activity feed pages read (100 questions each),
	// previewAnswerReads the questions whose answers are read.
	previewPages       = 3
	previewAnswerReads = 10
	previewShown       = 10
)

// previewValue is the Create button's value: the subscription in the
// grammar, and the channel it was previewed in.
type previewValue struct {
	Expr    string `json:"x"`
	Channel string `json:"c"`
}

// previewItem is one question the subscription would have posted about.
type previewItem struct {
	Q           soe.QuestionSummary
	NewQuestion bool
	Answers     int
	Accepted    bool
}

// previewResult is what the last days would have posted.
type previewResult struct {
	Items                       []previewItem
	Questions, Answers, Accepts int
	// Truncated: the bounds were reached; older activity was not counted.
	Truncated bool
}

func (p *previewResult) posts() int { return p.Questions + p.Answers + p.Accepts }

// runPreview reads the last previewDays with the caller's client and shows
// what the subscription would have posted, ephemerally.
func (n *Feature) runPreview(ctx context.Context, env *chat.Envelope, channel string, scope soe.Scope, args subscribeArgs, resume *linking.Resume) {
	n.router.WithSOE(ctx, env, scope, resume, func(ctx context.Context, c *soe.Client, _ *linking.Link) error {
		if text, err := n.checkTags(ctx, c, append(slices.Clone(args.Tags), args.Filter.filterTags()...)); err != nil {
			return err
		} else if text != "" {
			n.router.Reply(ctx, env, blockkit.Warning(text))
			return nil
		}
		filter, text, err := n.notifyFilter(ctx, c, args.Tags, args.Filter)
		if err != nil {
			return err
		} else if text != "" {
			n.router.Reply(ctx, env, blockkit.Warning(text))
			return nil
		}
		sub := notify.Subscription{Scope: scope, Tags: args.Tags, Kinds: args.Kinds, Filter: filter}
		res, err := n.readPreview(ctx, c, sub)
		if err != nil {
			return err
		}
		n.router.Reply(ctx, env, renderPreview(n.router.Command(), sub, channel, res))
		return nil
	})
}

// readPreview reads the activity of the last previewDays (bounded: at most
// previewPages feed pages and the answers of previewAnswerReads questions).
func (n *Feature) readPreview(ctx context.Context, c *soe.Client, sub notify.Subscription) (previewResult, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*n.cfg.SOETimeout)
	defer cancel()
	from := n.now().Add(-previewDays * 24 * time.Hour)
	var items []soe.QuestionSummary
	truncated := true
	for page := 1; page <= previewPages; page++ {
		pg, err := c.QuestionsPage(ctx, soe.QuestionListOptions{Page: page, PageSize: 100, Sort: soe.SortActivity, Order: soe.OrderDesc})
		if err != nil {
			return previewResult{}, err
		}
		done := len(pg.Items) == 0 || page >= pg.TotalPages
		for _, q := range pg.Items {
			if activity(q).Before(from) {
				done = true
				break
			}
			items = append(items, q)
		}
		if done {
			truncated = false
			break
		}
	}
	answers := map[int][]soe.AnswerSummary{}
	reads := 0
	for _, q := range items {
		if q.AnswerCount == 0 || sub.Kinds&(notify.KindAnswers|notify.KindAccepted) == 0 || !sub.Matches(q.TagNames()) {
			continue
		}
		if reads == previewAnswerReads {
			truncated = true
			break
		}
		reads++
		pg, err := c.AnswersPage(ctx, q.ID, soe.AnswerListOptions{Page: 1, PageSize: 100, Sort: soe.SortCreation, Order: soe.OrderAsc})
		if err != nil {
			return previewResult{}, err
		}
		answers[q.ID] = pg.Items
	}
	res := previewOf(items, answers, sub, from)
	res.Truncated = res.Truncated || truncated
	return res, nil
}

func activity(q soe.QuestionSummary) time.Time {
	if q.LastActivityDate != nil {
		return *q.LastActivityDate
	}
	return q.CreationDate
}

// previewOf is the pure part of a preview: which of the feed's questions
// (newest activity first) the subscription would have posted about since
// from, and how many posts.
func previewOf(items []soe.QuestionSummary, answers map[int][]soe.AnswerSummary, sub notify.Subscription, from time.Time) previewResult {
	var res previewResult
	for _, q := range items {
		if !sub.Matches(q.TagNames()) {
			continue
		}
		it := previewItem{Q: q, NewQuestion: sub.Kinds&notify.KindQuestions != 0 && q.CreationDate.After(from)}
		for _, a := range answers[q.ID] {
			if sub.Kinds&notify.KindAnswers != 0 && a.CreationDate.After(from) {
				it.Answers++
			}
			if at := a.CreationDate; a.IsAccepted && sub.Kinds&notify.KindAccepted != 0 && (at.After(from) ||
				(a.LastActivityDate != nil && a.LastActivityDate.After(from))) {
				it.Accepted = true
			}
		}
		if !it.NewQuestion && it.Answers == 0 && !it.Accepted {
			continue
		}
		res.Items = append(res.Items, it)
		if it.NewQuestion {
			res.Questions++
		}
		res.Answers += it.Answers
		if it.Accepted {
			res.Accepts++
		}
	}
	return res
}

// renderPreview shows a preview with the button that creates the
// subscription in channel.
func renderPreview(cmd string, sub notify.Subscription, channel string, res previewResult) chat.Message {
	expr := expression(sub)
	head := fmt.Sprintf("*Preview of* %s\nIn the last %d days this would have posted nothing here.", mrkdwn.Code(cmd+" subscribe "+expr), previewDays)
	if res.posts() > 0 {
		head = fmt.Sprintf("*Preview of* %s\nIn the last %d days this would have posted *%d* %s here: %s.",
			mrkdwn.Code(cmd+" subscribe "+expr), previewDays, res.posts(), plural(res.posts(), "message", "messages"), previewCounts(res))
	}
	blocks := []slack.Block{blockkit.Section(head)}
	if len(res.Items) > 0 {
		var lines []string
		for i, it := range res.Items {
			if i == previewShown {
				lines = append(lines, fmt.Sprintf("…and %d more %s.", len(res.Items)-previewShown, plural(len(res.Items)-previewShown, "question", "questions")))
				break
			}
			lines = append(lines, previewLine(it))
		}
		blocks = append(blocks, blockkit.Section(strings.Join(lines, "\n")))
	}
	note := "Only you see this. Nothing is created until you press *Subscribe this channel*."
	if res.Truncated {
		note += fmt.Sprintf(" Counted from the %d most active questions and the answers of %d of them; there may be more.",
			previewPages*100, previewAnswerReads)
	}
	if sub.Community != nil {
		note += fmt.Sprintf(" The community %s has %s today.", mrkdwn.Escape(sub.Community.Name), communityTagCount(sub.Community))
	}
	v, _ := json.Marshal(previewValue{Expr: expr, Channel: channel})
	blocks = append(blocks, blockkit.Context(note),
		blockkit.Actions("notify_preview",
			blockkit.PrimaryButton(actionPreviewCreate, "Subscribe this channel", string(v)),
			blockkit.Button(actionSubCancel, "Cancel", "cancel")))
	return chat.Message{Text: fmt.Sprintf("Preview: %d messages in the last %d days", res.posts(), previewDays), Blocks: blocks}
}

func communityTagCount(c *notify.CommunityFilter) string {
	return fmt.Sprintf("%d %s", len(c.Tags), plural(len(c.Tags), "tag", "tags"))
}

func previewCounts(res previewResult) string {
	var parts []string
	if res.Questions > 0 {
		parts = append(parts, fmt.Sprintf("%d new %s", res.Questions, plural(res.Questions, "question", "questions")))
	}
	if res.Answers > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", res.Answers, plural(res.Answers, "answer", "answers")))
	}
	if res.Accepts > 0 {
		parts = append(parts, fmt.Sprintf("%d accepted %s", res.Accepts, plural(res.Accepts, "answer", "answers")))
	}
	return strings.Join(parts, ", ")
}

func previewLine(it previewItem) string {
	title := mrkdwn.Escape(mrkdwn.Truncate(it.Q.Title, 120))
	line := "• " + title
	if it.Q.WebURL != "" {
		line = "• " + mrkdwn.Link(it.Q.WebURL, mrkdwn.Truncate(it.Q.Title, 120))
	}
	var what []string
	if it.NewQuestion {
		what = append(what, "new question")
	}
	if it.Answers > 0 {
		what = append(what, fmt.Sprintf("%d %s", it.Answers, plural(it.Answers, "answer", "answers")))
	}
	if it.Accepted {
		what = append(what, "accepted answer")
	}
	return line + " — " + strings.Join(what, " · ")
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

// previewCreate is the preview's Subscribe button: the subscription is
// parsed again from the grammar and created as /soe subscribe would.
func (n *Feature) previewCreate(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	var v previewValue
	stale := blockkit.Warning("That button is out of date; run the command again.")
	if err := json.Unmarshal([]byte(a.Value), &v); err != nil || v.Channel == "" || v.Channel != env.ChannelID() {
		n.router.Reply(ctx, env, stale)
		return
	}
	args, problem := parseSubscribeArgs(router.Fields(v.Expr))
	if problem != "" || args.Preview {
		n.router.Reply(ctx, env, stale)
		return
	}
	if _, refusal := n.checkChannel(ctx, v.Channel); refusal != nil {
		n.router.Reply(ctx, env, *refusal)
		return
	}
	if u := env.ResponseURL(); u != "" {
		_ = n.slack.Respond(ctx, u, chat.Message{DeleteOriginal: true})
	}
	n.subscribe(ctx, env, v.Channel, n.router.ScopeFor(ctx, env, args.Team), args, nil)
}
