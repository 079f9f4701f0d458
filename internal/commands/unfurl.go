package commands

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/postcard"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soelink"
)

const (
	// maxUnfurlLinks bounds the links of one message we look at.
	maxUnfurlLinks = 10
	// hintEvery is how often a user without a connection may be told that
	// connecting would show link previews.
	hintEvery = 24 * time.Hour
	maxHinted = 10000
)

// unfurler is the state of the link preview feature.
type unfurler struct {
	web   *http.Client // the SOE web site, for share-link redirects (no token)
	b     *Bot
	site  soelink.Site
	hints *hintSet
}

// AddUnfurl registers the link_shared handler: links to SOE posts on the
// configured site get a preview card, fetched with the token of the person
// who shared the link (and no preview when they have no connection for
// that site or team).
func (b *Bot) AddUnfurl() {
	site, ok := soelink.ParseSite(b.cfg.SiteURL)
	if !ok {
		b.log.Warn("link previews are off: the SOE site URL is not an absolute http(s) URL")
	}
	u := &unfurler{b: b, site: site, hints: newHintSet(hintEvery, maxHinted), web: &http.Client{
		Timeout: 3 * time.Second,
		// Read the redirect of a share link; never follow it.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
	b.Event("link_shared", u.handle)
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

func (u *unfurler) handle(ctx context.Context, env *chat.Envelope) {
	var outer struct {
		Event linkSharedEvent `json:"event"`
	}
	if err := json.Unmarshal(env.Raw, &outer); err != nil {
		u.b.log.WarnContext(ctx, "link_shared: undecodable event", "err", err)
		return
	}
	ev := outer.Event
	links := u.b.links
	if ev.User == "" || ev.Channel == "" || ev.MessageTS == "" || links == nil || u.site.IsZero() {
		return
	}
	// Parse, de-duplicate and group the links by scope.
	byScope := map[soe.Scope][]string{}
	parsed := map[string]soelink.Link{}
	var scopes []soe.Scope
	for _, l := range ev.Links {
		if len(parsed) == maxUnfurlLinks {
			break
		}
		if _, dup := parsed[l.URL]; dup {
			continue
		}
		sl, ok := u.site.Parse(l.URL)
		if !ok {
			continue
		}
		parsed[l.URL] = sl
		if _, seen := byScope[sl.Scope]; !seen {
			scopes = append(scopes, sl.Scope)
		}
		byScope[sl.Scope] = append(byScope[sl.Scope], l.URL)
	}
	if len(parsed) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, u.b.cfg.SOETimeout)
	defer cancel()
	unfurls := map[string]slack.Attachment{}
	var unlinked []soe.Scope
	for _, scope := range scopes {
		c, _, err := links.Client(ctx, env.TeamID, ev.User, scope)
		switch {
		case errors.Is(err, linking.ErrNotLinked), errors.Is(err, linking.ErrLinkInvalid):
			unlinked = append(unlinked, scope)
			continue
		case err != nil:
			u.b.log.WarnContext(ctx, "link_shared: no client", "scope", scope.Key(), "err", err)
			continue
		}
	fetch:
		for _, raw := range byScope[scope] {
			l := parsed[raw]
			if l.Kind == soelink.ShareLink {
				var ok bool
				if l, ok = u.resolveShareLink(ctx, raw, l); !ok {
					continue
				}
			}
			card, err := postcard.Fetch(ctx, c, l)
			switch {
			case err == nil:
				card.BaseURL = u.b.cfg.SiteURL
				// The fallback is shown in notifications: escape it like any
				// text, or a title "<!channel>" pings everyone (internal/reliability).
				unfurls[raw] = slack.Attachment{Fallback: mrkdwn.Escape(plainTitle(card.Title, 150)), Blocks: slack.Blocks{BlockSet: postcard.Render(card)}}
			case errors.Is(err, soe.ErrUnauthorized):
				if ierr := links.Invalidate(ctx, env.TeamID, ev.User, scope, "Stack Overflow refused the token"); ierr != nil {
					u.b.log.WarnContext(ctx, "link_shared: invalidate failed", "err", ierr)
				}
				unlinked = append(unlinked, scope)
				break fetch
			case errors.Is(err, soe.ErrNotFound), errors.Is(err, soe.ErrForbidden):
				// Not visible to the sharer: no preview.
			default:
				u.b.log.WarnContext(ctx, "link_shared: fetch failed", "scope", scope.Key(), "kind", parsed[raw].Kind, "err", err)
			}
		}
	}
	if len(unfurls) > 0 {
		if err := u.b.slack.Unfurl(ctx, ev.Channel, ev.MessageTS, unfurls); err != nil {
			u.b.log.WarnContext(ctx, "chat.unfurl failed", "channel", ev.Channel, "err", err)
		}
	}
	// A link still in the composer has no channel to show a hint in; the
	// hint comes when the message is sent (Slack sends link_shared again).
	if len(unlinked) > 0 && !ev.inComposer() && u.hints.take(env.TeamID+"/"+ev.User, u.b.now()) {
		scope := unlinked[0]
		if slices.ContainsFunc(unlinked, func(s soe.Scope) bool { return !s.IsTeam() }) {
			scope = soe.MainSite()
		}
		u.hint(ctx, env, ev, scope)
	}
}

// resolveShareLink turns an answer share link (/a/{id}) into the answer's
// full link by asking the SOE site where it redirects — anonymously: no
// token is ever sent to the web site. Only a redirect to that very answer,
// on the same site and in the same scope, is accepted; anything else (a
// login page, another host) means no preview.
func (u *unfurler) resolveShareLink(ctx context.Context, raw string, l soelink.Link) (soelink.Link, bool) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return l, false
	}
	req.Header.Set("User-Agent", "soebot (link preview)")
	resp, err := u.web.Do(req)
	if err != nil {
		u.b.log.DebugContext(ctx, "link_shared: share link not resolved", "err", err)
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
func (u *unfurler) hint(ctx context.Context, env *chat.Envelope, ev linkSharedEvent, scope soe.Scope) {
	text := fmt.Sprintf(":link: I can show previews of Stack Overflow links you share once you connect your account for %s.", mrkdwn.Escape(scope.String()))
	m := u.b.ConnectMessage(ctx, env.TeamID, ev.User, scope, text)
	if err := u.b.slack.PostEphemeral(ctx, ev.Channel, ev.User, m); err != nil {
		u.b.log.InfoContext(ctx, "link_shared: could not show the connect hint", "channel", ev.Channel, "err", err)
	}
}

// hintSet remembers, bounded, whom we told recently.
type hintSet struct {
	mu    sync.Mutex
	every time.Duration
	max   int
	last  map[string]time.Time
}

func newHintSet(every time.Duration, max int) *hintSet {
	return &hintSet{every: every, max: max, last: map[string]time.Time{}}
}

// take reports whether key may be hinted now, and if so records it.
func (h *hintSet) take(key string, now time.Time) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	if t, ok := h.last[key]; ok && now.Sub(t) < h.every {
		return false
	}
	if len(h.last) >= h.max {
		for k, t := range h.last {
			if now.Sub(t) >= h.every {
				delete(h.last, k)
			}
		}
		for k := range h.last {
			if len(h.last) < h.max*3/4 {
				break
			}
			delete(h.last, k)
		}
	}
	h.last[key] = now
	return true
}
