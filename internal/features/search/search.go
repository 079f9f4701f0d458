// Package search is /soe search: SOE's search as the caller, five results a
// page with Previous/Next, a Share button per result (posts the result's
// card in the channel), "Ask a new question" when the ask feature is there,
// and the "Search Stack Overflow" message shortcut.
package search

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/soebot/soebot/internal/reveal"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/postcard"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soelink"
	"github.com/soebot/soebot/internal/soetext"
	"github.com/soebot/soebot/internal/ttlcache"
)

// Ids of the search feature.
const (
	// CallbackSearchMessage is the message shortcut "Search Stack Overflow".
	CallbackSearchMessage = "soe_search_message"
	actionSearchPage      = "search_page"  // value: searchState JSON
	actionSearchShare     = "search_share" // value: sharedPost JSON; id "search_share:<n>"
	// The question asked before a private team's post is shared where not
	// everyone is known to be on the team (security #4); value as Share's.
	actionShareReveal = "search_share_reveal"
	actionShareAlways = "search_share_always"
)

const (
	searchPerPage   = 5   // results per Slack page
	searchSOEPage   = 15  // SOE page size fetched (a multiple of searchPerPage)
	maxSearchQuery  = 500 // runes; longer queries are cut with a note
	maxSearchPage   = 200 // Slack pages; deeper pages are refused
	searchSnippetN  = 300 // runes of snippet per result
	maxSearchValue  = 1900
	searchCacheSize = 1000
)

// searchState is the value of the paging buttons.
type searchState struct {
	Query string `json:"q"`
	Scope string `json:"s"` // soe.Scope.Key()
	Page  int    `json:"p"` // Slack page, 1-based
}

// sharedPost is the value of a Share button: which post, in which scope.
type sharedPost struct {
	Scope      string `json:"s"`
	Kind       string `json:"k"` // soelink.Question, soelink.Answer, soelink.Article
	ID         int    `json:"i"` // question, answer or article id
	QuestionID int    `json:"q,omitempty"`
}

func (p sharedPost) link() (soelink.Link, bool) {
	scope, err := soe.ParseScopeKey(p.Scope)
	if err != nil || p.ID <= 0 || p.ID > soelink.MaxID {
		return soelink.Link{}, false
	}
	l := soelink.Link{Scope: scope, Kind: p.Kind}
	switch p.Kind {
	case soelink.Question:
		l.QuestionID = p.ID
	case soelink.Answer:
		if p.QuestionID <= 0 || p.QuestionID > soelink.MaxID {
			return soelink.Link{}, false
		}
		l.QuestionID, l.AnswerID = p.QuestionID, p.ID
	case soelink.Article:
		l.ArticleID = p.ID
	default:
		return soelink.Link{}, false
	}
	return l, true
}

// Feature is /soe search, its paging and Share buttons and the "Search
// Stack Overflow" message shortcut.
type Feature struct {
	cfg    Config
	router Router
	slack  Slack
	asker  Asker
	aud    reveal.Audience
	log    *slog.Logger
	// pages caches SOE result pages per (Slack team, user, scope, query,
	// SOE page), so paging through one SOE page costs one call.
	pages *ttlcache.Cache[string, *soe.Page[soe.SearchResult]]
}

// Config is what the feature needs to know about its surroundings.
type Config struct {
	SiteURL string // SOE site root, for "Open in Stack Overflow"
	// SOETimeout bounds one search or fetch so the user hears back in time
	// (default 8s).
	SOETimeout time.Duration
}

// Router is what the feature uses of the router (router.Router).
type Router interface {
	Command() string
	Reply(ctx context.Context, env *chat.Envelope, m chat.Message)
	ScopeFor(ctx context.Context, env *chat.Envelope, team string) soe.Scope
	WithSOE(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume,
		f func(ctx context.Context, c *soe.Client, l *linking.Link) error)
}

