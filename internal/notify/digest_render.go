package notify

import (
	"fmt"
	"html"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/soebot/soebot/internal/blockkit"
	"github.com/soebot/soebot/internal/chat"
	"github.com/soebot/soebot/internal/mrkdwn"
)

// Digest message limits: Slack takes at most 50 blocks and 3000 characters
// per section; a digest lists its top items and links the rest to an SOE
// search ("and 480 more").
const (
	digestTopQuestions = 20
	digestTopOthers    = 10
	digestTitleLen     = 100
	digestSectionLen   = 2800
)

func cadenceWord(c Cadence) string {
	switch c {
	case CadenceHourly:
		return "Hourly"
	case Cadence3h:
		return "3-hourly"
	case CadenceWeekly:
		return "Weekly"
	}
	return "Daily"
}

// digestPeriod is "Tue 1 Dec 09:00 – Wed 2 Dec 09:00 (Europe/Berlin)".
func digestPeriod(d *Digest) string {
	loc := Location(d.TZ)
	s, e := d.Start.In(loc), d.End.In(loc)
	const f = "Mon 2 Jan 15:04"
	end := e.Format(f)
	if s.YearDay() == e.YearDay() && s.Year() == e.Year() {
		end = e.Format("15:04")
	}
	return fmt.Sprintf("%s – %s (%s)", s.Format(f), end, loc)
}

func digestTitle(ev *Event) (lead, text string) {
	d := ev.Digest
	w := cadenceWord(d.Cadence)
	switch d.Kind {
	case DigestAsker:
		return fmt.Sprintf(":newspaper: *%s digest: answers to your questions*", w), w + " digest: answers to your questions"
	case DigestExpert:
		return fmt.Sprintf(":newspaper: *%s digest: new questions in your expert tags*", w), w + " digest: new questions in your expert tags"
	case DigestSME:
		return ":mortar_board: *Weekly expert digest: unanswered questions in your expert tags*, oldest first",
			"Weekly expert digest: unanswered questions in your expert tags"
	}
	tags := TagList(d.Tags)
	lead = fmt.Sprintf(":newspaper: *%s digest* for %s", w, tags)
	if ev.Scope.IsTeam() {
		lead += " on " + mrkdwn.Escape(ev.Scope.String())
	}
	return lead, fmt.Sprintf("%s digest for %s", w, mrkdwn.Escape(strings.Join(tagNames(d.Tags), ", ")))
}

func tagNames(tags []string) []string {
	if len(tags) == 0 {
		return []string{"every tag"}
	}
	return tags
}

// digestCounts is "*12* new questions (5 unanswered) · *30* new answers · *4* accepted answers".
func digestCounts(d *Digest) string {
	var parts []string
	if d.Questions > 0 || d.Kind == DigestChannel || d.Kind == DigestExpert {
		parts = append(parts, fmt.Sprintf("%s (%d unanswered)", plural(d.Questions, "new question", "new questions"), d.Unanswered))
	}
	if d.Answers > 0 || d.Kind == DigestAsker {
		parts = append(parts, plural(d.Answers, "new answer", "new answers"))
	}
	if d.Accepted > 0 {
		parts = append(parts, plural(d.Accepted, "accepted answer", "accepted answers"))
	}
	return strings.Join(parts, " · ")
}

// searchURL links the rest of a list to SOE's search ("" without a site).
func searchURL(d *Digest, extra string) string {
	if d.SiteURL == "" {
		return ""
	}
	var q []string
	for _, t := range d.Tags {
		q = append(q, "["+t+"]")
	}
	q = append(q, extra)
	if d.Kind != DigestSME {
		q = append(q, fmt.Sprintf("created:%s..%s", d.Start.UTC().Format(time.DateOnly), d.End.UTC().Format(time.DateOnly)))
	}
	return d.SiteURL + "/search?q=" + url.QueryEscape(strings.Join(q, " "))
}

func entryLink(e DigestEntry) string {
	return link(e.URL, e.Title, digestTitleLen)
}

func byName(name string) string {
	if name == "" {
		return ""
	}
	return " by " + plainText(html.UnescapeString(name), nameLen)
}

func questionLine(e DigestEntry, d *Digest) string {
	if d.Kind == DigestSME {
		age := d.End.Sub(e.At)
		return fmt.Sprintf("• %s · asked %s ago%s", entryLink(e), roughAge(age), byName(e.By))
	}
	state := "unanswered"
	if e.Answered {
		state = "answered"
	}
	return fmt.Sprintf("• %s · %s", entryLink(e), state)
}

