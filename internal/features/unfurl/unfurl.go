// Package unfurl is the link-preview feature: links to SOE posts on the
// configured site get a preview card, fetched with the token of the person
// who shared the link, and no preview when they have no connection for that
// site or team (they are told, at most once a day, that connecting would
// show previews).
package unfurl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	"github.com/soebot/soebot/internal/reveal"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/postcard"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soelink"
	"github.com/soebot/soebot/internal/soetext"
)

const (
	// maxLinks bounds the links of one message we look at.
	maxLinks = 10
)

// Config is what the feature needs to know about its surroundings.
type Config struct {
	SiteURL string // SOE site root: links on it are previewed
	// SOETimeout bounds the SOE calls of one link_shared event (default 8s).
	SOETimeout time.Duration
}

// Slack is what the feature asks of Slack (chat.Slack).
type Slack interface {
	Unfurl(ctx context.Context, channel, ts string, unfurls map[string]slack.Attachment) error
	PostEphemeral(ctx context.Context, channel, user string, m chat.Message) error
	Respond(ctx context.Context, responseURL string, m chat.Message) error
}

// Links gives the sharer's client per scope (linking.Service).
type Links interface {
	Client(ctx context.Context, teamID, userID string, scope soe.Scope) (*soe.Client, *linking.Link, error)
	Invalidate(ctx context.Context, teamID, userID string, scope soe.Scope, reason string) error
}

// Prompts builds the Connect prompt of the hint (router.Router).
type Prompts interface {
	ConnectMessage(ctx context.Context, teamID, userID string, scope soe.Scope, intro string) chat.Message
}

// Deps are the services the feature uses. Links nil: no previews.
// Audience nil: private-team links are never previewed in channels.
// Hints nil: no connect hints.
type Deps struct {
	Slack    Slack
	Links    Links
	Prompts  Prompts
	Audience reveal.Audience
	// Hints is who got a connect hint lately, kept HintEvery, cluster-wide
	// (cluster.Seen), so a person gets one whichever replica sees the link.
	Hints  Lately
	Logger *slog.Logger
	Now    func() time.Time
}

// Lately is a cluster-wide set of keys seen lately (cluster.Seen).
type Lately interface {
	// First records key and reports whether it was not recorded lately.
	First(ctx context.Context, key string) (bool, error)
}

// HintEvery is how often a user without a connection may be told that
// connecting would show link previews (the keep of Deps.Hints).
const HintEvery = 24 * time.Hour

// Feature is the link preview feature.
type Feature struct {
	cfg     Config
	slack   Slack
	links   Links
	prompts Prompts
	aud     reveal.Audience
	log     *slog.Logger
	now     func() time.Time
	web     *http.Client // the SOE web site, for share-link redirects (no token)
	site    soelink.Site
	hints   Lately
}

