package soefake_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/soebot/soebot/internal/soe"
	"github.com/soebot/soebot/internal/soe/soefake"
)

var throttleHeaders = []string{
	"x-burst-throttle-calls-left", "x-burst-throttle-seconds-until-full",
	"x-token-bucket-calls-left", "x-token-bucket-seconds-until-full", "x-token-bucket-seconds-until-next-refill",
}

func TestSeed(t *testing.T) {
	s := newServer(t, soefake.Options{Seed: true})
	if n := len(s.Users()); n != 10 {
		t.Fatalf("%d users", n)
	}
	heidi := s.UserByName("heidi")
	if !heidi.Admin || heidi.Email != "heidi@acme.example" || heidi.Name != "Heidi Hoffmann" {
		t.Fatalf("heidi = %+v", heidi)
	}
	if s.UserByName("Alice Anderson").ID != 1 {
		t.Fatal("lookup by display name")
	}
	tok := s.MintToken(1, soe.ScopeAccessTeam)
	var tags struct {
		Items []struct {
			ID                       int
			Name                     string
			SubjectMatterExpertCount *int
			WatcherCount             int
		}
	}
	r := do(t, "GET", s.APIURL()+"/tags?pageSize=100", tok, "")
	if err := json.Unmarshal([]byte(r.body), &tags); err != nil {
		t.Fatal(err)
	}
	byName := map[string]int{}
	for _, tg := range tags.Items {
		byName[tg.Name] = tg.ID
		switch tg.Name {
		case "kubernetes":
			if *tg.SubjectMatterExpertCount != 4 {
				t.Errorf("kubernetes SMEs = %d", *tg.SubjectMatterExpertCount)
			}
		case "terraform":
			if *tg.SubjectMatterExpertCount != 0 || tg.WatcherCount != 3 {
				t.Errorf("terraform = %+v", tg)
			}
		}
	}
	for _, n := range []string{"kubernetes", "kubectl", "go", "golang-generics", "postgresql", "terraform", "oncall", "python", "react"} {
		if byName[n] == 0 {
			t.Errorf("tag %s missing", n)
		}
	}
	var smes struct {
		Users      []struct{ Name string }
		UserGroups []struct {
			Name  string
			Users []struct{ Name string }
		}
	}
	r = do(t, "GET", s.APIURL()+"/tags/"+itoa(byName["kubernetes"])+"/subject-matter-experts", tok, "")
	_ = json.Unmarshal([]byte(r.body), &smes)
	if len(smes.Users) != 2 || smes.Users[0].Name != "Alice Anderson" || smes.Users[1].Name != "Bob Brown" ||
		len(smes.UserGroups) != 1 || smes.UserGroups[0].Name != "Platform Team" || len(smes.UserGroups[0].Users) != 2 {
		t.Fatalf("kubernetes SMEs = %+v", smes)
	}
	// Team platform: alice is a member; kubernetes SME is carol.
	r = do(t, "GET", s.APIURL()+"/teams/platform/tags?partialName=kubernetes", tok, "")
	if r.status != 200 || !strings.Contains(r.body, `"subjectMatterExpertCount":1`) {
		t.Fatalf("platform tags: %d %s", r.status, r.body)
	}
	var qs struct{ TotalCount int }
	r = do(t, "GET", s.APIURL()+"/questions", tok, "")
	_ = json.Unmarshal([]byte(r.body), &qs)
	if qs.TotalCount < 20 {
		t.Fatalf("only %d main-site questions", qs.TotalCount)
	}
}

func itoa(i int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + jsonInt(i)) }

func jsonInt(i int) string { b, _ := json.Marshal(i); return string(b) }

