package idp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/net/html"
)

// LoginError is what FollowLogin and ApproveDevice return when the IdP
// refuses: either a page showing an error (Code empty) or an OAuth error
// sent back to the redirect URI (Code set, e.g. "invalid_scope").
type LoginError struct {
	// Status is the HTTP status of the IdP's last answer.
	Status int
	// Code is the OAuth error code of an error redirect.
	Code string
	// Message is the error shown on the page, or the error_description.
	Message string
}

func (e *LoginError) Error() string {
	if e.Code != "" {
		return fmt.Sprintf("the identity provider refused: %s: %s", e.Code, e.Message)
	}
	return fmt.Sprintf("the identity provider refused (HTTP %d): %s", e.Status, e.Message)
}

// FollowLogin signs in the way a person in a browser would: it opens
// authorizeURL, reads the login page's form, fills in username and password,
// submits it, and returns the Location the IdP redirects to (the client's
// redirect URI with code and state) without requesting it. Redirects are
// followed only within the IdP's origin. When the IdP redirects back with
// an OAuth error, the Location is returned together with a *LoginError;
// when it shows a page with an error (wrong password, unknown client), the
// error is a *LoginError holding the page's message.
func FollowLogin(ctx context.Context, client *http.Client, authorizeURL, username, password string) (*url.URL, error) {
	start, err := url.Parse(authorizeURL)
	if err != nil || start.Host == "" {
		return nil, fmt.Errorf("the authorization URL %q is not an absolute URL", authorizeURL)
	}
	c := sameOrigin(client, start)
	resp, err := get(ctx, c, start.String())
	if err != nil {
		return nil, err
	}
	if loc, err := redirected(resp); loc != nil || err != nil {
		return loc, err
	}
	doc, err := readPage(resp)
	if err != nil {
		return nil, err
	}
	form := doc.formWith("password")
	if form == nil {
		return nil, doc.failure(resp.StatusCode, "the page has no login form")
	}
	form.values.Set("username", username)
	form.values.Set("password", password)
	form.pressSubmit("")
	resp, err = post(ctx, c, form.target(resp.Request.URL), form.values)
	if err != nil {
		return nil, err
	}
	if loc, err := redirected(resp); loc != nil || err != nil {
		return loc, err
	}
	doc, err = readPage(resp)
	if err != nil {
		return nil, err
	}
	return nil, doc.failure(resp.StatusCode, "the login did not redirect back to the application")
}

// ApproveDevice does the device verification page as a person would: it
// opens verificationURIComplete (or the plain verification URI, in which
// case the form's user_code must already be filled), signs in with username
// and password and presses Approve. It returns nil once the page confirms
// the device is connected, else a *LoginError with the page's message.
func ApproveDevice(ctx context.Context, client *http.Client, verificationURIComplete, username, password string) error {
	start, err := url.Parse(verificationURIComplete)
	if err != nil || start.Host == "" {
		return fmt.Errorf("the verification URL %q is not an absolute URL", verificationURIComplete)
	}
	c := sameOrigin(client, start)
	resp, err := get(ctx, c, start.String())
	if err != nil {
		return err
	}
	doc, err := readPage(resp)
	if err != nil {
		return err
	}
	form := doc.formWith("user_code")
	if form == nil {
		return doc.failure(resp.StatusCode, "the page has no device verification form")
	}
	form.values.Set("username", username)
	form.values.Set("password", password)
	form.pressSubmit("approve")
	resp, err = post(ctx, c, form.target(resp.Request.URL), form.values)
	if err != nil {
		return err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		resp.Body.Close()
		return &LoginError{Status: resp.StatusCode, Message: "unexpected redirect to " + resp.Header.Get("Location")}
	}
	doc, err = readPage(resp)
	if err != nil {
		return err
	}
	if doc.outcome == "approved" && resp.StatusCode == http.StatusOK {
		return nil
	}
	return doc.failure(resp.StatusCode, "the device was not approved")
}

// sameOrigin copies client so that it follows redirects only within origin
// and never requests the application's redirect URI.
func sameOrigin(client *http.Client, origin *url.URL) *http.Client {
	if client == nil {
		client = http.DefaultClient
	}
	c := *client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if req.URL.Scheme != origin.Scheme || req.URL.Host != origin.Host {
			return http.ErrUseLastResponse
		}
		if len(via) >= 10 {
			return errors.New("stopped after 10 redirects")
		}
		return nil
	}
	return &c
}

func get(ctx context.Context, c *http.Client, u string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "text/html")
	return c.Do(req)
}

func post(ctx context.Context, c *http.Client, u string, v url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html")
	return c.Do(req)
}

