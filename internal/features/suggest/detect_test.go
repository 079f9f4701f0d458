package suggest

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// detectorTable is realistic channel traffic: questions people want
// answered (true) and everything else (false). docs/question-detector.md
// reports the detector's precision and recall on it.
var detectorTable = []struct {
	text string
	want bool
}{
	// Questions.
	{"How do I roll back a Helm release in the platform cluster?", true},
	{"how do i restart a kubernetes deployment without downtime", true},
	{"Does anyone know why `terraform plan` shows changes to resources nobody touched?", true},
	{"Is there a way to pin Python dependencies for reproducible builds", true},
	{"Why does my Go service leak goroutines when the HTTP client times out?", true},
	{"What's the best way to find slow queries in PostgreSQL 15", true},
	{"anyone know how to get read replicas working for postgres in k8s?", true},
	{"Can someone explain the escalation policy when primary on-call does not ack?", true},
	{"pods stuck in CrashLoopBackOff after the node pool upgrade, any ideas?", true},
	{"Getting `permission denied` when CI pushes to the registry. Has anyone seen this?", true},
	{"<@U123> do you know which version of React we use in the web app?", true},
	{"Where do we store the Terraform state for staging?", true},
	{"Should we use pgx or database/sql for new Go services?", true},
	{"Which grafana dashboard shows the p99 latency for checkout?", true},
	{"I'm stuck on configuring OAuth for the internal tool, the redirect keeps failing", true},
	{"Is it safe to drain a kubernetes node during business hours?", true},
	{"How can we rotate the kubeconfig credentials used by CI without breaking deploys?", true},
	{"Who owns the payments service on-call rotation these days?", true},
	{"thanks in advance! how do I request access to the production cluster?", true},
	{"What does error `ECONNRESET` mean when calling the billing API from node?", true},
	{"Has anybody migrated from Jenkins to GitHub Actions? How long did it take?", true},
	{"pandas read_csv runs out of memory on a 5 GB file, how do people handle that?", true},
	{"Could someone point me to the runbook for the search cluster?", true},
	{"is there a linter rule that forbids fmt.Println in production code", true},
	{"React useEffect runs twice in development. Is that a bug?", true},
	// Not questions.
	{"Deploy of web 4.2 is done :tada:", false},
	{"lunch anyone?", false},
	{"Who's in for lunch at 12?", false},
	{"how are you all doing today?", false},
	{"ok?", false},
	{"why?", false},
	{"Thanks <@U123>, that worked!", false},
	{"Reminder: the platform sync is moved to 3pm", false},
	{"I pushed the fix, CI is green now", false},
	{"FYI the staging database will be down for maintenance tonight", false},
	{"> how do I restart the deployment?\nDone, I restarted it.", false},
	{"```\nwhy does this fail?\n```", false},
	{"see https://wiki.acme.example/how-do-i?x=1 for the steps", false},
	{"Can you review my PR when you get a chance? <https://github.com/acme/web/pull/12>", false},
	{"Happy Friday everyone! What are your plans for the weekend?", false},
	{"Anyone up for coffee?", false},
	{"got a minute? want to sync on the roadmap", false},
	{"The incident is resolved, postmortem to follow.", false},
	{"We should use pgx for the new services.", false},
	{"I wonder what the weather will be like", false},
	{"Great job on the release, team :rocket:", false},
	{"new version of the SDK is out: https://pkg.acme.example/sdk", false},
	{"are you there?", false},
	{"Who is joining the standup today?", false},
	{"Merged. Closing the ticket.", false},
}

// detectorScores computes precision and recall of LooksLikeQuestion on the table.
func detectorScores() (precision, recall float64, wrong []string) {
	tp, fp, fn := 0, 0, 0
	for _, tc := range detectorTable {
		got := LooksLikeQuestion(tc.text)
		switch {
		case got && tc.want:
			tp++
		case got && !tc.want:
			fp++
			wrong = append(wrong, "false positive: "+tc.text)
		case !got && tc.want:
			fn++
			wrong = append(wrong, "missed: "+tc.text)
		}
	}
	return float64(tp) / float64(tp+fp), float64(tp) / float64(tp+fn), wrong
}

func TestDetectorOnRealisticMessages(t *testing.T) {
	p, r, wrong := detectorScores()
	for _, w := range wrong {
		t.Log(w)
	}
	if p < 0.95 || r < 0.9 {
		t.Errorf("precision %.2f, recall %.2f: below 0.95 / 0.90", p, r)
	}
	// docs/question-detector.md states the numbers of this table.
	doc, err := os.ReadFile("../../../docs/question-detector.md")
	if err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("precision **%.0f%%**, recall **%.0f%%** on %d messages", p*100, r*100, len(detectorTable))
	if !strings.Contains(string(doc), want) {
		t.Errorf("docs/question-detector.md must say %q", want)
	}
}

func FuzzLooksLikeQuestion(f *testing.F) {
	for _, tc := range detectorTable {
		f.Add(tc.text)
	}
	f.Add("```unterminated ? code")
	f.Add("<<<>>> ?? ？")
	f.Fuzz(func(t *testing.T, s string) {
		got := LooksLikeQuestion(s)
		if got != LooksLikeQuestion(s) {
			t.Fatal("not deterministic")
		}
		if got && len(wordsOf(strings.ToLower(clean(s)))) < minQuestionWords {
			t.Fatalf("%q: a question with fewer than %d words", s, minQuestionWords)
		}
		if LooksLikeQuestion(s+"   ") != got && len([]rune(s))+3 <= maxQuestionRunes {
			t.Fatalf("%q: trailing spaces change the answer", s)
		}
	})
}
