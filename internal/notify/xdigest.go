package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/soebot/soebot/internal/linking"
	"github.com/soebot/soebot/internal/people"
	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/store"
)

// The weekly expert digest (issue 22.3): every Monday at 09:00 in the SME's
// own Slack time zone, one DM with the unanswered questions in the tags they
// are a subject-matter expert of (read with their own token), oldest first,
// at most maxSMEDigest, each linked; nothing when there are none.

// maxSMEDigest is the most questions the weekly expert digest lists.
const maxSMEDigest = 10

// maxSMEDigestTags bounds the tags checked for the user's expertise (the
// most used tags that have SMEs; the directory caches their SMEs).
const maxSMEDigestTags = 25

// tagExperts is the part of people.Directory the expert digest needs.
type tagExperts interface {
	TagExperts(ctx context.Context, src people.Source, tagID int) (*people.Experts, error)
}

func smeStream(team, user string) string { return "x/" + team + "/" + user }

// runDigests closes the channel and alert digests that are due, then the
// weekly expert digests.
func (s *Service) runDigests(ctx context.Context) error {
	_, err := s.closeDigests(ctx)
	return errors.Join(err, s.expertDigests(ctx))
}

// digestSME is one person who asked for the weekly expert digest.
type digestSME struct {
	TeamID, UserID string
	Prefs
	state digestState // the stream's state as read with the prefs
}

