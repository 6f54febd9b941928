package oidctest

// GoogleServer fakes the three Google endpoints a gateway needs to read a
// user's groups with a service account, on one httptest.Server:
//
//   - the OAuth 2.0 token endpoint for the service-account JWT-bearer grant
//     (RFC 7523 §2.1), as documented at
//     https://developers.google.com/identity/protocols/oauth2/service-account
//   - the Admin SDK Directory API groups.list (googledir.go), documented at
//     https://developers.google.com/admin-sdk/directory/reference/rest/v1/groups/list
//   - the Cloud Identity Groups API memberships.searchTransitiveGroups
//     (googledir.go), documented at
//     https://cloud.google.com/identity/docs/reference/rest/v1/groups.memberships/searchTransitiveGroups
//
// Faithful: the assertion is verified with the public half of the service
// account key the fake generated (RS256, kid = private_key_id), iss must be
// the service account, aud the token URL, scope present, iat/exp a short-lived
// window (at most an hour, 5 minutes of clock skew); a sub claim asks for
// domain-wide delegation, which Google refuses with 401 unauthorized_client
// when the delegation (or one of the requested scopes in it) is missing; the
// Directory API answers only tokens delegated to an admin (403 "Not
// Authorized to access this resource/api" otherwise, also for the service
// account's own token) and returns direct memberships only; Cloud Identity
// answers the service account's own token when it holds the Groups Reader
// role and computes transitive memberships with relationType; error bodies,
// page tokens and the omission of empty lists follow the documented JSON.
//
// Simplified: one service account, one customer domain; any address in the
// domain is a user that exists; group ids are derived from the email; the
// Directory API's maxResults above 200 is clamped rather than refused; the
// Cloud Identity query must be the documented member_key_id form (other CEL
// is refused with 400); Workspace editions (searchTransitiveGroups needs
// Enterprise or Cloud Identity Premium) are not modelled.

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// GoogleFault is a misbehaviour of GoogleServer; faults combine with |.
type GoogleFault uint32

// The faults GoogleServer.SetFaults can switch on.
const (
	// GoogleErrorOnDelegation: domain-wide delegation is not configured, so
	// every token request with a sub claim gets 401 unauthorized_client.
	GoogleErrorOnDelegation GoogleFault = 1 << iota
	// GoogleNoGroupsReader: the service account lacks the Groups Reader
	// role, so Cloud Identity answers its own token 403 PERMISSION_DENIED.
	GoogleNoGroupsReader
	// GoogleUnavailable: the token endpoint and both APIs answer 503.
	GoogleUnavailable
	// GoogleTokenStalls: the token endpoint answers nothing until the
	// client gives up (a stalled endpoint, or an egress proxy before it).
	GoogleTokenStalls
)

