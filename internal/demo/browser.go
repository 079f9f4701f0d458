package demo

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"golang.org/x/net/html"
)

// browser is a person's web browser: a cookie jar, logged in at the fake SOE
// (its "login" cookie), following no redirects on its own so that each hop
// can be shown.
type browser struct {
	c *http.Client
}

func newBrowser(soeURL, login string) (*browser, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(soeURL)
	if err != nil {
		return nil, fmt.Errorf("SOE URL: %w", err)
	}
	// The fake SOE's sign-in, put straight into this client's own jar; the
	// jar would not send a Secure cookie to the fake over plain-HTTP loopback.
	jar.SetCookies(u, []*http.Cookie{{Name: "login", Value: login, Path: "/"}}) //nolint:gosec // G124: a client-side cookie in the demo's jar, not one a server sets
	return &browser{c: &http.Client{
		Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}, nil
}

// hop is one HTTP exchange of the browser.
type hop struct {
	Status   int
	Location string // absolute redirect target, if any
	Page     page
}

func (b *browser) do(ctx context.Context, method, target string, form url.Values) (hop, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return hop{}, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.c.Do(req)
	if err != nil {
		return hop{}, fmt.Errorf("%s %s: %w", method, redact(target), err)
	}
	defer func() { _ = resp.Body.Close() }() // read (up to 1 MiB) or given up on: nothing to report
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return hop{}, fmt.Errorf("%s %s: %w", method, redact(target), err)
	}
	h := hop{Status: resp.StatusCode}
	if loc := resp.Header.Get("Location"); loc != "" {
		if u, err := resp.Request.URL.Parse(loc); err == nil {
			h.Location = u.String()
		}
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
		h.Page = parsePage(string(raw), resp.Request.URL)
	}
	return h, nil
}

// redact keeps secrets that travel in URLs (link ids, OAuth codes and
// states) out of what the demo prints: a link id is cut after 6 characters
// and a query string is shown as "?…".
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(URL)"
	}
	path := u.EscapedPath()
	if i := strings.Index(path, "/link/"); i >= 0 {
		if id := path[i+len("/link/"):]; len(id) > 6 {
			path = path[:i+len("/link/")] + id[:6] + "…"
		}
	}
	out := u.Scheme + "://" + u.Host + path
	if u.RawQuery != "" {
		out += "?…"
	}
	return out
}

// page is the readable part of an HTML page.
type page struct {
	Title string
	Text  []string // headings, paragraphs and list items, in order
	Forms []form
}

type form struct {
	Method, Action string
	Fields         url.Values
	Buttons        []button
}

type button struct{ Name, Value, Label string }

func parsePage(src string, base *url.URL) page {
	var p page
	doc, err := html.Parse(strings.NewReader(src))
	if err != nil {
		return p
	}
	var cur *form
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "title":
				p.Title = strings.TrimSpace(text(n))
				return
			case "style", "script":
				return
			case "h1", "h2", "p", "li":
				if t := strings.Join(strings.Fields(text(n)), " "); t != "" {
					p.Text = append(p.Text, t)
				}
			case "form":
				f := form{Method: strings.ToUpper(attr(n, "method")), Fields: url.Values{}}
				if f.Method == "" {
					f.Method = http.MethodGet
				}
				f.Action = base.String()
				if a := attr(n, "action"); a != "" {
					if u, err := base.Parse(a); err == nil {
						f.Action = u.String()
					}
				}
				p.Forms = append(p.Forms, f)
				cur = &p.Forms[len(p.Forms)-1]
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					walk(c)
				}
				cur = nil
				return
			case "input":
				if cur != nil && attr(n, "name") != "" {
					cur.Fields.Set(attr(n, "name"), attr(n, "value"))
				}
			case "button":
				if cur != nil {
					cur.Buttons = append(cur.Buttons, button{Name: attr(n, "name"), Value: attr(n, "value"), Label: strings.TrimSpace(text(n))})
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return p
}

// submit returns the method, action and values of pressing the button
// labelled label in the page's forms.
func (p page) submit(label string) (method, action string, values url.Values, ok bool) {
	for _, f := range p.Forms {
		for _, b := range f.Buttons {
			if strings.EqualFold(b.Label, label) {
				v := url.Values{}
				for k, vs := range f.Fields {
					v[k] = append([]string(nil), vs...)
				}
				if b.Name != "" {
					v.Set(b.Name, b.Value)
				}
				return f.Method, f.Action, v, true
			}
		}
	}
	return "", "", nil, false
}

func text(n *html.Node) string {
	var sb strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			sb.WriteString(n.Data)
		}
		if n.Type == html.ElementNode && (n.Data == "form" || n.Data == "style" || n.Data == "script") {
			return
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(n)
	return sb.String()
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}
