package ask

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soetext"
)

// Similar questions: as the title is typed (or once a prefilled form is
// open) the form shows up to similarMax questions like it, found with the
// asker's own token. The search never blocks posting: a slow or failing one
// leaves the form as it is, and the update carries the hash of the view it
// read, so Slack refuses it when the view changed since (a newer update, the
// "Posting…" screen).
const (
	similarMax      = 3
	similarMinTitle = 10 // runes typed before searching
	// similarDebounce is how long the title must rest before searching: a
	// burst of keystrokes costs one search.
	similarDebounce = 600 * time.Millisecond
	similarTimeout  = 4 * time.Second
)

// similarQuestion is one question shown under the title.
type similarQuestion struct {
	Title    string
	URL      string
	Answers  int // -1: unknown (found through one of its answers)
	Accepted bool
}

// similarBlocks shows the questions under the title (none: no block).
func similarBlocks(qs []similarQuestion) []slack.Block {
	if len(qs) == 0 {
		return nil
	}
	lines := []string{":mag: *Already asked?* Open one of these instead of posting if it answers you:"}
	for _, q := range qs {
		answers := soetext.Answers(q.Answers)
		if q.Answers < 0 {
			answers = "answered"
		}
		line := "• " + mrkdwn.Link(q.URL, soetext.Title(q.Title, askMaxTitle)) + " · " + answers
		if q.Accepted {
			line += " · ✓ accepted"
		}
		lines = append(lines, line)
	}
	b := blockkit.Section(strings.Join(lines, "\n"))
	b.BlockID = askBlockSimilar
	return []slack.Block{b}
}

// debouncer lets the last of a burst of calls with the same key through.
type debouncer struct {
	mu   sync.Mutex
	n    uint64
	last map[string]uint64        // key -> generation of its latest call
	wake map[string]chan struct{} // key -> closed when a newer call comes
}

func newDebouncer() *debouncer {
	return &debouncer{last: map[string]uint64{}, wake: map[string]chan struct{}{}}
}

// wait returns (generation, true) when d passes with no newer call for key,
// and false when a newer call comes first (or ctx ends).
func (b *debouncer) wait(ctx context.Context, key string, d time.Duration) (uint64, bool) {
	b.mu.Lock()
	if ch, ok := b.wake[key]; ok {
		close(ch)
	}
	ch := make(chan struct{})
	b.n++
	gen := b.n
	b.wake[key], b.last[key] = ch, gen
	b.mu.Unlock()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return gen, true
	case <-ch:
		return 0, false
	case <-ctx.Done():
		b.done(key, gen)
		return 0, false
	}
}

// current reports whether gen is still the latest call for key.
func (b *debouncer) current(key string, gen uint64) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.last[key] == gen
}

// done forgets key when gen is its latest call (so the maps stay small).
func (b *debouncer) done(key string, gen uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.last[key] == gen {
		delete(b.last, key)
		delete(b.wake, key)
	}
}

// titleTyped is a keystroke in the title (block_actions from the title's
// dispatch_action): once the typing rests, the similar questions follow.
func (a *Feature) titleTyped(ctx context.Context, env *chat.Envelope, act *slack.BlockAction) {
	v := env.Interaction.View
	if v.ID == "" || v.CallbackID != askCallbackID {
		return
	}
	mark := a.markKeystroke(ctx, v.ID)
	gen, ok := a.typing.wait(ctx, v.ID, a.debounce)
	if !ok || !a.lastKeystroke(ctx, v.ID, mark) {
		return // a newer keystroke (here or on another replica) does the search
	}
	defer a.typing.done(v.ID, gen)
	f := formFromView(&v)
	f.Draft.Title = act.Value
	qs, ok := a.similarTo(ctx, env, f.Draft)
	if !ok || !a.typing.current(v.ID, gen) || !a.lastKeystroke(ctx, v.ID, mark) {
		return
	}
	if len(qs) == 0 && !hasBlock(&v, askBlockSimilar) {
		return // nothing shown, nothing to show
	}
	f.Similar = qs
	a.updateSimilar(ctx, env, v.ID, v.Hash, f)
}

