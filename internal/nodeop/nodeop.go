// Package nodeop starts the node "oidc-provider" package (OpenID-certified)
// as a real OpenID Provider for tests. It is a test helper only: nothing
// outside tests imports it.
//
// The provider is internal/oidctest/node/server.mjs, run with the machine's
// node on 127.0.0.1 with the issuer http://127.0.0.1:PORT. Its node_modules
// come from `npm ci` in internal/oidctest/node (scripts/test.sh runs it).
// Start skips the test when node or node_modules is missing, and fails it
// instead when PORTCULLIS_REQUIRE_TOOLS=1.
//
// What the provider does:
//
//   - Clients are confidential (client_secret_basic). A client with redirect
//     URIs gets the grants authorization_code, refresh_token and
//     client_credentials; one without gets client_credentials only. PKCE
//     with S256 is required for every authorization request (RFC 7636).
//   - Every login is accepted (the package's development interactions). The
//     login name is the subject; the account has email "<login>@example.com",
//     email_verified true, and groups ["admins"] when the login starts with
//     "admin", else ["staff"]. The ID token carries the claims of the scopes
//     asked for (groups with openid; email and email_verified with email;
//     name and preferred_username with profile), not only userinfo. The
//     ID token has a sid claim only for clients with a BackchannelLogoutURI
//     (backchannel_logout_session_required).
//   - Access tokens for Options.Resource are JWTs (typ "at+jwt", RS256)
//     with aud = Options.Resource and a space-separated "scope" claim, issued
//     through resource indicators (RFC 8707). The "resource" parameter value
//     is Provider.ResourceIndicator: client_credentials gets it by default;
//     the authorization code flow gets it when the authorization request
//     carries resource=ResourceIndicator (code exchange and refresh then reuse
//     it). A user's JWT access token also carries email and groups. Without
//     resource the code flow's access token is opaque (the one for
//     userinfo). Unknown scopes are dropped from the token, not refused; an
//     unknown resource is invalid_target.
//   - A refresh token comes with every code exchange of a client allowed the
//     refresh_token grant, whether or not offline_access was asked for (the
//     package drops offline_access unless prompt=consent). Refresh tokens
//     rotate only with Options.RotateRefreshTokens. They are bound to the
//     provider's session: RP-initiated logout revokes them.
//   - Revocation (RFC 7009), introspection, RP-initiated logout and
//     back-channel logout (with sid) are enabled.
//
// How the browser steps are driven (Login and Logout do this with a plain
// http.Client that has a cookie jar and follows redirects):
//
//   - Login: the authorization endpoint redirects to /interaction/{uid}, an
//     HTML page whose form posts to the same URL. The login form carries the
//     hidden field prompt=login and the text fields "login" (any name) and
//     "password" (ignored). After it the provider redirects to a second
//     /interaction/{uid} page, the consent form, with the single hidden field
//     prompt=consent. Then it redirects to the client's redirect URI.
//   - Logout: GET end_session_endpoint (/session/end) with id_token_hint,
//     post_logout_redirect_uri and state answers an HTML page whose form
//     id="op.logoutForm" posts to /session/end/confirm with the hidden field
//     "xsrf"; posting it with logout=yes (the "Yes, sign me out" button) ends
//     the provider session, revokes the grants, POSTs a logout_token to the
//     back-channel logout URI of every client of the session (before the
//     response) and redirects to post_logout_redirect_uri?state=...
package nodeop

import (
	"encoding/json"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/portcullis/portcullis/internal/testenv"
)

// Client is an OAuth 2.0 client registered at the provider.
type Client struct {
	ID, Secret             string
	RedirectURIs           []string
	PostLogoutRedirectURIs []string
	// BackchannelLogoutURI, when set, receives logout tokens (with sid).
	BackchannelLogoutURI string
	// UserinfoSignedResponseAlg, when set (e.g. "RS256"), registers the
	// client for signed userinfo (OpenID Connect Core 5.3.2): the userinfo
	// endpoint answers application/jwt instead of JSON.
	UserinfoSignedResponseAlg string
}

// Options configures the provider. Zero values mean: no resource server,
// access tokens valid one hour, refresh tokens not rotated.
type Options struct {
	Clients []Client
	// Resource is the audience of the JWT access tokens, e.g. "portcullis".
	Resource string
	// Scopes are the scopes of the resource, e.g. "dashboards:read".
	Scopes []string
	// AccessTokenTTL is the lifetime of access tokens, at least a second.
	AccessTokenTTL time.Duration
	// RotateRefreshTokens makes every refresh return a new refresh token.
	RotateRefreshTokens bool
}

// Provider is a running node oidc-provider.
type Provider struct {
	// Issuer is http://127.0.0.1:PORT.
	Issuer string
	// Resource is Options.Resource, the aud of JWT access tokens.
	Resource string
	// ResourceIndicator is the RFC 8707 "resource" parameter value that
	// selects Resource: Resource itself when it is an absolute URI, else
	// "urn:" + Resource (the package accepts absolute URIs only).
	ResourceIndicator string

	proc *testenv.Process
}