// Scopes of the Google APIs the fake serves.
const (
	googleScopeGroupReadonly = "https://www.googleapis.com/auth/admin.directory.group.readonly"
	googleScopeGroup         = "https://www.googleapis.com/auth/admin.directory.group"
	googleScopeCIReadonly    = "https://www.googleapis.com/auth/cloud-identity.groups.readonly"
	googleScopeCI            = "https://www.googleapis.com/auth/cloud-identity.groups"
	googleScopeCloudPlatform = "https://www.googleapis.com/auth/cloud-platform"
	jwtBearerGrant           = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// GoogleOptions configure a GoogleServer; zero values are documented.
type GoogleOptions struct {
	// Domain is the Workspace customer's domain (default "acme.com").
	Domain string
	// Admins may be impersonated to read the directory (default
	// "admin@" + Domain). Other users in the domain can be impersonated but
	// the Directory API refuses them.
	Admins []string
	// ServiceAccountEmail is the client_email (default
	// "portcullis@acme-project.iam.gserviceaccount.com").
	ServiceAccountEmail string
	// DelegatedScopes are the scopes the domain-wide delegation entry grants
	// (default: admin.directory.group.readonly).
	DelegatedScopes []string
	// Now is the clock (default time.Now).
	Now func() time.Time
	// TokenLifetime is an access token's life (default an hour; Google
	// says expires_in a second short of it). x/oauth2 counts a token
	// expired 10 s early: one of 11 s or less is never reused.
	TokenLifetime time.Duration
	// Quota is how many directory API calls the project may make, for all
	// users together (a Google Cloud project's quota is the service
	// account's, whoever is looked up); beyond it both APIs answer 429
	// rateLimitExceeded. 0 = no quota.
	Quota int
}

// GoogleServer is a running fake; its methods are safe for concurrent use.
type GoogleServer struct {
	URL    string // base URL of all three endpoints
	Server *httptest.Server
	// ServiceAccountEmail, ServiceAccountClientID (the numeric id an admin
	// enters for domain-wide delegation) and PrivateKeyID describe the key.
	ServiceAccountEmail    string
	ServiceAccountClientID string
	PrivateKeyID           string

	opts  GoogleOptions
	key   *rsa.PrivateKey
	calls callLog

	mu       sync.Mutex
	faults   GoogleFault
	graph    memberGraph
	names    map[string]string // group email -> name
	admins   map[string]bool
	tokens   map[string]googleToken
	requests []GoogleTokenRequest
	apiCalls int // directory API calls, against opts.Quota
}

// GoogleTokenRequest is one request at the token endpoint, as the fake
// understood it.
type GoogleTokenRequest struct {
	Subject string   // the sub claim: the impersonated user ("" = none)
	Scopes  []string // the scope claim, split
	Status  int      // the HTTP status answered
	Error   string   // the OAuth error code answered ("" = a token)
}

type googleToken struct {
	sub    string // impersonated user, "" = the service account itself
	scopes []string
	exp    time.Time
}

// NewGoogle starts the fake and stops it when the test ends.
func NewGoogle(tb testing.TB, o GoogleOptions) *GoogleServer {
	tb.Helper()
	if o.Domain == "" {
		o.Domain = "acme.com"
	}
	if len(o.Admins) == 0 {
		o.Admins = []string{"admin@" + o.Domain}
	}
	if o.ServiceAccountEmail == "" {
		o.ServiceAccountEmail = "portcullis@acme-project.iam.gserviceaccount.com"
	}
	if len(o.DelegatedScopes) == 0 {
		o.DelegatedScopes = []string{googleScopeGroupReadonly}
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.TokenLifetime <= 0 {
		o.TokenLifetime = time.Hour
	}
	g := &GoogleServer{ServiceAccountEmail: o.ServiceAccountEmail,
		ServiceAccountClientID: "104357712843019283746", PrivateKeyID: hex.EncodeToString(randomBytes(20)),
		opts: o, key: keyPool.take(tb).Private.(*rsa.PrivateKey),
		names: map[string]string{}, admins: map[string]bool{}, tokens: map[string]googleToken{}}
	for _, a := range o.Admins {
		g.admins[strings.ToLower(a)] = true
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", g.token)
	mux.HandleFunc("GET /admin/directory/v1/groups", g.directoryGroups)
	mux.HandleFunc("GET /v1/groups/{parent}/{method}", g.searchTransitiveGroups)
	g.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.calls.record(r)
		if g.faultsNow()&GoogleUnavailable != 0 {
			googleAPIError(w, http.StatusServiceUnavailable, "The service is currently unavailable.", "backendError", "UNAVAILABLE")
			return
		}
		if g.overQuota(r) {
			googleAPIError(w, http.StatusTooManyRequests, "Quota exceeded for quota metric 'Queries' and limit 'Queries per minute'.",
				"rateLimitExceeded", "RESOURCE_EXHAUSTED")
			return
		}
		mux.ServeHTTP(w, r)
	}))
	g.URL = g.Server.URL
	tb.Cleanup(g.Server.Close)
	return g
}

