package ask

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/router"
	"github.com/soebot/soebot/internal/ttlcache"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/soe"
)

// The ask modal: its callback id, block ids and action ids.
const (
	askCallbackID = "soe_ask_modal"

	askBlockTitle  = "ask_title"
	askBlockBody   = "ask_body"
	askBlockTags   = "ask_tags"
	askBlockWhere  = "ask_where"
	askBlockNotify = "ask_notify"

	askBlockSimilar = "ask_similar" // the similar questions under the title
	askBlockNote    = "ask_note"
	askBlockError   = "ask_error"

	// askActionTitle is routed: typing in the title (dispatch_action,
	// on_character_entered) looks for similar questions.
	askActionTitle  = "ask_title"
	askActionBody   = "body"
	actionAskTags   = "ask_tags" // external select: the router routes suggestions by this id
	askActionWhere  = "where"
	askActionNotify = "notify"
	askNotifyValue  = "notify"
)

// Question limits (SOE's, plus Slack's text box cap).
const (
	askMinTitle = 15
	askMaxTitle = soe.MaxTitleLength // 150
	askMaxBody  = soe.MaxBodyLength  // 30000
	askMaxTags  = soe.MaxTags        // 5
	// askMaxBox is Slack's cap on a plain_text_input (max_length ≤ 3000). A
	// longer prefilled body keeps its end server-side (see Drafts).
	askMaxBox = 3000
	// askBoxBudget is how much of a prefilled body goes into the box, in
	// UTF-16 code units (how Slack counts), leaving room for edits.
	askBoxBudget = 2900
)

// askMeta is the modal's private_metadata (≤ 3000 characters: no user text).
type askMeta struct {
	Channel  string   `json:"c,omitempty"` // where the user started ("" = DM them)
	Response string   `json:"r,omitempty"` // response_url of the invocation, when any
	Scopes   []string `json:"o,omitempty"` // scope keys offered under "Where" (writable links)
	Draft    string   `json:"d,omitempty"` // key of the body's end kept server-side
	Tail     int      `json:"n,omitempty"` // its length in characters (for the hint)
	// Thread is the ts of the thread's parent when the form saves a thread
	// (Save to Stack Overflow); Channel is then the thread's channel.
	Thread string `json:"th,omitempty"`
}

func (m askMeta) encode() string {
	b, _ := json.Marshal(m)
	return string(b)
}

func decodeAskMeta(s string) (askMeta, bool) {
	var m askMeta
	if s == "" || json.Unmarshal([]byte(s), &m) != nil {
		return askMeta{}, false
	}
	return m, true
}

// askDraft is what the user typed (or what we prefilled).
type askDraft struct {
	Title  string
	Body   string // the text box only (without the server-side end)
	Tags   []string
	Scope  string // scope key
	Notify bool
	Reply  string // saving a thread: the ts of the reply that answers it ("" none)
}

// askForm is everything the form view shows.
type askForm struct {
	Draft askDraft
	Meta  askMeta
	// Error (mrkdwn, already escaped) is shown at the top; FieldErrors (plain
	// SOE text, escaped when rendered) under the fields "title", "body", "tags".
	Error       string
	FieldErrors map[string][]string
	// Note (mrkdwn) is an informational line at the top (e.g. the source message).
	Note string
	// Similar are questions like the title, found as the user typed (at most
	// similarMax; none: no block).
	Similar []similarQuestion
	// Replies are the choices of "Which reply answers it?" (saving a thread).
	Replies []replyChoice
}

func scopeLabel(key string) string {
	if s, err := soe.ParseScopeKey(key); err == nil {
		if s.IsTeam() {
			return "Private team " + s.Team
		}
		return "Main site"
	}
	return key
}

func tagOption(name string) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(name, blockkit.Plain(mrkdwn.Truncate(name, 75)), nil)
}