// serverConfig is the JSON document server.mjs reads from PORTCULLIS_OP_CONFIG.
type serverConfig struct {
	Port                int            `json:"port"`
	Clients             []clientConfig `json:"clients"`
	Resource            *resourceInfo  `json:"resource,omitempty"`
	AccessTokenTTL      int            `json:"accessTokenTTL,omitempty"`
	RotateRefreshTokens bool           `json:"rotateRefreshTokens"`
}

type clientConfig struct {
	ID                        string   `json:"client_id"`
	Secret                    string   `json:"client_secret"`
	RedirectURIs              []string `json:"redirect_uris"`
	PostLogoutRedirectURIs    []string `json:"post_logout_redirect_uris"`
	BackchannelLogoutURI      string   `json:"backchannel_logout_uri,omitempty"`
	UserinfoSignedResponseAlg string   `json:"userinfo_signed_response_alg,omitempty"`
}

type resourceInfo struct {
	Indicator string   `json:"indicator"`
	Audience  string   `json:"audience"`
	Scopes    []string `json:"scopes"`
}

// Dir returns the directory of server.mjs and its package.json.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "oidctest", "node")
}

// Start runs the provider for the test and stops it by PID at cleanup.
func Start(tb testing.TB, opts Options) *Provider {
	tb.Helper()
	node := testenv.LookPath(tb, "node")
	dir := Dir()
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider")); err != nil {
		msg := "nodeop: oidc-provider is not installed; run `npm ci` in " + dir
		if testenv.Required() {
			tb.Fatal(msg + " (PORTCULLIS_REQUIRE_TOOLS=1)")
		}
		tb.Skip(msg)
	}
	port := testenv.FreePort(tb)
	p := &Provider{Issuer: "http://" + testenv.Addr(port), Resource: opts.Resource}
	cfg := serverConfig{Port: port, RotateRefreshTokens: opts.RotateRefreshTokens}
	if opts.AccessTokenTTL > 0 {
		cfg.AccessTokenTTL = max(1, int(opts.AccessTokenTTL/time.Second))
	}
	if opts.Resource != "" {
		p.ResourceIndicator = indicator(opts.Resource)
		cfg.Resource = &resourceInfo{Indicator: p.ResourceIndicator, Audience: opts.Resource, Scopes: opts.Scopes}
	}
	for _, c := range opts.Clients {
		cfg.Clients = append(cfg.Clients, clientConfig(c))
	}
	doc, err := json.Marshal(cfg)
	if err != nil {
		tb.Fatalf("nodeop: %v", err)
	}
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PORTCULLIS_OP_CONFIG="+string(doc))
	p.proc = testenv.Start(tb, cmd)
	p.waitReady(tb, 20*time.Second)
	return p
}

// indicator turns an audience into an absolute URI usable as resource.
func indicator(resource string) string {
	if u, err := url.Parse(resource); err == nil && u.Scheme != "" {
		return resource
	}
	return "urn:" + resource
}

// waitReady waits for the line "READY <issuer>" or fails the test.
func (p *Provider) waitReady(tb testing.TB, timeout time.Duration) {
	tb.Helper()
	want := "READY " + p.Issuer
	for deadline := time.Now().Add(timeout); time.Now().Before(deadline); {
		out := p.proc.Output()
		if strings.Contains(out, want) {
			return
		}
		if exited(p.proc.Cmd.Process.Pid) {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	tb.Fatalf("nodeop: provider not ready after %v; output:\n%s", timeout, p.proc.Output())
}

// exited reports whether the process has ended (a zombie waiting for Wait);
// where /proc is missing it reports false and the timeout decides.
func exited(pid int) bool {
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	// The state follows the parenthesised command name.
	s := string(stat)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && (s[i+2] == 'Z' || s[i+2] == 'X')
}

// Output returns what the provider printed (warnings and errors, no secrets).
func (p *Provider) Output() string { return p.proc.Output() }

// Endpoint returns the authorization and token endpoints, with client
// authentication in the Authorization header (client_secret_basic).
func (p *Provider) Endpoint() oauth2.Endpoint {
	return oauth2.Endpoint{
		AuthURL:   p.Issuer + "/auth",
		TokenURL:  p.Issuer + "/token",
		AuthStyle: oauth2.AuthStyleInHeader,
	}
}

// EndSessionURL returns the RP-initiated logout URL (OpenID Connect
// RP-Initiated Logout 1.0 §2) for the given ID token, post-logout redirect
// URI and state; empty arguments are left out.
func (p *Provider) EndSessionURL(idTokenHint, postLogoutRedirectURI, state string) string {
	q := url.Values{}
	for k, v := range map[string]string{
		"id_token_hint": idTokenHint, "post_logout_redirect_uri": postLogoutRedirectURI, "state": state,
	} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return p.Issuer + "/session/end?" + q.Encode()
}
