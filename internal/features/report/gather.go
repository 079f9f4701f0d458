package report

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/soe"
)

// What one report may cost on SOE (docs/benchmarks.md): the tag and its
// SMEs (people: 1–3 calls, plus one per SME group SOE sends without
// members), at most maxQuestionPages pages of questions, one count of
// accepted answers, and at most maxFirstAnswers answer lists.
const (
	questionPageSize = 100
	maxQuestionPages = 10
	maxFirstAnswers  = 20
	maxTopTags       = 10
)

// reportSOE is what a report asks SOE, with the caller's token (*soe.Client).
type reportSOE interface {
	people.Source
	QuestionsPage(ctx context.Context, opt soe.QuestionListOptions) (*soe.Page[soe.QuestionSummary], error)
	AnswersPage(ctx context.Context, questionID int, opt soe.AnswerListOptions) (*soe.Page[soe.AnswerSummary], error)
}

// tagReport is everything /soe report <tag> shows.
type tagReport struct {
	Typed       string
	Scope       soe.Scope
	Days        int
	Tag         *soe.TagSummary // nil: no such tag
	Suggestions []string
	SMEDisabled bool
	Users       []people.Person
	Groups      []people.Group
	People      int // distinct SMEs, users and group members
	Stats       Stats
	Channels    []string // channels of this workspace subscribed to the tag
	Chart       []byte   // PNG
}

// topTag is one line of /soe report without a tag.
type topTag struct {
	Tag        soe.TagSummary
	Unanswered int
}

// topReport is /soe report without a tag.
type topReport struct {
	Scope     soe.Scope
	Days      int
	Asked     int
	Tags      []topTag
	Truncated bool
}

// windowQuestions lists the questions created in [from, to] with tagIDs
// (none: every tag), oldest first, reading at most maxQuestionPages pages.
func windowQuestions(ctx context.Context, c reportSOE, tagIDs []int, from, to time.Time) ([]soe.QuestionSummary, bool, error) {
	var out []soe.QuestionSummary
	for page := 1; page <= maxQuestionPages; page++ {
		p, err := c.QuestionsPage(ctx, soe.QuestionListOptions{Page: page, PageSize: questionPageSize, Sort: soe.SortCreation,
			Order: soe.OrderAsc, TagIDs: tagIDs, From: from, To: to})
		if err != nil {
			return nil, false, err
		}
		out = append(out, p.Items...)
		if len(p.Items) == 0 || page >= p.TotalPages {
			return out, false, nil
		}
	}
	return out, true, nil
}

// gatherTag reads a tag's report with the caller's client.
func (f *Feature) gatherTag(ctx context.Context, teamID string, c reportSOE, name string, days int) (*tagReport, error) {
	to := f.now().UTC()
	from := to.Add(-time.Duration(days) * 24 * time.Hour)
	r := &tagReport{Typed: name, Scope: c.Scope(), Days: days}
	tag, ex, sugg, err := f.people.TagWithExperts(ctx, c, name)
	switch {
	case errors.Is(err, soe.ErrNotFound):
		r.Suggestions = sugg
		return r, nil
	case err != nil:
		return nil, err
	}
	r.Tag = tag
	if err := f.experts(ctx, c, r, ex); err != nil {
		return nil, err
	}
	qs, truncated, err := windowQuestions(ctx, c, []int{tag.ID}, from, to)
	if err != nil {
		return nil, err
	}
	accepted, err := f.acceptedCount(ctx, c, tag.ID, from, to)
	if err != nil {
		return nil, err
	}
	first, err := firstAnswers(ctx, c, sampleAnswered(qs, maxFirstAnswers))
	if err != nil {
		return nil, err
	}
	r.Stats = computeStats(qs, accepted, first, from, to)
	r.Stats.Truncated = truncated
	if f.subs != nil {
		if r.Channels, err = f.subs.TagChannels(ctx, teamID, c.Scope(), tag.Name); err != nil {
			f.log.WarnContext(ctx, "report: could not read the subscriptions", "err", err)
		}
	}
	if r.Chart, err = chartPNG(tag.Name, r.Stats.Weeks); err != nil {
		return nil, fmt.Errorf("report: drawing the chart: %w", err)
	}
	return r, nil
}

// experts fills in the tag's SMEs (or that they are turned off).
func (f *Feature) experts(ctx context.Context, c reportSOE, r *tagReport, ex *people.Experts) error {
	if r.Tag.SubjectMatterExpertCount == nil {
		r.SMEDisabled = true
		return nil
	}
	var err error
	if ex == nil {
		ex, err = f.people.TagExperts(ctx, c, r.Tag.ID)
	}
	switch {
	case errors.Is(err, soe.ErrSMEDisabled):
		r.SMEDisabled = true
		return nil
	case err != nil:
		return err
	}
	r.Users, r.Groups, r.People = ex.Users, ex.Groups, len(ex.Everyone())
	return nil
}

// acceptedCount is how many questions of the window have an accepted
// answer, as SOE counts them (one call: the total of a filtered page).
func (f *Feature) acceptedCount(ctx context.Context, c reportSOE, tagID int, from, to time.Time) (int, error) {
	yes := true
	p, err := c.QuestionsPage(ctx, soe.QuestionListOptions{PageSize: 15, TagIDs: []int{tagID}, HasAcceptedAnswer: &yes, From: from, To: to})
	if err != nil {
		return 0, err
	}
	return p.TotalCount, nil
}

// firstAnswers reads when each question got its first answer (one call each).
func firstAnswers(ctx context.Context, c reportSOE, qs []soe.QuestionSummary) (map[int]time.Time, error) {
	out := map[int]time.Time{}
	for _, q := range qs {
		p, err := c.AnswersPage(ctx, q.ID, soe.AnswerListOptions{PageSize: 15, Sort: soe.SortCreation, Order: soe.OrderAsc})
		if errors.Is(err, soe.ErrNotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		if len(p.Items) > 0 {
			out[q.ID] = p.Items[0].CreationDate
		}
	}
	return out, nil
}

// gatherTop reads the tags with the most unanswered questions of the window.
func (f *Feature) gatherTop(ctx context.Context, c reportSOE, days int) (*topReport, error) {
	to := f.now().UTC()
	from := to.Add(-time.Duration(days) * 24 * time.Hour)
	qs, truncated, err := windowQuestions(ctx, c, nil, from, to)
	if err != nil {
		return nil, err
	}
	byName := map[string]*topTag{}
	for _, q := range qs {
		if q.AnswerCount > 0 {
			continue
		}
		for _, t := range q.Tags {
			tt := byName[strings.ToLower(t.Name)]
			if tt == nil {
				tt = &topTag{Tag: t}
				byName[strings.ToLower(t.Name)] = tt
			}
			tt.Unanswered++
		}
	}
	r := &topReport{Scope: c.Scope(), Days: days, Asked: len(qs), Truncated: truncated}
	for _, tt := range byName {
		r.Tags = append(r.Tags, *tt)
	}
	slices.SortFunc(r.Tags, func(a, b topTag) int {
		if a.Unanswered != b.Unanswered {
			return b.Unanswered - a.Unanswered
		}
		return strings.Compare(a.Tag.Name, b.Tag.Name)
	})
	r.Tags = r.Tags[:min(len(r.Tags), maxTopTags)]
	return r, nil
}
