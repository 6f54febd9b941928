package nodeop

import (
	"errors"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"golang.org/x/oauth2/clientcredentials"
)

// maxSteps bounds the interaction pages one Login or Logout goes through
// (login, consent, and a spare).
const maxSteps = 4

var (
	formAction  = regexp.MustCompile(`<form\b[^>]*\baction="([^"]*)"`)
	hiddenInput = regexp.MustCompile(`<input\b[^>]*\btype="hidden"[^>]*\bname="([^"]*)"[^>]*\bvalue="([^"]*)"`)
)

// form is an HTML form of the provider's pages: where it posts and its
// hidden fields.
type form struct {
	action string
	fields url.Values
}

// parseForm reads the first form of page, resolving its action against base.
// The provider's own templates write these attributes in this order.
func parseForm(page string, base *url.URL) (form, bool) {
	m := formAction.FindStringSubmatch(page)
	if m == nil {
		return form{}, false
	}
	action, err := base.Parse(html.UnescapeString(m[1]))
	if err != nil {
		return form{}, false
	}
	f := form{action: action.String(), fields: url.Values{}}
	for _, h := range hiddenInput.FindAllStringSubmatch(page, -1) {
		f.fields.Add(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return f, true
}

// ClientCredentialsToken returns a JWT access token for Options.Resource
// from the client credentials grant (RFC 6749 §4.4) with the given scopes.
func (p *Provider) ClientCredentialsToken(tb testing.TB, clientID, secret string, scopes []string) string {
	tb.Helper()
	cfg := clientcredentials.Config{
		ClientID: clientID, ClientSecret: secret, TokenURL: p.Endpoint().TokenURL,
		Scopes: scopes, AuthStyle: p.Endpoint().AuthStyle,
		EndpointParams: url.Values{"resource": {p.ResourceIndicator}},
	}
	tok, err := cfg.Token(tb.Context())
	if err != nil {
		tb.Fatalf("nodeop: client credentials for %q: %v", clientID, err)
	}
	return tok.AccessToken
}

// Login signs in as login: it GETs startURL (which redirects to the
// provider's authorization endpoint), fills in the provider's login and
// consent forms, and returns the response at the end of the redirects,
// usually the relying party's redirect URI or the page it leads to. c needs
// a cookie jar and must follow redirects. Once the provider has a session
// for c, the login form no longer appears.
func (p *Provider) Login(tb testing.TB, c *http.Client, startURL, login string) *http.Response {
	tb.Helper()
	if c.Jar == nil {
		tb.Fatal("nodeop: Login needs an http.Client with a cookie jar")
	}
	resp := p.get(tb, c, startURL)
	for range maxSteps {
		if !p.at(resp, "/interaction/") {
			return resp
		}
		f := p.readForm(tb, resp)
		switch f.fields.Get("prompt") {
		case "login":
			f.fields.Set("login", login)
			f.fields.Set("password", "any")
		case "consent":
		default:
			tb.Fatalf("nodeop: unknown interaction prompt %q at %s", f.fields.Get("prompt"), resp.Request.URL.Path)
		}
		resp = p.post(tb, c, f)
	}
	tb.Fatalf("nodeop: still at %s after %d interaction steps", resp.Request.URL.Path, maxSteps)
	return nil
}

// Logout GETs startURL (the provider's end_session_endpoint, or a relying
// party page that redirects there), confirms the provider's logout form with
// logout=yes, and returns the response at the end of the redirects. Without a
// provider session there is no form and the provider goes straight on.
func (p *Provider) Logout(tb testing.TB, c *http.Client, startURL string) *http.Response {
	tb.Helper()
	resp := p.get(tb, c, startURL)
	if !p.at(resp, "/session/end") || strings.HasPrefix(resp.Request.URL.Path, "/session/end/success") {
		return resp
	}
	f := p.readForm(tb, resp)
	f.fields.Set("logout", "yes")
	return p.post(tb, c, f)
}

// at reports whether resp is a provider page under path.
func (p *Provider) at(resp *http.Response, path string) bool {
	u := resp.Request.URL
	return u.Scheme+"://"+u.Host == p.Issuer && strings.HasPrefix(u.Path, path) && resp.StatusCode == http.StatusOK
}

// readForm consumes resp and returns its form, which must post to the provider.
func (p *Provider) readForm(tb testing.TB, resp *http.Response) form {
	tb.Helper()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		tb.Fatalf("nodeop: read %s: %v", resp.Request.URL.Path, err)
	}
	f, ok := parseForm(string(body), resp.Request.URL)
	if !ok || !strings.HasPrefix(f.action, p.Issuer+"/") {
		tb.Fatalf("nodeop: no provider form at %s", resp.Request.URL.Path)
	}
	return f
}

// cause drops the URL from a client error: URLs here may carry tokens
// (id_token_hint, code).
func cause(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (p *Provider) get(tb testing.TB, c *http.Client, u string) *http.Response {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodGet, u, nil)
	if err != nil {
		tb.Fatalf("nodeop: %v", err)
	}
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("nodeop: GET %s: %v", req.URL.Path, cause(err))
	}
	return resp
}

func (p *Provider) post(tb testing.TB, c *http.Client, f form) *http.Response {
	tb.Helper()
	req, err := http.NewRequestWithContext(tb.Context(), http.MethodPost, f.action, strings.NewReader(f.fields.Encode()))
	if err != nil {
		tb.Fatalf("nodeop: %v", err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.Do(req)
	if err != nil {
		tb.Fatalf("nodeop: POST %s: %v", req.URL.Path, cause(err))
	}
	return resp
}
