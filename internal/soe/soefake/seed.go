package soefake

// Seed data (Options.Seed = true): the fictional company "Acme".
//
// Users (id, login, display name, e-mail <login>@acme.example, teams):
//
//	 1 alice  Alice Anderson   SRE, Platform Engineering        teams: platform
//	 2 bob    Bob Brown        Security Engineer, Security      teams: security
//	 3 carol  Carol Chen       Staff Platform Engineer          teams: platform
//	 4 dave   Dave Diaz        Platform Engineer                teams: platform
//	 5 erin   Erin Evans       Senior Backend Engineer (Go)
//	 6 frank  Frank Fischer    Database Engineer
//	 7 grace  Grace Garcia     Frontend Engineer
//	 8 heidi  Heidi Hoffmann   IT Administrator — the only ADMIN (role "Admin"; may call /users/by-email)  teams: security
//	 9 ivan   Ivan Ivanov      Data Scientist
//	10 judy   Judy Jones       Engineering Manager
//
// All other users have role "Registered". E-mail is only returned to admins
// and to the user themself.
//
// User groups: 1 "Platform Team" (carol, dave), 2 "Security Guild" (bob, heidi),
// 3 "Data Team" (frank, ivan), 4 "Frontend Guild" (grace, erin).
//
// Main-site tags (SME users / SME groups / watchers):
//
//	kubernetes       SMEs alice, bob + group "Platform Team" (carol, dave) => 4 SMEs; watchers alice, carol, dave, judy
//	kubectl          no SMEs; watchers alice, dave
//	go               SME erin; watchers erin, judy, frank
//	golang-generics  no SMEs; watchers erin
//	postgresql       SME frank + group "Data Team" (frank, ivan) => 2 SMEs; watchers frank, ivan
//	terraform        no SMEs; 3 watchers: alice, dave, bob
//	oncall           SME judy + group "Platform Team" => 3 SMEs; watchers judy, alice, carol
//	python           SME ivan; watchers ivan
//	react            SME grace; watchers grace
//
// Main site: 21 questions (most answered, some with an accepted answer, a few
// unanswered, e.g. "How do we store Terraform state securely in S3?"),
// 2 articles ("On-call handbook for Platform Engineering", "Getting started
// with Go at Acme") and 3 communities ("Cloud Native", "Go at Acme",
// "Data & Analytics"; communities exist on the main site only).
//
// Private team "platform" (members alice, carol, dave): tags kubernetes (SME
// carol; watchers alice, dave), runbooks (SME dave), terraform, argocd (no
// SMEs); 4 questions; 1 article ("Platform cluster inventory").
//
// Private team "security" (members bob, heidi): tags vault (SME bob),
// incident-response (SME heidi), kubernetes (no SMEs); 3 questions.
//
// A team path works only with a token that has access_team and whose user is
// a member. Ids: users 1-10, groups 1-4, communities 1-3; tags, questions,
// answers and articles share one counter starting at 101, unique across all
// scopes (so a main-site id is a 404 in a team and vice versa). Content
// timestamps are in the past relative to Options.Now at start.

import (
	"time"

	"github.com/soebot/soebot/internal/soe"
)

type seedAnswer struct {
	author   string
	body     string
	score    int
	ageDays  float64
	accepted bool
}

type seedQuestion struct {
	author  string
	title   string
	body    string
	tags    []string
	ageDays float64
	score   int
	views   int
	answers []seedAnswer
}