// Slack is what the feature asks of Slack besides replies (chat.Slack).
type Slack interface {
	Post(ctx context.Context, channel string, m chat.Message) (ts string, err error)
	Respond(ctx context.Context, responseURL string, m chat.Message) error
}

// Asker builds the ask feature's "Ask a new question" button. A nil Asker
// means asking is not available: no button, and "try other words" instead.
type Asker interface {
	AskButton(suffix, label string, scope soe.Scope, tags []string, title string) *slack.ButtonBlockElement
}

// Deps are the services the feature uses; Asker may be nil.
type Deps struct {
	Router Router
	Slack  Slack
	Asker  Asker
	// Audience nil: a private team's post is shared only after asking.
	Audience reveal.Audience
	Logger   *slog.Logger
	Now      func() time.Time
}

// New builds the feature.
func New(cfg Config, d Deps) *Feature {
	d.Logger, _, cfg.SOETimeout = router.Defaults(d.Logger, nil, cfg.SOETimeout)
	return &Feature{cfg: cfg, router: d.Router, slack: d.Slack, asker: d.Asker, aud: d.Audience, log: d.Logger,
		pages: ttlcache.New[string, *soe.Page[soe.SearchResult]](2*time.Minute, searchCacheSize, d.Now)}
}

// Register registers /soe search, its buttons and the "Search Stack
// Overflow" message shortcut.
func (x *Feature) Register(r *router.Router) {
	r.Subcommand(&router.Subcommand{
		Name:    "search",
		Usage:   "search <words> [team <slug>]",
		Summary: "Search questions, answers and articles.",
		Quick:   x.quick,
		Run:     x.run,
		NamesTeam: func(args []string) bool {
			_, team, _ := parseSearch(strings.Join(args, " "))
			return team != ""
		},
	})
	r.Action(actionSearchPage, x.page)
	r.Action(actionSearchShare, x.share)
	r.Action(actionShareReveal, x.share)
	r.Action(actionShareAlways, x.share)
	r.Shortcut(CallbackSearchMessage, x.shortcut)
}

// parseSearch splits "/soe search" text into the query and an optional
// "team <slug>" given at the end (or at the start) of a longer text. The word
// "team" elsewhere is part of the query. trimmed reports that the query was cut.
func parseSearch(text string) (query, team string, trimmed bool) {
	words := strings.Fields(text)
	if n := len(words); n >= 3 && strings.EqualFold(words[n-2], "team") && router.ValidTeamSlug(words[n-1]) {
		team, words = strings.ToLower(words[n-1]), words[:n-2]
	} else if n >= 3 && strings.EqualFold(words[0], "team") && router.ValidTeamSlug(words[1]) {
		team, words = strings.ToLower(words[1]), words[2:]
	}
	query, trimmed = cleanQuery(strings.Join(words, " "))
	return query, team, trimmed
}

// cleanQuery turns Slack text (as Slack sends it: mentions and links in
// angle brackets, &lt; &gt; &amp; escaped, mrkdwn markers) into a plain,
// one-line search query of at most maxSearchQuery runes.
func cleanQuery(s string) (string, bool) {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	s = mrkdwn.SlackToPlain(s, nil)
	if utf8.RuneCountInString(s) <= maxSearchQuery {
		return s, false
	}
	r := []rune(s)[:maxSearchQuery]
	// Cut on a word boundary if one is near.
	for i := len(r) - 1; i > maxSearchQuery*4/5; i-- {
		if r[i] == ' ' {
			r = r[:i]
			break
		}
	}
	return strings.TrimSpace(string(r)), true
}

func (x *Feature) usage(problem string) chat.Message {
	cmd := x.router.Command()
	return blockkit.Warning(fmt.Sprintf("%s.\nUsage: %s, for example %s or %s.", problem,
		mrkdwn.Code(cmd+" search <words> [team <slug>]"),
		mrkdwn.Code(cmd+" search restart deployment"), mrkdwn.Code(cmd+" search etcd latency team platform")))
}

