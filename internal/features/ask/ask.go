// Package ask is asking a question on Stack Overflow from Slack: /soe ask,
// the "Ask a question" global shortcut and the "Ask on Stack Overflow"
// message shortcut open a modal (title, body, tags with suggestions, where
// to post); the question is posted as the asker, the tags' experts are told
// by DM when the asker wants, and the confirmation can be shared in the
// channel.
package ask

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/soebot/soebot/internal/reveal"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/ttlcache"
)

// Shortcut callback ids of the ask feature (declared in manifest.yaml).
const (
	ShortcutAsk        = "soe_ask"         // global shortcut "Ask a question"
	ShortcutAskMessage = "soe_ask_message" // message shortcut "Ask on Stack Overflow"

	actionAskShare = "ask_share" // "Share in channel" on the confirmation
	// The question asked before a private team's question is shared where
	// not everyone is known to be on the team (security #4).
	actionAskShareReveal = "ask_share_reveal"
	actionAskShareAlways = "ask_share_always"
	// actionAskOpen opens the ask modal (AskButton); its value is a prefill.
	actionAskOpen = "ask_open"
)

// prefill is the value of an actionAskOpen button.
type prefill struct {
	Scope string   `json:"s,omitempty"` // soe.Scope.Key()
	Tags  []string `json:"t,omitempty"`
	Title string   `json:"q,omitempty"`
}

// Config is what the ask feature needs to know about its surroundings.
type Config struct {
	Command    string        // the slash command, default "/soe"
	SOETimeout time.Duration // bound on one user-facing SOE call, default 8s
}

// Router is what the feature uses of the router (router.Router): replies
// and the SOE middleware.
type Router interface {
	Reply(ctx context.Context, env *chat.Envelope, m chat.Message)
	ScopeFor(ctx context.Context, env *chat.Envelope, team string) soe.Scope
	WithSOE(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume,
		f func(ctx context.Context, c *soe.Client, l *linking.Link) error)
	ConnectPrompt(ctx context.Context, env *chat.Envelope, scope soe.Scope, resume *linking.Resume, reconnect bool) chat.Message
	Failed(ctx context.Context, env *chat.Envelope, l *linking.Link, err error) chat.Message
	LinkPrompt(ctx context.Context, teamID, userID string, scope soe.Scope, resume *linking.Resume, reconnect bool, intro string) chat.Message
}

// Slack is what the feature does in Slack (chat.Slack).
type Slack interface {
	Post(ctx context.Context, channel string, m chat.Message) (string, error)
	Respond(ctx context.Context, responseURL string, m chat.Message) error
	DM(ctx context.Context, user string, m chat.Message) (channel, ts string, err error)
	OpenView(ctx context.Context, triggerID string, v slack.ModalViewRequest) (*slack.View, error)
	UpdateView(ctx context.Context, viewID, hash string, v slack.ModalViewRequest) (*slack.View, error)
	UserInfo(ctx context.Context, user string) (*slack.User, error)
	Permalink(ctx context.Context, channel, ts string) (string, error)
	Replies(ctx context.Context, channel, threadTS string) ([]slack.Message, error)
	Update(ctx context.Context, channel, ts string, m chat.Message) error
}

// Links is what the feature reads of account linking (linking.Service).
type Links interface {
	Links(ctx context.Context, teamID, userID string) ([]linking.Link, error)
	Client(ctx context.Context, teamID, userID string, scope soe.Scope) (*soe.Client, *linking.Link, error)
	// RecordWrite notes that a write succeeded (ok) or was refused for want
	// of write access, so the bot says only what is known about access.
	RecordWrite(ctx context.Context, teamID, userID string, scope soe.Scope, ok bool) error
}

// People finds a tag's experts and who they are in Slack (people.Directory).
type People interface {
	Tag(ctx context.Context, src people.Source, name string) (*soe.TagSummary, []string, error)
	TagExperts(ctx context.Context, src people.Source, tagID int) (*people.Experts, error)
	InSlack(ctx context.Context, teamID string, src people.Source, callerSOEID int, e *people.Experts) (*people.Experts, error)
}

