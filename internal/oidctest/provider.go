// Package oidctest is an in-process OpenID Provider for tests: an honest one
// by default, and one that misbehaves on demand (SetFaults). It serves
// discovery, JWKS, an authorize endpoint that logs the configured user in at
// once (no form), token (authorization_code with PKCE S256 checked, and
// refresh_token with rotation), userinfo, RFC 7662 introspection, RFC 7009
// revocation and end_session, on an httptest.Server bound to 127.0.0.1.
//
//	p := oidctest.New(t, oidctest.Options{})
//	// p.Issuer, p.ClientID, p.ClientSecret configure the relying party.
//	p.SetFaults(oidctest.FaultWrongNonce)   // the next ID tokens carry another nonce
//	tok := p.AccessToken("alice", nil)       // a signed JWT access token
//
// GitHubServer (github.go) fakes GitHub's OAuth and REST endpoints, with
// organisations and teams (githuborgs.go); GoogleServer (google.go) Google's
// service-account token endpoint and directory APIs; EntraServer (entra.go)
// an Entra ID-like issuer with Microsoft Graph.
package oidctest

import (
	"cmp"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// Fault is a misbehaviour of the provider; faults combine with |.
type Fault uint32

// The faults SetFaults can switch on. ID-token faults apply to ID tokens from
// the token endpoint (both grants); FaultServerError and FaultSlow apply to
// every endpoint except discovery and JWKS.
const (
	FaultWrongIssuer      Fault = 1 << iota // iss is another issuer
	FaultWrongAudience                      // aud is another client
	FaultWrongNonce                         // nonce differs from the request's
	FaultExpiredIDToken                     // exp an hour ago
	FaultBadSignature                       // signature bytes corrupted
	FaultAlgNone                            // alg "none", no signature
	FaultUnknownKID                         // signed by an unpublished key with an unknown kid
	FaultHS256PublicKey                     // HS256 with the public key as HMAC secret
	FaultMissingSub                         // no sub claim
	FaultStringIat                          // iat is a JSON string
	FaultUserinfoOtherSub                   // userinfo answers for another sub
	FaultServerError                        // 500 from token, userinfo, introspection, revocation
	FaultSlow                               // every such response waits Options.SlowDelay
	FaultNoIDToken                          // the token response has no id_token
	FaultChangedSub                         // refreshed ID tokens carry another sub
	FaultBadAtHash                          // at_hash does not match the access token
	// FaultEchoingErrors: the token endpoint refuses every request with an
	// OAuth error whose error and error_description quote the first 16
	// characters of each form value (the code, the verifier, the refresh
	// token), as providers' messages may ("token AbC… not found").
	FaultEchoingErrors
	// FaultEchoingRedirect: token, userinfo, introspection and revocation
	// answer 307 with a Location on another host that echoes the request
	// whole: every form value and the Authorization header (a proxy or
	// debug page in front of a provider).
	FaultEchoingRedirect
	FaultMissingNonce // the ID token has no nonce claim
)

// User is who the provider logs in.
type User struct {
	Subject string
	// Claims go into ID tokens and userinfo (e.g. email, groups, sid).
	Claims map[string]any
	// UserinfoClaims appear only at the userinfo endpoint.
	UserinfoClaims map[string]any
	// IDTokenClaims appear only in ID tokens (a provider whose userinfo
	// leaves out groups it puts in ID tokens).
	IDTokenClaims map[string]any
}

// claimsWith returns a new map of u's Claims with own's over them: what a
// token or an endpoint states of u, own being its own claims.
func (u User) claimsWith(own map[string]any) map[string]any {
	c := make(map[string]any, len(u.Claims)+len(own))
	maps.Copy(c, u.Claims)
	maps.Copy(c, own)
	return c
}

// Options configure a Provider; zero values are documented per field.
type Options struct {
	// RecordMinted keeps every credential the provider makes or is handed
	// for Minted; off, nothing is kept (a test that floods the provider
	// with tokens would otherwise measure them).
	RecordMinted bool
	ClientID     string // default "client"
	ClientSecret string // default "secret"
	// User is logged in by /authorize; default subject "alice" with
	// email alice@example.com (verified), preferred_username alice,
	// groups ["admins"], sid "sid-alice".
	User *User
	// Alg signs tokens: "RS256" (default) or "ES256". Both an RSA and an EC
	// key are published either way.
	Alg string
	// AccessTokenLifetime is expires_in (default 1h; negative = none stated).
	AccessTokenLifetime time.Duration
	// JWTAccessTokens issues signed JWT access tokens (typ at+jwt, aud =
	// AccessTokenAudience, default ClientID) instead of opaque ones.
	JWTAccessTokens     bool
	AccessTokenAudience string
	// NoUserinfo, NoIntrospection, NoRevocation, NoEndSession leave the
	// endpoint out of discovery (and unserved).
	NoUserinfo, NoIntrospection, NoRevocation, NoEndSession bool
	// IssParameter advertises and sends the RFC 9207 iss parameter.
	IssParameter bool
	// OmitTokenScope leaves scope out of token responses, as RFC 6749 §5.1
	// allows when the grant is exactly the requested scope.
	OmitTokenScope bool
	// NoRefreshToken leaves refresh_token out of token responses, as
	// Google without offline access and Entra ID without offline_access do.
	NoRefreshToken bool
	// ExtraJWKS entries are appended verbatim to the published key set.
	ExtraJWKS []json.RawMessage
	// ClientSecretPostOnly refuses client_secret_basic at the token
	// endpoint, as some plain OAuth 2.0 servers do: 401 invalid_client, or
	// BasicRefusal when set (e.g. "invalid_request", which a server that
	// finds no client_id in the form may answer, with 400).
	ClientSecretPostOnly bool
	// BasicRefusal is the error code of ClientSecretPostOnly's refusal,
	// answered with 400; "-" answers 400 with a body that is no OAuth error.
	BasicRefusal string
	// SlowDelay is the wait of FaultSlow (default 2s).
	SlowDelay time.Duration
	// Now is the provider's clock (default time.Now).
	Now func() time.Time
	// Addr is the 127.0.0.1:PORT to listen on (default: a free port), for
	// tests that start the gateway before its provider.
	Addr string
	// IssuerPath is appended to the server's URL to make the issuer, and
	// every endpoint is served under it (e.g. "/TENANT/v2.0", the shape of
	// Microsoft Entra ID's issuer). Default "": the issuer is the URL.
	IssuerPath string
	// Issuer, when set, is the issuer the provider names in discovery and
	// tokens (and the base of its endpoints there) instead of its URL, for
	// one that stands in for a real provider (Google's
	// https://accounts.google.com); the test's HTTP client routes that
	// host to Server.
	Issuer string
	// IDTokenIssuer, when set, is the iss of the ID tokens the token
	// endpoint issues, for a provider whose ID tokens spell its issuer
	// otherwise than discovery does (Google's accounts.google.com).
	IDTokenIssuer string
	// Discovery members are added to the discovery document or replace its
	// own (a nil value removes one), for a provider whose document is
	// hostile or broken (an endpoint that is not a URL, http under an
	// https issuer).
	Discovery map[string]any
	// Consent makes /authorize show a consent page (links #allow and
	// #deny) instead of logging in at once, so that a browser test can
	// hold a sign-in at the provider: #deny sends the user back with
	// error=access_denied and DenyDescription as error_description.
	Consent         bool
	DenyDescription string
	// IgnorePKCE redeems a code whatever code_verifier comes with it, as a
	// provider that takes code_challenge and never checks it does.
	IgnorePKCE bool
}

// Provider is a running test OpenID Provider. Its methods are safe for
// concurrent use.
type Provider struct {
	Issuer       string // the server's URL, also the issuer
	ClientID     string
	ClientSecret string
	Server       *httptest.Server

	tb   testing.TB
	opts Options
	rsa  *Key
	ec   *Key

	mu       sync.Mutex
	faults   Fault
	user     User
	codes    map[string]authRequest
	refresh  map[string]grant // live refresh tokens
	access   map[string]grant // issued opaque access tokens
	revoked  map[string]bool  // revoked tokens (refresh or access)
	counts   map[string]int   // requests per endpoint path
	grants   map[string]int   // token requests per grant_type
	lastEnd  url.Values       // last end_session query
	lastAuth url.Values       // last authorize query
	withheld map[string]bool  // scopes the token endpoint does not grant
	// Set by SetRedirect, SetTokenType and SetIDTokenAge.
	redirects map[string]redirect // path -> redirect answer instead of the endpoint
	tokenType string              // token_type of token responses ("" = omitted)
	idAge     time.Duration       // how long before now ID tokens say they were issued
	expiresIn string              // SetExpiresIn: raw JSON, "omit", or "" for Options.AccessTokenLifetime
	fields    map[string]string   // SetTokenField: member -> raw JSON replacing the one issued
	minted    []string            // Minted: every credential made or received
	introIss  string              // SetIntrospectionIssuer: iss of introspection answers
}

type redirect struct {
	status   int
	location string
}

type authRequest struct {
	nonce, challenge, redirectURI, scope string
}

type grant struct {
	sub, scope string
	exp        time.Time
	aud        string
}

// New starts a provider on 127.0.0.1 and stops it when the test ends.
func New(tb testing.TB, o Options) *Provider {
	tb.Helper()
	o = o.withDefaults()
	p := &Provider{
		ClientID: o.ClientID, ClientSecret: o.ClientSecret,
		tb: tb, opts: o, user: o.initialUser(),
		rsa: keyPool.take(tb), ec: newKey(tb, "ec-1", "ES256"),
		codes: map[string]authRequest{}, refresh: map[string]grant{},
		access: map[string]grant{}, revoked: map[string]bool{}, counts: map[string]int{}, grants: map[string]int{},
		redirects: map[string]redirect{}, tokenType: "Bearer",
	}
	handler := p.routes()
	if o.IssuerPath != "" {
		handler = http.StripPrefix(o.IssuerPath, handler)
	}
	p.Server = startServer(tb, handler, o.Addr)
	p.Issuer = cmp.Or(o.Issuer, p.Server.URL+o.IssuerPath)
	tb.Cleanup(p.Server.Close)
	return p
}

// withDefaults fills in the Options left zero: client "client" with secret
// "secret", hour-long access tokens for the client's audience, a 2s
// SlowDelay and the real clock.
func (o Options) withDefaults() Options {
	o.ClientID = cmp.Or(o.ClientID, "client")
	o.ClientSecret = cmp.Or(o.ClientSecret, "secret")
	o.AccessTokenLifetime = cmp.Or(o.AccessTokenLifetime, time.Hour)
	o.AccessTokenAudience = cmp.Or(o.AccessTokenAudience, o.ClientID)
	o.SlowDelay = cmp.Or(o.SlowDelay, 2*time.Second)
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// initialUser is Options.User, or alice: verified email, an admin.
func (o Options) initialUser() User {
	if o.User != nil {
		return *o.User
	}
	return User{Subject: "alice", Claims: map[string]any{
		"email": "alice@example.com", "email_verified": true,
		"preferred_username": "alice", "groups": []string{"admins"}, "sid": "sid-alice",
	}}
}

// startServer serves handler on addr ("" = a free port of 127.0.0.1).
func startServer(tb testing.TB, handler http.Handler, addr string) *httptest.Server {
	tb.Helper()
	s := httptest.NewUnstartedServer(handler)
	if addr != "" {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			tb.Fatalf("oidctest: listen %s: %v", addr, err)
		}
		s.Listener.Close()
		s.Listener = l
	}
	s.Start()
	return s
}

// Key is the key that signs tokens (per Options.Alg).
func (p *Provider) Key() *Key {
	if p.opts.Alg == "ES256" {
		return p.ec
	}
	return p.rsa
}

// Minted returns every credential the provider issued or was handed so
// far: authorization codes, access, refresh, ID and logout tokens, and the
// state, nonce and PKCE verifier of each sign-in, for tests that check
// none of them shows where it must not; only with Options.RecordMinted.
func (p *Provider) Minted() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.minted...)
}