// quick answers an empty search from the text alone, in the ack.
func (x *Feature) quick(r *router.Request) (chat.Message, bool) {
	if query, _, _ := parseSearch(r.Rest); query == "" {
		return x.usage("Tell me what to search for"), true
	}
	return chat.Message{}, false
}

func (x *Feature) run(ctx context.Context, r *router.Request) {
	query, team, trimmed := parseSearch(r.Rest) // an empty query was answered by quick
	scope := x.router.ScopeFor(ctx, r.Env, team)
	resume := &linking.Resume{Text: r.Env.Slash.Text, ChannelID: r.ChannelID, ResponseURL: r.ResponseURL}
	x.answer(ctx, r.Env, scope, query, 1, trimmed, resume, false)
}

// shortcut searches with the text of the message the shortcut ran on.
func (x *Feature) shortcut(ctx context.Context, env *chat.Envelope) {
	query, trimmed := cleanQuery(env.Interaction.Message.Text)
	if query == "" {
		x.router.Reply(ctx, env, blockkit.Warning("That message has no text I can search for."))
		return
	}
	scope := x.router.ScopeFor(ctx, env, "")
	resume := &linking.Resume{Text: "search " + query, ChannelID: env.ChannelID(), ResponseURL: env.ResponseURL()}
	x.router.WithSOE(ctx, env, scope, resume, func(ctx context.Context, c *soe.Client, _ *linking.Link) error {
		res, err := x.lookup(ctx, env, c, query, 1)
		if err != nil {
			return err
		}
		if len(res.Items) == 0 {
			// A chat message is rarely a good query as it stands: try again
			// with its keywords (one more call).
			if kw := keywords(query); kw != "" && kw != query {
				if kres, kerr := x.lookup(ctx, env, c, kw, 1); kerr == nil && len(kres.Items) > 0 {
					res, trimmed = kres, false
				}
			}
		}
		x.router.Reply(ctx, env, x.render(res, renderSearchOpts{trimmed: trimmed}))
		return nil
	})
}

// stopWords are left out of keyword queries (space-separated, padded).
const stopWords = " a about an and any anyone are as at be but by can could did do does doing for from " +
	"get got has have how i if in into is it its just know knows me my need needs of on or our please should so some " +
	"that the their them then there these they this to us was we were what when where which who why will with would you your "

// keywords reduces chat text to its search terms: no mentions, channels,
// links, punctuation or common words; at most 8 distinct words.
func keywords(text string) string {
	var out []string
	seen := map[string]bool{}
	for _, w := range strings.Fields(text) {
		if strings.HasPrefix(w, "@") || strings.HasPrefix(w, "#") || strings.Contains(w, "://") {
			continue
		}
		w = strings.ToLower(strings.TrimFunc(w, func(r rune) bool {
			return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '+' && r != '#'
		}))
		if w == "" || strings.Contains(stopWords, " "+w+" ") || seen[w] {
			continue
		}
		seen[w] = true
		out = append(out, w)
		if len(out) == 8 {
			break
		}
	}
	return strings.Join(out, " ")
}

// page shows another page of results in place of the current one.
func (x *Feature) page(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	var st searchState
	if err := json.Unmarshal([]byte(a.Value), &st); err != nil || st.Page < 1 || st.Page > maxSearchPage {
		x.router.Reply(ctx, env, blockkit.Warning("That button is out of date; run the search again."))
		return
	}
	query, trimmed := cleanQuery(st.Query)
	scope, err := soe.ParseScopeKey(st.Scope)
	if err != nil || query == "" || trimmed {
		x.router.Reply(ctx, env, blockkit.Warning("That button is out of date; run the search again."))
		return
	}
	x.answer(ctx, env, scope, query, st.Page, false, nil, true)
}