// Deps are the services the feature uses. Router, Slack and People are
// required; Links may be nil (Stack Overflow is not connected).
type Deps struct {
	Router Router
	Slack  Slack
	Links  Links
	People People
	// Audience nil: a private team's question is shared only after asking.
	Audience reveal.Audience
	// Drafts keep the ends of long prefilled bodies (cluster.Stash, so a
	// form opened on one replica can be submitted to another); nil: memory.
	Drafts Drafts
	// Sealer seals the value of the buttons that ask a reply's author to
	// post it (the bot's *vault.Keyring), so nobody can forge one; nil: no
	// such buttons are sent.
	Sealer Sealer
	Logger *slog.Logger
	Now    func() time.Time
}

// Sealer encrypts and authenticates small values (*vault.Keyring).
type Sealer interface {
	Seal(plaintext, aad []byte) ([]byte, error)
	Open(sealed, aad []byte) ([]byte, error)
}

// Feature is /soe ask, the ask shortcuts, the question form and what
// follows a question: the confirmation, Share in channel, the experts' DMs.
type Feature struct {
	cfg    Config
	r      Router
	slack  Slack
	links  Links
	people People
	aud    reveal.Audience
	sealer Sealer
	log    *slog.Logger
	now    func() time.Time

	names    *ttlcache.Cache[string, string]           // Slack user id -> display name
	tagHints *ttlcache.Cache[string, []soe.TagSummary] // (scope, SOE user, query) -> tags
	tails    Drafts
	// similar questions: the last keystroke of a burst searches (typing),
	// results are cached briefly per (scope, SOE user, query).
	typing      *debouncer
	debounce    time.Duration
	similarHits *ttlcache.Cache[string, []similarQuestion]
	// settle is the least time between the ack of a submission (which shows
	// "Posting…" through response_action) and our own views.update: the ack
	// travels over the socket, the update over HTTPS, and Slack applies them
	// in the order they arrive.
	settle time.Duration
}

// New builds the ask feature; Register puts it on a router.
func New(cfg Config, d Deps) *Feature {
	if cfg.Command == "" {
		cfg.Command = "/soe"
	}
	d.Logger, d.Now, cfg.SOETimeout = router.Defaults(d.Logger, d.Now, cfg.SOETimeout)
	return &Feature{
		cfg: cfg, r: d.Router, slack: d.Slack, links: d.Links, people: d.People, aud: d.Audience, sealer: d.Sealer, log: d.Logger, now: d.Now,
		names:    ttlcache.New[string, string](10*time.Minute, 5000, d.Now),
		tagHints: ttlcache.New[string, []soe.TagSummary](30*time.Second, 2000, d.Now),
		tails:    cmp.Or[Drafts](d.Drafts, newMemDrafts(DraftsKeep, 500, d.Now)),
		settle:   300 * time.Millisecond,

		typing: newDebouncer(), debounce: similarDebounce,
		similarHits: ttlcache.New[string, []similarQuestion](time.Minute, 2000, d.Now),
	}
}

// Register adds /soe ask, the "Ask a question" global shortcut, the "Ask on
// Stack Overflow" message shortcut, the ask modal, its tag suggestions, the
// AskButton buttons (experts, search) and "Share in channel" to r.
func (a *Feature) Register(r *router.Router) {
	r.Subcommand(&router.Subcommand{
		Name:    "ask",
		Usage:   "ask [title]",
		Summary: "Ask a question on Stack Overflow (opens a form).",
		Run:     a.run,
	})
	r.Shortcut(ShortcutAsk, a.globalShortcut)
	r.Shortcut(ShortcutAskMessage, a.messageShortcut)
	r.Action(actionAskOpen, a.openFromButton)
	r.Action(actionAskShare, a.share)
	r.Action(actionAskShareReveal, a.share)
	r.Action(actionAskShareAlways, a.share)
	r.Action(askActionTitle, a.titleTyped)
	r.Suggest(actionAskTags, a.suggestTags)
	r.View(askCallbackID, router.ViewHandler{Ack: a.ack, Handle: a.submit})
	a.registerSaved(r)
}

// AskButton is a button that opens the ask form prefilled with scope, tags
// and title (experts and search show it); suffix keeps action ids unique.
func (a *Feature) AskButton(suffix, label string, scope soe.Scope, tags []string, title string) *slack.ButtonBlockElement {
	v := blockkit.Value(prefill{Scope: scope.Key(), Tags: tags, Title: title})
	return blockkit.Button(actionAskOpen+":"+suffix, label, v)
}

