package home

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/soe"
)

const (
	// maxSMETagChecks bounds the tags whose SME lists are read to find the
	// user's expert tags (the most used tags with SMEs first).
	maxSMETagChecks = 30
	// maxSMECalls bounds the SOE calls made for SME lists and their groups'
	// members in one render (those the directory has cached cost nothing):
	// once reached, no further tag is checked.
	maxSMECalls  = maxSMETagChecks + 10
	maxQuestions = 10
)

// Source is what the Home asks SOE, as the user (*soe.Client).
type Source interface {
	people.Source
	TagsPage(ctx context.Context, opt soe.TagListOptions) (*soe.Page[soe.TagSummary], error)
	QuestionsPage(ctx context.Context, opt soe.QuestionListOptions) (*soe.Page[soe.QuestionSummary], error)
}

// expertise is what the user is an SME for, on the main site.
type expertise struct {
	SMEDisabled bool
	Partial     bool // not every tag with SMEs was checked
	Checked     int  // how many were, when Partial
	Tags        []soe.TagSummary
	Questions   []soe.QuestionSummary
}

// gatherExpertise fills d's expertise from the user's main-site link l, or
// says why it could not (invalidating l when SOE refused its token).
func (f *Feature) gatherExpertise(ctx context.Context, d *data, l *linking.Link) {
	ex, err := f.loadExpertise(ctx, *l)
	switch {
	case err == nil:
		d.Expertise = ex
	case errors.Is(err, soe.ErrUnauthorized), errors.Is(err, linking.ErrLinkInvalid):
		reason := "Stack Overflow refused the token"
		if ierr := f.links.Invalidate(ctx, l.TeamID, l.UserID, l.Scope, reason); ierr != nil {
			f.log.WarnContext(ctx, "home: invalidate", "err", ierr)
		}
		l.Invalid, l.InvalidReason = true, reason
	case soe.Temporary(err) || errors.Is(err, context.DeadlineExceeded):
		d.ExpertiseFail = "Stack Overflow did not answer in time, so your expert tags are missing. Open this tab again to retry."
	default:
		f.log.WarnContext(ctx, "home: expertise", "user", l.UserID, "err", err)
		d.ExpertiseFail = "I could not load your expert tags from Stack Overflow just now."
	}
}

// loadExpertise is the link's expertise, cached per link.
func (f *Feature) loadExpertise(ctx context.Context, l linking.Link) (*expertise, error) {
	key := fmt.Sprintf("%s\x00%s\x00%s\x00%d", l.TeamID, l.UserID, l.Scope.Key(), l.SOEUserID)
	return f.expertise.GetOrLoad(ctx, key, func(ctx context.Context) (*expertise, error) {
		c, err := f.links.ClientFor(ctx, l)
		if err != nil {
			return nil, err
		}
		return f.findExpertise(ctx, c, l.SOEUserID)
	})
}

// findExpertise finds the tags SOE user id is an SME for (directly or
// through a user group) among the most used tags that have SMEs, and the
// newest unanswered questions in them: at most 2 + maxSMECalls SOE calls
// (plus the group members of the last tag checked), usually far fewer
// thanks to the directory's cache.
func (f *Feature) findExpertise(ctx context.Context, src Source, id int) (*expertise, error) {
	yes, no := true, false
	p, err := src.TagsPage(ctx, soe.TagListOptions{HasSMEs: &yes, PageSize: 100, Sort: "postCount", Order: soe.OrderDesc})
	if err != nil {
		return nil, err
	}
	tags := p.Items
	if len(tags) > maxSMETagChecks {
		tags = tags[:maxSMETagChecks]
	}
	ex, err := f.expertTags(ctx, &countingSource{Source: src}, tags, id)
	if err != nil || ex.SMEDisabled {
		return ex, err
	}
	if ex.Checked < len(p.Items) || p.TotalCount > len(p.Items) {
		ex.Partial = true
	}
	if len(ex.Tags) == 0 {
		return ex, nil
	}
	ids := make([]int, 0, len(ex.Tags))
	for _, t := range ex.Tags {
		ids = append(ids, t.ID)
	}
	qp, err := src.QuestionsPage(ctx, soe.QuestionListOptions{TagIDs: ids, IsAnswered: &no, Sort: soe.SortCreation, Order: soe.OrderDesc, PageSize: 15})
	if err != nil {
		return nil, err
	}
	ex.Questions = qp.Items[:min(len(qp.Items), maxQuestions)]
	return ex, nil
}

// expertTags checks tags in order until the SOE call budget is spent.
func (f *Feature) expertTags(ctx context.Context, src *countingSource, tags []soe.TagSummary, id int) (*expertise, error) {
	ex := &expertise{}
	for _, t := range tags {
		if src.calls.Load() >= maxSMECalls {
			break
		}
		ex.Checked++
		if t.SubjectMatterExpertCount == nil {
			return &expertise{SMEDisabled: true}, nil
		}
		e, err := f.people.TagExperts(ctx, src, t.ID)
		switch {
		case errors.Is(err, soe.ErrSMEDisabled):
			return &expertise{SMEDisabled: true}, nil
		case errors.Is(err, soe.ErrForbidden):
			continue
		case err != nil:
			return nil, err
		}
		if id > 0 && e.Has(id) {
			ex.Tags = append(ex.Tags, t)
		}
	}
	return ex, nil
}

// countingSource counts the SME and group lookups that reach SOE.
type countingSource struct {
	Source
	calls atomic.Int32
}

func (s *countingSource) SubjectMatterExperts(ctx context.Context, tagID int) (*soe.SubjectMatterExperts, error) {
	s.calls.Add(1)
	return s.Source.SubjectMatterExperts(ctx, tagID)
}

func (s *countingSource) UserGroup(ctx context.Context, id int) (*soe.UserGroup, error) {
	s.calls.Add(1)
	return s.Source.UserGroup(ctx, id)
}