func roughAge(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	}
	return "less than 2 hours"
}

// listSections renders a titled list: its top lines in sections of at most
// digestSectionLen characters, then "and N more" (linked when possible).
func listSections(title string, lines []string, total int, more string) []slack.Block {
	if len(lines) == 0 {
		return nil
	}
	var blocks []slack.Block
	cur := "*" + title + "*"
	for _, l := range lines {
		if len(cur)+1+len(l) > digestSectionLen {
			blocks = append(blocks, blockkit.Section(cur))
			cur = ""
		}
		if cur != "" {
			cur += "\n"
		}
		cur += l
	}
	if rest := total - len(lines); rest > 0 {
		label := fmt.Sprintf("and %d more", rest)
		if more != "" {
			label = mrkdwn.Link(more, label)
		}
		cur += "\n…" + label
	}
	return append(blocks, blockkit.Section(cur))
}

func top(es []DigestEntry, n int) []DigestEntry { return es[:min(len(es), n)] }

// renderDigest is one period's digest.
func renderDigest(ev *Event, command string) chat.Message {
	d := ev.Digest
	if d == nil {
		d = &Digest{}
	}
	lead, text := digestTitle(ev)
	head := lead + "\n_" + digestPeriod(d) + "_"
	if d.Kind != DigestSME {
		head += "\n" + digestCounts(d)
	}
	blocks := []slack.Block{blockkit.Section(head)}
	var qs []string
	newQs := slices.Clone(d.NewQuestions)
	if d.Kind != DigestSME { // unanswered first; the expert digest is oldest first
		sort.SliceStable(newQs, func(i, j int) bool { return !newQs[i].Answered && newQs[j].Answered })
	}
	for _, e := range top(newQs, digestTopQuestions) {
		qs = append(qs, questionLine(e, d))
	}
	qTitle := "New questions (unanswered first)"
	qTotal, qMore := d.Questions, searchURL(d, "is:question")
	if d.Kind == DigestSME {
		qTitle, qTotal, qMore = "Unanswered questions", len(d.NewQuestions), ""
	}
	blocks = append(blocks, listSections(qTitle, qs, qTotal, qMore)...)
	var as []string
	for _, e := range top(d.NewAnswers, digestTopOthers) {
		as = append(as, fmt.Sprintf("• %s · %s (latest%s)", entryLink(e), plural(e.Answers, "new answer", "new answers"), byName(e.By)))
	}
	if d.Kind == DigestAsker {
		blocks = append(blocks, listSections("Your questions with new answers", as, len(d.NewAnswers), "")...)
	}
	var acc []string
	for _, e := range top(d.NewAccepted, digestTopOthers) {
		acc = append(acc, fmt.Sprintf("• %s · accepted answer%s", entryLink(e), byName(e.By)))
	}
	blocks = append(blocks, listSections("Accepted answers", acc, d.Accepted, searchURL(d, "hasaccepted:yes"))...)
	blocks = append(blocks, blockkit.Context(digestFooter(ev, command)))
	if d.Kind != DigestSME {
		text += ": " + mrkdwn.Plain(strings.ReplaceAll(digestCounts(d), "*", ""))
	} else {
		text += fmt.Sprintf(": %s", plural(len(d.NewQuestions), "question", "questions"))
	}
	return chat.Message{Text: text, Blocks: blockkit.Cap(blocks, 50)}
}

func digestFooter(ev *Event, command string) string {
	d := ev.Digest
	switch d.Kind {
	case DigestAsker:
		return fmt.Sprintf("Sent %s. Change with %s.", d.Cadence.Describe(d.TZ), mrkdwn.Code(command+" notify answers immediate|3h|daily|weekly|off"))
	case DigestExpert:
		return fmt.Sprintf("Sent %s. Change with %s.", d.Cadence.Describe(d.TZ), mrkdwn.Code(command+" notify expert immediate|3h|daily|weekly|off"))
	case DigestSME:
		return fmt.Sprintf("Sent %s. Stop with %s.", d.Cadence.Describe(d.TZ), mrkdwn.Code(command+" notify digest off"))
	}
	what := "all"
	if len(d.Tags) > 0 {
		what = strings.Join(d.Tags, " ")
	}
	return fmt.Sprintf("Posted %s · %s · one post per event: %s", d.Cadence.Describe(d.TZ), mrkdwn.Escape(ev.Scope.String()),
		mrkdwn.Code(mrkdwn.Truncate(command+" subscribe "+what, 200)))
}
