package e2e

import (
	"bytes"
	"fmt"
	"image"
	_ "image/png" // decode the chart
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

// seededFigures counts, straight from the fake's store (not through the
// API the bot uses), the questions of tag on the main site created in the
// last days: asked, with an answer, with an accepted answer.
func (e *Env) seededFigures(tag string, days int) (asked, answered, accepted int) {
	from := time.Now().Add(-time.Duration(days) * 24 * time.Hour)
	for id := 1; id < 2000; id++ {
		q, ok := e.SOE.QuestionByID(soe.MainSite(), id)
		if !ok || !slices.Contains(q.Tags, tag) || q.Created.Before(from) {
			continue
		}
		asked++
		if len(q.AnswerIDs) > 0 {
			answered++
		}
		if q.AcceptedAnswerID != 0 {
			accepted++
		}
	}
	return asked, answered, accepted
}

func pct(part, whole int) int { return (part*100 + whole/2) / whole }

func (e *Env) questionCalls() int {
	n := 0
	for _, r := range e.SOE.Requests() {
		if strings.HasSuffix(r.Path, "/questions") {
			n++
		}
	}
	return n
}

func TestReportOnATag(t *testing.T) {
	e := bot(t)
	e.notifyLink(t, "alice", "")
	e.sees(t, e.slash(t, SlackUser("alice"), General, "subscribe kubernetes"), "subscribed this channel to")

	s := e.slash(t, SlackUser("alice"), General, "report kubernetes")
	e.sees(t, s, "Working on the report on `kubernetes` (last 30 days)")
	asked, answered, accepted := e.seededFigures("kubernetes", 30)
	if asked == 0 {
		t.Fatal("the seed has no recent kubernetes questions")
	}
	m := e.sees(t, s, "Report on kubernetes, last 30 days",
		"2 users, 1 group: 4 people in all", "Platform Team", "*Watchers:* 4",
		fmt.Sprintf("%d asked · %d%% answered (%d) · %d%% with an accepted answer (%d)", asked, pct(answered, asked), answered, pct(accepted, asked), accepted),
		"Median time to a first answer", "#CGENERAL")
	if m.InChannel || !m.Replaced {
		t.Errorf("the report must replace the working message, ephemerally (in_channel %v, replaced %v)", m.InChannel, m.Replaced)
	}
	if asked > answered && !strings.Contains(m.Flat(), "Oldest unanswered") {
		t.Errorf("no oldest unanswered questions:\n%s", m.Flat())
	}

	// The chart is a real PNG, shared in the channel with files.uploadV2.
	file, err := e.Slack.WaitFile(wait(t), General, "[kubernetes]")
	if err != nil {
		t.Fatal(err)
	}
	img, format, err := image.Decode(bytes.NewReader(file.Content))
	if err != nil || format != "png" {
		t.Fatalf("chart: %v (%s)", err, format)
	}
	if b := img.Bounds(); b.Dx() < 600 || b.Dy() < 300 {
		t.Fatalf("chart is %v", b)
	}
	if colours(img) < 3 {
		t.Fatal("chart is blank")
	}

	// Cached: the same report again costs no /questions call.
	calls := e.questionCalls()
	e.sees(t, e.slash(t, SlackUser("alice"), General, "report kubernetes"), "Report on kubernetes")
	if got := e.questionCalls(); got != calls && replicaMode <= 1 { // the cache is per replica
		t.Errorf("a cached report cost %d /questions calls", got-calls)
	}
}

// colours counts the distinct colours of img (up to 10).
func colours(img image.Image) int {
	seen := map[[4]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y && len(seen) < 10; y += 3 {
		for x := b.Min.X; x < b.Max.X && len(seen) < 10; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			seen[[4]uint32{r, g, bl, a}] = true
		}
	}
	return len(seen)
}

func TestReportBadInputTopTagsAndSMEsOff(t *testing.T) {
	e := bot(t)
	e.link(t, "judy")
	judy := SlackUser("judy")
	e.sees(t, e.slash(t, judy, General, "report kubernetes days 400"), "days must be a number from 1 to 365")
	e.sees(t, e.slash(t, judy, General, "report kubernetes days 0"), "days must be a number from 1 to 365")
	e.sees(t, e.slash(t, judy, General, "report go rust"), "one tag at a time")
	e.sees(t, e.slash(t, judy, General, "report kuberntes"), "No tag `kuberntes`", "Did you mean", "`kubernetes`")
	e.sees(t, e.slash(t, judy, General, "report days 365"), "Tags with the most unanswered questions", "last 365 days", "1. ")
	e.SOE.SetSMEsEnabled(false)
	e.sees(t, e.slash(t, judy, General, "report python days 200"), "subject-matter experts are turned off", "Report on python")
}