// answer runs the search and replies (replacing the original message when
// replace is set).
func (x *Feature) answer(ctx context.Context, env *chat.Envelope, scope soe.Scope, query string, page int, trimmed bool, resume *linking.Resume, replace bool) {
	x.router.WithSOE(ctx, env, scope, resume, func(ctx context.Context, c *soe.Client, _ *linking.Link) error {
		res, err := x.lookup(ctx, env, c, query, page)
		if err != nil {
			return err
		}
		m := x.render(res, renderSearchOpts{trimmed: trimmed})
		m.ReplaceOriginal = replace // response_url only: a fallback message is new
		x.router.Reply(ctx, env, m)
		return nil
	})
}

// searchResults is one Slack page of results.
type searchResults struct {
	Scope   soe.Scope
	Query   string
	Page    int // Slack page
	Total   int
	HasMore bool
	Items   []soe.SearchResult
}

// soePageFor maps a Slack page (5 results) onto the SOE page of 15 that
// holds it and the offset of its first result there.
func soePageFor(slackPage int) (soePage, offset int) {
	per := searchSOEPage / searchPerPage
	return (slackPage-1)/per + 1, ((slackPage - 1) % per) * searchPerPage
}

func (x *Feature) lookup(ctx context.Context, env *chat.Envelope, c *soe.Client, query string, page int) (*searchResults, error) {
	ctx, cancel := context.WithTimeout(ctx, x.cfg.SOETimeout)
	defer cancel()
	soePage, offset := soePageFor(page)
	key := strings.Join([]string{env.TeamID, env.UserID, c.Scope().Key(), strconv.Itoa(soePage), query}, "\x00")
	p, err := x.pages.GetOrLoad(ctx, key, func(ctx context.Context) (*soe.Page[soe.SearchResult], error) {
		return c.Search(ctx, soe.SearchOptions{Query: query, Page: soePage, PageSize: searchSOEPage, Sort: soe.SortRelevance})
	})
	if err != nil {
		return nil, err
	}
	res := &searchResults{Scope: c.Scope(), Query: query, Page: page, Total: p.TotalCount}
	if offset < len(p.Items) {
		res.Items = p.Items[offset:min(offset+searchPerPage, len(p.Items))]
	}
	res.HasMore = offset+searchPerPage < len(p.Items) || (len(p.Items) == searchSOEPage && soePage < p.TotalPages)
	if page >= maxSearchPage {
		res.HasMore = false
	}
	if res.Total < (page-1)*searchPerPage+len(res.Items) {
		res.Total = (page-1)*searchPerPage + len(res.Items)
	}
	return res, nil
}

type renderSearchOpts struct {
	trimmed bool
}

// pageValue is the value of a paging button, with the query shortened if
// the JSON would not fit in a button value.
func pageValue(scope soe.Scope, query string, page int) string {
	for {
		v := blockkit.Value(searchState{Query: query, Scope: scope.Key(), Page: page})
		if len(v) <= maxSearchValue {
			return v
		}
		r := []rune(query)
		query = strings.TrimSpace(string(r[:len(r)*3/4]))
	}
}

// searchURL is the SOE web search for query in scope.
func (x *Feature) searchURL(scope soe.Scope, query string) string {
	site := strings.TrimRight(x.cfg.SiteURL, "/")
	if site == "" {
		return ""
	}
	if scope.IsTeam() {
		site += "/c/" + url.PathEscape(scope.Team)
	}
	// Built to fit in a button: a long non-ASCII query escapes to many times
	// its length, so the query is shortened (by whole runes) until it fits.
	q := []rune(query)
	for len(q) > 0 && len(site)+len("/search?q=")+len(url.QueryEscape(string(q))) > blockkit.MaxURL {
		q = q[:len(q)*9/10]
	}
	return site + "/search?q=" + url.QueryEscape(string(q))
}