// markKeystroke records, cluster-wide (in the Drafts store), that this is
// the latest keystroke in view id, so that when a burst of keystrokes is
// spread over replicas only the last one searches. "" when it could not be
// recorded (then only this replica's debouncer decides).
func (a *Feature) markKeystroke(ctx context.Context, viewID string) string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	mark := hex.EncodeToString(b[:])
	if err := a.tails.Put(ctx, typingKey(viewID), mark); err != nil {
		a.log.DebugContext(ctx, "ask: keystroke not recorded", "err", err)
		return ""
	}
	return mark
}

// lastKeystroke reports whether mark is still the latest keystroke of the
// view on any replica (true when it cannot tell).
func (a *Feature) lastKeystroke(ctx context.Context, viewID, mark string) bool {
	if mark == "" {
		return true
	}
	got, ok, err := a.tails.Get(ctx, typingKey(viewID))
	return err != nil || !ok || got == mark
}

func typingKey(viewID string) string { return "typing:" + viewID }

// similarAfterOpen looks for questions like a prefilled title once the form
// is open (view is what Slack answered: its id and hash).
func (a *Feature) similarAfterOpen(ctx context.Context, env *chat.Envelope, view *slack.View, f askForm) {
	if view == nil || view.ID == "" {
		return
	}
	qs, ok := a.similarTo(ctx, env, f.Draft)
	if !ok || len(qs) == 0 {
		return
	}
	f.Similar = qs
	a.updateSimilar(ctx, env, view.ID, view.Hash, f)
}

func (a *Feature) updateSimilar(ctx context.Context, env *chat.Envelope, viewID, hash string, f askForm) {
	if _, err := a.slack.UpdateView(ctx, viewID, hash, formView(f)); err != nil {
		// hash_conflict: the view changed since (newer results, Posting…).
		a.log.DebugContext(ctx, "ask: similar questions not shown", "user", env.UserID, "err", err)
	}
}

// similarTo searches SOE, as the user, in the scope the form posts to, for
// questions like d's title. ok is false when nothing should change (no
// client, SOE slow or failing).
func (a *Feature) similarTo(ctx context.Context, env *chat.Envelope, d askDraft) ([]similarQuestion, bool) {
	query := searchTerms(d.Title)
	if utf8.RuneCountInString(strings.TrimSpace(d.Title)) < similarMinTitle || query == "" {
		return nil, true
	}
	if a.links == nil {
		return nil, false
	}
	scope, err := soe.ParseScopeKey(d.Scope)
	if err != nil {
		scope = soe.MainSite()
	}
	c, l, err := a.links.Client(ctx, env.TeamID, env.UserID, scope)
	if err != nil {
		return nil, false
	}
	key := fmt.Sprintf("%s\x00%d\x00%s", scope.Key(), l.SOEUserID, query)
	qs, err := a.similarHits.GetOrLoad(ctx, key, func(ctx context.Context) ([]similarQuestion, error) {
		sctx, cancel := context.WithTimeout(ctx, min(a.cfg.SOETimeout, similarTimeout))
		defer cancel()
		p, err := c.Search(sctx, soe.SearchOptions{Query: query, PageSize: 15, Sort: soe.SortRelevance})
		if err != nil {
			return nil, err
		}
		return similarFrom(p.Items), nil
	})
	if err != nil {
		a.log.InfoContext(ctx, "ask: similar questions search failed; form left as it is", "user", env.UserID, "err", err)
		return nil, false
	}
	return qs, true
}

// similarFrom keeps the first similarMax questions of a search: questions
// first, then an answer for a question not listed yet (articles are left
// out).
func similarFrom(items []soe.SearchResult) []similarQuestion {
	var out []similarQuestion
	seen := map[int]bool{}
	for _, wantType := range []string{soe.ResultQuestion, soe.ResultAnswer} {
		for _, r := range items {
			id := r.QuestionID()
			if r.Type != wantType || id == 0 || seen[id] || r.WebURL == "" || len(out) == similarMax {
				continue
			}
			seen[id] = true
			q := similarQuestion{Title: r.Title, URL: r.WebURL, Answers: r.AnswerCount, Accepted: r.HasAcceptedAnswer}
			if r.Type == soe.ResultAnswer { // the link is the answer; its question's count is unknown
				q.Answers, q.Accepted = -1, r.IsAccepted
			}
			out = append(out, q)
		}
	}
	return out
}