// origin is where the user started: where to confirm.
type askOrigin struct {
	channel, responseURL string
}

func (a *Feature) run(ctx context.Context, r *router.Request) {
	if r.TriggerID == "" { // replayed after (re)connecting: no trigger to open a form with
		a.r.Reply(ctx, r.Env, blockkit.Text(fmt.Sprintf("You are connected. Run %s again to open the question form.",
			mrkdwn.Code(strings.TrimSpace(a.cfg.Command+" ask "+mrkdwn.Truncate(r.Rest, 60))))))
		return
	}
	var d askDraft
	if rest := strings.TrimSpace(r.Rest); rest != "" {
		// Mentions in the typed title: names within a short budget (the
		// trigger_id lives 3 s).
		nctx, cancel := context.WithTimeout(ctx, 700*time.Millisecond)
		names := a.resolveNames(nctx, mrkdwn.SlackMentions(rest))
		cancel()
		d.Title = mrkdwn.SlackToPlain(rest, names)
		if len([]rune(d.Title)) > askMaxTitle { // keep every word: the whole text goes to the body
			d.Body = d.Title
			d.Title = mrkdwn.CutWords(d.Title, askMaxTitle)
		}
	}
	a.open(ctx, r.Env, r.TriggerID, d, "", askOrigin{channel: r.ChannelID, responseURL: r.ResponseURL})
}

func (a *Feature) globalShortcut(ctx context.Context, env *chat.Envelope) {
	a.open(ctx, env, env.Interaction.TriggerID, askDraft{}, "", askOrigin{})
}

// openFromButton opens the modal from an AskButton (experts, search): its
// value is a prefill.
func (a *Feature) openFromButton(ctx context.Context, env *chat.Envelope, act *slack.BlockAction) {
	var p prefill
	if err := json.Unmarshal([]byte(act.Value), &p); err != nil || len(p.Tags) > askMaxTags {
		a.r.Reply(ctx, env, blockkit.Warning("That button is out of date; run the command again."))
		return
	}
	d := askDraft{Title: mrkdwn.CutRunes(p.Title, askMaxTitle)}
	for _, t := range p.Tags {
		if t = router.NormalizeTag(t); t != "" && router.ValidateTag(t) == "" && !slices.Contains(d.Tags, t) {
			d.Tags = append(d.Tags, t)
		}
	}
	d.Notify = len(d.Tags) > 0 // "Ask the experts"
	preferred := ""
	if s, err := soe.ParseScopeKey(p.Scope); err == nil {
		preferred = s.Key()
	}
	a.open(ctx, env, env.Interaction.TriggerID, d, preferred, askOrigin{channel: env.ChannelID(), responseURL: env.ResponseURL()})
}

// choices works out where the user may ask (local reads only: no SOE call
// before views.open). When the user cannot ask anywhere it replies (Connect,
// Reconnect or read-only prompt) and returns ok=false.
func (a *Feature) choices(ctx context.Context, env *chat.Envelope, preferred string) (scopes []string, initial string, ok bool) {
	links := a.links
	if links == nil {
		a.r.Reply(ctx, env, blockkit.Warning("This soebot is not connected to Stack Overflow yet. Ask your Slack admin to finish setting it up."))
		return nil, "", false
	}
	if preferred == "" {
		preferred = a.r.ScopeFor(ctx, env, "").Key()
	}
	ls, err := links.Links(ctx, env.TeamID, env.UserID)
	if err != nil {
		a.log.ErrorContext(ctx, "ask: reading links failed", "user", env.UserID, "err", err)
		a.r.Reply(ctx, env, blockkit.Warning("I could not read your Stack Overflow connection just now. Please try again in a moment."))
		return nil, "", false
	}
	now := a.now()
	var usable []linking.Link
	var invalid *linking.Link
	for i, l := range ls {
		if l.Invalid || (!l.Expiry.IsZero() && !now.Before(l.Expiry)) {
			if invalid == nil || l.Scope.Key() == preferred {
				invalid = &ls[i]
			}
			continue
		}
		usable = append(usable, l)
		if l.WriteAccess {
			scopes = append(scopes, l.Scope.Key())
		}
	}
	prefScope, _ := soe.ParseScopeKey(preferred)
	switch {
	case len(scopes) > 0:
		initial = scopes[0]
		if slices.Contains(scopes, preferred) {
			initial = preferred
		}
		return scopes, initial, true
	case len(usable) > 0: // linked, but read-only everywhere
		l := usable[0]
		for _, u := range usable {
			if u.Scope.Key() == preferred {
				l = u
			}
		}
		a.r.Failed(ctx, env, &l, fmt.Errorf("ask: %w", soe.ErrWriteAccess))
	case invalid != nil:
		a.r.ConnectPrompt(ctx, env, invalid.Scope, nil, true)
	default:
		// No Resume: a trigger_id cannot be reused, so the form opens when the
		// user runs the command again.
		a.r.ConnectPrompt(ctx, env, prefScope, nil, false)
	}
	return nil, "", false
}