// quoteQuery shows a user's query inertly.
func quoteQuery(q string) string {
	return "“" + mrkdwn.Escape(mrkdwn.Truncate(q, 200)) + "”"
}

func (x *Feature) render(res *searchResults, o renderSearchOpts) chat.Message {
	scope := mrkdwn.Escape(res.Scope.String())
	var blocks []slack.Block
	if o.trimmed {
		blocks = append(blocks, blockkit.Context(fmt.Sprintf(":scissors: Your search was longer than %d characters, so I searched for the first part only.", maxSearchQuery)))
	}
	askable := x.asker != nil
	var text string
	if len(res.Items) == 0 {
		if res.Page > 1 {
			text = fmt.Sprintf(":mag: No more results for %s on %s.", quoteQuery(res.Query), scope)
		} else {
			text = fmt.Sprintf(":mag: Nothing on %s matches %s.", scope, quoteQuery(res.Query))
			if askable {
				text += " Ask it as a new question?"
			} else {
				text += " Try fewer or different words."
			}
		}
		blocks = append(blocks, blockkit.Section(text))
	} else {
		first := (res.Page-1)*searchPerPage + 1
		text = fmt.Sprintf(":mag: Results %d–%d of %d for %s on %s", first, first+len(res.Items)-1, res.Total, quoteQuery(res.Query), scope)
		blocks = append(blocks, blockkit.Section("*"+text+"*"))
		for i, it := range res.Items {
			blocks = append(blocks, blockkit.Divider())
			blocks = append(blocks, x.renderResult(res.Scope, i, it)...)
		}
		blocks = append(blocks, blockkit.Divider())
	}
	var els []slack.BlockElement
	if res.Page > 1 {
		prev := res.Page - 1
		if len(res.Items) == 0 {
			prev = 1
		}
		els = append(els, blockkit.Button(actionSearchPage+":prev", "← Previous", pageValue(res.Scope, res.Query, prev)))
	}
	if res.HasMore && len(res.Items) > 0 {
		els = append(els, blockkit.Button(actionSearchPage+":next", "Next →", pageValue(res.Scope, res.Query, res.Page+1)))
	}
	if askable {
		btn := x.asker.AskButton("search", "Ask a new question", res.Scope, nil, mrkdwn.CutRunes(res.Query, soe.MaxTitleLength))
		if len(res.Items) == 0 && res.Page == 1 {
			btn = btn.WithStyle(slack.StylePrimary)
		}
		els = append(els, btn)
	}
	if u := x.searchURL(res.Scope, res.Query); u != "" {
		els = append(els, blockkit.LinkButton("search_open", "Open in Stack Overflow", u))
	}
	if len(els) > 0 {
		blocks = append(blocks, blockkit.Actions("search_nav_"+strconv.Itoa(res.Page), els...))
	}
	summary := strings.TrimPrefix(text, ":mag: ")
	return chat.Message{Text: summary, Blocks: blockkit.Cap(blocks, 50)}
}

// resultKind labels a result type.
func resultKind(kind string) (emoji, label string) {
	switch kind {
	case soe.ResultAnswer:
		return ":speech_balloon:", "Answer"
	case soe.ResultArticle:
		return ":page_facing_up:", "Article"
	}
	return ":question:", "Question"
}

