package soe_test

import (
	"context"
	"errors"
	"testing"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

// The vote, bookmark and accept endpoints against the fake, every request
// and response checked against the OpenAPI document (newEnv), on the main
// site and in a private team (/teams/{team}/…).
func TestVotesBookmarksAccept(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, soefake.Options{}, soe.Config{})
	for _, scope := range []soe.Scope{soe.MainSite(), soe.TeamScope("platform")} {
		t.Run(scope.Key(), func(t *testing.T) {
			// alice (1) asks, carol (3) answers; dave (4) votes; all are in platform.
			qid := e.fake.AddQuestion(scope, 1, "How do we rotate the staging TLS certificates?", "By hand today.", "tls")
			aid := e.fake.AddAnswer(scope, qid, 3, "Use cert-manager.")
			client := func(uid int, scopes ...string) *soe.Client {
				return e.svc.Client(scope, e.fake.MintToken(uid, append(scopes, soe.ScopeAccessTeam)...))
			}
			alice, carol := client(1, soe.ScopeWriteAccess), client(3, soe.ScopeWriteAccess)
			dave, readOnly := client(4, soe.ScopeWriteAccess), client(4)

			q, err := dave.UpvoteQuestion(ctx, qid)
			if err != nil || q.ID != qid || q.Score != 1 {
				t.Fatalf("UpvoteQuestion = %+v, %v", q, err)
			}
			var pe *soe.ProblemError
			if _, err := dave.UpvoteQuestion(ctx, qid); !errors.As(err, &pe) || pe.Status != 400 {
				t.Fatalf("second upvote: %v", err)
			}
			if _, err := alice.UpvoteQuestion(ctx, qid); !errors.Is(err, soe.ErrForbidden) || errors.Is(err, soe.ErrWriteAccess) {
				t.Fatalf("own question upvote: %v", err)
			}
			if _, err := readOnly.UpvoteQuestion(ctx, qid); !errors.Is(err, soe.ErrWriteAccess) {
				t.Fatalf("read-only upvote: %v", err)
			}
			for range 2 { // bookmarking twice is fine
				if q, err := alice.BookmarkQuestion(ctx, qid); err != nil || q.ID != qid {
					t.Fatalf("BookmarkQuestion = %+v, %v", q, err)
				}
			}
			if !e.fake.Bookmarked(scope, qid, 1) {
				t.Fatal("not bookmarked")
			}
			a, err := dave.UpvoteAnswer(ctx, qid, aid)
			if err != nil || a.ID != aid || a.Score != 1 || a.IsAccepted {
				t.Fatalf("UpvoteAnswer = %+v, %v", a, err)
			}
			if _, err := carol.UpvoteAnswer(ctx, qid, aid); !errors.Is(err, soe.ErrForbidden) || errors.Is(err, soe.ErrWriteAccess) {
				t.Fatalf("own answer upvote: %v", err)
			}
			if _, err := dave.AcceptAnswer(ctx, qid, aid); !errors.Is(err, soe.ErrForbidden) || errors.Is(err, soe.ErrWriteAccess) {
				t.Fatalf("accept by someone else: %v", err)
			}
			if a, err := alice.AcceptAnswer(ctx, qid, aid); err != nil || !a.IsAccepted {
				t.Fatalf("AcceptAnswer = %+v, %v", a, err)
			}
			if q, _ := e.fake.QuestionByID(scope, qid); q.AcceptedAnswerID != aid {
				t.Fatalf("accepted = %d", q.AcceptedAnswerID)
			}
			if _, err := dave.UpvoteAnswer(ctx, qid, 999999); !errors.Is(err, soe.ErrNotFound) {
				t.Fatalf("missing answer: %v", err)
			}
			if _, err := dave.BookmarkQuestion(ctx, 999999); !errors.Is(err, soe.ErrNotFound) {
				t.Fatalf("missing question: %v", err)
			}
		})
	}
}