// open shows the form: the link check is local, views.open comes before any
// SOE call.
func (a *Feature) open(ctx context.Context, env *chat.Envelope, trigger string, d askDraft, preferred string, o askOrigin) {
	scopes, initial, ok := a.choices(ctx, env, preferred)
	if !ok {
		return
	}
	d.Scope = initial
	meta := askMeta{Channel: o.channel, Response: o.responseURL, Scopes: scopes}
	a.keepTail(ctx, &d, &meta)
	f := askForm{Draft: d, Meta: meta}
	v, err := a.slack.OpenView(ctx, trigger, formView(f))
	if err != nil {
		a.openFailed(ctx, env, err)
		return
	}
	if d.Title != "" {
		a.similarAfterOpen(ctx, env, v, f)
	}
}

func (a *Feature) openFailed(ctx context.Context, env *chat.Envelope, err error) {
	a.log.WarnContext(ctx, "ask: views.open failed", "user", env.UserID, "err", err)
	if errors.Is(err, chat.ErrTriggerExpired) {
		a.r.Reply(ctx, env, blockkit.Warning("Slack gave up waiting for the question form. Please try again."))
		return
	}
	a.r.Reply(ctx, env, blockkit.Warning("I could not open the question form. Please try again in a moment."))
}

// keepTail cuts a body longer than the text box can hold: the box keeps its
// start and the rest waits, under a draft key, to be added when posting.
func (a *Feature) keepTail(ctx context.Context, d *askDraft, meta *askMeta) {
	if d.Body == "" {
		return
	}
	box, tail := splitBody(d.Body, askBoxBudget)
	if tail == "" {
		return
	}
	d.Body = box // whatever happens next: Slack refuses a longer text box
	key := newDraftKey()
	if err := a.tails.Put(ctx, key, tail); err != nil {
		a.log.WarnContext(ctx, "ask: cannot keep the end of a long message; the form shows its start", "err", err)
		return
	}
	meta.Draft, meta.Tail = key, len([]rune(tail))
}

func newDraftKey() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// resolveNames looks Slack users up (users.info, cached) and returns a name
// function for the converters. Lookups that fail or run out of time fall back
// to the name in the mention or the id.
func (a *Feature) resolveNames(ctx context.Context, ids []string) func(string) string {
	names := map[string]string{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for _, id := range ids {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			n, err := a.names.GetOrLoad(ctx, id, func(ctx context.Context) (string, error) {
				u, err := a.slack.UserInfo(ctx, id)
				if errors.Is(err, chat.ErrUserNotFound) {
					return "", nil
				}
				if err != nil {
					return "", err
				}
				return displayName(u), nil
			})
			if err != nil {
				return
			}
			mu.Lock()
			names[id] = n
			mu.Unlock()
		}()
	}
	wg.Wait()
	return func(id string) string { return names[id] }
}

func displayName(u *slack.User) string {
	for _, n := range []string{u.Profile.DisplayName, u.Profile.RealName, u.RealName, u.Name} {
		if n = strings.TrimSpace(n); n != "" {
			return n
		}
	}
	return ""
}

// messageShortcut opens the form prefilled from a message (its thread's
// parent when it is in a thread). The form opens at once ("Reading the
// message…") and is filled once the Slack lookups are done, so the
// trigger_id never runs out.
func (a *Feature) messageShortcut(ctx context.Context, env *chat.Envelope) {
	ic := env.Interaction
	v, meta, initial, ok := a.openLoading(ctx, env, loadingView)
	if !ok {
		return
	}
	d, note := a.prefillFromMessage(ctx, ic.Channel.ID, ic.Message)
	d.Scope = initial
	a.fill(ctx, env, v, askForm{Draft: d, Meta: meta, Note: note})
}