// overQuota counts r if it is a directory API call, and reports whether the
// project's Quota was spent before it.
func (g *GoogleServer) overQuota(r *http.Request) bool {
	if g.opts.Quota <= 0 || r.URL.Path == "/token" {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.apiCalls++
	return g.apiCalls > g.opts.Quota
}

// TokenURL is the token endpoint, the key file's token_uri.
func (g *GoogleServer) TokenURL() string { return g.URL + "/token" }

// SetFaults replaces the active faults (0 = honest).
func (g *GoogleServer) SetFaults(f GoogleFault) { g.mu.Lock(); g.faults = f; g.mu.Unlock() }

func (g *GoogleServer) faultsNow() GoogleFault { g.mu.Lock(); defer g.mu.Unlock(); return g.faults }

// SetGroup names a group (its "name" / "displayName"); groups need not be
// declared, an unnamed group is named after its email's local part.
func (g *GoogleServer) SetGroup(email, name string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.names[strings.ToLower(email)] = name
}

// SetMemberships replaces the groups member (a user's or a group's email)
// belongs to directly. A group listed as a member of another nests: its
// members belong to the parent transitively. No groups = none (the member
// still exists).
func (g *GoogleServer) SetMemberships(member string, groups ...string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	low := make([]string, len(groups))
	for i, s := range groups {
		low[i] = strings.ToLower(s)
	}
	g.graph.set(strings.ToLower(member), low)
}

// Calls are the requests received at path ("" = all), in order.
func (g *GoogleServer) Calls(path string) []Call { return g.calls.list(path) }

// TokenRequests are the requests received at the token endpoint, in order.
func (g *GoogleServer) TokenRequests() []GoogleTokenRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.requests)
}

// ServiceAccountKey is the JSON key file Google Cloud console downloads for
// the service account, with token_uri pointing at this fake.
func (g *GoogleServer) ServiceAccountKey() []byte {
	der, err := x509.MarshalPKCS8PrivateKey(g.key)
	if err != nil {
		panic(err)
	}
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	b, _ := json.MarshalIndent(map[string]string{
		"type": "service_account", "project_id": "acme-project",
		"private_key_id": g.PrivateKeyID, "private_key": string(pemKey),
		"client_email": g.ServiceAccountEmail, "client_id": g.ServiceAccountClientID,
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": g.TokenURL(),
		"auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
		"client_x509_cert_url":        "https://www.googleapis.com/robot/v1/metadata/x509/" + g.ServiceAccountEmail,
		"universe_domain":             "googleapis.com",
	}, "", "  ")
	return b
}

// WriteServiceAccountKey writes ServiceAccountKey to a 0600 file in a
// temporary directory of the test and returns its path.
func (g *GoogleServer) WriteServiceAccountKey(tb testing.TB) string {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "service-account.json")
	if err := os.WriteFile(path, g.ServiceAccountKey(), 0o600); err != nil {
		tb.Fatalf("oidctest: writing service account key: %v", err)
	}
	return path
}

func googleOAuthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// token implements the JWT-bearer grant (RFC 7523 §2.1, §3) the way Google
// does: errors are JSON with error and error_description.
func (g *GoogleServer) token(w http.ResponseWriter, r *http.Request) {
	if g.faultsNow()&GoogleTokenStalls != 0 {
		// The body is read first: the server notices the client going
		// away (and ends the context) only once it has been.
		_, _ = io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return
	}
	req := GoogleTokenRequest{}
	status, code, desc := g.grant(r, &req)
	req.Status, req.Error = status, code
	g.mu.Lock()
	g.requests = append(g.requests, req)
	g.mu.Unlock()
	if code != "" {
		googleOAuthError(w, status, code, desc)
		return
	}
	tok := "ya29.c." + randomString()
	g.mu.Lock()
	g.tokens[tok] = googleToken{sub: req.Subject, scopes: req.Scopes, exp: g.opts.Now().Add(g.opts.TokenLifetime)}
	g.mu.Unlock()
	w.Header().Set("Cache-Control", "no-cache, no-store, max-age=0, must-revalidate")
	expiresIn := int(g.opts.TokenLifetime/time.Second) - 1
	writeJSON(w, http.StatusOK, map[string]any{"access_token": tok, "expires_in": expiresIn, "token_type": "Bearer"})
}