// mint records credentials for Minted and returns the first.
func (p *Provider) mint(v ...string) string {
	if !p.opts.RecordMinted {
		return v[0]
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range v {
		if s != "" {
			p.minted = append(p.minted, s)
		}
	}
	return v[0]
}

// SetFaults replaces the active faults (0 = honest).
func (p *Provider) SetFaults(f Fault) { p.mu.Lock(); p.faults = f; p.mu.Unlock() }

// SetWithheldScopes makes later code exchanges grant the requested scopes
// except these, as when a user declines consent for them (none = grant all).
func (p *Provider) SetWithheldScopes(scopes ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.withheld = map[string]bool{}
	for _, s := range scopes {
		p.withheld[s] = true
	}
}

// grantable drops the withheld scopes from a space-separated scope.
func (p *Provider) grantable(scope string) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, s := range strings.Fields(scope) {
		if !p.withheld[s] {
			out = append(out, s)
		}
	}
	return strings.Join(out, " ")
}

// SetRedirect makes the endpoint at path ("/token", "/jwks", "/userinfo",
// "/introspect", "/revoke", "/.well-known/openid-configuration") answer with
// status (a 3xx) and Location location instead of serving the request;
// status 0 serves it again.
func (p *Provider) SetRedirect(path string, status int, location string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if status == 0 {
		delete(p.redirects, path)
		return
	}
	p.redirects[path] = redirect{status: status, location: location}
}