// formView renders the ask modal.
func formView(f askForm) slack.ModalViewRequest {
	var blocks []slack.Block
	if f.Error != "" {
		b := blockkit.Section(f.Error)
		b.BlockID = askBlockError
		blocks = append(blocks, b)
	}
	if f.Note != "" {
		b := blockkit.Context(f.Note)
		b.BlockID = askBlockNote
		blocks = append(blocks, b)
	}
	blocks = append(blocks, titleInput(f.Draft.Title))
	blocks = append(blocks, fieldErrors(f.FieldErrors["title"])...)
	blocks = append(blocks, similarBlocks(f.Similar)...)
	blocks = append(blocks, bodyInput(f.Draft.Body, f.Meta.Tail)...)
	blocks = append(blocks, fieldErrors(f.FieldErrors["body"])...)
	blocks = append(blocks, tagsInput(f.Draft.Tags))
	blocks = append(blocks, fieldErrors(f.FieldErrors["tags"])...)
	if f.Meta.Thread != "" {
		blocks = append(blocks, replyInput(f.Replies, f.Draft.Reply))
		blocks = append(blocks, fieldErrors(f.FieldErrors["reply"])...)
	}
	if showWhere(f.Meta.Scopes) {
		blocks = append(blocks, whereInput(f.Meta.Scopes, f.Draft.Scope))
	}
	blocks = append(blocks, notifyInput(f.Draft.Notify))
	title, submit := "Ask a question", "Post question"
	if f.Meta.Thread != "" {
		title, submit = "Save to Stack Overflow", "Save question"
	}
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: askCallbackID,
		Title: blockkit.Plain(title), Submit: blockkit.Plain(submit), Close: blockkit.Plain("Cancel"),
		Blocks: slack.Blocks{BlockSet: blocks}, PrivateMetadata: f.Meta.encode(),
	}
}

// fieldErrors is the line under a field with SOE's messages about it (plain
// text, escaped here); none when there are none.
func fieldErrors(msgs []string) []slack.Block {
	if len(msgs) == 0 {
		return nil
	}
	var parts []string
	for _, m := range msgs {
		parts = append(parts, mrkdwn.Escape(mrkdwn.Truncate(m, 300)))
	}
	return []slack.Block{blockkit.Context(":warning: " + strings.Join(parts, " "))}
}

func titleInput(title string) *slack.InputBlock {
	in := slack.NewPlainTextInputBlockElement(blockkit.Plain("e.g. How do I roll back a Helm release in the platform cluster?"), askActionTitle)
	in.InitialValue = mrkdwn.CutRunes(title, askMaxTitle)
	in.MaxLength = askMaxTitle
	in.DispatchActionConfig = &slack.DispatchActionConfig{TriggerActionsOn: []string{"on_character_entered"}}
	b := slack.NewInputBlock(askBlockTitle, blockkit.Plain("Title"),
		blockkit.Plain(fmt.Sprintf("Be specific: imagine asking a colleague. %d–%d characters.", askMinTitle, askMaxTitle)), in)
	b.DispatchAction = true
	return b
}

// bodyInput is the body's text box and, when the body's end (tail
// characters) is kept server-side, a line saying so.
func bodyInput(body string, tail int) []slack.Block {
	in := slack.NewPlainTextInputBlockElement(blockkit.Plain("What are you trying to do, what did you try, what happened? Markdown works."), askActionBody)
	in.Multiline = true
	in.MaxLength = askMaxBox
	in.InitialValue = body
	blocks := []slack.Block{slack.NewInputBlock(askBlockBody, blockkit.Plain("Body"),
		blockkit.Plain("Markdown: **bold**, *italic*, `code`, ``` fenced code ```, [links](https://…). Slack text boxes hold 3,000 characters."), in)}
	if tail > 0 {
		blocks = append(blocks, blockkit.Context(fmt.Sprintf(":scissors: The message is longer than a Slack text box can hold. Its last %d characters are not shown here: I will add them after your text when you post.", tail)))
	}
	return blocks
}

