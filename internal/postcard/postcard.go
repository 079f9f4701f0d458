// Package postcard is the compact card of one SOE post (question, answer or
// article): fetched with the viewer's own client and rendered with every SOE
// string escaped. Link previews (internal/features/unfurl) and search's Share
// (internal/features/search) post it.
package postcard

import (
	"context"
	"fmt"
	"strings"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soelink"
	"github.com/soebot/soebot/internal/soetext"
)

const (
	// bodyLines and bodyLen bound the body shown on a card.
	bodyLines = 6
	bodyLen   = 500
)

// Card is what a preview card or a shared search result shows.
type Card struct {
	Kind        string // soelink.Question, Answer or Article
	Scope       soe.Scope
	Title       string // the question's title for answers (plain, maybe HTML-escaped)
	URL         string
	Score       int
	AnswerCount int
	Accepted    bool // question: has an accepted answer; answer: is accepted
	Closed      bool
	Tags        []string
	Author      string
	AuthorURL   string
	Body        string // HTML
	ArticleType string
	BaseURL     string // for relative links in Body
	// Post is the question or answer (zero for articles): its Upvote /
	// Bookmark / Accept row (RowFor).
	Post Ref
}

// Fetch loads the post l points at with c (the viewer's own client).
func Fetch(ctx context.Context, c *soe.Client, l soelink.Link) (*Card, error) {
	card := &Card{Kind: l.Kind, Scope: c.Scope()}
	var err error
	switch l.Kind {
	case soelink.Question:
		err = card.question(ctx, c, l.QuestionID)
	case soelink.Answer:
		err = card.answer(ctx, c, l.QuestionID, l.AnswerID)
	case soelink.Article:
		err = card.article(ctx, c, l.ArticleID)
	default:
		err = fmt.Errorf("unknown post kind %q: %w", l.Kind, soe.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return card, nil
}

func (card *Card) owner(u *soe.UserSummary) {
	if u != nil {
		card.Author, card.AuthorURL = u.Name, u.WebURL
	}
}

func (card *Card) question(ctx context.Context, c *soe.Client, id int) error {
	q, err := c.Question(ctx, id)
	if err != nil {
		return err
	}
	card.Title, card.URL, card.Score, card.AnswerCount, card.Closed = q.Title, q.WebURL, q.Score, q.AnswerCount, q.IsClosed
	card.Post = Ref{Scope: c.Scope(), QuestionID: q.ID}
	card.Tags, card.Body = q.TagNames(), q.Body
	card.owner(q.Owner)
	if q.AnswerCount > 0 {
		// One more call: API v3 does not say on the question whether an
		// answer is accepted. Its failure only costs the mark.
		if p, err := c.AnswersPage(ctx, q.ID, soe.AnswerListOptions{PageSize: 30, Sort: soe.SortScore, Order: soe.OrderDesc}); err == nil {
			for _, a := range p.Items {
				card.Accepted = card.Accepted || a.IsAccepted
			}
		} else if ctx.Err() != nil {
			return err
		}
	}
	return nil
}

func (card *Card) answer(ctx context.Context, c *soe.Client, questionID, answerID int) error {
	a, err := c.Answer(ctx, questionID, answerID)
	if err != nil {
		return err
	}
	q, err := c.Question(ctx, questionID)
	if err != nil {
		return err
	}
	card.Title, card.Score, card.Accepted, card.Body = q.Title, a.Score, a.IsAccepted, a.Body
	card.Post = Ref{Scope: c.Scope(), QuestionID: q.ID, AnswerID: a.ID}
	card.AnswerCount, card.Tags, card.Closed = q.AnswerCount, q.TagNames(), q.IsClosed
	card.URL = a.WebURL
	if card.URL == "" {
		card.URL = a.ShareLink
	}
	if card.URL == "" {
		card.URL = q.WebURL
	}
	card.owner(a.Owner)
	return nil
}

func (card *Card) article(ctx context.Context, c *soe.Client, id int) error {
	ar, err := c.Article(ctx, id)
	if err != nil {
		return err
	}
	card.Title, card.URL, card.Score, card.Body, card.ArticleType = ar.Title, ar.WebURL, ar.Score, ar.Body, ar.Type
	for _, t := range ar.Tags {
		card.Tags = append(card.Tags, t.Name)
	}
	card.owner(ar.Owner)
	return nil
}

// articleType is the label of an SOE article type.
func articleType(t string) (string, bool) {
	switch t {
	case "knowledgeArticle":
		return "Knowledge article", true
	case "announcement":
		return "Announcement", true
	case "policy":
		return "Policy", true
	case "howToGuide":
		return "How-to guide", true
	}
	return "", false
}

// Render renders a post compactly: the title linked, the first lines of
// the body, and a context line with the numbers, tags and author. Every SOE
// string is escaped.
func Render(p *Card) []slack.Block {
	title := soetext.Title(p.Title, soetext.TitleLen)
	var emoji string
	meta := []string{}
	switch p.Kind {
	case soelink.Answer:
		emoji = ":speech_balloon:"
		title = "Answer to: " + title
		a := "Answer"
		if p.Accepted {
			a += " :white_check_mark: accepted"
		}
		meta = append(meta, a, soetext.Votes(p.Score))
	case soelink.Article:
		emoji = ":page_facing_up:"
		a := "Article"
		if t, ok := articleType(p.ArticleType); ok {
			a = t
		}
		meta = append(meta, a, soetext.Votes(p.Score))
	default:
		emoji = ":question:"
		a := soetext.Answers(p.AnswerCount)
		if p.Accepted {
			a += " :white_check_mark: accepted"
		}
		meta = append(meta, "Question", soetext.Votes(p.Score), a)
		if p.Closed {
			meta = append(meta, ":lock: closed")
		}
	}
	if t := soetext.Tags(p.Tags, 5); t != "" {
		meta = append(meta, t)
	}
	if p.Author != "" {
		meta = append(meta, "by "+mrkdwn.Link(p.AuthorURL, mrkdwn.Truncate(strings.TrimSpace(p.Author), 80)))
	}
	if p.Scope.IsTeam() {
		meta = append(meta, mrkdwn.Escape(p.Scope.String()))
	}
	text := emoji + " *" + mrkdwn.Link(p.URL, title) + "*"
	if body := firstLines(mrkdwn.FromHTMLBase(p.Body, p.BaseURL), bodyLines, bodyLen); body != "" {
		text += "\n" + body
	}
	return []slack.Block{blockkit.Section(text), blockkit.Context(strings.Join(meta, " · "))}
}

// firstLines keeps the first n non-blank lines of mrkdwn md (closing a code
// block it cut open) and at most limit runes.
func firstLines(md string, n, limit int) string {
	lines := strings.Split(strings.TrimSpace(md), "\n")
	cut := false
	for i, seen := 0, 0; i < len(lines); i++ {
		if strings.TrimSpace(lines[i]) == "" {
			continue
		}
		if seen++; seen > n {
			lines, cut = lines[:i], true
			break
		}
	}
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	s := strings.Join(lines, "\n")
	if cut {
		if strings.Count(s, "```")%2 == 1 {
			s += "\n```"
		}
		s += "\n…"
	}
	return mrkdwn.Truncate(s, limit)
}