// SetTokenType sets the token_type of later token responses (default
// "Bearer"; "" leaves the member out).
func (p *Provider) SetTokenType(t string) { p.mu.Lock(); p.tokenType = t; p.mu.Unlock() }

// SetIntrospectionIssuer makes later introspection answers name iss as
// their issuer instead of the provider's ("-" leaves iss out; "" restores
// the provider's): an introspection endpoint that vouches for another
// issuer's tokens, or spells its own issuer otherwise.
func (p *Provider) SetIntrospectionIssuer(iss string) { p.mu.Lock(); p.introIss = iss; p.mu.Unlock() }

// SetIDTokenAge makes later ID tokens say they were issued age before now
// (iat), with exp still an hour after now: a stale or replayed token.
func (p *Provider) SetIDTokenAge(age time.Duration) { p.mu.Lock(); p.idAge = age; p.mu.Unlock() }

// SetExpiresIn makes later token responses carry expires_in as the raw
// JSON value raw ("-5", "1e300", `"3600"`); "omit" leaves the member out,
// "" goes back to Options.AccessTokenLifetime.
func (p *Provider) SetExpiresIn(raw string) { p.mu.Lock(); p.expiresIn = raw; p.mu.Unlock() }

// SetTokenField makes later token responses carry the member name as the
// raw JSON value raw (`"tok\u00e9"`) instead of what the endpoint would
// issue; "" goes back to that.
func (p *Provider) SetTokenField(name, raw string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.fields == nil {
		p.fields = map[string]string{}
	}
	if raw == "" {
		delete(p.fields, name)
		return
	}
	p.fields[name] = raw
}