// redirected returns the Location of a redirect off the IdP's origin
// (resolved against the request URL), with a *LoginError when it carries
// an OAuth error. It closes the body of redirects.
func redirected(resp *http.Response) (*url.URL, error) {
	if resp.StatusCode < 300 || resp.StatusCode >= 400 {
		return nil, nil
	}
	defer resp.Body.Close()
	loc := resp.Header.Get("Location")
	if loc == "" {
		return nil, &LoginError{Status: resp.StatusCode, Message: "a redirect without Location"}
	}
	u, err := resp.Request.URL.Parse(loc)
	if err != nil {
		return nil, &LoginError{Status: resp.StatusCode, Message: "a redirect to an invalid Location"}
	}
	if q := u.Query(); q.Get("error") != "" {
		return u, &LoginError{Status: resp.StatusCode, Code: q.Get("error"), Message: q.Get("error_description")}
	}
	return u, nil
}

// --- a small HTML form reader ---

type htmlForm struct {
	action  string
	values  url.Values
	submits []field
	has     map[string]bool
}

type htmlPage struct {
	forms   []*htmlForm
	errMsg  string
	outcome string
	title   string
}

func readPage(resp *http.Response) (*htmlPage, error) {
	defer resp.Body.Close()
	root, err := html.Parse(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("the identity provider's page could not be parsed: %v", err)
	}
	pg := &htmlPage{}
	var walk func(n *html.Node, form *htmlForm)
	walk = func(n *html.Node, form *htmlForm) {
		if n.Type == html.ElementNode {
			switch n.Data {
			case "form":
				form = &htmlForm{action: attr(n, "action"), values: url.Values{}, has: map[string]bool{}}
				pg.forms = append(pg.forms, form)
			case "input":
				if form != nil {
					form.addInput(n)
				}
			case "button":
				if form != nil && (attr(n, "type") == "" || attr(n, "type") == "submit") {
					form.submits = append(form.submits, field{Name: attr(n, "name"), Value: attr(n, "value")})
				}
			case "textarea":
				if form != nil && attr(n, "name") != "" {
					form.values.Set(attr(n, "name"), text(n))
					form.has[attr(n, "name")] = true
				}
			case "title":
				pg.title = strings.TrimSpace(text(n))
			}
			if hasClass(n, "error") && pg.errMsg == "" {
				pg.errMsg = strings.TrimSpace(text(n))
			}
			if o := attr(n, "data-outcome"); o != "" {
				pg.outcome = o
			}
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch, form)
		}
	}
	walk(root, nil)
	return pg, nil
}

func (f *htmlForm) addInput(n *html.Node) {
	name := attr(n, "name")
	typ := strings.ToLower(attr(n, "type"))
	switch typ {
	case "submit", "image":
		f.submits = append(f.submits, field{Name: name, Value: attr(n, "value")})
		return
	case "button", "reset", "file":
		return
	case "checkbox", "radio":
		if !hasAttr(n, "checked") {
			return
		}
	}
	if name == "" {
		return
	}
	v := attr(n, "value")
	if (typ == "checkbox" || typ == "radio") && !hasAttr(n, "value") {
		v = "on"
	}
	f.values.Set(name, v)
	f.has[name] = true
}

// pressSubmit adds the name/value of the submit button whose value is want
// (the first button when want is empty or not found).
func (f *htmlForm) pressSubmit(want string) {
	var pick *field
	for i := range f.submits {
		if f.submits[i].Value == want && want != "" {
			pick = &f.submits[i]
			break
		}
	}
	if pick == nil && len(f.submits) > 0 {
		pick = &f.submits[0]
	}
	if pick != nil && pick.Name != "" {
		f.values.Set(pick.Name, pick.Value)
	}
}

func (f *htmlForm) target(page *url.URL) string {
	if f.action == "" {
		return page.String()
	}
	u, err := page.Parse(f.action)
	if err != nil {
		return page.String()
	}
	return u.String()
}

func (pg *htmlPage) formWith(name string) *htmlForm {
	for _, f := range pg.forms {
		if f.has[name] {
			return f
		}
	}
	return nil
}

func (pg *htmlPage) failure(status int, fallback string) error {
	msg := pg.errMsg
	if msg == "" {
		msg = fallback
		if pg.title != "" {
			msg += " (page: " + pg.title + ")"
		}
	}
	return &LoginError{Status: status, Message: msg}
}

func attr(n *html.Node, key string) string {
	for _, a := range n.Attr {
		if a.Key == key {
			return a.Val
		}
	}
	return ""
}

func hasAttr(n *html.Node, key string) bool {
	for _, a := range n.Attr {
		if a.Key == key {
			return true
		}
	}
	return false
}

func hasClass(n *html.Node, class string) bool {
	for _, c := range strings.Fields(attr(n, "class")) {
		if c == class {
			return true
		}
	}
	return false
}

func text(n *html.Node) string {
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
		}
		for ch := n.FirstChild; ch != nil; ch = ch.NextSibling {
			walk(ch)
		}
	}
	walk(n)
	return b.String()
}