func tagsInput(tags []string) *slack.InputBlock {
	in := &slack.MultiSelectBlockElement{
		Type: slack.MultiOptTypeExternal, ActionID: actionAskTags,
		Placeholder: blockkit.Plain("Type to search tags"),
	}
	in.WithMinQueryLength(1).WithMaxSelectedItems(askMaxTags)
	for _, t := range tags {
		in.InitialOptions = append(in.InitialOptions, tagOption(t))
	}
	return slack.NewInputBlock(askBlockTags, blockkit.Plain("Tags"),
		blockkit.Plain(fmt.Sprintf("1–%d tags. Type to search; pick “(new tag)” to create one if Stack Overflow lets you.", askMaxTags)), in)
}

// whereInput chooses among scopes (keys), selected first (or the first).
func whereInput(scopes []string, selected string) *slack.InputBlock {
	var opts []*slack.OptionBlockObject
	var initial *slack.OptionBlockObject
	for _, k := range scopes {
		o := slack.NewOptionBlockObject(k, blockkit.Plain(mrkdwn.Truncate(scopeLabel(k), 75)), nil)
		opts = append(opts, o)
		if k == selected {
			initial = o
		}
	}
	if initial == nil && len(opts) > 0 {
		initial = opts[0]
	}
	where := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, blockkit.Plain("Where to ask"), askActionWhere, opts...)
	where.InitialOption = initial
	return slack.NewInputBlock(askBlockWhere, blockkit.Plain("Where"),
		blockkit.Plain("The main site, or one of your private teams."), where)
}

func notifyInput(checked bool) *slack.InputBlock {
	opt := slack.NewOptionBlockObject(askNotifyValue, blockkit.Plain("Notify the subject-matter experts of these tags"),
		blockkit.Plain("They get a direct message from me with a link to your question."))
	notify := slack.NewCheckboxGroupsBlockElement(askActionNotify, opt)
	if checked {
		notify.InitialOptions = []*slack.OptionBlockObject{opt}
	}
	nb := slack.NewInputBlock(askBlockNotify, blockkit.Plain("Experts"), nil, notify)
	nb.Optional = true
	return nb
}

// showWhere: the Where field is shown when a private team is among the choices.
func showWhere(scopes []string) bool {
	for _, k := range scopes {
		if k != soe.MainSite().Key() {
			return true
		}
	}
	return false
}

// statusView is a modal without inputs (loading, posting, posted).
func statusView(title, closeLabel string, meta askMeta, blocks ...slack.Block) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type: slack.VTModal, CallbackID: askCallbackID,
		Title: blockkit.Plain(mrkdwn.Truncate(title, 24)), Close: blockkit.Plain(closeLabel),
		Blocks: slack.Blocks{BlockSet: blocks}, PrivateMetadata: meta.encode(),
	}
}

func loadingView(meta askMeta) slack.ModalViewRequest {
	return statusView("Ask a question", "Cancel", meta, blockkit.Section(":hourglass_flowing_sand: Reading the message…"))
}

func postingView(d askDraft, meta askMeta) slack.ModalViewRequest {
	return statusView("Ask a question", "Close", meta,
		blockkit.Section(fmt.Sprintf(":hourglass_flowing_sand: Posting your question to Stack Overflow (%s)…", mrkdwn.Escape(scopeLabel(d.Scope)))),
		blockkit.Context("*"+mrkdwn.Escape(mrkdwn.Truncate(d.Title, 150))+"*"))
}