// RevokeGrants revokes every grant at the provider, as an administrator
// who disables the user or ends their sessions there: every refresh token
// issued so far is refused (invalid_grant) from now on.
func (p *Provider) RevokeGrants() { p.mu.Lock(); clear(p.refresh); p.mu.Unlock() }

// SetUser replaces the user that later logins and refreshes are for.
func (p *Provider) SetUser(u User) { p.mu.Lock(); p.user = u; p.mu.Unlock() }

// Requests counts the requests served at an endpoint path ("/token",
// "/jwks", "/userinfo", "/introspect", "/revoke", "/authorize", ...).
func (p *Provider) Requests(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.counts[path]
}

// Grants counts the token requests of a grant_type ("authorization_code",
// "refresh_token") that FaultServerError did not answer: a login's code
// exchange apart from a refresh its first request may make (with short
// access tokens, a slow login leaves the token due by then).
func (p *Provider) Grants(grantType string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.grants[grantType]
}

// LastEndSession is the query of the last end_session request (nil if none).
func (p *Provider) LastEndSession() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastEnd
}

// LastAuthorize is the query of the last authorization request (nil if none).
func (p *Provider) LastAuthorize() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.lastAuth
}

// Revoked reports whether a token was revoked at /revoke.
func (p *Provider) Revoked(token string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.revoked[token]
}

