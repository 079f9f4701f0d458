package cardactions

import (
	"context"
	"errors"
	"net/http"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/postcard"
	"github.com/soebot/soebot/internal/soe"
)

func validVerb(v string) bool { return v == verbUpvote || v == verbBookmark || v == verbAccept }

// result is what SOE said after a successful action.
type result struct {
	ref   postcard.Ref // the row to refresh (the question's, for a bookmark)
	state postcard.State
	title string // the question's title (questions only)
	url   string // the post's web address
}

// act does j with the clicker's own client (Connect first if needed, then
// replayed), explains a refusal, or confirms and refreshes the card.
func (f *Feature) act(ctx context.Context, env *chat.Envelope, j job, card *slack.Message) {
	ref := j.ref()
	resume := f.resume(env, j)
	f.r.WithSOE(ctx, env, ref.Scope, resume, func(ctx context.Context, c *soe.Client, l *linking.Link) error {
		if !l.WriteAccess {
			f.readOnly(ctx, env, ref.Scope, resume)
			return nil
		}
		res, err := f.call(ctx, c, j)
		f.recordWrite(ctx, l, err)
		switch {
		case errors.Is(err, soe.ErrWriteAccess):
			f.readOnly(ctx, env, ref.Scope, resume)
			return nil
		case errors.Is(err, soe.ErrUnauthorized):
			f.reconnect(ctx, env, l, resume)
			return nil
		case err != nil:
			if m, ok := f.refusal(ctx, c, l, j, err); ok {
				f.r.Reply(ctx, env, m)
				return nil
			}
			return err
		}
		f.r.Reply(ctx, env, Confirmation(j.Verb, ref.IsAnswer(), res.state, res.title, res.url))
		f.refresh(ctx, j, card, res)
		return nil
	})
}

// readOnly explains that acting needs write access and offers to reconnect
// (the click is replayed after).
func (f *Feature) readOnly(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume) {
	f.r.Reply(ctx, env, f.r.LinkPrompt(ctx, env.TeamID, env.UserID, scope, resume, true, ReadOnlyIntro))
}

// reconnect marks a token SOE no longer accepts and shows Reconnect; the
// click is replayed after (the router's own handling would lose it: a
// click is no slash command).
func (f *Feature) reconnect(ctx context.Context, env *chat.Envelope, l *linking.Link, resume *linking.Resume) {
	if f.links != nil {
		if err := f.links.Invalidate(ctx, l.TeamID, l.UserID, l.Scope, "Stack Overflow refused the token"); err != nil {
			f.log.WarnContext(ctx, "cardactions: could not invalidate link", "err", err)
		}
	}
	f.r.Reply(ctx, env, f.r.LinkPrompt(ctx, env.TeamID, env.UserID, l.Scope, resume, true, ""))
}

// call is the one SOE write of j (never retried).
func (f *Feature) call(ctx context.Context, c *soe.Client, j job) (result, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*f.cfg.SOETimeout)
	defer cancel()
	ref := j.ref()
	var a *soe.AnswerSummary
	var err error
	switch {
	case j.Verb == verbUpvote && ref.IsAnswer():
		a, err = c.UpvoteAnswer(ctx, j.Q, j.A)
	case j.Verb == verbAccept:
		a, err = c.AcceptAnswer(ctx, j.Q, j.A)
	default:
		return f.callQuestion(ctx, c, j)
	}
	if err != nil {
		return result{}, err
	}
	score := a.Score
	return result{ref: ref, state: postcard.State{Score: &score, Accepted: a.IsAccepted}, url: a.WebURL}, nil
}

func (f *Feature) callQuestion(ctx context.Context, c *soe.Client, j job) (result, error) {
	var q *soe.Question
	var err error
	if j.Verb == verbBookmark {
		q, err = c.BookmarkQuestion(ctx, j.Q)
	} else {
		q, err = c.UpvoteQuestion(ctx, j.Q)
	}
	if err != nil {
		return result{}, err
	}
	score := q.Score
	ref := j.ref()
	ref.AnswerID = 0
	return result{ref: ref, state: postcard.State{Score: &score}, title: q.Title, url: q.WebURL}, nil
}

// refusal is the clicker's explanation of what SOE refused, when it is one
// the feature knows: voting on one's own post, voting twice, accepting an
// answer to someone else's question. SOE decided; the post's owner (read
// with the same client) says which it was.
func (f *Feature) refusal(ctx context.Context, c *soe.Client, l *linking.Link, j job, err error) (chat.Message, bool) {
	var pe *soe.ProblemError
	switch {
	case j.Verb == verbUpvote && errors.As(err, &pe) && pe.Status == http.StatusBadRequest:
		return AlreadyVoted(), true
	case !errors.Is(err, soe.ErrForbidden) || j.Verb == verbBookmark:
		return chat.Message{}, false
	}
	owner, oerr := f.owner(ctx, c, j)
	if oerr != nil {
		f.log.InfoContext(ctx, "cardactions: could not read the post after a refusal", "err", oerr)
		return chat.Message{}, false
	}
	me := l.SOEUserID
	switch {
	case j.Verb == verbAccept && owner != me:
		return OnlyTheAsker(), true
	case j.Verb == verbUpvote && owner == me:
		return OwnPost(), true
	}
	return chat.Message{}, false
}

// owner is the SOE user id of who wrote the post j acts on (of the
// question, for an accept).
func (f *Feature) owner(ctx context.Context, c *soe.Client, j job) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, f.cfg.SOETimeout)
	defer cancel()
	var u *soe.UserSummary
	if j.Verb == verbUpvote && j.A > 0 {
		a, err := c.Answer(ctx, j.Q, j.A)
		if err != nil {
			return 0, err
		}
		u = a.Owner
	} else {
		q, err := c.Question(ctx, j.Q)
		if err != nil {
			return 0, err
		}
		u = q.Owner
	}
	if u == nil {
		return 0, nil
	}
	return u.ID, nil
}

// refresh shows res on the card (chat.update of the clicked message). The
// card comes with the click; after a replay it is read back from Slack.
// Slack refusing the update is logged, never retried.
func (f *Feature) refresh(ctx context.Context, j job, card *slack.Message, res result) {
	if j.Channel == "" || j.TS == "" || f.slack == nil {
		return
	}
	if card == nil {
		card = f.readCard(ctx, j)
		if card == nil {
			return
		}
	}
	blocks, ok := postcard.Refresh(card.Blocks.BlockSet, res.ref, res.state)
	if !ok {
		return
	}
	if err := f.slack.Update(ctx, j.Channel, j.TS, chat.Message{Text: card.Text, Blocks: blocks}); err != nil {
		f.log.WarnContext(ctx, "cardactions: Slack refused to update the card; left as it is", "channel", j.Channel, "ts", j.TS, "err", err)
	}
}

// readCard reads the card j came from (nil when Slack cannot show it).
func (f *Feature) readCard(ctx context.Context, j job) *slack.Message {
	msgs, err := f.slack.Replies(ctx, j.Channel, j.TS)
	if err != nil {
		f.log.InfoContext(ctx, "cardactions: could not read the card back", "channel", j.Channel, "err", err)
		return nil
	}
	for i := range msgs {
		if msgs[i].Timestamp == j.TS {
			return &msgs[i]
		}
	}
	return nil
}