// stopWords are left out of the search for similar questions: every
// question has them, so they only narrow the full-text match.
var stopWords = map[string]bool{
	"a": true, "an": true, "the": true, "how": true, "do": true, "does": true, "did": true, "i": true, "we": true,
	"you": true, "is": true, "are": true, "was": true, "to": true, "of": true, "in": true, "on": true, "for": true,
	"what": true, "why": true, "when": true, "where": true, "which": true, "who": true, "can": true, "could": true,
	"should": true, "would": true, "my": true, "our": true, "it": true, "with": true, "and": true, "or": true,
	"there": true, "be": true, "any": true, "anyone": true, "know": true, "get": true, "use": true, "me": true,
	"this": true, "us": true, "tried": true, "got": true, "have": true, "has": true, "that": true, "from": true, "at": true, "by": true, "not": true, "no": true, "so": true,
}

// searchTerms is the words of a title worth searching for: lower case,
// without punctuation and stop words, at most 8 (at most 16 distinct words
// of a longer text).
func searchTerms(title string) string {
	return terms(title, 8)
}

func terms(title string, limit int) string {
	words := strings.FieldsFunc(strings.ToLower(title), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r) && r != '-' && r != '.' && r != '#' && r != '+'
	})
	var out []string
	for _, w := range words {
		w = strings.Trim(w, "-.")
		if w == "" || stopWords[w] {
			continue
		}
		if slices.Contains(out, w) {
			continue
		}
		out = append(out, w)
		if len(out) == limit {
			break
		}
	}
	return strings.Join(out, " ")
}

// formFromView reads the open form back: what the user entered (state) over
// what the form was built with (initial values), the note and the error.
func formFromView(v *slack.View) askForm {
	meta, _ := decodeAskMeta(v.PrivateMetadata)
	values := initialValues(v.Blocks.BlockSet)
	if v.State != nil {
		for b, acts := range v.State.Values {
			if values[b] == nil {
				values[b] = map[string]slack.BlockAction{}
			}
			for id, act := range acts {
				values[b][id] = act
			}
		}
	}
	f := askForm{Draft: readDraft(values, meta), Meta: meta}
	for _, b := range v.Blocks.BlockSet {
		switch b := b.(type) {
		case *slack.ContextBlock:
			if b.BlockID == askBlockNote && len(b.ContextElements.Elements) > 0 {
				if t, ok := b.ContextElements.Elements[0].(*slack.TextBlockObject); ok {
					f.Note = t.Text
				}
			}
		case *slack.SectionBlock:
			if b.BlockID == askBlockError && b.Text != nil {
				f.Error = b.Text.Text
			}
		}
	}
	return f
}

// initialValues are the form's inputs as it was built, in the shape of
// view.state.values.
func initialValues(blocks []slack.Block) map[string]map[string]slack.BlockAction {
	out := map[string]map[string]slack.BlockAction{}
	for _, b := range blocks {
		in, ok := b.(*slack.InputBlock)
		if !ok {
			continue
		}
		var id string
		var act slack.BlockAction
		switch el := in.Element.(type) {
		case *slack.PlainTextInputBlockElement:
			id, act.Value = el.ActionID, el.InitialValue
		case *slack.MultiSelectBlockElement:
			id = el.ActionID
			for _, o := range el.InitialOptions {
				act.SelectedOptions = append(act.SelectedOptions, *o)
			}
		case *slack.SelectBlockElement:
			id = el.ActionID
			if el.InitialOption != nil {
				act.SelectedOption = *el.InitialOption
			}
		case *slack.CheckboxGroupsBlockElement:
			id = el.ActionID
			for _, o := range el.InitialOptions {
				act.SelectedOptions = append(act.SelectedOptions, *o)
			}
		default:
			continue
		}
		out[in.BlockID] = map[string]slack.BlockAction{id: act}
	}
	return out
}

func hasBlock(v *slack.View, blockID string) bool {
	for _, b := range v.Blocks.BlockSet {
		if b.ID() == blockID {
			return true
		}
	}
	return false
}
