package soelink

import (
	"strings"
	"testing"

	"github.com/soebot/soebot/internal/router"

	"github.com/soebot/soebot/internal/soe"
)

func TestParse(t *testing.T) {
	site, ok := ParseSite("https://acme.stackenterprise.co")
	if !ok {
		t.Fatal("site root not parsed")
	}
	team := soe.TeamScope("platform")
	tests := []struct {
		url  string
		want Link
		ok   bool
	}{
		{url: "https://acme.stackenterprise.co/questions/123", want: Link{Kind: Question, QuestionID: 123}, ok: true},
		{url: "https://acme.stackenterprise.co/questions/123/how-do-i-restart", want: Link{Kind: Question, QuestionID: 123}, ok: true},
		{url: "https://ACME.stackenterprise.co:443/questions/123/slug/", want: Link{Kind: Question, QuestionID: 123}, ok: true},
		{url: "http://acme.stackenterprise.co/questions/123?foo=bar", want: Link{Kind: Question, QuestionID: 123}, ok: true},
		{url: "https://acme.stackenterprise.co/questions/123/slug#456", want: Link{Kind: Answer, QuestionID: 123, AnswerID: 456}, ok: true},
		{url: "https://acme.stackenterprise.co/questions/123/slug/456#456", want: Link{Kind: Answer, QuestionID: 123, AnswerID: 456}, ok: true},
		{url: "https://acme.stackenterprise.co/questions/123#comment-9", want: Link{Kind: Question, QuestionID: 123}, ok: true},
		{url: "https://acme.stackenterprise.co/q/123", want: Link{Kind: Question, QuestionID: 123}, ok: true},
		{url: "https://acme.stackenterprise.co/q/123/7", want: Link{Kind: Question, QuestionID: 123}, ok: true},
		{url: "https://acme.stackenterprise.co/articles/77", want: Link{Kind: Article, ArticleID: 77}, ok: true},
		{url: "https://acme.stackenterprise.co/articles/77/on-call-handbook", want: Link{Kind: Article, ArticleID: 77}, ok: true},
		{url: "https://acme.stackenterprise.co/c/platform/questions/5/x", want: Link{Scope: team, Kind: Question, QuestionID: 5}, ok: true},
		{url: "https://acme.stackenterprise.co/c/Platform/questions/5/x/6", want: Link{Scope: team, Kind: Answer, QuestionID: 5, AnswerID: 6}, ok: true},
		{url: "https://acme.stackenterprise.co/c/platform/articles/8", want: Link{Scope: team, Kind: Article, ArticleID: 8}, ok: true},
		{url: "https://acme.stackenterprise.co/a/456", want: Link{Kind: ShareLink, AnswerID: 456}, ok: true},   // share link: resolved by redirect
		{url: "https://acme.stackenterprise.co/a/456/3", want: Link{Kind: ShareLink, AnswerID: 456}, ok: true}, // same, with user id
		{url: "https://acme.stackenterprise.co/c/platform/a/9", want: Link{Scope: team, Kind: ShareLink, AnswerID: 9}, ok: true},
		// Ignored.
		{url: "https://acme.stackenterprise.co/a/456/3/4"},
		{url: "https://acme.stackenterprise.co/questions"},     // list
		{url: "https://acme.stackenterprise.co/questions/ask"}, // ask page
		{url: "https://acme.stackenterprise.co/questions/tagged/go"},
		{url: "https://acme.stackenterprise.co/users/1/alice"},
		{url: "https://acme.stackenterprise.co/c/platform"},
		{url: "https://acme.stackenterprise.co/c/plat%2Fform/questions/5"},
		{url: "https://acme.stackenterprise.co/c/platform/c/x/questions/5"},
		{url: "https://acme.stackenterprise.co/questions/0"},
		{url: "https://acme.stackenterprise.co/questions/-5"},
		{url: "https://acme.stackenterprise.co/questions/+5"},
		{url: "https://acme.stackenterprise.co/questions/99999999999"},
		{url: "https://acme.stackenterprise.co/questions/12/slug/notanid"},
		{url: "https://acme.stackenterprise.co/questions/12/slug/34/extra"},
		{url: "https://acme.stackenterprise.co/articles/8/slug/more"},
		{url: "https://other.example/questions/123"},
		{url: "https://acme.stackenterprise.co.evil.example/questions/123"},
		{url: "https://evil.example/acme.stackenterprise.co/questions/123"},
		{url: "https://acme.stackenterprise.co@evil.example/questions/123"},
		{url: "https://user@acme.stackenterprise.co/questions/123"},
		{url: "https://acme.stackenterprise.co:8443/questions/123"},
		{url: "ftp://acme.stackenterprise.co/questions/123"},
		{url: "javascript:alert(1)//acme.stackenterprise.co/questions/1"},
		{url: "/questions/123"},
		{url: ""},
		{url: "https://acme.stackenterprise.co/questions/1" + strings.Repeat("x", 3000)},
	}
	for _, tt := range tests {
		got, ok := site.Parse(tt.url)
		if ok != tt.ok || got != tt.want {
			t.Errorf("Parse(%q) = %+v, %v; want %+v, %v", tt.url, got, ok, tt.want, tt.ok)
		}
	}
}