func postedView(scope soe.Scope, q *soe.Question, meta askMeta) slack.ModalViewRequest {
	var tags []string
	for _, t := range q.TagNames() {
		tags = append(tags, mrkdwn.Code(t))
	}
	blocks := []slack.Block{
		blockkit.Section(fmt.Sprintf(":white_check_mark: *Posted* on %s:\n*%s*", mrkdwn.Escape(theScope(scope)), mrkdwn.Link(q.WebURL, mrkdwn.Truncate(q.Title, 150)))),
	}
	if len(tags) > 0 {
		blocks = append(blocks, blockkit.Context(strings.Join(tags, " ")))
	}
	if q.WebURL != "" {
		blocks = append(blocks, blockkit.Actions("ask_posted", blockkit.LinkButton("ask_open_question", "Open on Stack Overflow", q.WebURL)))
	}
	return statusView("Question posted", "Done", meta, blocks...)
}

// parseSubmission reads the submitted view: the draft, the metadata and the
// problems to show inline (block id → message). It does no I/O: the
// server-side end of the body counts by its length (meta.Tail); whether it
// is still there is checked after the ack (Feature.loadTail).
func parseSubmission(v *slack.View) (askDraft, askMeta, map[string]string) {
	meta, _ := decodeAskMeta(v.PrivateMetadata)
	var values map[string]map[string]slack.BlockAction
	if v.State != nil {
		values = v.State.Values
	}
	d := readDraft(values, meta)
	problems := map[string]string{}
	if p := titleProblem(d.Title); p != "" {
		problems[askBlockTitle] = p
	}
	if p := bodyProblem(d.Body, meta); p != "" {
		problems[askBlockBody] = p
	}
	if p := tagsProblem(d.Tags); p != "" {
		problems[askBlockTags] = p
	}
	if block, p := scopeProblem(d.Scope, meta); p != "" {
		problems[block] = p
	}
	return d, meta, problems
}

// readDraft reads the form's values; the scope defaults to the first offered.
func readDraft(values map[string]map[string]slack.BlockAction, meta askMeta) askDraft {
	var d askDraft
	get := func(block, action string) (slack.BlockAction, bool) {
		a, ok := values[block][action]
		return a, ok
	}
	if a, ok := get(askBlockTitle, askActionTitle); ok {
		d.Title = a.Value
	}
	if a, ok := get(askBlockBody, askActionBody); ok {
		d.Body = a.Value
	}
	if a, ok := get(askBlockTags, actionAskTags); ok {
		seen := map[string]bool{}
		for _, o := range a.SelectedOptions {
			t := router.NormalizeTag(o.Value)
			if t != "" && !seen[t] {
				seen[t] = true
				d.Tags = append(d.Tags, t)
			}
		}
	}
	if a, ok := get(askBlockNotify, askActionNotify); ok {
		for _, o := range a.SelectedOptions {
			if o.Value == askNotifyValue {
				d.Notify = true
			}
		}
	}
	if a, ok := get(askBlockReply, askActionReply); ok && a.SelectedOption.Value != replyNone {
		d.Reply = a.SelectedOption.Value
	}
	d.Scope = soe.MainSite().Key()
	if len(meta.Scopes) > 0 {
		d.Scope = meta.Scopes[0]
	}
	if a, ok := get(askBlockWhere, askActionWhere); ok && a.SelectedOption.Value != "" {
		d.Scope = a.SelectedOption.Value
	}
	return d
}

func titleProblem(title string) string {
	switch n := utf8.RuneCountInString(strings.TrimSpace(title)); {
	case n == 0:
		return "Add a title: one sentence that says what you need."
	case n < askMinTitle:
		return fmt.Sprintf("The title needs at least %d characters (it has %d). Say what you are trying to do.", askMinTitle, n)
	case n > askMaxTitle:
		return fmt.Sprintf("The title can have at most %d characters (it has %d).", askMaxTitle, n)
	}
	return ""
}

// bodyProblem checks the body with its server-side end (meta.Tail
// characters under meta.Draft).
func bodyProblem(body string, meta askMeta) string {
	tailLen := 0
	if meta.Draft != "" {
		tailLen = meta.Tail
	}
	switch n := utf8.RuneCountInString(body) + tailLen; {
	case strings.TrimSpace(body) == "" && tailLen == 0:
		return "Describe your problem: what you tried and what you expected."
	case n > askMaxBody:
		return fmt.Sprintf("The body can have at most %d characters (it has %d).", askMaxBody, n)
	}
	return ""
}

