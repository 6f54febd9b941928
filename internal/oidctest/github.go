package oidctest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// GitHubEmail is one entry of GitHub's GET /user/emails.
type GitHubEmail struct {
	Email      string  `json:"email"`
	Primary    bool    `json:"primary"`
	Verified   bool    `json:"verified"`
	Visibility *string `json:"visibility"`
}

// GitHubUser is the account the fake logs in.
type GitHubUser struct {
	ID    int64
	Login string
	Name  string
	// Email is the public email of GET /user ("" = null, as for users who
	// keep their address private).
	Email  string
	Emails []GitHubEmail
}

// GitHubServer fakes GitHub's OAuth app endpoints and REST API as documented
// at docs.github.com: /login/oauth/authorize redirects back at once with code
// and state; /login/oauth/access_token answers form-encoded by default and
// JSON when the request's Accept asks for it, and reports errors with status
// 200 and an error field like GitHub; /user and /user/emails (the latter only
// with scope user:email) answer for the token's user; /user/orgs, /user/teams
// and /user/memberships/orgs/{org} (githuborgs.go) list the organisations and
// teams set with SetOrgs.
type GitHubServer struct {
	URL          string
	ClientID     string
	ClientSecret string
	Server       *httptest.Server

	mu     sync.Mutex
	user   GitHubUser
	codes  map[string]ghCode
	tokens map[string]string // access token -> granted scopes (comma-separated)
	counts map[string]int
	accept map[string]string // path -> last Accept header
	orgs   []GitHubOrg
	faults GitHubFault
	calls  callLog
	fields url.Values // SetTokenField: members replacing the ones issued
}

type ghCode struct{ redirect, scope, challenge string }

// AuthorizationURL, TokenURL and UserURL are the endpoints to configure.
func (g *GitHubServer) AuthorizationURL() string { return g.URL + "/login/oauth/authorize" }

// TokenURL is the access_token endpoint.
func (g *GitHubServer) TokenURL() string { return g.URL + "/login/oauth/access_token" }

// UserURL is the REST API's GET /user (GET /user/emails is next to it).
func (g *GitHubServer) UserURL() string { return g.URL + "/user" }

// NewGitHub starts the fake for user with client "gh-client"/"gh-secret".
func NewGitHub(tb testing.TB, user GitHubUser) *GitHubServer {
	tb.Helper()
	g := &GitHubServer{ClientID: "gh-client", ClientSecret: "gh-secret", user: user,
		codes: map[string]ghCode{}, tokens: map[string]string{}, counts: map[string]int{},
		accept: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login/oauth/authorize", g.authorize)
	mux.HandleFunc("POST /login/oauth/access_token", g.accessToken)
	mux.HandleFunc("GET /user", g.userEndpoint)
	mux.HandleFunc("GET /user/emails", g.emails)
	mux.HandleFunc("GET /user/orgs", g.userOrgs)
	mux.HandleFunc("GET /user/teams", g.userTeams)
	mux.HandleFunc("GET /user/memberships/orgs/{org}", g.orgMembership)
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.mu.Lock()
		g.counts[r.URL.Path]++
		g.accept[r.URL.Path] = r.Header.Get("Accept")
		g.mu.Unlock()
		g.calls.record(r)
		if scopes, ok := g.tokenScopes(r); ok {
			// GitHub lists a token's scopes on every authenticated answer.
			w.Header().Set("X-OAuth-Scopes", strings.Join(strings.Split(scopes, ","), ", "))
		}
		mux.ServeHTTP(w, r)
	}))
	g.URL = g.Server.URL
	tb.Cleanup(g.Server.Close)
	return g
}

// SetTokenField makes later successful token answers carry the member
// name with value v (any bytes: the form encoding escapes them) instead of
// what the endpoint would issue; an access_token so set is the one the
// REST API then accepts.
func (g *GitHubServer) SetTokenField(name, v string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.fields == nil {
		g.fields = url.Values{}
	}
	g.fields.Set(name, v)
}

// Requests counts requests at a path ("/user/emails", ...).
func (g *GitHubServer) Requests(path string) int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.counts[path]
}

// LastAccept is the Accept header of the last request at path.
func (g *GitHubServer) LastAccept(path string) string {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.accept[path]
}

func (g *GitHubServer) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("client_id") != g.ClientID || q.Get("redirect_uri") == "" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	code := randomString()
	g.mu.Lock()
	// GitHub grants the requested scopes; its token response lists them
	// comma-separated.
	scope := strings.Join(strings.Fields(q.Get("scope")), ",")
	g.codes[code] = ghCode{redirect: q.Get("redirect_uri"), scope: scope, challenge: q.Get("code_challenge")}
	g.mu.Unlock()
	back := url.Values{"code": {code}, "state": {q.Get("state")}}
	http.Redirect(w, r, q.Get("redirect_uri")+"?"+back.Encode(), http.StatusFound)
}

func (g *GitHubServer) accessToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	code := r.PostForm.Get("code")
	g.mu.Lock()
	c, found := g.codes[code]
	delete(g.codes, code)
	g.mu.Unlock()
	reply := url.Values{}
	switch {
	case id != g.ClientID || secret != g.ClientSecret:
		reply.Set("error", "incorrect_client_credentials")
	case !found || (c.redirect != r.PostForm.Get("redirect_uri")):
		reply.Set("error", "bad_verification_code")
	case c.challenge != "" && !s256Matches(r.PostForm.Get("code_verifier"), c.challenge):
		reply.Set("error", "bad_verification_code")
	default:
		tok := "gho_" + randomString()
		g.mu.Lock()
		if v := g.fields.Get("access_token"); v != "" {
			tok = v
		}
		g.tokens[tok] = c.scope
		g.mu.Unlock()
		reply.Set("access_token", tok)
		reply.Set("scope", c.scope)
		reply.Set("token_type", "bearer")
		g.mu.Lock()
		for k := range g.fields {
			reply.Set(k, g.fields.Get(k))
		}
		g.mu.Unlock()
	}
	// GitHub answers 200 even for errors, form-encoded unless asked for JSON.
	if strings.Contains(r.Header.Get("Accept"), "application/json") {
		m := map[string]string{}
		for k := range reply {
			m[k] = reply.Get(k)
		}
		writeJSON(w, http.StatusOK, m)
		return
	}
	w.Header().Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	_, _ = w.Write([]byte(reply.Encode()))
}

// tokenScopes authenticates a REST request ("Bearer" or "token" scheme).
func (g *GitHubServer) tokenScopes(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		tok, ok = strings.CutPrefix(h, "token ")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	scopes, found := g.tokens[tok]
	return scopes, ok && found
}

func (g *GitHubServer) userEndpoint(w http.ResponseWriter, r *http.Request) {
	if _, ok := g.tokenScopes(r); !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	g.mu.Lock()
	u := g.user
	g.mu.Unlock()
	var email any
	if u.Email != "" {
		email = u.Email
	}
	writeJSON(w, http.StatusOK, map[string]any{"login": u.Login, "id": u.ID, "name": u.Name,
		"email": email, "type": "User", "node_id": "U_fake"})
}

func (g *GitHubServer) emails(w http.ResponseWriter, r *http.Request) {
	scopes, ok := g.tokenScopes(r)
	if !ok {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"message": "Bad credentials"})
		return
	}
	if !strings.Contains(","+scopes+",", ",user:email,") && !strings.Contains(","+scopes+",", ",user,") {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	g.mu.Lock()
	list := append([]GitHubEmail{}, g.user.Emails...)
	g.mu.Unlock()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	_ = json.NewEncoder(w).Encode(list)
}