// New builds the feature.
func New(cfg Config, d Deps) *Feature {
	d.Logger, d.Now, cfg.SOETimeout = router.Defaults(d.Logger, d.Now, cfg.SOETimeout)
	site, ok := soelink.ParseSite(cfg.SiteURL)
	if !ok {
		d.Logger.Warn("link previews are off: the SOE site URL is not an absolute http(s) URL")
	}
	return &Feature{cfg: cfg, slack: d.Slack, links: d.Links, prompts: d.Prompts, aud: d.Audience, log: d.Logger, now: d.Now,
		site: site, hints: d.Hints, web: &http.Client{
			Timeout: 3 * time.Second,
			// Read the redirect of a share link; never follow it.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}}
}

// Register registers the link_shared handler.
func (u *Feature) Register(r *router.Router) {
	r.Event("link_shared", u.handle)
	r.Action(actionReveal, u.revealed)
	r.Action(actionRevealAlways, u.revealed)
}

// linkSharedEvent is the part of link_shared we use (slack-go's type lacks
// unfurl_id and source).
type linkSharedEvent struct {
	User      string `json:"user"`
	Channel   string `json:"channel"`
	MessageTS string `json:"message_ts"`
	// Source is "composer" for a link typed in the message box, not yet
	// sent (Channel is then "COMPOSER" and MessageTS no real timestamp;
	// chat.unfurl still takes them), or "conversations_history".
	Source string `json:"source"`
	Links  []struct {
		URL string `json:"url"`
	} `json:"links"`
}

// inComposer reports a link typed in the message box, not yet posted.
func (ev linkSharedEvent) inComposer() bool {
	return ev.Source == "composer" || ev.Channel == "COMPOSER"
}

// sharedLinks are the SOE links of one event, de-duplicated and grouped by
// scope (in the order the scopes first appear).
type sharedLinks struct {
	scopes  []soe.Scope
	byScope map[soe.Scope][]string
	parsed  map[string]soelink.Link
}

func (u *Feature) handle(ctx context.Context, env *chat.Envelope) {
	var outer struct {
		Event linkSharedEvent `json:"event"`
	}
	if err := json.Unmarshal(env.Raw, &outer); err != nil {
		u.log.WarnContext(ctx, "link_shared: undecodable event", "err", err)
		return
	}
	ev := outer.Event
	if ev.User == "" || ev.Channel == "" || ev.MessageTS == "" || u.links == nil || u.site.IsZero() {
		return
	}
	sl := u.parse(ev)
	if len(sl.parsed) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, u.cfg.SOETimeout)
	defer cancel()
	unfurls := map[string]slack.Attachment{}
	var unlinked []soe.Scope
	for _, scope := range sl.scopes {
		if !u.mayShow(ctx, env.TeamID, ev, scope) {
			u.askFirst(ctx, env.TeamID, ev, scope, sl)
			continue
		}
		if !u.unfurlScope(ctx, env.TeamID, ev.User, scope, sl, unfurls) {
			unlinked = append(unlinked, scope)
		}
	}
	if len(unfurls) > 0 {
		if err := u.slack.Unfurl(ctx, ev.Channel, ev.MessageTS, unfurls); err != nil {
			u.log.WarnContext(ctx, "chat.unfurl failed", "channel", ev.Channel, "err", err)
		}
	}
	// A link still in the composer has no channel to show a hint in; the
	// hint comes when the message is sent (Slack sends link_shared again).
	if len(unlinked) > 0 && !ev.inComposer() && u.firstHint(ctx, env.TeamID+"/"+ev.User) {
		scope := unlinked[0]
		if slices.ContainsFunc(unlinked, func(s soe.Scope) bool { return !s.IsTeam() }) {
			scope = soe.MainSite()
		}
		u.hint(ctx, env, ev, scope)
	}
}

// parse keeps the event's links to SOE posts on the site (at most maxLinks).
func (u *Feature) parse(ev linkSharedEvent) sharedLinks {
	sl := sharedLinks{byScope: map[soe.Scope][]string{}, parsed: map[string]soelink.Link{}}
	for _, l := range ev.Links {
		if len(sl.parsed) == maxLinks {
			break
		}
		if _, dup := sl.parsed[l.URL]; dup {
			continue
		}
		p, ok := u.site.Parse(l.URL)
		if !ok {
			continue
		}
		sl.parsed[l.URL] = p
		if _, seen := sl.byScope[p.Scope]; !seen {
			sl.scopes = append(sl.scopes, p.Scope)
		}
		sl.byScope[p.Scope] = append(sl.byScope[p.Scope], l.URL)
	}
	return sl
}

// unfurlScope adds the cards of scope's links to unfurls, fetched as user.
// It returns false when the user has no usable connection for scope.
func (u *Feature) unfurlScope(ctx context.Context, teamID, user string, scope soe.Scope, sl sharedLinks, unfurls map[string]slack.Attachment) bool {
	c, _, err := u.links.Client(ctx, teamID, user, scope)
	switch {
	case errors.Is(err, linking.ErrNotLinked), errors.Is(err, linking.ErrLinkInvalid):
		return false
	case err != nil:
		u.log.WarnContext(ctx, "link_shared: no client", "scope", scope.Key(), "err", err)
		return true
	}
	for _, raw := range sl.byScope[scope] {
		l := sl.parsed[raw]
		if l.Kind == soelink.ShareLink {
			var ok bool
			if l, ok = u.resolveShareLink(ctx, l); !ok {
				continue
			}
		}
		card, err := postcard.Fetch(ctx, c, l)
		switch {
		case err == nil:
			card.BaseURL = u.cfg.SiteURL
			// The fallback is shown in notifications: escape it like any
			// text, or a title "<!channel>" pings everyone (internal/reliability).
			unfurls[raw] = slack.Attachment{Fallback: mrkdwn.Escape(soetext.Title(card.Title, 150)), Blocks: slack.Blocks{BlockSet: postcard.Render(card)}}
		case errors.Is(err, soe.ErrUnauthorized):
			if ierr := u.links.Invalidate(ctx, teamID, user, scope, "Stack Overflow refused the token"); ierr != nil {
				u.log.WarnContext(ctx, "link_shared: invalidate failed", "err", ierr)
			}
			return false
		case errors.Is(err, soe.ErrNotFound), errors.Is(err, soe.ErrForbidden):
			// Not visible to the sharer: no preview.
		default:
			u.log.WarnContext(ctx, "link_shared: fetch failed", "scope", scope.Key(), "kind", sl.parsed[raw].Kind, "err", err)
		}
	}
	return true
}

// resolveShareLink turns an answer share link (/a/{id}) into the answer's
// full link by asking the SOE site where it redirects — anonymously: no
// token is ever sent to the web site. Only a redirect to that very answer,
// on the same site and in the same scope, is accepted; anything else (a
// login page, another host) means no preview.
func (u *Feature) resolveShareLink(ctx context.Context, l soelink.Link) (soelink.Link, bool) {
	// Rebuilt from the parsed ids: the path and query the sharer typed are
	// never forwarded to SOE.
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.site.ShareLinkURL(l), nil)
	if err != nil {
		return l, false
	}
	req.Header.Set("User-Agent", "soebot (link preview)")
	resp, err := u.web.Do(req)
	if err != nil {
		u.log.DebugContext(ctx, "link_shared: share link not resolved", "err", err)
		return l, false
	}
	_ = resp.Body.Close()
	loc, err := resp.Location()
	if err != nil || resp.StatusCode < 300 || resp.StatusCode > 399 {
		return l, false
	}
	full, ok := u.site.Parse(loc.String())
	if !ok || full.Kind != soelink.Answer || full.AnswerID != l.AnswerID || full.Scope != l.Scope {
		return l, false
	}
	return full, true
}

// hint tells the sharer, once a day at most and only them, that connecting
// their account would show previews.
func (u *Feature) hint(ctx context.Context, env *chat.Envelope, ev linkSharedEvent, scope soe.Scope) {
	text := fmt.Sprintf(":link: I can show previews of Stack Overflow links you share once you connect your account for %s.", mrkdwn.Escape(scope.String()))
	m := u.prompts.ConnectMessage(ctx, env.TeamID, ev.User, scope, text)
	if err := u.slack.PostEphemeral(ctx, ev.Channel, ev.User, m); err != nil {
		u.log.InfoContext(ctx, "link_shared: could not show the connect hint", "channel", ev.Channel, "err", err)
	}
}

// firstHint reports whether key gets a connect hint now (none lately).
func (u *Feature) firstHint(ctx context.Context, key string) bool {
	if u.hints == nil {
		return false
	}
	first, err := u.hints.First(ctx, key)
	if err != nil {
		u.log.WarnContext(ctx, "unfurl: cannot tell whether a hint was given lately", "err", err)
	}
	return first
}