func (p *Provider) faultsNow() Fault { p.mu.Lock(); defer p.mu.Unlock(); return p.faults }

func (p *Provider) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /.well-known/openid-configuration", p.discovery)
	mux.HandleFunc("GET /jwks", p.jwks)
	mux.HandleFunc("GET /authorize", p.authorize)
	mux.HandleFunc("POST /token", p.failing(p.token))
	if !p.opts.NoUserinfo {
		mux.HandleFunc("/userinfo", p.failing(p.userinfo))
	}
	if !p.opts.NoIntrospection {
		mux.HandleFunc("POST /introspect", p.failing(p.introspect))
	}
	if !p.opts.NoRevocation {
		mux.HandleFunc("POST /revoke", p.failing(p.revoke))
	}
	if !p.opts.NoEndSession {
		mux.HandleFunc("GET /end_session", p.endSession)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.counts[r.URL.Path]++
		rd, redirected := p.redirects[r.URL.Path]
		p.mu.Unlock()
		if redirected {
			w.Header().Set("Location", rd.location)
			w.WriteHeader(rd.status)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// failing applies FaultSlow and FaultServerError in front of h.
func (p *Provider) failing(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		f := p.faultsNow()
		if f&FaultSlow != 0 {
			// Read the body first: only then does the server notice a client
			// that gave up, and end r.Context().
			_ = r.ParseForm()
			select {
			case <-time.After(p.opts.SlowDelay):
			case <-r.Context().Done():
				return
			}
		}
		if f&FaultServerError != 0 {
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		if f&FaultEchoingRedirect != 0 {
			p.echoingRedirect(w, r)
			return
		}
		h(w, r)
	}
}

// echoingRedirect is FaultEchoingRedirect's answer. The credentials among
// the form values are recorded for Minted, as the endpoints would: the PKCE
// verifier is handed to the token endpoint only.
func (p *Provider) echoingRedirect(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	echo := url.Values{"authorization": {r.Header.Get("Authorization")}}
	for k, vs := range r.Form {
		echo[k] = vs
	}
	p.mint("", r.PostForm.Get("code"), r.PostForm.Get("code_verifier"), r.PostForm.Get("refresh_token"), r.PostForm.Get("token"))
	w.Header().Set("Location", "https://echo.invalid/"+url.PathEscape(r.Header.Get("Authorization"))+"?"+echo.Encode())
	w.WriteHeader(http.StatusTemporaryRedirect)
}

func (p *Provider) discovery(w http.ResponseWriter, r *http.Request) {
	iss := p.Issuer
	m := map[string]any{
		"issuer":                                iss,
		"authorization_endpoint":                iss + "/authorize",
		"token_endpoint":                        iss + "/token",
		"jwks_uri":                              iss + "/jwks",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"public"},
		"id_token_signing_alg_values_supported": []string{"RS256", "ES256"},
		"code_challenge_methods_supported":      []string{"S256"},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
	}
	if !p.opts.NoUserinfo {
		m["userinfo_endpoint"] = iss + "/userinfo"
	}
	if !p.opts.NoIntrospection {
		m["introspection_endpoint"] = iss + "/introspect"
	}
	if !p.opts.NoRevocation {
		m["revocation_endpoint"] = iss + "/revoke"
	}
	if !p.opts.NoEndSession {
		m["end_session_endpoint"] = iss + "/end_session"
	}
	if p.opts.IssParameter {
		m["authorization_response_iss_parameter_supported"] = true
	}
	for k, v := range p.opts.Discovery {
		if v == nil {
			delete(m, k)
			continue
		}
		m[k] = v
	}
	writeJSON(w, http.StatusOK, m)
}

func (p *Provider) jwks(w http.ResponseWriter, r *http.Request) {
	keys := []any{p.rsa.JWK(), p.ec.JWK()}
	for _, raw := range p.opts.ExtraJWKS {
		keys = append(keys, raw)
	}
	writeJSON(w, http.StatusOK, map[string]any{"keys": keys})
}

// authorize logs the configured user in at once and redirects back with a
// code, after checking client_id, response_type and the S256 challenge.
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	p.mu.Lock()
	p.lastAuth = q
	p.mu.Unlock()
	redirect := q.Get("redirect_uri")
	if q.Get("client_id") != p.ClientID || redirect == "" || q.Get("response_type") != "code" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "PKCE S256 required", http.StatusBadRequest)
		return
	}
	if p.opts.Consent && p.consent(w, r, q, redirect) {
		return
	}
	code := p.mint(randomString(), q.Get("state"), q.Get("nonce"))
	p.mu.Lock()
	p.codes[code] = authRequest{nonce: q.Get("nonce"), challenge: q.Get("code_challenge"),
		redirectURI: redirect, scope: q.Get("scope")}
	p.mu.Unlock()
	p.redirectBack(w, r, redirect, url.Values{"code": {code}, "state": {q.Get("state")}})
}

