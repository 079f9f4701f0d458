package soefake

import (
	"net/http"

	"github.com/soebot/soebot/internal/soe"
)

// Votes, bookmarks and accepting answers, as the OpenAPI document has them:
// POST /questions/{id}/upvote (200 QuestionResponseModel), POST
// /questions/{id}/bookmark (201 QuestionResponseModel), POST
// /questions/{qid}/answers/{aid}/upvote and …/accept (200
// AnswerSummaryResponseModel); refusals are 403 or 400 ProblemDetails, a
// missing post 404. SOE decides who may: nobody votes on their own post,
// nobody votes twice, only the asker accepts.

// voteBook is who voted for and bookmarked what, per scope.
type voteBook struct {
	upvotes   map[voteKey]bool
	bookmarks map[voteKey]bool
}

type voteKey struct {
	scope  string
	kind   string // "q" or "a"
	postID int
	userID int
}

func (s *Server) votesLocked() *voteBook {
	if s.votes == nil {
		s.votes = &voteBook{upvotes: map[voteKey]bool{}, bookmarks: map[voteKey]bool{}}
	}
	return s.votes
}

// voteRouteLocked answers the vote, bookmark and accept endpoints; it
// reports whether rest was one of them.
func (s *Server) voteRouteLocked(w http.ResponseWriter, c *apiCtx, method string, segs []string, id func(int) (int, bool)) bool {
	n := len(segs)
	if method != http.MethodPost || segs[0] != "questions" {
		return false
	}
	switch {
	case n == 3 && (segs[2] == "upvote" || segs[2] == "bookmark"):
		qid, ok := id(1)
		if !ok {
			return true
		}
		s.questionVoteLocked(w, c, qid, segs[2])
	case n == 5 && segs[2] == "answers" && (segs[4] == "upvote" || segs[4] == "accept"):
		qid, ok := id(1)
		if !ok {
			return true
		}
		aid, ok := id(3)
		if !ok {
			return true
		}
		s.answerVoteLocked(w, c, qid, aid, segs[4])
	default:
		return false
	}
	return true
}

func (s *Server) questionVoteLocked(w http.ResponseWriter, c *apiCtx, qid int, verb string) {
	q := c.site.questions[qid]
	if q == nil {
		notFound(w, "Question", qid)
		return
	}
	vb := s.votesLocked()
	k := voteKey{scope: c.scope.Key(), kind: "q", postID: qid, userID: c.user.ID}
	status := http.StatusOK
	if verb == "bookmark" {
		vb.bookmarks[k] = true // bookmarking twice keeps one bookmark
		status = http.StatusCreated
	} else {
		switch {
		case q.AuthorID == c.user.ID:
			forbidden(w, "You cannot vote on your own post.")
			return
		case vb.upvotes[k]:
			writeProblem(w, http.StatusBadRequest, "/v3/errors/votes/already-voted", "Vote not cast",
				"You have already upvoted this question.")
			return
		}
		vb.upvotes[k] = true
		q.Score++
	}
	f := s.questionFull(c.site, q)
	f.UserHasUpvoted, f.UserHasBookmarked = vb.upvotes[k], vb.bookmarks[k]
	writeJSON(w, status, f)
}

func (s *Server) answerVoteLocked(w http.ResponseWriter, c *apiCtx, qid, aid int, verb string) {
	q, a := c.site.questions[qid], c.site.answers[aid]
	if q == nil || a == nil || a.QuestionID != qid {
		notFound(w, "Answer", aid)
		return
	}
	vb := s.votesLocked()
	k := voteKey{scope: c.scope.Key(), kind: "a", postID: aid, userID: c.user.ID}
	switch {
	case verb == "accept" && q.AuthorID != c.user.ID:
		forbidden(w, "Only the person who asked the question can accept an answer.")
		return
	case verb == "accept":
		q.AcceptedAnswerID = aid
		q.LastActivity = c.now
	case a.AuthorID == c.user.ID:
		forbidden(w, "You cannot vote on your own post.")
		return
	case vb.upvotes[k]:
		writeProblem(w, http.StatusBadRequest, "/v3/errors/votes/already-voted", "Vote not cast",
			"You have already upvoted this answer.")
		return
	default:
		vb.upvotes[k] = true
		a.Score++
	}
	writeJSON(w, http.StatusOK, s.answerJSON(c.site, a))
}

// Bookmarked reports whether userID bookmarked the question.
func (s *Server) Bookmarked(scope soe.Scope, questionID, userID int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.votesLocked().bookmarks[voteKey{scope: scope.Key(), kind: "q", postID: questionID, userID: userID}]
}

// AnswerScore is the score of an answer (0 when unknown).
func (s *Server) AnswerScore(scope soe.Scope, answerID int) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st := s.sites[scope.Key()]; st != nil && st.answers[answerID] != nil {
		return st.answers[answerID].Score
	}
	return 0
}
