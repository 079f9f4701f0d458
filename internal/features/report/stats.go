package report

import (
	"slices"
	"sort"
	"time"

	"github.com/soebot/soebot/internal/soe"
)

// Stats are a tag's figures over a window, computed from the questions SOE
// listed (pure: see computeStats).
type Stats struct {
	From, To time.Time
	Asked    int // questions created in the window
	Answered int // of them, with at least one answer
	Accepted int // of them, with an accepted answer (SOE's count)
	// MedianFirstAnswer is the median time from asking to the first answer
	// over FirstAnswerSample answered questions (0 when none).
	MedianFirstAnswer time.Duration
	FirstAnswerSample int
	// Oldest are the oldest unanswered questions, oldest first (at most 5).
	Oldest []soe.QuestionSummary
	// Weeks are the weekly counts, oldest first; the last week ends at To.
	Weeks []Week
	// Truncated is set when the window had more questions than a report reads.
	Truncated bool
}

// Week is one week of the chart.
type Week struct {
	Start           time.Time
	Asked, Answered int
}

// maxOldest is how many unanswered questions a report lists.
const maxOldest = 5

// computeStats counts qs (the questions of the window) and the first-answer
// times of some of them (question id → first answer's creation).
func computeStats(qs []soe.QuestionSummary, accepted int, firstAnswer map[int]time.Time, from, to time.Time) Stats {
	st := Stats{From: from, To: to, Asked: len(qs), Accepted: accepted}
	nWeeks := max(1, int((to.Sub(from)+7*24*time.Hour-1)/(7*24*time.Hour)))
	st.Weeks = make([]Week, nWeeks)
	for i := range st.Weeks {
		st.Weeks[i].Start = to.Add(-time.Duration(nWeeks-i) * 7 * 24 * time.Hour)
	}
	var unanswered []soe.QuestionSummary
	for _, q := range qs {
		w := nWeeks - 1 - int(to.Sub(q.CreationDate)/(7*24*time.Hour))
		w = min(max(w, 0), nWeeks-1)
		st.Weeks[w].Asked++
		if q.AnswerCount > 0 {
			st.Answered++
			st.Weeks[w].Answered++
		} else {
			unanswered = append(unanswered, q)
		}
	}
	slices.SortStableFunc(unanswered, func(a, b soe.QuestionSummary) int { return a.CreationDate.Compare(b.CreationDate) })
	st.Oldest = unanswered[:min(len(unanswered), maxOldest)]
	var waits []time.Duration
	for _, q := range qs {
		if at, ok := firstAnswer[q.ID]; ok {
			waits = append(waits, max(0, at.Sub(q.CreationDate)))
		}
	}
	st.FirstAnswerSample = len(waits)
	st.MedianFirstAnswer = median(waits)
	return st
}

// median of ds (the mean of the two middle values for an even count).
func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// sampleAnswered picks at most n answered questions, evenly spread over qs
// (in their order), for the first-answer times.
func sampleAnswered(qs []soe.QuestionSummary, n int) []soe.QuestionSummary {
	var answered []soe.QuestionSummary
	for _, q := range qs {
		if q.AnswerCount > 0 {
			answered = append(answered, q)
		}
	}
	if len(answered) <= n {
		return answered
	}
	out := make([]soe.QuestionSummary, 0, n)
	for i := range n {
		out = append(out, answered[i*len(answered)/n])
	}
	return out
}

// percent is part of whole in whole percent (0 when whole is 0).
func percent(part, whole int) int {
	if whole == 0 {
		return 0
	}
	return (part*100 + whole/2) / whole
}