func (s *Service) smeDigestUsers(ctx context.Context) ([]digestSME, error) {
	var out []digestSME
	err := s.db.View(ctx, func(tx store.Tx) error {
		return tx.Bucket(bucketPrefs).ForEach(func(k, v []byte) error {
			team, user, ok := strings.Cut(string(k), "/")
			var p Prefs
			if !ok || json.Unmarshal(v, &p) != nil || !p.ExpertDigest {
				return nil //nolint:nilerr // unreadable settings are skipped, as before
			}
			u := digestSME{TeamID: team, UserID: user, Prefs: p}
			_, err := store.GetJSON(tx, bucketDigests, smeStream(team, user), &u.state)
			out = append(out, u)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("notify: read expert digests: %w", err)
	}
	return out, nil
}

// expertDigests sends the weekly expert digests that are due. The SOE calls
// happen outside any transaction; the transaction that advances the week
// enqueues the digest (its id names the week: exactly once).
func (s *Service) expertDigests(ctx context.Context) error {
	users, err := s.smeDigestUsers(ctx)
	if err != nil {
		return err
	}
	var errs []error
	for _, u := range users {
		if err := s.expertDigest(ctx, u); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (s *Service) expertDigest(ctx context.Context, u digestSME) error {
	now := s.now().UTC()
	stream := smeStream(u.TeamID, u.UserID)
	loc := Location(u.TZ)
	st := u.state
	if st.Due.IsZero() || st.TZ != u.TZ {
		st = digestState{Kind: DigestSME, Target: Target{TeamID: u.TeamID, UserID: u.UserID, Reason: "digest"}, Cadence: CadenceWeekly,
			TZ: u.TZ, Start: PrevBoundary(CadenceWeekly, loc, now).UTC(), Due: NextBoundary(CadenceWeekly, loc, now).UTC()}
		return s.putState(ctx, stream, st, time.Time{}, nil)
	}
	if st.Due.After(now) {
		return nil
	}
	entries, site, err := s.unansweredForExpert(ctx, u.TeamID, u.UserID)
	if err != nil {
		s.log.WarnContext(ctx, "expert digest: reading Stack Overflow failed; will retry", "user", u.UserID, "err", err)
		return nil
	}
	var ev *Event
	if len(entries) > 0 {
		ev = &Event{ID: fmt.Sprintf("xdigest/%s/%s/%d", u.TeamID, u.UserID, st.Due.Unix()), Kind: EventDigest, Created: now,
			Digest: &Digest{Kind: DigestSME, Cadence: CadenceWeekly, TZ: u.TZ, Start: st.Start, End: st.Due,
				Unanswered: len(entries), NewQuestions: entries, SiteURL: site}}
	}
	due := st.Due
	st.Start, st.Due = st.Due, NextBoundary(CadenceWeekly, loc, now).UTC()
	return s.putState(ctx, stream, st, due, ev)
}

// putState saves a stream's state, if its due time is still wasDue (zero:
// no check), and enqueues ev (if any) in the same transaction.
func (s *Service) putState(ctx context.Context, stream string, st digestState, wasDue time.Time, ev *Event) error {
	queued := 0
	err := s.db.Update(ctx, func(tx store.Tx) error {
		if !wasDue.IsZero() {
			var cur digestState
			if _, err := store.GetJSON(tx, bucketDigests, stream, &cur); err != nil {
				return err
			}
			if !cur.Due.Equal(wasDue) {
				return nil // someone else closed this week
			}
		}
		if ev != nil {
			n, err := enqueueTx(tx, ev, []Target{st.Target}, s.now().UTC())
			if err != nil {
				return err
			}
			queued = n
		}
		return store.PutJSON(tx, bucketDigests, stream, &st)
	})
	if err != nil {
		return fmt.Errorf("notify: save digest %s: %w", stream, err)
	}
	if queued > 0 {
		s.wake()
	}
	return nil
}

// unansweredForExpert lists the unanswered questions in the user's SME tags
// on every scope they connected, oldest first, at most maxSMEDigest.
func (s *Service) unansweredForExpert(ctx context.Context, teamID, userID string) ([]DigestEntry, string, error) {
	ls, err := s.links.Links(ctx, teamID, userID)
	if err != nil {
		return nil, "", err
	}
	var all []soe.QuestionSummary
	for _, l := range ls {
		if !usable(l, s.now()) {
			continue
		}
		qs, err := s.scopeUnanswered(ctx, l)
		if err != nil {
			return nil, "", fmt.Errorf("scope %s: %w", l.Scope.Key(), err)
		}
		all = append(all, qs...)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].CreationDate.Before(all[j].CreationDate) })
	var out []DigestEntry
	site := ""
	for i := range all {
		if len(out) == maxSMEDigest {
			break
		}
		q := questionInfo(&all[i])
		site = firstNonEmpty(site, siteOf(q.URL))
		out = append(out, DigestEntry{QuestionID: q.ID, Title: q.Title, URL: q.URL, By: q.Owner.Name, At: all[i].CreationDate})
	}
	return out, site, nil
}

// scopeUnanswered reads, with l's token, the tags l's user is an SME of and
// the oldest unanswered questions in them.
func (s *Service) scopeUnanswered(ctx context.Context, l linking.Link) ([]soe.QuestionSummary, error) {
	c, err := s.links.ClientFor(ctx, l)
	if errors.Is(err, linking.ErrLinkInvalid) || errors.Is(err, linking.ErrNotLinked) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	dir, ok := s.people.(tagExperts)
	if !ok || l.SOEUserID == 0 {
		return nil, nil
	}
	yes, no := true, false
	tp, err := c.TagsPage(ctx, soe.TagListOptions{HasSMEs: &yes, PageSize: 100, Sort: "postCount", Order: soe.OrderDesc})
	if err != nil {
		return nil, err
	}
	var ids []int
	for i, t := range tp.Items {
		if i == maxSMEDigestTags {
			break
		}
		ex, err := dir.TagExperts(ctx, c, t.ID)
		switch {
		case errors.Is(err, soe.ErrSMEDisabled):
			return nil, nil
		case errors.Is(err, soe.ErrForbidden), errors.Is(err, soe.ErrNotFound):
			continue
		case err != nil:
			return nil, err
		}
		if ex.Has(l.SOEUserID) {
			ids = append(ids, t.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	qp, err := c.QuestionsPage(ctx, soe.QuestionListOptions{TagIDs: ids, IsAnswered: &no, Sort: soe.SortCreation, Order: soe.OrderAsc, PageSize: 15})
	if err != nil {
		return nil, err
	}
	return qp.Items, nil
}

// dropSMEStateTx forgets the expert digest's week (turned off: turning it
// on again starts at the next Monday).
func dropSMEStateTx(tx store.Tx, teamID, userID string) error {
	return tx.Bucket(bucketDigests).Delete([]byte(smeStream(teamID, userID)))
}