// redirectBack sends the browser to the client's redirect URI with the
// authorization response back (a code, or an error), and the iss parameter
// of RFC 9207 when the options ask for it.
func (p *Provider) redirectBack(w http.ResponseWriter, r *http.Request, redirect string, back url.Values) {
	if p.opts.IssParameter {
		back.Set("iss", p.Issuer)
	}
	sep := "?"
	if strings.Contains(redirect, "?") {
		sep = "&"
	}
	http.Redirect(w, r, redirect+sep+back.Encode(), http.StatusFound)
}

// clientAuthenticated accepts client_secret_basic and client_secret_post.
func (p *Provider) clientAuthenticated(r *http.Request) bool {
	id, secret, ok := r.BasicAuth()
	if ok && p.opts.ClientSecretPostOnly {
		return false
	}
	if ok {
		id, _ = url.QueryUnescape(id)
		secret, _ = url.QueryUnescape(secret)
	} else {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	return subtle.ConstantTimeCompare([]byte(id), []byte(p.ClientID)) == 1 &&
		subtle.ConstantTimeCompare([]byte(secret), []byte(p.ClientSecret)) == 1
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

// refuseClient answers a token request whose client authentication failed.
func (p *Provider) refuseClient(w http.ResponseWriter) {
	switch p.opts.BasicRefusal {
	case "":
		oauthError(w, http.StatusUnauthorized, "invalid_client")
	case "-":
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": "client_id missing", "code": 101})
	default:
		oauthError(w, http.StatusBadRequest, p.opts.BasicRefusal)
	}
}

func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	p.mu.Lock()
	p.grants[r.PostForm.Get("grant_type")]++
	p.mu.Unlock()
	p.mint(r.PostForm.Get("code"), r.PostForm.Get("code_verifier"))
	if !p.clientAuthenticated(r) {
		p.refuseClient(w)
		return
	}
	if p.faultsNow()&FaultEchoingErrors != 0 {
		var quoted []string
		for _, vs := range r.PostForm {
			for _, v := range vs {
				quoted = append(quoted, v[:min(len(v), 16)])
			}
		}
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant " + quoted[0],
			"error_description": "not found: " + strings.Join(quoted, ", ")})
		return
	}
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		p.codeGrant(w, r)
	case "refresh_token":
		p.refreshGrant(w, r)
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
	}
}