// lostTail is said when the end kept server-side is gone (its form was open
// longer than the drafts are kept).
const lostTail = "The end of the original message is no longer available (the form was open too long). Paste what you need into the body, or run the shortcut again."

func tagsProblem(tags []string) string {
	switch {
	case len(tags) == 0:
		return "Add at least one tag, so the right people see your question."
	case len(tags) > askMaxTags:
		return fmt.Sprintf("Use at most %d tags (you chose %d).", askMaxTags, len(tags))
	}
	for _, t := range tags {
		if p := plainTagProblem(t); p != "" {
			return p
		}
	}
	return ""
}

// scopeProblem checks that scope is one the form offered; the problem goes
// under Where when the form shows it, else under the title.
func scopeProblem(scope string, meta askMeta) (block, problem string) {
	if _, err := soe.ParseScopeKey(scope); err == nil && (len(meta.Scopes) == 0 || slices.Contains(meta.Scopes, scope)) {
		return "", ""
	}
	if showWhere(meta.Scopes) {
		return askBlockWhere, "Choose where to ask."
	}
	return askBlockTitle, "This form is out of date. Close it and start again."
}

// plainTagProblem explains, in plain text (Slack shows inline errors as
// plain text), what is wrong with a tag name, or "".
func plainTagProblem(t string) string {
	switch {
	case utf8.RuneCountInString(t) > router.MaxTagLen:
		return fmt.Sprintf("The tag “%s” is longer than %d characters.", mrkdwn.CutRunes(t, 40), router.MaxTagLen)
	case strings.ContainsAny(t, router.ForbiddenTagChars+" \t") || strings.ContainsFunc(t, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Sprintf("The tag “%s” has characters tags cannot contain (spaces or symbols such as < > & / _ = ~ | ^ @ $ %% * ? ! , ; :).", mrkdwn.CutRunes(t, 40))
	}
	return ""
}

// splitBody cuts a prefilled body so the part in the text box fits Slack's
// cap: at the last line break in the budget when there is one late enough,
// else at the budget. box+tail == s.
func splitBody(s string, budget int) (box, tail string) {
	units, cut := 0, len(s)
	for i, r := range s {
		units += max(utf16.RuneLen(r), 1)
		if units > budget {
			cut = i
			break
		}
	}
	if cut == len(s) {
		return s, ""
	}
	if nl := strings.LastIndexByte(s[:cut], '\n'); nl > cut*2/3 {
		cut = nl
	}
	return s[:cut], s[cut:]
}

// DraftsKeep is how long the end of a long prefilled body is kept for its
// form (the keep of Deps.Drafts).
const DraftsKeep = 2 * time.Hour

// Drafts keep the ends of long prefilled bodies (beyond the text box) until
// the form is submitted, by draft key, on any replica (cluster.Stash).
type Drafts interface {
	Put(ctx context.Context, key, text string) error
	Get(ctx context.Context, key string) (string, bool, error)
	Delete(ctx context.Context, key string) error
}

// memDrafts are Drafts in this process's memory (a Feature without Deps.Drafts).
type memDrafts struct {
	c *ttlcache.Cache[string, string]
}

func newMemDrafts(ttl time.Duration, limit int, now func() time.Time) memDrafts {
	return memDrafts{ttlcache.New[string, string](ttl, limit, now)}
}

func (d memDrafts) Put(_ context.Context, key, text string) error { d.c.Put(key, text); return nil }
func (d memDrafts) Delete(_ context.Context, key string) error    { d.c.Delete(key); return nil }
func (d memDrafts) Get(_ context.Context, key string) (string, bool, error) {
	text, ok := d.c.Get(key)
	return text, ok, nil
}
