package linking

import (
	"bytes"
	"html/template"
	"net/http"
)

// pageData fills the one page template. Every string is escaped by
// html/template; Action is always built from Config.PublicURL.
type pageData struct {
	Title   string
	Message string
	Success bool

	Confirm      bool
	Workspace    string
	SlackUser    string // "@alice (Alice Anderson)"
	SlackHandle  string // "@alice"
	SOEHost      string
	Scope        string
	Access       string
	Action       string
	NoEmailCheck bool // LINK_REQUIRE_EMAIL_MATCH=false: nothing checks who continues

	PAT     bool   // ask for a personal access token (Basic/Business)
	Problem string // why the token just sent was not accepted
	SiteURL string // the Stack Overflow site, where tokens are created
}

var (
	pageUnknownLink = pageData{Title: "Link not valid",
		Message: "This link is unknown or was already used. Links work once and for 10 minutes. Run /soe link in Slack for a new one."}
	pageExpiredLink = pageData{Title: "Link expired",
		Message: "This link has expired (links work for 10 minutes). Run /soe link in Slack for a new one."}
)

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex">
<title>{{.Title}} · soebot</title>
<style>
body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#232629;line-height:1.5}
h1{font-size:1.4rem}
.box{border:1px solid #d6d9dc;border-radius:6px;padding:1rem 1.25rem}
button{background:#0a95ff;color:#fff;border:0;border-radius:4px;padding:.6rem 1.2rem;font-size:1rem;cursor:pointer}
.muted{color:#6a737c;font-size:.9rem}
.ok{color:#2f6f44}
.who{font-size:1.15rem}
.warn{background:#fdf7e2;border-left:4px solid #e7b416;padding:.5rem .75rem}
.err{background:#fdf2f2;border-left:4px solid #de4f54;padding:.5rem .75rem}
input[type=password]{width:100%;box-sizing:border-box;padding:.5rem;font-size:1rem}
</style>
</head>
<body>
<h1{{if .Success}} class="ok"{{end}}>{{.Title}}</h1>
{{if .PAT}}<div class="box">
<p class="who">You are connecting Slack user <strong>{{.SlackUser}}</strong> in <strong>{{.Workspace}}</strong> to your Stack Overflow account on <strong>{{.SOEHost}}</strong>.</p>
<p class="warn">Only continue if you are {{.SlackHandle}}. Whoever pastes a token here lets {{.SlackHandle}} act on Stack Overflow as them.</p>
<ol>
<li>On <a href="{{.SiteURL}}" target="_blank" rel="noopener noreferrer">Stack Overflow</a>, open your avatar → <strong>Account settings</strong> → <strong>Personal access tokens</strong> and create a token for this team.</li>
<li>To ask questions from Slack, tick <strong>Enable write access</strong> (Business only; Basic tokens are read-only).</li>
<li>Copy the token and paste it below.</li>
</ol>
{{if .Problem}}<p class="err" role="alert">{{.Problem}}</p>
{{end}}<form method="post" action="{{.Action}}" autocomplete="off">
<p><label for="token">Personal access token</label><br>
<input id="token" name="token" type="password" required maxlength="512" autocomplete="off" spellcheck="false" autofocus></p>
<p><label><input type="checkbox" name="write" value="yes"> I ticked <strong>Enable write access</strong></label></p>
<button type="submit">Connect</button></form>
<p class="muted">soebot checks the token with Stack Overflow, stores it encrypted, and never shows it again. It can do what you can do on Stack Overflow with it, nothing more. To disconnect, run /soe unlink in Slack or delete the token on Stack Overflow.</p>
{{if .NoEmailCheck}}<p class="muted">soebot does not check that the two accounts belong to the same person here (the email check is switched off), so make sure this link came from you.</p>
{{end}}</div>
<p class="muted">Not {{.SlackHandle}}, or did not ask for this? Close this tab: nothing is connected until you paste a token.</p>
{{else if .Confirm}}<div class="box">
<p class="who">You are connecting Slack user <strong>{{.SlackUser}}</strong> in <strong>{{.Workspace}}</strong> to your Stack Overflow account on <strong>{{.SOEHost}}</strong> ({{.Scope}}).</p>
<p class="warn">Only continue if you are {{.SlackHandle}}. Whoever continues lets {{.SlackHandle}} act on Stack Overflow as them.</p>
<p>soebot will ask Stack Overflow for {{.Access}}, and will act as you with what it grants. Stack Overflow will ask you to approve this.</p>
{{if .NoEmailCheck}}<p class="muted">soebot does not check that the two accounts belong to the same person here (the email check is switched off), so make sure this link came from you.</p>
{{end}}<form method="post" action="{{.Action}}"><button type="submit">Continue</button></form>
</div>
<p class="muted">Not {{.SlackHandle}}, or did not ask for this? Close this tab: nothing is connected until you continue and approve.</p>
{{else}}<p>{{.Message}}</p>{{end}}
</body>
</html>
`))

// page renders the template with security headers.
func (s *Service) page(w http.ResponseWriter, status int, d pageData) {
	var buf bytes.Buffer
	if err := pageTmpl.Execute(&buf, d); err != nil {
		s.log.Error("link page template failed", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	csp := "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
	if s.publicOrigin != "" {
		csp += " " + s.publicOrigin
	}
	if o := s.soeOrigin(); o != "" {
		csp += " " + o
	}
	h.Set("Content-Security-Policy", csp)
	noStore(w)
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}