// grant checks the request; it returns 200 and "" or the error to answer.
func (g *GoogleServer) grant(r *http.Request, req *GoogleTokenRequest) (int, string, string) {
	if err := r.ParseForm(); err != nil {
		return http.StatusBadRequest, "invalid_request", "Invalid request body."
	}
	if gt := r.PostForm.Get("grant_type"); gt != jwtBearerGrant {
		return http.StatusBadRequest, "unsupported_grant_type", "Invalid grant_type: " + gt
	}
	c, ok := g.verifyAssertion(r.PostForm.Get("assertion"))
	if !ok {
		return http.StatusBadRequest, "invalid_grant", "Invalid JWT Signature."
	}
	req.Subject, _ = c["sub"].(string)
	scope, _ := c["scope"].(string)
	req.Scopes = strings.Fields(scope)
	if iss, _ := c["iss"].(string); iss != g.ServiceAccountEmail {
		return http.StatusBadRequest, "invalid_grant", "Invalid grant: account not found"
	}
	if aud, _ := c["aud"].(string); aud != g.TokenURL() {
		return http.StatusBadRequest, "invalid_grant", "Invalid JWT: Failed audience check."
	}
	if !g.shortLived(c) {
		return http.StatusBadRequest, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim."
	}
	if len(req.Scopes) == 0 {
		return http.StatusBadRequest, "invalid_scope", "Invalid OAuth scope or ID token audience provided."
	}
	if req.Subject == "" {
		return http.StatusOK, "", ""
	}
	if !strings.HasSuffix(strings.ToLower(req.Subject), "@"+g.opts.Domain) {
		return http.StatusBadRequest, "invalid_grant", "Invalid email or User ID"
	}
	unauthorized := g.faultsNow()&GoogleErrorOnDelegation != 0
	for _, s := range req.Scopes {
		unauthorized = unauthorized || !slices.Contains(g.opts.DelegatedScopes, s)
	}
	if unauthorized {
		return http.StatusUnauthorized, "unauthorized_client",
			"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested."
	}
	return http.StatusOK, "", ""
}

// verifyAssertion checks the RS256 signature with the service account's
// public key (a kid, if any, must name the key) and returns the claims.
func (g *GoogleServer) verifyAssertion(assertion string) (map[string]any, bool) {
	jws, err := jose.ParseSignedCompact(assertion, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(jws.Signatures) != 1 {
		return nil, false
	}
	if kid := jws.Signatures[0].Header.KeyID; kid != "" && kid != g.PrivateKeyID {
		return nil, false
	}
	payload, err := jws.Verify(&g.key.PublicKey)
	if err != nil {
		return nil, false
	}
	var c map[string]any
	if json.Unmarshal(payload, &c) != nil {
		return nil, false
	}
	return c, true
}

// shortLived: iat not in the future and exp within an hour of now, both
// with Google's 5 minutes of skew (golang.org/x/oauth2/jws backdates iat by
// 10 seconds, so exp-iat is slightly over an hour and still accepted).
func (g *GoogleServer) shortLived(c map[string]any) bool {
	iat, ok1 := c["iat"].(float64)
	exp, ok2 := c["exp"].(float64)
	now := float64(g.opts.Now().Unix())
	const skew = 300
	return ok1 && ok2 && iat <= now+skew && exp > now-skew && exp <= now+3600+skew && exp > iat
}

// bearer resolves the request's access token (nil if missing, unknown or
// expired).
func (g *GoogleServer) bearer(r *http.Request) *googleToken {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		return nil
	}
	g.mu.Lock()
	t, found := g.tokens[tok]
	g.mu.Unlock()
	if !found || !g.opts.Now().Before(t.exp) {
		return nil
	}
	return &t
}

func (t *googleToken) hasScope(any ...string) bool {
	for _, s := range any {
		if slices.Contains(t.scopes, s) {
			return true
		}
	}
	return false
}

// googleAPIError writes Google's JSON error (the Directory API's form, with
// an errors list; status names the canonical code).
func googleAPIError(w http.ResponseWriter, code int, message, reason, status string) {
	writeJSON(w, code, map[string]any{"error": map[string]any{
		"code": code, "message": message, "status": status,
		"errors": []map[string]string{{"message": message, "domain": "global", "reason": reason}},
	}})
}

func unauthenticated(w http.ResponseWriter) {
	w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/", error="invalid_token"`)
	googleAPIError(w, http.StatusUnauthorized,
		"Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
		"authError", "UNAUTHENTICATED")
}

// groupID is the stable opaque id of a group (Google's are 15 characters
// like "03x8tuzt1kfnyks").
func groupID(email string) string {
	s := sha256.Sum256([]byte(email))
	return "0" + hex.EncodeToString(s[:])[:14]
}

// groupName is the group's name (SetGroup) or its email's local part.
func (g *GoogleServer) groupName(email string) string {
	if n := g.names[email]; n != "" {
		return n
	}
	local, _, _ := strings.Cut(email, "@")
	return local
}