func TestParseUnderPathAndPort(t *testing.T) {
	site, ok := ParseSite("http://127.0.0.1:8080/so/")
	if !ok {
		t.Fatal("site root not parsed")
	}
	for url, want := range map[string]bool{
		"http://127.0.0.1:8080/so/questions/1":   true,
		"https://127.0.0.1:8080/so/articles/2":   true,
		"http://127.0.0.1:8080/questions/1":      false,
		"http://127.0.0.1:8080/sox/questions/1":  false,
		"http://127.0.0.1/so/questions/1":        false,
		"http://127.0.0.1:8081/so/questions/1":   false,
		"http://127.0.0.1:8080/so/c/t/q/3":       true,
		"http://127.0.0.1:8080/so/c/t/c/q/3/4/5": false,
	} {
		if _, ok := site.Parse(url); ok != want {
			t.Errorf("Parse(%q) ok=%v, want %v", url, ok, want)
		}
	}
	if _, ok := ParseSite("acme.stackenterprise.co"); ok {
		t.Error("a site URL without scheme must be refused")
	}
	if _, ok := (Site{}).Parse("https://acme.stackenterprise.co/questions/1"); ok {
		t.Error("no site, no links")
	}
}

// FuzzParse: never panics, and whatever it accepts is a well-formed
// link on the configured host with positive ids.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"https://acme.stackenterprise.co/questions/123/slug#456",
		"https://acme.stackenterprise.co/c/platform/articles/8",
		"https://acme.stackenterprise.co/a/456",
		"https://acme.stackenterprise.co/q/1/2",
		"http://[::1]:80/questions/1",
		"https://acme.stackenterprise.co/%2e%2e/questions/1",
	} {
		f.Add(s)
	}
	site, _ := ParseSite("https://acme.stackenterprise.co")
	f.Fuzz(func(t *testing.T, raw string) {
		l, ok := site.Parse(raw)
		if !ok {
			if l != (Link{}) {
				t.Fatalf("refused link with data: %+v", l)
			}
			return
		}
		if !strings.Contains(strings.ToLower(raw), "acme.stackenterprise.co") {
			t.Fatalf("accepted a link to another host: %q", raw)
		}
		if l.Scope.IsTeam() && !router.ValidTeamSlug(l.Scope.Team) {
			t.Fatalf("bad team slug %q from %q", l.Scope.Team, raw)
		}
		switch l.Kind {
		case Question:
			ok = l.QuestionID > 0 && l.AnswerID == 0 && l.ArticleID == 0
		case Answer:
			ok = l.QuestionID > 0 && l.AnswerID > 0 && l.ArticleID == 0
		case Article:
			ok = l.ArticleID > 0 && l.QuestionID == 0 && l.AnswerID == 0
		case ShareLink:
			ok = l.AnswerID > 0 && l.QuestionID == 0 && l.ArticleID == 0
		default:
			ok = false
		}
		if !ok {
			t.Fatalf("inconsistent link %+v from %q", l, raw)
		}
	})
}

// Security #8: a share link is requested rebuilt from its ids, never as typed.
func TestShareLinkURL(t *testing.T) {
	tests := []struct {
		site, raw, want string
	}{
		{"https://acme.example", "https://acme.example/a/174/..%2F..%2Fadmin%2Fusers?delete=1", "https://acme.example/a/174"},
		{"https://acme.example", "https://ACME.example:443/a/174/9#x", "https://acme.example/a/174"},
		{"https://acme.example", "https://acme.example/c/platform/a/12?x=1", "https://acme.example/c/platform/a/12"},
		{"http://127.0.0.1:8080/soe/", "http://127.0.0.1:8080/soe/a/5", "http://127.0.0.1:8080/soe/a/5"},
	}
	for _, tt := range tests {
		site, ok := ParseSite(tt.site)
		if !ok {
			t.Fatalf("ParseSite(%q)", tt.site)
		}
		l, ok := site.Parse(tt.raw)
		if !ok || l.Kind != ShareLink {
			t.Fatalf("Parse(%q) = %+v, %v", tt.raw, l, ok)
		}
		if got := site.ShareLinkURL(l); got != tt.want {
			t.Errorf("ShareLinkURL(%q) = %q, want %q", tt.raw, got, tt.want)
		}
	}
}