// openLoading opens the modal at once, as loading(meta) says, for a message
// shortcut, so that the trigger_id never runs out while Slack and SOE are
// read. It returns the view, the form's metadata and the initial scope.
func (a *Feature) openLoading(ctx context.Context, env *chat.Envelope, loading func(askMeta) slack.ModalViewRequest) (*slack.View, askMeta, string, bool) {
	ic := env.Interaction
	scopes, initial, ok := a.choices(ctx, env, "")
	if !ok {
		return nil, askMeta{}, "", false
	}
	meta := askMeta{Channel: ic.Channel.ID, Response: ic.ResponseURL, Scopes: scopes}
	v, err := a.slack.OpenView(ctx, ic.TriggerID, loading(meta))
	if err != nil {
		a.openFailed(ctx, env, err)
		return nil, meta, "", false
	}
	return v, meta, initial, true
}

// fill replaces the loading view v with the form f (keeping a long body's
// tail in the metadata), then looks up similar questions for its title.
func (a *Feature) fill(ctx context.Context, env *chat.Envelope, v *slack.View, f askForm) {
	a.keepTail(ctx, &f.Draft, &f.Meta)
	filled, err := a.slack.UpdateView(ctx, v.ID, v.Hash, formView(f))
	if err != nil {
		a.log.WarnContext(ctx, "ask: filling the form failed", "user", env.UserID, "err", err)
		return
	}
	a.similarAfterOpen(ctx, env, filled, f)
}

// prefillFromMessage turns a Slack message into a draft: its text (or its
// thread parent's) as a Markdown body ending with a line that links back to
// it, and its first line as the title. note (mrkdwn) tells the user where the
// text came from.
func (a *Feature) prefillFromMessage(ctx context.Context, channel string, msg slack.Message) (askDraft, string) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	parent := msg
	replies := msg.ReplyCount
	inThread := msg.ThreadTimestamp != "" || msg.ReplyCount > 0
	if msg.ThreadTimestamp != "" && msg.ThreadTimestamp != msg.Timestamp {
		rs, err := a.slack.Replies(ctx, channel, msg.ThreadTimestamp)
		switch {
		case err != nil:
			a.log.InfoContext(ctx, "ask: thread parent unavailable; using the message itself", "channel", channel, "err", err)
			inThread = false
		case len(rs) > 0:
			parent = rs[0]
			replies = parent.ReplyCount
			if replies == 0 {
				replies = len(rs) - 1
			}
		}
	}
	ids := mrkdwn.SlackMentions(parent.Text)
	if parent.User != "" && chat.ValidID(parent.User) && !slices.Contains(ids, parent.User) {
		ids = append(ids, parent.User)
	}
	names := a.resolveNames(ctx, ids)
	permalink, err := a.slack.Permalink(ctx, channel, parent.Timestamp)
	if err != nil {
		a.log.InfoContext(ctx, "ask: no permalink for the message", "channel", channel, "err", err)
	}
	author := names(parent.User)
	switch {
	case author == "" && parent.Username != "":
		author = parent.Username
	case author == "" && parent.User != "":
		author = parent.User
	case author == "":
		author = "someone"
	}
	body := strings.TrimSpace(mrkdwn.SlackToMarkdown(parent.Text, names))
	source := "a Slack message"
	if permalink != "" {
		source = "a [Slack message](" + mrkdwn.MarkdownURL(permalink) + ")"
	}
	line := fmt.Sprintf("*Asked from %s by @%s", source, mrkdwn.MarkdownLabel(author))
	noteText := "Prefilled from a message by " + mrkdwn.Escape(author)
	if inThread {
		line += fmt.Sprintf(" (a thread with %s)", plural(replies, "reply", "replies"))
		noteText = fmt.Sprintf("Prefilled from a thread started by %s (%s)", mrkdwn.Escape(author), plural(replies, "reply", "replies"))
	}
	line += ".*"
	if files := filesNote(parent.Files); files != "" {
		body = strings.TrimSpace(body + "\n\n" + files)
		noteText += ". " + filesHint(len(parent.Files))
	}
	if body != "" {
		body += "\n\n"
	}
	body += line
	d := askDraft{Title: mrkdwn.TitleFromSlack(parent.Text, names, askMaxTitle), Body: body}
	return d, noteText + ". Edit anything before posting."
}