func TestAuthAndAccess(t *testing.T) {
	now := time.Now()
	clock := &now
	var mu sync.Mutex
	s := newServer(t, soefake.Options{Seed: true, Now: func() time.Time { mu.Lock(); defer mu.Unlock(); return *clock }})
	shortLived := s.MintToken(1)
	forever := s.MintToken(1, soe.ScopeNoExpiry)
	mu.Lock()
	*clock = now.Add(25 * time.Hour)
	mu.Unlock()
	alice := s.MintToken(1, soe.ScopeAccessTeam)
	aliceNoTeam := s.MintToken(1)
	aliceRW := s.MintToken(1, soe.ScopeWriteAccess, soe.ScopeAccessTeam)
	bob := s.MintToken(2, soe.ScopeAccessTeam)
	heidi := s.MintToken(8)
	revoked := s.MintToken(1)
	s.RevokeToken(revoked)
	expired := s.MintToken(1, soe.ScopeNoExpiry)
	s.ExpireToken(expired)

	q := `{"title":"How do I configure pod disruption budgets?","body":"Details here.","tags":["kubernetes"]}`
	tests := []struct {
		name, method, path, token, body string
		status                          int
		contains                        string
	}{
		{"no token", "GET", "/users/me", "", "", 401, "Invalid access token"},
		{"unknown token", "GET", "/users/me", "nope", "", 401, "Invalid access token"},
		{"revoked", "GET", "/users/me", revoked, "", 401, "Invalid access token"},
		{"expired", "GET", "/users/me", expired, "", 401, "Invalid access token"},
		{"24h passed", "GET", "/users/me", shortLived, "", 401, "Invalid access token"},
		{"no_expiry survives", "GET", "/users/me", forever, "", 200, `"email":"alice@acme.example"`},
		{"other user's email hidden", "GET", "/users/2", alice, "", 200, `"email":null`},
		{"admin sees email", "GET", "/users/2", heidi, "", 200, `"email":"bob@acme.example"`},
		{"by-email non-admin", "GET", "/users/by-email/bob@acme.example", alice, "", 403, "administrators"},
		{"by-email admin", "GET", "/users/by-email/BOB@acme.example", heidi, "", 200, `"name":"Bob Brown"`},
		{"by-email unknown", "GET", "/users/by-email/nobody@acme.example", heidi, "", 404, "User not found"},
		{"team member", "GET", "/teams/platform/questions", alice, "", 200, `"totalCount":4`},
		{"team without access_team", "GET", "/teams/platform/questions", aliceNoTeam, "", 403, "access_team"},
		{"team non-member", "GET", "/teams/platform/questions", bob, "", 403, "not a member"},
		{"team unknown", "GET", "/teams/nope/questions", alice, "", 403, "does not exist"},
		{"main id in team is 404", "GET", "/teams/platform/questions/110", alice, "", 404, "not found"},
		{"write without write_access", "POST", "/questions", alice, q, 403, "write access"},
		{"write ok", "POST", "/questions", aliceRW, q, 201, `"bodyMarkdown":"Details here."`},
		{"team write ok", "POST", "/teams/platform/questions", aliceRW, q, 201, `/c/platform/questions/`},
		{"bad page size", "GET", "/questions?pageSize=20", alice, "", 400, "pageSize"},
		{"bad page", "GET", "/questions?page=0", alice, "", 400, "page"},
		{"bad sort", "GET", "/questions?sort=hot", alice, "", 400, "sort"},
		{"missing question", "GET", "/questions/99999", alice, "", 404, "Question not found"},
		{"answer of other question", "GET", "/questions/110/answers/999999", alice, "", 404, "Answer not found"},
		{"communities main only", "GET", "/teams/platform/communities", alice, "", 404, ""},
		{"article", "GET", "/articles/" + itoa(firstArticle(t, s, forever)), alice, "", 200, `"type":"knowledgeArticle"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, s.APIURL()+tc.path, tc.token, tc.body)
			if r.status != tc.status || !strings.Contains(r.body, tc.contains) {
				t.Fatalf("got %d %s; want %d containing %q", r.status, r.body, tc.status, tc.contains)
			}
			for _, h := range throttleHeaders {
				if r.header.Get(h) == "" {
					t.Errorf("header %s missing", h)
				}
			}
			ct := r.header.Get("Content-Type")
			switch {
			case tc.status == 401 && !strings.HasPrefix(ct, "text/plain"):
				t.Errorf("401 content type %q", ct)
			case tc.status != 401 && !strings.HasPrefix(ct, "application/json"):
				t.Errorf("content type %q", ct)
			}
		})
	}
}

func firstArticle(t *testing.T, s *soefake.Server, tok string) int {
	r := do(t, "GET", s.APIURL()+"/search?query=handbook", tok, "")
	var res struct{ Items []struct{ ArticleID int } }
	_ = json.Unmarshal([]byte(r.body), &res)
	if len(res.Items) == 0 {
		t.Fatalf("no article found: %s", r.body)
	}
	return res.Items[0].ArticleID
}

func TestCreateQuestionValidation(t *testing.T) {
	s := newServer(t, soefake.Options{Seed: true})
	tok := s.MintToken(5, soe.ScopeWriteAccess)
	long := strings.Repeat("x", 151)
	tests := []struct {
		name, body, field string
	}{
		{"empty title", `{"title":"","body":"b","tags":["go"]}`, "Title"},
		{"short title", `{"title":"Too short","body":"b","tags":["go"]}`, "Title"},
		{"long title", `{"title":"` + long + `","body":"b","tags":["go"]}`, "Title"},
		{"no body", `{"title":"A perfectly fine title here","body":"","tags":["go"]}`, "Body"},
		{"long body", `{"title":"A perfectly fine title here","body":"` + strings.Repeat("b", 30001) + `","tags":["go"]}`, "Body"},
		{"no tags", `{"title":"A perfectly fine title here","body":"b","tags":[]}`, "Tags"},
		{"six tags", `{"title":"A perfectly fine title here","body":"b","tags":["a","b","c","d","e","f"]}`, "Tags"},
		{"long tag", `{"title":"A perfectly fine title here","body":"b","tags":["` + strings.Repeat("t", 36) + `"]}`, "Tags"},
		{"bad tag chars", `{"title":"A perfectly fine title here","body":"b","tags":["c/c"]}`, "Tags"},
		{"duplicate title", `{"title":"How do I write a generic Map function in Go?","body":"b","tags":["go"]}`, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, "POST", s.APIURL()+"/questions", tok, tc.body)
			if r.status != 400 {
				t.Fatalf("status %d: %s", r.status, r.body)
			}
			var p struct {
				Title  string
				Errors map[string][]string
			}
			_ = json.Unmarshal([]byte(r.body), &p)
			if tc.field != "" && len(p.Errors[tc.field]) == 0 {
				t.Fatalf("no %s error: %s", tc.field, r.body)
			}
		})
	}

	r := do(t, "POST", s.APIURL()+"/questions", tok,
		`{"title":"How do I cache builds in our new CI system?","body":"We moved to **BuildKite**.","tags":["ci-cd","Go"]}`)
	if r.status != 201 {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	var q struct {
		ID   int
		Tags []struct{ Name string }
	}
	_ = json.Unmarshal([]byte(r.body), &q)
	fq, ok := s.QuestionByID(soe.MainSite(), q.ID)
	if !ok || fq.AuthorID != 5 || fq.BodyMarkdown != "We moved to **BuildKite**." || strings.Join(fq.Tags, ",") != "ci-cd,go" {
		t.Fatalf("stored %+v", fq)
	}
	if r := do(t, "GET", s.APIURL()+"/tags?partialName=ci-cd", tok, ""); !strings.Contains(r.body, `"name":"ci-cd"`) {
		t.Fatalf("new tag not created: %s", r.body)
	}
}

func TestAnswersMoveActivity(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	empty := newServer(t, soefake.Options{Now: clock})
	if r := do(t, "GET", empty.APIURL()+"/users/me", empty.MintToken(1), ""); r.status != 401 {
		t.Fatalf("token of a non-existent user: %d", r.status)
	}
	s2 := newServer(t, soefake.Options{Seed: true, Now: clock})
	tok2 := s2.MintToken(1)
	qid := s2.AddQuestion(soe.MainSite(), 1, "Why is the staging cluster so slow today?", "It is slow.", "kubernetes")
	get := func() (cnt int, last string) {
		var q struct {
			AnswerCount      int
			LastActivityDate string
			IsAnswered       bool
		}
		r := do(t, "GET", s2.APIURL()+"/questions/"+itoa(qid), tok2, "")
		_ = json.Unmarshal([]byte(r.body), &q)
		return q.AnswerCount, q.LastActivityDate
	}
	c0, l0 := get()
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	aid := s2.AddAnswer(soe.MainSite(), qid, 3, "Node pool is scaling.")
	c1, l1 := get()
	if c0 != 0 || c1 != 1 || l0 == l1 || l1 != "2026-03-01T13:00:00.000Z" {
		t.Fatalf("before %d %s after %d %s", c0, l0, c1, l1)
	}
	s2.AcceptAnswer(soe.MainSite(), qid, aid)
	r := do(t, "GET", s2.APIURL()+"/questions?hasAcceptedAnswer=true&sort=activity&pageSize=15", tok2, "")
	if !strings.Contains(r.body, `"id":`+itoa(qid)) {
		t.Fatalf("accepted filter: %s", r.body)
	}
	r = do(t, "GET", s2.APIURL()+"/questions/"+itoa(qid)+"/answers/"+itoa(aid), tok2, "")
	if !strings.Contains(r.body, `"isAccepted":true`) {
		t.Fatalf("answer: %s", r.body)
	}
}

func TestSortingAndSearch(t *testing.T) {
	s := newServer(t, soefake.Options{Seed: true})
	tok := s.MintToken(1)
	type page struct {
		TotalCount, TotalPages, Page, PageSize int
		Sort, Order                            string
		Items                                  []struct {
			ID, Score            int
			CreationDate         string
			Type                 string
			QuestionID, AnswerID int
			ArticleID            int
			Title                string
		}
	}
	get := func(path string) page {
		t.Helper()
		r := do(t, "GET", s.APIURL()+path, tok, "")
		if r.status != 200 {
			t.Fatalf("%s: %d %s", path, r.status, r.body)
		}
		var p page
		if err := json.Unmarshal([]byte(r.body), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	p := get("/questions?sort=creation&order=asc&pageSize=30")
	for i := 1; i < len(p.Items); i++ {
		if p.Items[i].CreationDate < p.Items[i-1].CreationDate {
			t.Fatalf("creation asc not sorted at %d", i)
		}
	}
	p = get("/questions?sort=score&order=desc&pageSize=30")
	for i := 1; i < len(p.Items); i++ {
		if p.Items[i].Score > p.Items[i-1].Score {
			t.Fatalf("score desc not sorted at %d", i)
		}
	}
	if p.Sort != "score" || p.Order != "desc" || p.PageSize != 30 {
		t.Fatalf("envelope %+v", p)
	}
	p = get("/search?query=kubectl&pageSize=15")
	if p.TotalCount == 0 || p.Items[0].Type == "" {
		t.Fatalf("search: %+v", p)
	}
	kinds := map[string]bool{}
	for _, it := range get("/search?query=kubernetes&pageSize=100").Items {
		kinds[it.Type] = true
	}
	all := get("/search?pageSize=100")
	if !kinds["question"] || !kinds["answer"] || !kinds["article"] {
		t.Fatalf("search kinds %v", kinds)
	}
	p2 := get("/search?pageSize=15&page=2")
	if all.TotalCount <= 15 || p2.Page != 2 || len(p2.Items) != min(15, all.TotalCount-15) {
		t.Fatalf("search paging: total %d page2 %d items", all.TotalCount, len(p2.Items))
	}
	tagOnly := get("/search?query=[terraform]%20is:question")
	if tagOnly.TotalCount != 3 {
		t.Fatalf("[terraform] is:question = %d", tagOnly.TotalCount)
	}
	if got := get("/search?query=zzzunmatched"); got.TotalCount != 0 || got.TotalPages != 0 {
		t.Fatalf("no-hit search %+v", got)
	}
}

func TestSMEsDisabled(t *testing.T) {
	s := newServer(t, soefake.Options{Seed: true})
	tok := s.MintToken(1)
	s.SetSMEsEnabled(false)
	r := do(t, "GET", s.APIURL()+"/tags/101/subject-matter-experts", tok, "")
	if r.status != 422 {
		t.Fatalf("%d %s", r.status, r.body)
	}
	r = do(t, "GET", s.APIURL()+"/tags/101", tok, "")
	if !strings.Contains(r.body, `"subjectMatterExpertCount":null`) || strings.Contains(r.body, "subjectMatterExperts\"") {
		t.Fatalf("tag with SMEs off: %s", r.body)
	}
	s.SetSMEsEnabled(true)
	s.SetTagSMEs(soe.MainSite(), "terraform", []int{4}, []int{2})
	r = do(t, "GET", s.APIURL()+"/tags?partialName=terraform", tok, "")
	if !strings.Contains(r.body, `"subjectMatterExpertCount":3`) {
		t.Fatalf("SetTagSMEs: %s", r.body)
	}
}

func TestFaults(t *testing.T) {
	s := newServer(t, soefake.Options{Seed: true})
	tok := s.MintToken(1, soe.ScopeWriteAccess)
	u := s.APIURL() + "/users/me"

	s.SetFaults(soefake.Faults{Force429: 2})
	for i := range 2 {
		r := do(t, "GET", u, tok, "")
		if r.status != 429 || r.header.Get("Retry-After") == "" {
			t.Fatalf("forced 429 #%d: %d", i, r.status)
		}
	}
	if r := do(t, "GET", u, tok, ""); r.status != 200 {
		t.Fatalf("after forced 429s: %d", r.status)
	}

	s.SetFaults(soefake.Faults{ErrorRate: 1})
	if r := do(t, "GET", u, tok, ""); r.status != 503 || !strings.HasPrefix(r.header.Get("Content-Type"), "application/json") {
		t.Fatalf("error rate: %d", r.status)
	}

	s.SetFaults(soefake.Faults{Status: map[string]int{"POST /questions": 500, "GET /questions/{questionId}": 404}})
	if r := do(t, "POST", s.APIURL()+"/questions", tok, `{"title":"x","body":"y","tags":["go"]}`); r.status != 500 {
		t.Fatalf("forced POST status %d", r.status)
	}
	if r := do(t, "GET", s.APIURL()+"/teams/platform/questions/110", tok, ""); r.status != 404 {
		t.Fatalf("forced team GET status %d", r.status)
	}
	if r := do(t, "GET", u, tok, ""); r.status != 200 {
		t.Fatalf("unforced route: %d", r.status)
	}

	s.SetFaults(soefake.Faults{DropRate: 1})
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, u, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("dropped connection returned a response")
	}

	s.SetFaults(soefake.Faults{Latency: 50 * time.Millisecond})
	start := time.Now()
	do(t, "GET", u, tok, "")
	if time.Since(start) < 50*time.Millisecond {
		t.Fatal("latency not applied")
	}
	s.SetFaults(soefake.Faults{})

	// Recorded requests carry a token hash, never the token.
	since := time.Now()
	do(t, "GET", u, tok, "")
	if n := s.RequestCount(tok, since); n != 1 {
		t.Fatalf("RequestCount = %d", n)
	}
	for _, rr := range s.Requests() {
		if strings.Contains(rr.TokenHash+rr.Path+rr.Query, tok) {
			t.Fatal("token recorded in clear")
		}
	}
	if last := s.Requests()[len(s.Requests())-1]; last.TokenHash != soefake.HashToken(tok) || last.Status != 200 {
		t.Fatalf("last request %+v", last)
	}
}

func TestBurstThrottle429(t *testing.T) {
	s := newServer(t, soefake.Options{Seed: true})
	tok := s.MintToken(1)
	var wg sync.WaitGroup
	var mu sync.Mutex
	codes := map[int]int{}
	retry := ""
	// Up to 400 fast calls from 8 goroutines; stop at the first 429.
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				r := do(t, "GET", s.APIURL()+"/users/me", tok, "")
				mu.Lock()
				codes[r.status]++
				if r.status == 429 {
					retry = r.header.Get("Retry-After")
				}
				done := codes[429] > 0
				mu.Unlock()
				if done {
					return
				}
			}
		}()
	}
	wg.Wait()
	if codes[429] == 0 || codes[200] < 50 || retry == "" {
		t.Fatalf("fast calls: %v (Retry-After %q)", codes, retry)
	}
	// Another token is unaffected.
	if r := do(t, "GET", s.APIURL()+"/users/me", s.MintToken(2), ""); r.status != 200 {
		t.Fatalf("other token throttled: %d", r.status)
	}
}