func (p *Provider) codeGrant(w http.ResponseWriter, r *http.Request) {
	code := r.PostForm.Get("code")
	p.mu.Lock()
	req, ok := p.codes[code]
	delete(p.codes, code) // single use
	p.mu.Unlock()
	if !ok || r.PostForm.Get("redirect_uri") != req.redirectURI {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	if !p.opts.IgnorePKCE && !s256Matches(r.PostForm.Get("code_verifier"), req.challenge) {
		// Described as Keycloak does, so a test can tell this refusal
		// from that of an unknown code.
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid_grant",
			"error_description": "PKCE verification failed"})
		return
	}
	p.mu.Lock()
	sub := p.user.Subject
	p.mu.Unlock()
	p.issue(w, sub, p.grantable(req.scope), req.nonce)
}

func (p *Provider) refreshGrant(w http.ResponseWriter, r *http.Request) {
	rt := r.PostForm.Get("refresh_token")
	p.mu.Lock()
	g, ok := p.refresh[rt]
	delete(p.refresh, rt) // rotation: a refresh token is used once
	p.mu.Unlock()
	if !ok {
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	if p.faultsNow()&FaultChangedSub != 0 {
		g.sub += "-other"
	}
	p.issue(w, g.sub, g.scope, "")
}

// issue answers a token request with fresh access, refresh and ID tokens.
func (p *Provider) issue(w http.ResponseWriter, sub, scope, nonce string) {
	now := p.opts.Now()
	at := p.newAccessToken(sub, scope, now)
	rt := p.mint(randomString())
	p.mu.Lock()
	p.refresh[rt] = grant{sub: sub, scope: scope}
	tokenType, expiresIn := p.tokenType, p.expiresIn
	p.mu.Unlock()
	resp := map[string]any{"access_token": p.mint(at), "refresh_token": rt}
	if p.opts.NoRefreshToken {
		delete(resp, "refresh_token")
	}
	if tokenType != "" {
		resp["token_type"] = tokenType
	}
	switch {
	case expiresIn == "omit":
	case expiresIn != "":
		resp["expires_in"] = json.RawMessage(expiresIn)
	case p.opts.AccessTokenLifetime > 0:
		resp["expires_in"] = int(p.opts.AccessTokenLifetime / time.Second)
	}
	if scope != "" && !p.opts.OmitTokenScope {
		resp["scope"] = scope
	}
	if p.faultsNow()&FaultNoIDToken == 0 {
		resp["id_token"] = p.mint(p.IDToken(sub, nonce, at))
	}
	p.mu.Lock()
	for k, v := range p.fields {
		resp[k] = json.RawMessage(v)
	}
	p.mu.Unlock()
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, resp)
}

func (p *Provider) newAccessToken(sub, scope string, now time.Time) string {
	exp := now.Add(p.opts.AccessTokenLifetime)
	if p.opts.AccessTokenLifetime < 0 {
		exp = now.Add(time.Hour)
	}
	if p.opts.JWTAccessTokens {
		return p.Sign(map[string]any{
			"iss": p.Issuer, "sub": sub, "aud": p.opts.AccessTokenAudience, "client_id": p.ClientID,
			"iat": now.Unix(), "exp": exp.Unix(), "scope": scope, "jti": randomString(),
		}, SignOptions{Typ: "at+jwt"})
	}
	at := randomString()
	p.mu.Lock()
	p.access[at] = grant{sub: sub, scope: scope, exp: exp, aud: p.opts.AccessTokenAudience}
	p.mu.Unlock()
	return at
}

// s256Matches checks RFC 7636 §4.6: BASE64URL(SHA256(verifier)) == challenge.
func s256Matches(verifier, challenge string) bool {
	sum := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(sum[:]) == challenge
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString() string {
	return base64.RawURLEncoding.EncodeToString(randomBytes(24))
}