// maxFileNames bounds the file names listed in a prefilled body.
const maxFileNames = 5

// filesNote is the line a prefilled body gets for the files of a Slack
// message: they are not copied (the bot cannot read them as the person, and
// SOE's API takes no attachments), so it names them for the asker to add.
func filesNote(files []slack.File) string {
	if len(files) == 0 {
		return ""
	}
	var names []string
	for _, f := range files[:min(len(files), maxFileNames)] {
		name := cmp.Or(f.Name, f.Title)
		if name != "" {
			names = append(names, "`"+strings.ReplaceAll(mrkdwn.CutRunes(name, 80), "`", "'")+"`")
		}
	}
	more := ""
	if len(files) > len(names) && len(names) > 0 {
		more = fmt.Sprintf(" and %d more", len(files)-len(names))
	}
	list := ""
	if len(names) > 0 {
		list = ": " + strings.Join(names, ", ") + more
	}
	return fmt.Sprintf("*(%s attached in Slack, not copied here%s.)*", plural(len(files), "file", "files"), list)
}

// filesHint tells the asker, in the form, what becomes of the files.
func filesHint(n int) string {
	if n == 1 {
		return "Its file is not copied: add it on Stack Overflow after posting if it matters"
	}
	return fmt.Sprintf("Its %d files are not copied: add them on Stack Overflow after posting if they matter", n)
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

// suggestTags answers the Tags field's typing with the tags SOE knows
// (tags?partialName=), as the user, and offers the typed text as a new tag
// when it is a valid tag name. It runs before the ack (2.5 s deadline).
func (a *Feature) suggestTags(ctx context.Context, env *chat.Envelope) []*slack.OptionBlockObject {
	ic := env.Interaction
	q := router.NormalizeTag(ic.Value)
	if q == "" || len([]rune(q)) > router.MaxTagLen+5 {
		return nil
	}
	var newTag *slack.OptionBlockObject
	if router.ValidateTag(q) == "" {
		newTag = slack.NewOptionBlockObject(q, blockkit.Plain(mrkdwn.Truncate(q+" (new tag)", 75)), nil)
	}
	only := func() []*slack.OptionBlockObject {
		if newTag == nil {
			return nil
		}
		return []*slack.OptionBlockObject{newTag}
	}
	links := a.links
	if links == nil {
		return only()
	}
	meta, _ := decodeAskMeta(ic.View.PrivateMetadata)
	scopeKey := ""
	if ic.View.State != nil {
		scopeKey = ic.View.State.Values[askBlockWhere][askActionWhere].SelectedOption.Value
	}
	if scopeKey == "" && len(meta.Scopes) > 0 {
		scopeKey = meta.Scopes[0]
	}
	scope, err := soe.ParseScopeKey(scopeKey)
	if err != nil {
		scope = soe.MainSite()
	}
	c, l, err := links.Client(ctx, env.TeamID, env.UserID, scope)
	if err != nil {
		return only()
	}
	key := fmt.Sprintf("%s\x00%d\x00%s", scope.Key(), l.SOEUserID, q)
	tags, err := a.tagHints.GetOrLoad(ctx, key, func(ctx context.Context) ([]soe.TagSummary, error) {
		p, err := c.TagsPage(ctx, soe.TagListOptions{PartialName: q, PageSize: 30, Sort: "postCount", Order: soe.OrderDesc})
		if err != nil {
			return nil, err
		}
		return p.Items, nil
	})
	if err != nil {
		a.log.InfoContext(ctx, "ask: tag suggestions failed", "err", err)
		return only()
	}
	var exact, rest []*slack.OptionBlockObject
	for _, t := range tags {
		name := strings.ToLower(t.Name)
		if name == "" || len(name) > 75 {
			continue
		}
		o := slack.NewOptionBlockObject(name, blockkit.Plain(mrkdwn.Truncate(fmt.Sprintf("%s (%s)", name, plural(t.PostCount, "post", "posts")), 75)), nil)
		if name == q {
			exact = append(exact, o)
			newTag = nil
		} else {
			rest = append(rest, o)
		}
	}
	out := append(exact, rest...)
	if newTag != nil {
		out = append(out, newTag)
	}
	if len(out) > 100 {
		out = out[:100]
	}
	return out
}
