package soe_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

func TestScope(t *testing.T) {
	tests := []struct {
		s        soe.Scope
		key, str string
		team     bool
	}{
		{soe.MainSite(), "main", "main site", false},
		{soe.TeamScope("platform"), "team:platform", "team platform", true},
	}
	for _, tc := range tests {
		if tc.s.Key() != tc.key || tc.s.String() != tc.str || tc.s.IsTeam() != tc.team {
			t.Errorf("%#v: %q %q %v", tc.s, tc.s.Key(), tc.s.String(), tc.s.IsTeam())
		}
		back, err := soe.ParseScopeKey(tc.key)
		if err != nil || back != tc.s {
			t.Errorf("ParseScopeKey(%q) = %v, %v", tc.key, back, err)
		}
	}
	for _, bad := range []string{"", "team:", "Main", "team:a/b", "x:y"} {
		if _, err := soe.ParseScopeKey(bad); err == nil {
			t.Errorf("ParseScopeKey(%q) accepted", bad)
		}
	}
}

func TestClientCalls(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	var seen []string
	e := newEnv(t, soefake.Options{}, soe.Config{OnResponse: func(m, p string, st int, d time.Duration) {
		mu.Lock()
		defer mu.Unlock()
		if d <= 0 {
			t.Errorf("%s %s: duration %v", m, p, d)
		}
		seen = append(seen, fmt.Sprintf("%s %s %d", m, p, st))
	}})
	alice := e.svc.Client(soe.MainSite(), e.fake.MintToken(1, soe.ScopeWriteAccess, soe.ScopeAccessTeam))
	heidi := e.svc.Client(soe.MainSite(), e.fake.MintToken(8))
	team := e.svc.Client(soe.TeamScope("platform"), e.fake.MintToken(1, soe.ScopeWriteAccess, soe.ScopeAccessTeam))

	t.Run("users", func(t *testing.T) {
		me, err := alice.Me(ctx)
		if err != nil || me.ID != 1 || me.Name != "Alice Anderson" || me.Email != "alice@acme.example" ||
			me.Department != "Platform Engineering" || me.AccountID == nil || me.Role != "Registered" {
			t.Fatalf("Me = %+v, %v", me, err)
		}
		bob, err := alice.User(ctx, 2)
		if err != nil || bob.Name != "Bob Brown" || bob.Email != "" {
			t.Fatalf("User(2) = %+v, %v (email must be hidden)", bob, err)
		}
		byMail, err := heidi.UserByEmail(ctx, "carol@acme.example")
		if err != nil || byMail.ID != 3 || byMail.Email != "carol@acme.example" {
			t.Fatalf("UserByEmail = %+v, %v", byMail, err)
		}
		if _, err := alice.UserByEmail(ctx, "carol@acme.example"); !errors.Is(err, soe.ErrForbidden) || errors.Is(err, soe.ErrWriteAccess) {
			t.Fatalf("non-admin UserByEmail: %v", err)
		}
		if _, err := alice.User(ctx, 4242); !errors.Is(err, soe.ErrNotFound) {
			t.Fatalf("missing user: %v", err)
		}
		g, err := alice.UserGroup(ctx, 1)
		if err != nil || g.Name != "Platform Team" || len(g.Users) != 2 || g.Users[0].Name != "Carol Chen" {
			t.Fatalf("UserGroup = %+v, %v", g, err)
		}
	})

	t.Run("questions", func(t *testing.T) {
		p, err := alice.QuestionsPage(ctx, soe.QuestionListOptions{PageSize: 30, Sort: soe.SortCreation, Order: soe.OrderDesc})
		if err != nil || p.TotalCount < 20 || p.PageSize != 30 || p.Sort != "creation" || p.Order != "desc" || len(p.Items) == 0 {
			t.Fatalf("QuestionsPage = %+v, %v", p, err)
		}
		for i := 1; i < len(p.Items); i++ {
			if p.Items[i].CreationDate.After(p.Items[i-1].CreationDate) {
				t.Fatal("not sorted by creation desc")
			}
		}
		first := p.Items[len(p.Items)-1]
		if first.Owner == nil || first.WebURL == "" || first.ShareURL == "" || len(first.Tags) == 0 || first.LastActivityDate == nil {
			t.Fatalf("summary fields: %+v", first)
		}
		tag, _, err := alice.TagByName(ctx, "terraform")
		if err != nil {
			t.Fatal(err)
		}
		unanswered, err := alice.QuestionsPage(ctx, soe.QuestionListOptions{TagIDs: []int{tag.ID}, IsAnswered: ptr(false),
			HasAcceptedAnswer: ptr(false), AuthorID: 2, From: time.Now().AddDate(-1, 0, 0), To: time.Now()})
		if err != nil || unanswered.TotalCount != 1 || unanswered.Items[0].Title != "How do we store Terraform state securely in S3?" {
			t.Fatalf("filtered = %+v, %v", unanswered, err)
		}
		q, err := alice.Question(ctx, first.ID)
		if err != nil || q.ID != first.ID || q.BodyMarkdown == "" || !strings.Contains(q.Body, "<p>") {
			t.Fatalf("Question = %+v, %v", q, err)
		}
		if _, err := alice.Question(ctx, 999999); !errors.Is(err, soe.ErrNotFound) {
			t.Fatalf("missing question: %v", err)
		}
	})

	t.Run("create question", func(t *testing.T) {
		in := soe.QuestionInput{Title: "How do I debug DNS failures inside a pod?", Body: "`nslookup` times out.\n\nAny ideas?", Tags: []string{"kubernetes", "dns"}}
		q, err := alice.CreateQuestion(ctx, in)
		if err != nil || q.ID == 0 || q.Owner.ID != 1 || q.BodyMarkdown != in.Body || strings.Join(q.TagNames(), ",") != "kubernetes,dns" {
			t.Fatalf("CreateQuestion = %+v, %v", q, err)
		}
		fq, ok := e.fake.QuestionByID(soe.MainSite(), q.ID)
		if !ok || fq.Title != in.Title || fq.AuthorID != 1 {
			t.Fatalf("fake has %+v", fq)
		}
		tq, err := team.CreateQuestion(ctx, soe.QuestionInput{Title: "Where is the platform on-call calendar?", Body: "Looking for it.", Tags: []string{"runbooks"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := e.fake.QuestionByID(soe.TeamScope("platform"), tq.ID); !ok {
			t.Fatal("team question not stored in the team")
		}
		// Client-side validation happens before any request.
		for _, bad := range []soe.QuestionInput{
			{Title: "", Body: "b", Tags: []string{"go"}},
			{Title: strings.Repeat("t", 151), Body: "b", Tags: []string{"go"}},
			{Title: "A fine title for a question", Body: "b"},
			{Title: "A fine title for a question", Body: "b", Tags: []string{"a", "b", "c", "d", "e", "f"}},
			{Title: "A fine title for a question", Body: "b", Tags: []string{"c/c"}},
		} {
			var pe *soe.ProblemError
			if _, err := alice.CreateQuestion(ctx, bad); !errors.As(err, &pe) || len(pe.Errors) == 0 {
				t.Errorf("CreateQuestion(%+v) = %v", bad, err)
			}
		}
	})

	t.Run("answers", func(t *testing.T) {
		qid := e.fake.AddQuestion(soe.MainSite(), 2, "Why does helm upgrade hang on pre-upgrade hooks?", "It hangs.", "kubernetes", "helm")
		for i, who := range []int{3, 4, 1} {
			e.fake.AddAnswer(soe.MainSite(), qid, who, fmt.Sprintf("Answer number %d", i+1))
		}
		var ids []int
		for a, err := range alice.Answers(ctx, qid, soe.AnswerListOptions{Sort: soe.SortCreation, Order: soe.OrderAsc}) {
			if err != nil {
				t.Fatal(err)
			}
			if a.QuestionID != qid || a.Owner == nil || a.WebURL == "" || a.ShareLink == "" {
				t.Fatalf("answer %+v", a)
			}
			ids = append(ids, a.ID)
		}
		if len(ids) != 3 || !slices.IsSorted(ids) {
			t.Fatalf("answers %v", ids)
		}
		e.fake.AcceptAnswer(soe.MainSite(), qid, ids[1])
		a, err := alice.Answer(ctx, qid, ids[1])
		if err != nil || !a.IsAccepted || a.BodyMarkdown != "Answer number 2" {
			t.Fatalf("Answer = %+v, %v", a, err)
		}
		created, err := alice.CreateAnswer(ctx, qid, "Try `--debug`.")
		if err != nil || created.QuestionID != qid {
			t.Fatalf("CreateAnswer = %+v, %v", created, err)
		}
		q, _ := alice.Question(ctx, qid)
		if q.AnswerCount != 4 || !q.IsAnswered {
			t.Fatalf("question after answers: %+v", q.QuestionSummary)
		}
		pg, err := alice.AnswersPage(ctx, qid, soe.AnswerListOptions{PageSize: 15})
		if err != nil || pg.TotalCount != 4 {
			t.Fatalf("AnswersPage = %+v, %v", pg, err)
		}
	})

	t.Run("tags", func(t *testing.T) {
		k8s, sugg, err := alice.TagByName(ctx, "Kubernetes")
		if err != nil || k8s.Name != "kubernetes" || sugg != nil || *k8s.SubjectMatterExpertCount != 4 || k8s.WatcherCount != 4 {
			t.Fatalf("TagByName = %+v %v %v", k8s, sugg, err)
		}
		_, sugg, err = alice.TagByName(ctx, "kubernets")
		if !errors.Is(err, soe.ErrNotFound) || len(sugg) == 0 || sugg[0] != "kubernetes" || len(sugg) > 5 {
			t.Fatalf("typo: %v %v", sugg, err)
		}
		_, sugg, err = alice.TagByName(ctx, "kube")
		if !errors.Is(err, soe.ErrNotFound) || !slices.Contains(sugg, "kubectl") || !slices.Contains(sugg, "kubernetes") {
			t.Fatalf("partial: %v %v", sugg, err)
		}
		if _, sugg, err = alice.TagByName(ctx, "cobol"); !errors.Is(err, soe.ErrNotFound) || len(sugg) != 0 {
			t.Fatalf("unknown: %v %v", sugg, err)
		}
		full, err := alice.Tag(ctx, k8s.ID)
		if err != nil || full.SubjectMatterExperts == nil || len(full.SubjectMatterExperts.AllUsers()) != 4 {
			t.Fatalf("Tag = %+v, %v", full, err)
		}
		smes, err := alice.SubjectMatterExperts(ctx, k8s.ID)
		if err != nil || len(smes.Users) != 2 || len(smes.UserGroups) != 1 || smes.UserGroups[0].Name != "Platform Team" {
			t.Fatalf("SMEs = %+v, %v", smes, err)
		}
		tf, _, _ := alice.TagByName(ctx, "terraform")
		w, err := alice.TagWatchers(ctx, tf.ID)
		if err != nil || len(w) != 3 {
			t.Fatalf("TagWatchers = %v, %v", w, err)
		}
		none, err := alice.SubjectMatterExperts(ctx, tf.ID)
		if err != nil || len(none.Users)+len(none.UserGroups) != 0 {
			t.Fatalf("terraform SMEs = %+v, %v", none, err)
		}
		withSMEs, err := alice.TagsPage(ctx, soe.TagListOptions{HasSMEs: ptr(true), PageSize: 100, Sort: "name", Order: "asc"})
		if err != nil || slices.ContainsFunc(withSMEs.Items, func(t soe.TagSummary) bool { return t.Name == "terraform" }) {
			t.Fatalf("hasSmes filter: %v", err)
		}
		e.fake.SetSMEsEnabled(false)
		defer e.fake.SetSMEsEnabled(true)
		if _, err := alice.SubjectMatterExperts(ctx, k8s.ID); !errors.Is(err, soe.ErrSMEDisabled) {
			t.Fatalf("SMEs off: %v", err)
		}
		k, _, _ := alice.TagByName(ctx, "kubernetes")
		if k.SubjectMatterExpertCount != nil {
			t.Fatal("SME count should be nil when disabled")
		}
		// Team tags differ: kubernetes in platform has SME carol only.
		e.fake.SetSMEsEnabled(true)
		tk, _, err := team.TagByName(ctx, "kubernetes")
		if err != nil {
			t.Fatal(err)
		}
		ts, err := team.SubjectMatterExperts(ctx, tk.ID)
		if err != nil || len(ts.Users) != 1 || ts.Users[0].Name != "Carol Chen" {
			t.Fatalf("team SMEs = %+v, %v", ts, err)
		}
	})

	t.Run("search, articles, communities", func(t *testing.T) {
		res, err := alice.Search(ctx, soe.SearchOptions{Query: "kubernetes", PageSize: 50, Sort: soe.SortRelevance})
		if err != nil || res.TotalCount == 0 {
			t.Fatalf("Search = %+v, %v", res, err)
		}
		kinds := map[string]soe.SearchResult{}
		for _, r := range res.Items {
			if r.ID == 0 || r.Title == "" || r.WebURL == "" || r.Owner == nil {
				t.Fatalf("result %+v", r)
			}
			kinds[r.Type] = r
		}
		if a, ok := kinds["answer"]; !ok || a.ParentQuestionID == 0 || a.QuestionID() != a.ParentQuestionID {
			t.Fatalf("answer result: %+v", a)
		}
		art, ok := kinds["article"]
		if !ok {
			t.Fatal("no article result")
		}
		got, err := alice.Article(ctx, art.ID)
		if err != nil || got.Title != art.Title || got.Type != "knowledgeArticle" || got.Owner == nil {
			t.Fatalf("Article = %+v, %v", got, err)
		}
		cs, err := alice.Communities(ctx)
		if err != nil || len(cs) != 3 || cs[0].Name != "Cloud Native" || cs[0].MemberCount != 5 {
			t.Fatalf("Communities = %+v, %v", cs, err)
		}
		// Communities live on the main site even for a team client.
		if cs, err := team.Communities(ctx); err != nil || len(cs) != 3 {
			t.Fatalf("team Communities = %v, %v", cs, err)
		}
		cm, err := team.Community(ctx, cs[0].ID)
		if err != nil || cm.Name != "Cloud Native" || len(cm.Tags) != len(cs[0].Tags) || cm.MemberCount != 5 {
			t.Fatalf("Community = %+v, %v", cm, err)
		}
		if _, err := alice.Community(ctx, 999); !errors.Is(err, soe.ErrNotFound) {
			t.Fatalf("Community(999) = %v, want ErrNotFound", err)
		}
	})

	t.Run("page size is checked before any request", func(t *testing.T) {
		before := len(e.fake.Requests())
		_, err1 := alice.QuestionsPage(ctx, soe.QuestionListOptions{PageSize: 20})
		_, err2 := alice.AnswersPage(ctx, 110, soe.AnswerListOptions{PageSize: 10})
		_, err3 := alice.TagsPage(ctx, soe.TagListOptions{PageSize: 101})
		_, err4 := alice.Search(ctx, soe.SearchOptions{PageSize: -1})
		var err5 error
		for _, err := range alice.Questions(ctx, soe.QuestionListOptions{PageSize: 25}) {
			err5 = err
		}
		for i, err := range []error{err1, err2, err3, err4, err5} {
			if !errors.Is(err, soe.ErrBadPageSize) {
				t.Errorf("call %d: %v", i+1, err)
			}
		}
		if after := len(e.fake.Requests()); after != before {
			t.Fatalf("%d requests sent", after-before)
		}
	})

	mu.Lock()
	defer mu.Unlock()
	for _, s := range seen {
		if strings.ContainsAny(strings.Split(s, " ")[1], "0123456789@") {
			t.Errorf("OnResponse path is not a template: %s", s)
		}
	}
	if !slices.Contains(seen, "GET /questions/{id} 200") {
		t.Errorf("OnResponse saw %v", seen)
	}
}

func TestQuestionsIteratorWalksAllPages(t *testing.T) {
	e := newEnv(t, soefake.Options{}, soe.Config{})
	tok := e.fake.MintToken(1)
	c := e.svc.Client(soe.MainSite(), tok)
	for i := range 12 {
		e.fake.AddQuestion(soe.MainSite(), 1, fmt.Sprintf("Generated question number %02d about caching", i), "Body.", "go")
	}
	since := time.Now()
	seen := map[int]bool{}
	for q, err := range c.Questions(context.Background(), soe.QuestionListOptions{PageSize: 15, Sort: soe.SortCreation, Order: soe.OrderAsc}) {
		if err != nil {
			t.Fatal(err)
		}
		if seen[q.ID] {
			t.Fatalf("question %d twice", q.ID)
		}
		seen[q.ID] = true
	}
	if len(seen) != 33 { // 21 seeded + 12
		t.Fatalf("iterated %d questions", len(seen))
	}
	if n := e.fake.RequestCount(tok, since); n != 3 {
		t.Fatalf("%d page requests, want 3", n)
	}
	// Stopping early stops fetching.
	since = time.Now()
	n := 0
	for _, err := range c.Questions(context.Background(), soe.QuestionListOptions{PageSize: 15}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 16 {
			break
		}
	}
	if got := e.fake.RequestCount(tok, since); got != 2 {
		t.Fatalf("early break made %d requests", got)
	}
}

func TestErrorsFromFake(t *testing.T) {
	ctx := context.Background()
	e := newEnv(t, soefake.Options{}, soe.Config{})
	readOnly := e.svc.Client(soe.MainSite(), e.fake.MintToken(1))
	in := soe.QuestionInput{Title: "Is this question going to be created?", Body: "No.", Tags: []string{"go"}}
	_, err := readOnly.CreateQuestion(ctx, in)
	if !errors.Is(err, soe.ErrWriteAccess) || !errors.Is(err, soe.ErrForbidden) {
		t.Fatalf("read-only create: %v", err)
	}
	var pe *soe.ProblemError
	if !errors.As(err, &pe) || !strings.Contains(err.Error(), "write access") {
		t.Fatalf("problem: %v", err)
	}

	noTeam := e.svc.Client(soe.TeamScope("platform"), e.fake.MintToken(1))
	if _, err := noTeam.Me(ctx); !errors.Is(err, soe.ErrForbidden) || errors.Is(err, soe.ErrWriteAccess) {
		t.Fatalf("team without access_team: %v", err)
	}
	notMember := e.svc.Client(soe.TeamScope("platform"), e.fake.MintToken(2, soe.ScopeAccessTeam))
	if _, err := notMember.Me(ctx); !errors.Is(err, soe.ErrForbidden) {
		t.Fatalf("non-member: %v", err)
	}

	tok := e.fake.MintToken(1)
	c := e.svc.Client(soe.MainSite(), tok)
	if _, err := c.Me(ctx); err != nil {
		t.Fatal(err)
	}
	e.fake.RevokeToken(tok)
	_, err = c.Me(ctx)
	if !errors.Is(err, soe.ErrUnauthorized) || soe.Temporary(err) {
		t.Fatalf("revoked: %v", err)
	}
	exp := e.fake.MintToken(1, soe.ScopeNoExpiry)
	e.fake.ExpireToken(exp)
	if _, err := e.svc.Client(soe.MainSite(), exp).Me(ctx); !errors.Is(err, soe.ErrUnauthorized) {
		t.Fatalf("expired: %v", err)
	}
	before := len(e.fake.Requests())
	if _, err := e.svc.Client(soe.MainSite(), "").Me(ctx); !errors.Is(err, soe.ErrUnauthorized) {
		t.Fatalf("empty token: %v", err)
	}
	if len(e.fake.Requests()) != before {
		t.Fatal("request sent without a token")
	}
}

// canned serves fixed responses for the error-mapping table.
func canned(status int, header map[string]string, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func TestErrorMapping(t *testing.T) {
	const token = "s3cr3t-t0ken-value"
	tests := []struct {
		name      string
		post      bool
		status    int
		header    map[string]string
		body      string
		is        []error
		isNot     []error
		temporary bool
		check     func(t *testing.T, err error)
	}{
		{name: "401 text/plain", status: 401, header: map[string]string{"Content-Type": "text/plain"}, body: "Invalid access token",
			is: []error{soe.ErrUnauthorized}, isNot: []error{soe.ErrForbidden}},
		{name: "403 on GET", status: 403, header: map[string]string{"Content-Type": "application/json"},
			body: `{"type":"/v3/errors/forbidden","title":"Forbidden Action","status":403}`,
			is:   []error{soe.ErrForbidden}, isNot: []error{soe.ErrWriteAccess}},
		{name: "403 on POST is write access", post: true, status: 403, body: `{"type":"/v3/errors/forbidden","title":"Forbidden Action","status":403}`,
			is: []error{soe.ErrForbidden, soe.ErrWriteAccess}},
		{name: "403 on POST for another reason", post: true, status: 403,
			body: `{"title":"Forbidden Action","status":403,"detail":"Only moderators can do that."}`,
			is:   []error{soe.ErrForbidden}, isNot: []error{soe.ErrWriteAccess}},
		{name: "404 problem+json", status: 404, header: map[string]string{"Content-Type": "application/problem+json"},
			body: `{"type":"/v3/errors/user/not-found","title":"User not found","status":404,"detail":"User ID 40000 not found"}`,
			is:   []error{soe.ErrNotFound},
			check: func(t *testing.T, err error) {
				if !strings.Contains(err.Error(), "User ID 40000 not found") {
					t.Errorf("message %q", err)
				}
			}},
		{name: "404 non-JSON", status: 404, body: "<html>Page not found</html>", is: []error{soe.ErrNotFound}},
		{name: "422 no content type", status: 422, body: `{"title":"Subject matter experts feature not enabled","status":422}`,
			is: []error{soe.ErrSMEDisabled}},
		{name: "400 field errors", post: true, status: 400,
			body:  `{"errors":{"Title":["The Title field is required."],"Tags":["At least one tag is required."]},"type":"https://tools.ietf.org/html/rfc7231#section-6.5.1","title":"One or more validation errors occurred.","status":400,"traceId":"00-abc-01"}`,
			isNot: []error{soe.ErrForbidden, soe.ErrNotFound},
			check: func(t *testing.T, err error) {
				var pe *soe.ProblemError
				if !errors.As(err, &pe) || pe.Status != 400 || pe.TraceID != "00-abc-01" || len(pe.Errors["Title"]) != 1 || len(pe.Errors["Tags"]) != 1 {
					t.Fatalf("problem %#v", pe)
				}
				if !strings.Contains(err.Error(), "The Title field is required.") {
					t.Errorf("message %q lacks field errors", err)
				}
			}},
		{name: "429 with throttle headers", post: true, status: 429,
			header: map[string]string{"x-burst-throttle-calls-left": "0", "x-burst-throttle-seconds-until-full": "2", "x-token-bucket-calls-left": "4000"},
			body:   `{"title":"Too many requests","status":429}`, temporary: true,
			check: func(t *testing.T, err error) {
				var rl *soe.RateLimitError
				if !errors.As(err, &rl) || rl.RetryAfter != 2*time.Second {
					t.Fatalf("rate limit %#v", rl)
				}
			}},
		{name: "429 bucket empty", post: true, status: 429,
			header:    map[string]string{"x-token-bucket-calls-left": "0", "x-token-bucket-seconds-until-next-refill": "37"},
			temporary: true,
			check: func(t *testing.T, err error) {
				var rl *soe.RateLimitError
				if !errors.As(err, &rl) || rl.RetryAfter != 37*time.Second {
					t.Fatalf("rate limit %#v", rl)
				}
			}},
		{name: "500 echoing the token", post: true, status: 500, body: "upstream failed for Bearer " + token, temporary: true,
			check: func(t *testing.T, err error) {
				var se *soe.StatusError
				if !errors.As(err, &se) || se.Status != 500 {
					t.Fatalf("status error %#v", se)
				}
			}},
		{name: "400 problem echoing the token", status: 400, body: `{"title":"bad token ` + token + `","status":400}`},
		{name: "garbage 2xx body", status: 200, body: `{"id": "not a number"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(canned(tc.status, tc.header, tc.body))
			defer srv.Close()
			logs := &syncBuffer{}
			svc := soe.NewService(soe.Config{APIURL: srv.URL, MaxRetries: 1, MaxRateLimitWait: -1,
				Logger: slogText(logs)})
			c := svc.Client(soe.MainSite(), token)
			var err error
			if tc.post {
				_, err = c.CreateQuestion(context.Background(), soe.QuestionInput{Title: "A valid title for a question", Body: "b", Tags: []string{"go"}})
			} else {
				_, err = c.Me(context.Background())
			}
			if err == nil {
				t.Fatal("no error")
			}
			for _, target := range tc.is {
				if !errors.Is(err, target) {
					t.Errorf("not %v: %v", target, err)
				}
			}
			for _, target := range tc.isNot {
				if errors.Is(err, target) {
					t.Errorf("unexpectedly %v: %v", target, err)
				}
			}
			if soe.Temporary(err) != tc.temporary {
				t.Errorf("Temporary = %v for %v", !tc.temporary, err)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(fmt.Sprintf("%#v", err), token) || strings.Contains(logs.String(), token) {
				t.Fatalf("token leaked: %v / %s", err, logs.String())
			}
			if tc.check != nil {
				tc.check(t, err)
			}
		})
	}
}

func TestRetries(t *testing.T) {
	ctx := context.Background()
	t.Run("GET 503 tried 3 times", func(t *testing.T) {
		e := newEnv(t, soefake.Options{}, soe.Config{})
		tok := e.fake.MintToken(1)
		e.fake.SetFaults(soefake.Faults{ErrorRate: 1})
		since := time.Now()
		_, err := e.svc.Client(soe.MainSite(), tok).Me(ctx)
		if !soe.Temporary(err) || e.fake.RequestCount(tok, since) != 3 {
			t.Fatalf("err %v after %d tries", err, e.fake.RequestCount(tok, since))
		}
	})
	t.Run("GET dropped connections tried 3 times", func(t *testing.T) {
		e := newEnv(t, soefake.Options{}, soe.Config{})
		tok := e.fake.MintToken(1)
		e.fake.SetFaults(soefake.Faults{DropRate: 1})
		since := time.Now()
		_, err := e.svc.Client(soe.MainSite(), tok).Me(ctx)
		if !soe.Temporary(err) || e.fake.RequestCount(tok, since) != 3 {
			t.Fatalf("err %v after %d tries", err, e.fake.RequestCount(tok, since))
		}
	})
	t.Run("POST never retried", func(t *testing.T) {
		for _, f := range []soefake.Faults{{ErrorRate: 1}, {DropRate: 1}, {Force429: 1}, {Status: map[string]int{"POST /questions": 502}}} {
			e := newEnv(t, soefake.Options{}, soe.Config{})
			tok := e.fake.MintToken(1, soe.ScopeWriteAccess)
			e.fake.SetFaults(f)
			since := time.Now()
			_, err := e.svc.Client(soe.MainSite(), tok).CreateQuestion(ctx, soe.QuestionInput{Title: "Will this be posted twice by retries?", Body: "No.", Tags: []string{"go"}})
			if err == nil || !soe.Temporary(err) {
				t.Fatalf("%+v: %v", f, err)
			}
			posts := 0
			for _, r := range e.fake.Requests() {
				if r.Method == http.MethodPost && !r.Time.Before(since) {
					posts++
				}
			}
			if posts != 1 {
				t.Fatalf("%+v: fake saw %d POSTs", f, posts)
			}
		}
	})
	t.Run("GET recovers after a 503", func(t *testing.T) {
		var n atomic.Int32
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			if n.Add(1) == 1 {
				w.WriteHeader(http.StatusServiceUnavailable)
				return
			}
			_, _ = w.Write([]byte(`{"id":7,"name":"Grace"}`))
		}))
		defer srv.Close()
		svc := soe.NewService(soe.Config{APIURL: srv.URL, RetryBackoff: time.Millisecond})
		u, err := svc.Client(soe.MainSite(), "t").Me(ctx)
		if err != nil || u.ID != 7 || n.Load() != 2 {
			t.Fatalf("%+v %v after %d", u, err, n.Load())
		}
	})
	t.Run("GET waits out a 429 and retries", func(t *testing.T) {
		e := newEnv(t, soefake.Options{}, soe.Config{})
		tok := e.fake.MintToken(1)
		e.fake.SetFaults(soefake.Faults{Force429: 1})
		start := time.Now()
		me, err := e.svc.Client(soe.MainSite(), tok).Me(ctx)
		if err != nil || me.ID != 1 || time.Since(start) < 900*time.Millisecond {
			t.Fatalf("%v after %v", err, time.Since(start))
		}
	})
	t.Run("429 wait longer than MaxRateLimitWait returns RateLimitError", func(t *testing.T) {
		e := newEnv(t, soefake.Options{}, soe.Config{MaxRateLimitWait: 100 * time.Millisecond})
		tok := e.fake.MintToken(1)
		e.fake.SetFaults(soefake.Faults{Force429: 1})
		since := time.Now()
		_, err := e.svc.Client(soe.MainSite(), tok).Me(ctx)
		var rl *soe.RateLimitError
		if !errors.As(err, &rl) || rl.RetryAfter != time.Second || e.fake.RequestCount(tok, since) != 1 {
			t.Fatalf("%v", err)
		}
	})
	t.Run("context honoured during backoff", func(t *testing.T) {
		e := newEnv(t, soefake.Options{}, soe.Config{RetryBackoff: 5 * time.Second, MaxRetryBackoff: 5 * time.Second})
		tok := e.fake.MintToken(1)
		e.fake.SetFaults(soefake.Faults{ErrorRate: 1})
		cctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := e.svc.Client(soe.MainSite(), tok).Me(cctx)
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) > 2*time.Second {
			t.Fatalf("%v after %v", err, time.Since(start))
		}
	})
	t.Run("context cancelled is not temporary", func(t *testing.T) {
		e := newEnv(t, soefake.Options{}, soe.Config{})
		e.fake.SetFaults(soefake.Faults{Latency: time.Second})
		cctx, cancel := context.WithCancel(ctx)
		time.AfterFunc(50*time.Millisecond, cancel)
		_, err := e.svc.Client(soe.MainSite(), e.fake.MintToken(1)).Me(cctx)
		if !errors.Is(err, context.Canceled) || soe.Temporary(err) {
			t.Fatalf("%v", err)
		}
	})
}

// TestPacingAvoids429 makes 100 quick calls with one token against the
// fake's real limits (burst 50 per 2 s): the client pacer must prevent any 429.
func TestPacingAvoids429(t *testing.T) {
	if testing.Short() {
		t.Skip("takes ~5 s (100 calls at 20/s after a burst of 5)")
	}
	e := newEnv(t, soefake.Options{}, soe.Config{})
	tok := e.fake.MintToken(1)
	c := e.svc.Client(soe.MainSite(), tok)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 25 {
				if _, err := c.User(context.Background(), 1+(w*25+i)%10); err != nil {
					errs <- err
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	n429, total := 0, 0
	for _, r := range e.fake.Requests() {
		if r.TokenHash == soefake.HashToken(tok) {
			total++
			if r.Status == 429 {
				n429++
			}
		}
	}
	if n429 != 0 || total != 100 {
		t.Fatalf("%d requests, %d got 429", total, n429)
	}
}

func TestTokenNeverLogged(t *testing.T) {
	e := newEnv(t, soefake.Options{}, soe.Config{})
	tok := e.fake.MintToken(1)
	c := e.svc.Client(soe.MainSite(), tok)
	e.fake.SetFaults(soefake.Faults{ErrorRate: 1})
	_, err := c.Me(context.Background())
	e.fake.SetFaults(soefake.Faults{})
	_, _ = c.Question(context.Background(), 110)
	if err == nil || strings.Contains(err.Error(), tok) {
		t.Fatalf("error %v", err)
	}
	if logs := e.logs.String(); logs == "" || strings.Contains(logs, tok) {
		t.Fatalf("logs leak or are empty: %q", logs)
	}
	if strings.Contains(fmt.Sprint(c), tok) || strings.Contains(fmt.Sprintf("%+v", c), tok) {
		t.Fatal("client formatting leaks the token")
	}
}