func (x *Feature) renderResult(scope soe.Scope, i int, it soe.SearchResult) []slack.Block {
	emoji, label := resultKind(it.Type)
	title := mrkdwn.Link(it.WebURL, soetext.Title(it.Title, soetext.TitleLen))
	text := emoji + " *" + title + "*"
	if s := mrkdwn.Excerpt(it.Snippet, searchSnippetN); s != "" {
		text += "\n" + s
	}
	meta := []string{label, soetext.Votes(it.Score)}
	switch it.Type {
	case soe.ResultQuestion:
		a := soetext.Answers(it.AnswerCount)
		if it.HasAcceptedAnswer {
			a += " :white_check_mark: accepted"
		}
		meta = append(meta, a)
	case soe.ResultAnswer:
		if it.IsAccepted {
			meta = append(meta, ":white_check_mark: accepted")
		}
	}
	if t := soetext.Tags(it.Tags, 5); t != "" {
		meta = append(meta, t)
	}
	if it.Owner != nil && it.Owner.Name != "" {
		meta = append(meta, "by "+mrkdwn.Plain(mrkdwn.Truncate(it.Owner.Name, 80)))
	}
	blocks := []slack.Block{}
	share := sharedPost{Scope: scope.Key(), Kind: it.Type, ID: it.ID, QuestionID: it.ParentQuestionID}
	if _, ok := share.link(); ok {
		blocks = append(blocks, blockkit.SectionWithButton(text, blockkit.Button(actionSearchShare+":"+strconv.Itoa(i), "Share", blockkit.Value(share))))
	} else {
		blocks = append(blocks, blockkit.Section(text))
	}
	return append(blocks, blockkit.Context(strings.Join(meta, " · ")))
}

// share posts a card of one result in the channel, from the bot, fetched
// again with the sharer's own token.
func (x *Feature) share(ctx context.Context, env *chat.Envelope, a *slack.BlockAction) {
	var v sharedPost
	l, ok := soelink.Link{}, false
	if err := json.Unmarshal([]byte(a.Value), &v); err == nil {
		l, ok = v.link()
	}
	if !ok {
		x.router.Reply(ctx, env, blockkit.Warning("That button is out of date; run the search again."))
		return
	}
	if !x.mayShare(ctx, env, a, l.Scope) {
		return
	}
	x.router.WithSOE(ctx, env, l.Scope, nil, func(ctx context.Context, c *soe.Client, _ *linking.Link) error {
		fctx, cancel := context.WithTimeout(ctx, x.cfg.SOETimeout)
		card, err := postcard.Fetch(fctx, c, l)
		cancel()
		if err != nil {
			return err
		}
		x.post(ctx, env, card)
		return nil
	})
}

// mayShare asks first before a private team's post is shared (reveal.Gate).
func (x *Feature) mayShare(ctx context.Context, env *chat.Envelope, a *slack.BlockAction, scope soe.Scope) bool {
	g := reveal.Gate{Audience: x.aud, Log: x.log}
	b := reveal.Buttons{Show: actionShareReveal, Always: actionShareAlways, ShowLabel: "Share", Value: a.Value}
	return g.Pass(ctx, env, a.ActionID, scope, "this post", b, func(m chat.Message) { x.router.Reply(ctx, env, m) })
}

// post puts a shared card in the channel, from the bot (or, when the bot
// cannot post there, through the response_url).
func (x *Feature) post(ctx context.Context, env *chat.Envelope, card *postcard.Card) {
	msg := chat.Message{
		Text:   mrkdwn.Escape(soetext.Title(card.Title, 150)) + " — shared by " + mrkdwn.Mention(env.UserID),
		Blocks: append(postcard.Render(card), blockkit.Context("Shared by "+mrkdwn.Mention(env.UserID)+" with "+mrkdwn.Code(x.router.Command()+" search"))),
	}
	if row, ok := postcard.RowFor(card); ok { // Upvote, Bookmark, Accept (features/cardactions)
		msg.Blocks = append(msg.Blocks, row)
	}
	channel := env.ChannelID()
	if _, err := x.slack.Post(ctx, channel, msg); err != nil {
		x.log.WarnContext(ctx, "search share: post failed; falling back to response_url", "channel", channel, "err", err)
		msg.InChannel = true
		if u := env.ResponseURL(); u == "" || x.slack.Respond(ctx, u, msg) != nil {
			x.router.Reply(ctx, env, blockkit.Warning("I could not post in this channel. Invite me with `/invite @soebot` and try again."))
			return
		}
	}
}