func (s *Server) seed() {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now()
	ago := func(days float64) time.Time {
		return now.Add(-time.Duration(days * 24 * float64(time.Hour))).Truncate(time.Millisecond)
	}

	users := []FakeUser{
		{ID: 1, Login: "alice", Name: "Alice Anderson", JobTitle: "Site Reliability Engineer", Department: "Platform Engineering", Teams: []string{"platform"}, Reputation: 4210},
		{ID: 2, Login: "bob", Name: "Bob Brown", JobTitle: "Security Engineer", Department: "Security", Teams: []string{"security"}, Reputation: 3105},
		{ID: 3, Login: "carol", Name: "Carol Chen", JobTitle: "Staff Platform Engineer", Department: "Platform Engineering", Teams: []string{"platform"}, Reputation: 5230},
		{ID: 4, Login: "dave", Name: "Dave Diaz", JobTitle: "Platform Engineer", Department: "Platform Engineering", Teams: []string{"platform"}, Reputation: 1820},
		{ID: 5, Login: "erin", Name: "Erin Evans", JobTitle: "Senior Backend Engineer", Department: "Payments", Reputation: 6120},
		{ID: 6, Login: "frank", Name: "Frank Fischer", JobTitle: "Database Engineer", Department: "Data Platform", Reputation: 2950},
		{ID: 7, Login: "grace", Name: "Grace Garcia", JobTitle: "Frontend Engineer", Department: "Web", Reputation: 2240},
		{ID: 8, Login: "heidi", Name: "Heidi Hoffmann", JobTitle: "IT Administrator", Department: "IT & Security", Teams: []string{"security"}, Admin: true, Reputation: 905},
		{ID: 9, Login: "ivan", Name: "Ivan Ivanov", JobTitle: "Data Scientist", Department: "Analytics", Reputation: 1530},
		{ID: 10, Login: "judy", Name: "Judy Jones", JobTitle: "Engineering Manager", Department: "Platform Engineering", Reputation: 715},
	}
	ids := map[string]int{}
	for i := range users {
		u := users[i]
		u.AccountID = 70000 + u.ID
		u.Email = u.Login + "@acme.example"
		u.Role = "Registered"
		if u.Admin {
			u.Role = "Admin"
		}
		s.users[u.ID] = &u
		ids[u.Login] = u.ID
	}
	us := func(logins ...string) []int {
		out := []int{}
		for _, l := range logins {
			out = append(out, ids[l])
		}
		return out
	}
	for _, g := range []fakeGroup{
		{ID: 1, Name: "Platform Team", Description: "Owns the Kubernetes clusters, CI/CD and internal tooling.", Members: us("carol", "dave")},
		{ID: 2, Name: "Security Guild", Description: "Application and infrastructure security.", Members: us("bob", "heidi")},
		{ID: 3, Name: "Data Team", Description: "Databases, pipelines and analytics.", Members: us("frank", "ivan")},
		{ID: 4, Name: "Frontend Guild", Description: "Web frontends and the design system.", Members: us("grace", "erin")},
	} {
		s.groups[g.ID] = &g
	}

	type seedTag struct {
		name, desc string
		smes       []string
		watchers   []string
		groupIDs   []int
	}
	addTags := func(sc soe.Scope, tags []seedTag) {
		st := s.ensureSite(sc)
		for _, t := range tags {
			ft := s.tagLocked(st, t.name, ago(400))
			ft.Description = t.desc
			ft.SMEUsers = us(t.smes...)
			ft.SMEGroups = t.groupIDs
			ft.Watchers = us(t.watchers...)
		}
	}
	addQuestions := func(sc soe.Scope, qs []seedQuestion) {
		for _, sq := range qs {
			q := s.addQuestionLocked(sc, ids[sq.author], sq.title, sq.body, ago(sq.ageDays), sq.tags...)
			q.Score, q.ViewCount = sq.score, sq.views
			for _, sa := range sq.answers {
				a := s.addAnswerLocked(sc, q.ID, ids[sa.author], sa.body, ago(sa.ageDays))
				a.Score = sa.score
				if sa.accepted {
					q.AcceptedAnswerID = a.ID
				}
			}
		}
	}
	main := soe.MainSite()
	platform := soe.TeamScope("platform")
	security := soe.TeamScope("security")

	addTags(main, []seedTag{
		{name: "kubernetes", desc: "Kubernetes (k8s) automates deployment, scaling and management of containerized applications.", smes: []string{"alice", "bob"}, groupIDs: []int{1}, watchers: []string{"alice", "carol", "dave", "judy"}},
		{name: "kubectl", desc: "The Kubernetes command-line tool.", watchers: []string{"alice", "dave"}},
		{name: "go", desc: "Go (golang), the language of most Acme backend services.", smes: []string{"erin"}, watchers: []string{"erin", "judy", "frank"}},
		{name: "golang-generics", desc: "Type parameters in Go 1.18 and later.", watchers: []string{"erin"}},
		{name: "postgresql", desc: "PostgreSQL, Acme's primary relational database.", smes: []string{"frank"}, groupIDs: []int{3}, watchers: []string{"frank", "ivan"}},
		{name: "terraform", desc: "HashiCorp Terraform for infrastructure as code.", watchers: []string{"alice", "dave", "bob"}},
		{name: "oncall", desc: "On-call rotations, paging and incident handling.", smes: []string{"judy"}, groupIDs: []int{1}, watchers: []string{"judy", "alice", "carol"}},
		{name: "python", desc: "Python for data science and tooling.", smes: []string{"ivan"}, watchers: []string{"ivan"}},
		{name: "react", desc: "React for Acme's web frontends.", smes: []string{"grace"}, watchers: []string{"grace"}},
	})
	addQuestions(main, []seedQuestion{
		{author: "alice", title: "How do I restart a Kubernetes deployment without downtime?", tags: []string{"kubernetes", "kubectl"}, ageDays: 120, score: 12, views: 340,
			body: "Our payments API runs as a Deployment with 3 replicas. I need to pick up a new ConfigMap.\n\nWhat is the safest way to restart all pods without dropping requests?",
			answers: []seedAnswer{
				{author: "carol", score: 15, ageDays: 119, accepted: true, body: "Use a rolling restart:\n\n```\nkubectl rollout restart deployment/payments-api -n payments\nkubectl rollout status deployment/payments-api -n payments\n```\n\nMake sure the Deployment has a readiness probe and `maxUnavailable: 0` so old pods stay until new ones are ready."},
				{author: "dave", score: 3, ageDays: 118, body: "If you use our Helm charts, bumping the `configChecksum` annotation also triggers a rollout."},
			}},
		{author: "dave", title: "Pods stuck in CrashLoopBackOff after the node pool upgrade", tags: []string{"kubernetes"}, ageDays: 95, score: 7, views: 210,
			body: "After upgrading the `general` node pool to 1.29 several pods are in CrashLoopBackOff. `kubectl logs --previous` shows `exec format error`.",
			answers: []seedAnswer{
				{author: "alice", score: 9, ageDays: 95, accepted: true, body: "`exec format error` means the image architecture does not match the node. The new pool is arm64; rebuild the image as multi-arch or pin the workload with a `kubernetes.io/arch: amd64` node selector."},
				{author: "bob", score: 1, ageDays: 94, body: "Also check the init containers, they often come from old single-arch images."},
			}},
		{author: "judy", title: "What is the escalation policy when the primary on-call does not acknowledge a page?", tags: []string{"oncall"}, ageDays: 80, score: 5, views: 150,
			body: "If the primary does not acknowledge within 10 minutes, who gets paged next and when do we involve the manager?",
			answers: []seedAnswer{
				{author: "carol", score: 6, ageDays: 79, accepted: true, body: "PagerDuty escalates to the secondary after 10 minutes and to the engineering manager after 20. See the on-call handbook article for details."},
			}},
		{author: "grace", title: "How do I write a generic Map function in Go?", tags: []string{"go", "golang-generics"}, ageDays: 70, score: 9, views: 260,
			body: "I keep writing loops to convert `[]User` into `[]string`. Can I write one generic `Map` helper?",
			answers: []seedAnswer{
				{author: "erin", score: 11, ageDays: 70, accepted: true, body: "Yes:\n\n```\nfunc Map[T, U any](in []T, f func(T) U) []U {\n    out := make([]U, 0, len(in))\n    for _, v := range in {\n        out = append(out, f(v))\n    }\n    return out\n}\n```"},
			}},
		{author: "ivan", title: "Why does my Go service leak goroutines when the HTTP client times out?", tags: []string{"go"}, ageDays: 60, score: 4, views: 120,
			body: "The goroutine count of our scoring service grows after upstream timeouts. We use `http.Client{Timeout: 5 * time.Second}`.",
			answers: []seedAnswer{
				{author: "erin", score: 5, ageDays: 59, body: "You must always close `resp.Body`, even on non-200 responses, and pass a context to the request. Run with `GODEBUG` and pprof's goroutine profile to find the leak."},
			}},
		{author: "ivan", title: "How do I find slow queries in PostgreSQL 15?", tags: []string{"postgresql"}, ageDays: 55, score: 8, views: 190,
			body: "Our reporting dashboard got slow last week. How do I find which queries are slow?",
			answers: []seedAnswer{
				{author: "frank", score: 10, ageDays: 55, accepted: true, body: "Enable `pg_stat_statements` and sort by `mean_exec_time`; for one-offs set `log_min_duration_statement = 500ms`."},
			}},
		{author: "erin", title: "Should we use pgx or database/sql for PostgreSQL in Go services?", tags: []string{"go", "postgresql"}, ageDays: 50, score: 6, views: 170,
			body: "New services are starting and we need to pick one driver approach. What does the Data team recommend?",
			answers: []seedAnswer{
				{author: "frank", score: 4, ageDays: 49, body: "Use pgx v5 directly with pgxpool unless you need database/sql compatibility for a library."},
				{author: "judy", score: 0, ageDays: 48, body: "Whatever we choose, let's document it in the Go getting-started article."},
			}},
		{author: "dave", title: "Terraform plan shows changes to resources nobody touched", tags: []string{"terraform"}, ageDays: 45, score: 3, views: 90,
			body: "`terraform plan` in the networking workspace wants to modify 12 security groups although nobody changed them.",
			answers: []seedAnswer{
				{author: "alice", score: 2, ageDays: 44, body: "Usually a provider upgrade that normalises attributes differently. Pin the provider version and compare with `terraform plan -refresh-only`."},
			}},
		{author: "bob", title: "How do we store Terraform state securely in S3?", tags: []string{"terraform"}, ageDays: 40, score: 2, views: 60,
			body: "What bucket policy, encryption and locking setup should we use for Terraform state?"},
		{author: "judy", title: "React useEffect runs twice in development. Is that a bug?", tags: []string{"react"}, ageDays: 38, score: 5, views: 140,
			body: "My effect fetches data twice when running the dev server. Production is fine.",
			answers: []seedAnswer{
				{author: "grace", score: 7, ageDays: 38, accepted: true, body: "That is React 18 StrictMode intentionally mounting twice in development. Make the effect idempotent and clean it up."},
			}},
		{author: "grace", title: "How should we structure shared React components across apps?", tags: []string{"react"}, ageDays: 30, score: 1, views: 45,
			body: "Three apps copy the same buttons and forms. Monorepo package, npm package, or module federation?"},
		{author: "frank", title: "How do I pin Python dependencies for reproducible builds?", tags: []string{"python"}, ageDays: 28, score: 4, views: 80,
			body: "Our notebooks break whenever a transitive dependency releases. How do we pin everything?",
			answers: []seedAnswer{
				{author: "ivan", score: 5, ageDays: 27, accepted: true, body: "Use `uv lock` (or pip-tools) to generate a lock file with hashes and install with `--require-hashes`."},
			}},
		{author: "ivan", title: "pandas read_csv runs out of memory on a 5 GB file", tags: []string{"python"}, ageDays: 25, score: 3, views: 70,
			body: "The export job dies with MemoryError. The machine has 8 GB of RAM.",
			answers: []seedAnswer{
				{author: "frank", score: 1, ageDays: 24, body: "Read it in chunks with `chunksize=` or load it into PostgreSQL with COPY and aggregate there."},
			}},
		{author: "carol", title: "How do we rotate the kubeconfig credentials used by CI?", tags: []string{"kubernetes", "kubectl"}, ageDays: 20, score: 2, views: 40,
			body: "The CI service account token is a year old. What is the procedure to rotate it without breaking pipelines?",
			answers: []seedAnswer{
				{author: "dave", score: 0, ageDays: 19, body: "Create a second token, update the CI secret, run a pipeline, then delete the old token."},
			}},
		{author: "judy", title: "Who should I ask about on-call handover for the payments service?", tags: []string{"oncall"}, ageDays: 15, score: 0, views: 25,
			body: "The payments team is moving to the platform on-call rotation next month. Who owns the handover?"},
		{author: "alice", title: "Is there a runbook for draining a Kubernetes node safely?", tags: []string{"kubernetes", "oncall"}, ageDays: 12, score: 6, views: 95,
			body: "During incidents we sometimes need to drain a node quickly. Is there an agreed procedure?",
			answers: []seedAnswer{
				{author: "carol", score: 8, ageDays: 12, accepted: true, body: "`kubectl cordon <node>` then `kubectl drain <node> --ignore-daemonsets --delete-emptydir-data`. Check PodDisruptionBudgets first."},
			}},
		{author: "frank", title: "How do I set up read replicas for PostgreSQL running in Kubernetes?", tags: []string{"postgresql", "kubernetes"}, ageDays: 9, score: 3, views: 50,
			body: "We run PostgreSQL with the CloudNativePG operator. How do we add read replicas for reporting?",
			answers: []seedAnswer{
				{author: "alice", score: 1, ageDays: 8, body: "Set `instances: 3` in the Cluster resource and point reporting at the `-ro` service."},
			}},
		{author: "heidi", title: "How do I request access to the production Kubernetes cluster?", tags: []string{"kubernetes"}, ageDays: 6, score: 4, views: 60,
			body: "A new contractor needs read-only access to production. What is the process?",
			answers: []seedAnswer{
				{author: "dave", score: 3, ageDays: 6, accepted: true, body: "File an access request in the IT portal; the Platform Team approves read-only `view` role bindings within a day."},
			}},
		{author: "erin", title: "How do I use type parameters with constraints in Go generics?", tags: []string{"go", "golang-generics"}, ageDays: 4, score: 2, views: 30,
			body: "I want a `Sum` function that works for ints and floats. How do I write the constraint?"},
		{author: "bob", title: "What is the recommended way to manage secrets in Terraform?", tags: []string{"terraform"}, ageDays: 3, score: 3, views: 35,
			body: "We have database passwords in tfvars files. What should we do instead?",
			answers: []seedAnswer{
				{author: "carol", score: 3, ageDays: 2, body: "Read them from Vault with the Vault provider and mark outputs `sensitive = true`. Never commit tfvars with secrets."},
			}},
		{author: "dave", title: "kubectl port-forward keeps disconnecting after a few minutes", tags: []string{"kubectl"}, ageDays: 1, score: 1, views: 12,
			body: "`kubectl port-forward svc/grafana 3000:80` drops after about five minutes of idling.",
			answers: []seedAnswer{
				{author: "alice", score: 0, ageDays: 0.5, body: "The load balancer in front of the API server has a 300 s idle timeout. Use a loop or keep traffic flowing."},
			}},
	})
	mainSite := s.sites[main.Key()]
	for _, a := range []fakeArticle{
		{Type: "knowledgeArticle", Title: "On-call handbook for Platform Engineering", Tags: []string{"oncall", "kubernetes"}, AuthorID: ids["alice"], Score: 14, ViewCount: 420, Created: ago(200),
			BodyMarkdown: "This handbook describes how the platform on-call rotation works.\n\nPrimary and secondary rotate weekly. Pages escalate to the secondary after 10 minutes and to the engineering manager after 20."},
		{Type: "howToGuide", Title: "Getting started with Go at Acme", Tags: []string{"go"}, AuthorID: ids["erin"], Score: 9, ViewCount: 310, Created: ago(150),
			BodyMarkdown: "Install Go 1.26, clone the service template and run `make test`.\n\nUse pgx for PostgreSQL and log/slog for logging."},
	} {
		a.ID = s.newID()
		mainSite.articles[a.ID] = &a
	}
	s.communities = []*fakeCommunity{
		{ID: 1, Name: "Cloud Native", Description: "Kubernetes, containers and infrastructure as code at Acme.", Members: us("alice", "bob", "carol", "dave", "judy"), Tags: []string{"kubernetes", "terraform"}},
		{ID: 2, Name: "Go at Acme", Description: "Everything about writing Go services.", Members: us("erin", "frank", "ivan", "judy"), Tags: []string{"go", "golang-generics"}},
		{ID: 3, Name: "Data & Analytics", Description: "Databases, pipelines, notebooks.", Members: us("frank", "ivan"), Tags: []string{"postgresql", "python"}},
	}

	addTags(platform, []seedTag{
		{name: "kubernetes", desc: "Our internal clusters.", smes: []string{"carol"}, watchers: []string{"alice", "dave"}},
		{name: "runbooks", desc: "Operational runbooks for the platform clusters.", smes: []string{"dave"}},
		{name: "terraform", desc: "Platform Terraform modules."},
		{name: "argocd", desc: "Argo CD deployments."},
	})
	addQuestions(platform, []seedQuestion{
		{author: "carol", title: "How do we bootstrap a new cluster with our internal Terraform modules?", tags: []string{"terraform", "kubernetes"}, ageDays: 60, score: 4, views: 20,
			body:    "Which modules and in what order do we apply them for a new regional cluster?",
			answers: []seedAnswer{{author: "alice", score: 3, ageDays: 59, accepted: true, body: "Apply `network`, then `cluster`, then `addons`; each module's README lists its inputs."}}},
		{author: "dave", title: "Where are the Argo CD admin credentials for the staging cluster?", tags: []string{"argocd"}, ageDays: 30, score: 1, views: 8,
			body:    "I need to fix a stuck sync in staging.",
			answers: []seedAnswer{{author: "carol", score: 1, ageDays: 30, body: "We don't use the admin account; log in via SSO, the Platform Team group has admin rights."}}},
		{author: "alice", title: "Runbook: what do we do when etcd disk latency alerts fire?", tags: []string{"kubernetes", "runbooks"}, ageDays: 10, score: 2, views: 6,
			body: "The `EtcdHighFsyncDurations` alert fired twice this week. What are the steps?"},
		{author: "dave", title: "Kubernetes upgrade checklist for the platform clusters", tags: []string{"kubernetes", "runbooks"}, ageDays: 5, score: 3, views: 11,
			body:    "What do we check before and after upgrading the control plane?",
			answers: []seedAnswer{{author: "carol", score: 2, ageDays: 4, accepted: true, body: "Check deprecated APIs with `kubent`, upgrade the control plane, then node pools one at a time."}}},
	})
	platformSite := s.sites[platform.Key()]
	art := &fakeArticle{ID: s.newID(), Type: "knowledgeArticle", Title: "Platform cluster inventory", Tags: []string{"kubernetes"},
		AuthorID: ids["carol"], Score: 3, ViewCount: 40, Created: ago(90),
		BodyMarkdown: "Production: prod-eu-1, prod-us-1. Staging: stg-eu-1. All clusters run Kubernetes 1.29."}
	platformSite.articles[art.ID] = art

	addTags(security, []seedTag{
		{name: "vault", desc: "HashiCorp Vault.", smes: []string{"bob"}},
		{name: "incident-response", desc: "Security incident handling.", smes: []string{"heidi"}},
		{name: "kubernetes", desc: "Kubernetes security."},
	})
	addQuestions(security, []seedQuestion{
		{author: "heidi", title: "How do we rotate the Vault root token after an incident?", tags: []string{"vault", "incident-response"}, ageDays: 40, score: 3, views: 9,
			body:    "The root token may have been exposed in a screen share. What is the rotation procedure?",
			answers: []seedAnswer{{author: "bob", score: 2, ageDays: 40, accepted: true, body: "Generate a new root token with `vault operator generate-root` using the unseal key holders, then revoke the old one."}}},
		{author: "bob", title: "Which Kubernetes audit log events should page security?", tags: []string{"kubernetes", "incident-response"}, ageDays: 20, score: 2, views: 7,
			body:    "We forward audit logs to the SIEM. Which events deserve a page rather than a ticket?",
			answers: []seedAnswer{{author: "heidi", score: 1, ageDays: 19, body: "Exec into pods in production namespaces, new ClusterRoleBindings to cluster-admin, and secret reads by humans."}}},
		{author: "bob", title: "Who approves emergency access to production databases?", tags: []string{"incident-response"}, ageDays: 2, score: 0, views: 3,
			body: "During an incident at night, who can approve break-glass access?"},
	})
}
