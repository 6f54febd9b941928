package e2e

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/portcullis/portcullis/internal/nodeop"
	"github.com/portcullis/portcullis/internal/oidctest"
)

// apiResult is a gateway answer to an API client.
type apiResult struct {
	status    int
	challenge string // WWW-Authenticate
	body      string
	took      time.Duration
}

// apiCall sends method url as an API client (Accept: application/json) with
// the Authorization header values given (none, one or several).
func apiCall(tb testing.TB, method, u string, authorization ...string) apiResult {
	tb.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	for _, a := range authorization {
		req.Header.Add("Authorization", a)
	}
	start := time.Now()
	resp, err := plainClient.Do(req)
	if err != nil {
		tb.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return apiResult{resp.StatusCode, resp.Header.Get("WWW-Authenticate"), string(b), time.Since(start)}
}

func bearer(tok string) string { return "Bearer " + tok }

const invalidTokenChallenge = `Bearer error="invalid_token"`

// TestBearerNodeOIDCProvider presents JWT access tokens that node
// oidc-provider issues through resource indicators (RFC 8707) to routes
// with scope rules.
func TestBearerNodeOIDCProvider(t *testing.T) {
	t.Parallel()
	op := nodeop.Start(t, nodeop.Options{
		Clients:  []nodeop.Client{{ID: "svc", Secret: "svc-secret"}, {ID: "gateway", Secret: "gateway-secret"}},
		Resource: "portcullis", Scopes: []string{"api:read", "api:write"},
	})
	up := newUpstream(t)
	gw := startGateway(t, pickAddrs(t), tomlConfig{
		Provider: oidcProvider(op.Issuer, "gateway", "gateway-secret") + "audiences = [\"portcullis\"]\n",
		Upstream: up.URL,
		Routes: `
[[routes]]
path = "/api/reports/**"
methods = ["POST"]
require_scopes = ["api:write"]

[[routes]]
path = "/api/**"
require_scopes = ["api:read"]
`}.String())
	token := func(scope string) string {
		cfg := clientcredentials.Config{
			ClientID: "svc", ClientSecret: "svc-secret", TokenURL: op.Endpoint().TokenURL,
			AuthStyle: oauth2.AuthStyleInHeader, Scopes: strings.Fields(scope),
			EndpointParams: url.Values{"resource": {op.ResourceIndicator}},
		}
		tok, err := cfg.Token(t.Context())
		if err != nil {
			t.Fatalf("client_credentials: %v\n%s", err, op.Output())
		}
		if strings.Count(tok.AccessToken, ".") != 2 {
			t.Fatalf("want a JWT access token, got %d bytes", len(tok.AccessToken))
		}
		return tok.AccessToken
	}
	readOnly, readWrite := token("api:read"), token("api:read api:write")

	cases := []struct {
		name, method, path, authz string
		status                    int
		challenge                 string
	}{
		{"scope granted", "POST", "/api/reports/1", bearer(readWrite), 200, ""},
		{"read scope on a read route", "GET", "/api/reports/1", bearer(readOnly), 200, ""},
		{"scope missing", "POST", "/api/reports/1", bearer(readOnly), 403, `Bearer error="insufficient_scope", scope="api:write"`},
		{"no token", "POST", "/api/reports/1", "", 401, "Bearer"},
		{"garbage token", "GET", "/api/x", bearer("not-a-token"), 401, invalidTokenChallenge},
		{"altered JWT", "GET", "/api/x", bearer(readWrite[:len(readWrite)-4] + "AAAA"), 401, invalidTokenChallenge},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := up.count()
			var authz []string
			if tc.authz != "" {
				authz = append(authz, tc.authz)
			}
			res := apiCall(t, tc.method, gw.URL+tc.path, authz...)
			if res.status != tc.status || res.challenge != tc.challenge {
				t.Fatalf("got %d %q, want %d %q\n%s\ngateway:\n%s", res.status, res.challenge, tc.status, tc.challenge, res.body, gw.Proc.Output())
			}
			if tc.status != 200 {
				if up.count() != before {
					t.Errorf("a refused request reached the upstream")
				}
				return
			}
			if got := decodeSeen(t, res.body).Headers.Get("X-Forwarded-User"); got != "svc" {
				t.Errorf("X-Forwarded-User = %q, want the client_credentials subject svc", got)
			}
		})
	}
}

// TestBearerZitadelIntrospection presents the opaque access token that
// zitadel's example provider issued at a real login; the gateway checks it
// with RFC 7662 introspection, authenticating as its own client.
func TestBearerZitadelIntrospection(t *testing.T) {
	// Not parallel: zitadel's example storage registers clients in a
	// package-level map (TestZitadelLogin does too).
	up := newUpstream(t)
	a := pickAddrs(t)
	issuer := startZitadel(t, "http://"+a.Listen+"/oauth2/callback")
	gw := startGateway(t, a, gatewayConfig(issuer, "web", "secret", up.URL, `
[headers]
access_token = "X-Access-Token"
`))
	c := browser(t)
	_, page, _ := get(t, c, gw.URL+"/whoami")
	status, body := zitadelLogin(t, c, issuer, page, "test-user@127.0.0.1", "verysecure")
	if status != 200 {
		t.Fatalf("login: %d\n%s", status, body)
	}
	tok := decodeSeen(t, body).Headers.Get("X-Access-Token")
	if tok == "" || strings.Count(tok, ".") == 2 {
		t.Fatalf("want the opaque access token upstream, got %q", tok)
	}

	res := apiCall(t, "GET", gw.URL+"/api/x", bearer(tok))
	if res.status != 200 {
		t.Fatalf("opaque token: %d %q\n%s\ngateway:\n%s", res.status, res.challenge, res.body, gw.Proc.Output())
	}
	s := decodeSeen(t, res.body)
	if s.Headers.Get("X-Forwarded-User") != "id1" || s.Headers.Get("X-Access-Token") != tok {
		t.Errorf("upstream got user %q and token forwarded %v", s.Headers.Get("X-Forwarded-User"), s.Headers.Get("X-Access-Token") == tok)
	}

	// Change one character in the middle: still well-formed, never issued.
	i := len(tok) / 2
	repl := "A"
	if tok[i] == 'A' {
		repl = "B"
	}
	before := up.count()
	res = apiCall(t, "GET", gw.URL+"/api/x", bearer(tok[:i]+repl+tok[i+1:]))
	if res.status != 401 || res.challenge != invalidTokenChallenge {
		t.Errorf("altered token: %d %q\n%s", res.status, res.challenge, res.body)
	}
	if up.count() != before {
		t.Error("the altered token reached the upstream")
	}
}

// jwksServer serves a key set at /jwks and counts its requests: an
// attacker's key server that the gateway must never ask.
func jwksServer(tb testing.TB, key *oidctest.Key) (*httptest.Server, *atomic.Int32) {
	n := new(atomic.Int32)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": []any{key.JWK()}})
	}))
	tb.Cleanup(srv.Close)
	return srv, n
}

// TestBearerAttacks sends hostile JWT access tokens through the running
// gateway: each is a 401 invalid_token that never reaches the upstream. A
// second provider is trusted for bearer tokens only
// ([[provider.extra_issuers]]) with its own audiences.
func TestBearerAttacks(t *testing.T) {
	t.Parallel()
	b := newBearerAttack(t)
	at, up, gw := b.at, b.up, b.gw
	for _, tc := range b.cases() {
		t.Run(tc.name, func(t *testing.T) {
			before := up.count()
			res := apiCall(t, "GET", gw.URL+tc.path, tc.authz...)
			if w := b.refusalReason(tc.name); tc.status == 401 && tc.authz != nil && (w == "" || !logged(gw, w)) {
				t.Errorf("the gateway's log does not give the reason %q", w)
			}
			if res.status != tc.status || res.challenge != tc.challenge {
				t.Fatalf("got %d %q, want %d %q\n%s", res.status, res.challenge, tc.status, tc.challenge, res.body)
			}
			if tc.status != 200 && up.count() != before {
				t.Errorf("a refused request reached the upstream")
			}
			if tc.status == 200 && up.count() != before+1 {
				t.Errorf("an allowed request reached the upstream %d times", up.count()-before)
			}
			if tc.status == 400 && !strings.Contains(res.body, `"invalid_request"`) {
				t.Errorf("400 body: %s", res.body)
			}
		})
	}
	if n := b.keyRequests.Load(); n != 0 {
		t.Errorf("the gateway fetched keys from a token's jku or x5u %d times", n)
	}

	t.Run("token in the query string", func(t *testing.T) {
		res := apiCall(t, "GET", gw.URL+"/x?access_token="+url.QueryEscape(at(nil)))
		if res.status != 400 || !strings.Contains(res.body, `"invalid_request"`) {
			t.Errorf("got %d %s", res.status, res.body)
		}
	})

	t.Run("unknown kids do not refetch the JWKS per request", b.unknownKidsAreNotRefetched)
	t.Run("opaque tokens are introspected once", b.opaqueIntrospectedOnce)

	t.Run("token in a form body", func(t *testing.T) {
		before := up.count()
		req, _ := http.NewRequest("POST", gw.URL+"/x", strings.NewReader("a=1&access_token="+at(nil)))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := plainClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 || up.count() != before {
			t.Errorf("got %d (upstream requests %d -> %d)", resp.StatusCode, before, up.count())
		}
	})

	t.Run("1 MB token", func(t *testing.T) {
		huge := strings.Repeat("A", 1<<20)
		req, _ := http.NewRequest("GET", gw.URL+"/x", nil)
		req.Header.Set("Authorization", bearer(huge))
		start := time.Now()
		resp, err := plainClient.Do(req)
		took := time.Since(start)
		if err != nil {
			// The gateway may close the connection while the header is
			// still being sent; that is a refusal too.
			t.Logf("1 MB token: %v after %v", err, took)
		} else {
			resp.Body.Close()
			if s := resp.StatusCode; s != 400 && s != 401 && s != 431 {
				t.Errorf("1 MB token: %d, want 400, 401 or 431", s)
			}
		}
		if took > 2*time.Second {
			t.Errorf("1 MB token took %v", took)
		}
	})
	if t.Failed() {
		t.Log(gw.Proc.Output())
	}
}

// bearerAttack is the gateway TestBearerAttacks sends its tokens to, in
// front of up: p's access tokens are for portcullis-api, machines is
// trusted for bearer tokens only, with its own audience, and attacker is a
// key that keyServer publishes and the gateway must never fetch.
type bearerAttack struct {
	p, machines *oidctest.Provider
	up          *upstream
	gw          *gateway
	attacker    *oidctest.Key
	keyServer   *httptest.Server
	keyRequests *atomic.Int32
	now         time.Time
}

func newBearerAttack(t *testing.T) *bearerAttack {
	t.Helper()
	b := &bearerAttack{p: oidctest.New(t, oidctest.Options{AccessTokenAudience: "portcullis-api"}),
		machines: oidctest.New(t, oidctest.Options{AccessTokenAudience: "machines"}), up: newUpstream(t)}
	b.gw = startGateway(t, pickAddrs(t), oidctestConfig(b.p, b.up.URL, withMachines(b.machines), `
[[routes]]
path = "/api/read/**"
require_scopes = ["api:read"]

[[routes]]
path = "/**"
`))
	b.attacker = oidctest.NewUnpublishedKey(t, "attacker", "ES256")
	b.keyServer, b.keyRequests = jwksServer(t, b.attacker)
	b.now = time.Now()
	return b
}

// at is an access token of alice's from p, with extra claims.
func (b *bearerAttack) at(extra map[string]any) string { return b.p.AccessToken("alice", extra) }

// sign signs claims as p does, with the key, algorithm and header o asks for.
func (b *bearerAttack) sign(claims map[string]any, o oidctest.SignOptions) string {
	return b.p.Sign(claims, o)
}

// claims are those of a valid access token of alice's with the scope api:read.
func (b *bearerAttack) claims() map[string]any {
	return map[string]any{"iss": b.p.Issuer, "sub": "alice", "aud": "portcullis-api",
		"iat": b.now.Unix(), "exp": b.now.Add(time.Hour).Unix(), "scope": "api:read"}
}

// bearerCase is a request with the Authorization headers authz and the
// answer the gateway must give it.
type bearerCase struct {
	name      string
	path      string
	authz     []string
	status    int
	challenge string
}

// cases are the hostile tokens, and a few valid ones beside them.
func (b *bearerAttack) cases() []bearerCase {
	return []bearerCase{
		{"valid", "/api/read/x", []string{bearer(b.at(map[string]any{"scope": "api:read"}))}, 200, ""},
		{"valid without the route's scope", "/api/read/x", []string{bearer(b.at(nil))}, 403, `Bearer error="insufficient_scope", scope="api:read"`},
		{"no token", "/api/read/x", nil, 401, "Bearer"},
		{"garbage", "/x", []string{bearer("garbage")}, 401, invalidTokenChallenge},
		{"alg none", "/x", []string{bearer(b.sign(b.claims(), oidctest.SignOptions{Alg: "none", Typ: "at+jwt"}))}, 401, invalidTokenChallenge},
		{"HS256 with the RSA public key", "/x", []string{bearer(b.sign(b.claims(), oidctest.SignOptions{Alg: "HS256", Typ: "at+jwt"}))}, 401, invalidTokenChallenge},
		{"bad signature", "/x", []string{bearer(b.sign(b.claims(), oidctest.SignOptions{CorruptSignature: true}))}, 401, invalidTokenChallenge},
		{"wrong aud", "/x", []string{bearer(b.at(map[string]any{"aud": "another-api"}))}, 401, invalidTokenChallenge},
		{"missing aud", "/x", []string{bearer(b.at(map[string]any{"aud": nil}))}, 401, invalidTokenChallenge},
		{"wrong iss", "/x", []string{bearer(b.at(map[string]any{"iss": "https://evil.example.com"}))}, 401, invalidTokenChallenge},
		{"missing iss", "/x", []string{bearer(b.at(map[string]any{"iss": nil}))}, 401, invalidTokenChallenge},
		{"expired", "/x", []string{bearer(b.at(map[string]any{"iat": b.now.Add(-2 * time.Hour).Unix(), "exp": b.now.Add(-time.Hour).Unix()}))}, 401, invalidTokenChallenge},
		// Accepted within the 30 s leeway, and answered: its identity
		// ended at exp, so the answer was broken off as a 401 after the
		// application had acted on the request.
		{"expired within the leeway", "/x", []string{bearer(b.at(map[string]any{"exp": b.now.Add(-10 * time.Second).Unix()}))}, 200, ""},
		{"missing exp", "/x", []string{bearer(b.at(map[string]any{"exp": nil}))}, 401, invalidTokenChallenge},
		{"future nbf", "/x", []string{bearer(b.at(map[string]any{"nbf": b.now.Add(time.Hour).Unix()}))}, 401, invalidTokenChallenge},
		{"string exp", "/x", []string{bearer(b.at(map[string]any{"exp": "9999999999"}))}, 401, invalidTokenChallenge},
		{"ID token as access token", "/x", []string{bearer(b.p.IDToken("alice", "", ""))}, 401, invalidTokenChallenge},
		{"logout token typ", "/x", []string{bearer(b.sign(b.claims(), oidctest.SignOptions{Typ: "logout+jwt"}))}, 401, invalidTokenChallenge},
		{"jku and jwk headers", "/x", []string{bearer(b.sign(b.claims(), oidctest.SignOptions{Key: b.attacker, Typ: "at+jwt",
			Header: map[string]any{"jku": b.keyServer.URL + "/jwks", "jwk": b.attacker.JWK()}}))}, 401, invalidTokenChallenge},
		{"x5u header of the provider's own token", "/x", []string{bearer(b.sign(b.claims(), oidctest.SignOptions{Typ: "at+jwt",
			Header: map[string]any{"x5u": b.keyServer.URL + "/jwks"}}))}, 200, ""},
		{"unknown crit header", "/x", []string{bearer(b.sign(b.claims(), oidctest.SignOptions{Typ: "at+jwt",
			Header: map[string]any{"crit": []string{"exp"}, "exp": b.now.Unix()}}))}, 401, invalidTokenChallenge},
		{"iss in another case", "/x", []string{bearer(b.at(map[string]any{"iss": strings.ToUpper(b.p.Issuer)}))}, 401, invalidTokenChallenge},
		{"lower-case scheme", "/x", []string{"bearer " + b.at(nil)}, 200, ""},
		{"tab after the scheme", "/x", []string{"Bearer\t" + b.at(nil)}, 401, invalidTokenChallenge},
		{"two Authorization headers", "/x", []string{bearer(b.at(nil)), bearer(b.at(nil))}, 400, ""},
		{"extra issuer", "/x", []string{bearer(b.machines.AccessToken("system:serviceaccount:ci:deployer", nil))}, 200, ""},
		{"extra issuer, the primary's audience", "/x", []string{bearer(b.machines.AccessToken("svc", map[string]any{"aud": "portcullis-api"}))}, 401, invalidTokenChallenge},
		{"extra issuer, wrong audience", "/x", []string{bearer(b.machines.AccessToken("svc", map[string]any{"aud": "another-api"}))}, 401, invalidTokenChallenge},
		{"primary token with the extra issuer's audience", "/x", []string{bearer(b.at(map[string]any{"aud": "machines"}))}, 401, invalidTokenChallenge},
		{"primary's iss, signed by the extra issuer", "/x", []string{bearer(b.machines.Sign(b.claims(), oidctest.SignOptions{Typ: "at+jwt"}))}, 401, invalidTokenChallenge},
		{"primary's iss and kid, the extra issuer's key", "/x", []string{bearer(b.machines.Sign(b.claims(), oidctest.SignOptions{Typ: "at+jwt", KID: b.p.Key().KID}))}, 401, invalidTokenChallenge},
		{"extra issuer's iss, signed by the primary", "/x", []string{bearer(b.p.Sign(b.machineClaims(), oidctest.SignOptions{Typ: "at+jwt"}))}, 401, invalidTokenChallenge},
	}
}

// machineClaims are those of a valid access token of the extra issuer's.
func (b *bearerAttack) machineClaims() map[string]any {
	c := b.claims()
	c["iss"], c["aud"] = b.machines.Issuer, "machines"
	return c
}

// bearerRefusalReasons is the gateway's logged reason of each refusal of
// TestBearerAttacks: every token fails for the reason its case is about.
var bearerRefusalReasons = map[string]string{
	"garbage":                              "introspection says inactive",
	"alg none":                             `unexpected signature algorithm \"none\"`,
	"HS256 with the RSA public key":        `unexpected signature algorithm \"HS256\"`,
	"bad signature":                        `no key verifies the signature (kid \"{p.kid}\")`,
	"wrong aud":                            `audience [\"another-api\"] is not one of [\"portcullis-api\"]`,
	"missing aud":                          `audience [] is not one of`,
	"wrong iss":                            `issuer \"https://evil.example.com\" is not trusted`,
	"missing iss":                          `issuer \"\" is not trusted`,
	"expired":                              "token expired at",
	"missing exp":                          "token has no exp",
	"future nbf":                           "token not valid before",
	"string exp":                           "claim exp is not a number",
	"ID token as access token":             `audience [\"client\"] is not one of [\"portcullis-api\"]`,
	"logout token typ":                     `typ \"logout+jwt\" is not an access token type`,
	"jku and jwk headers":                  `no key verifies the signature (kid \"attacker\")`,
	"unknown crit header":                  `failed to verify signature`,
	"iss in another case":                  `is not trusted`,
	"tab after the scheme":                 `empty bearer token`,
	"extra issuer, the primary's audience": `audience [\"portcullis-api\"] is not one of [\"machines\"]`,
	"extra issuer, wrong audience":         `audience [\"another-api\"] is not one of [\"machines\"]`,
	"primary token with the extra issuer's audience": `audience [\"machines\"] is not one of [\"portcullis-api\"]`,
	"primary's iss, signed by the extra issuer":      `no key verifies the signature (kid \"{machines.kid}\")`,
	"primary's iss and kid, the extra issuer's key":  `no key verifies the signature (kid \"{p.kid}\")`,
	"extra issuer's iss, signed by the primary":      `no key verifies the signature (kid \"{p.kid}\")`,
}

// refusalReason is bearerRefusalReasons[name] with {p.kid} and
// {machines.kid} replaced by the kids of the two providers' keys.
func (b *bearerAttack) refusalReason(name string) string {
	w := bearerRefusalReasons[name]
	if w == "" {
		return ""
	}
	return strings.NewReplacer("{p.kid}", b.p.Key().KID, "{machines.kid}", b.machines.Key().KID).Replace(w)
}

// unknownKidsAreNotRefetched: a cached token does not fetch the JWKS again,
// and twenty tokens with kids the provider never published fetch it at
// most once.
func (b *bearerAttack) unknownKidsAreNotRefetched(t *testing.T) {
	valid := bearer(b.at(nil))
	if res := apiCall(t, "GET", b.gw.URL+"/x", valid); res.status != 200 {
		t.Fatalf("valid token: %d", res.status)
	}
	fetches := b.p.Requests("/jwks")
	for i := range 10 {
		if res := apiCall(t, "GET", b.gw.URL+"/x", valid); res.status != 200 {
			t.Fatalf("valid token, request %d: %d", i, res.status)
		}
	}
	if n := b.p.Requests("/jwks") - fetches; n != 0 {
		t.Errorf("10 requests with a cached token fetched the JWKS %d times", n)
	}
	for i := range 20 {
		tok := b.sign(b.claims(), oidctest.SignOptions{Key: b.attacker, KID: "kid-" + string(rune('a'+i)), Typ: "at+jwt"})
		if res := apiCall(t, "GET", b.gw.URL+"/x", bearer(tok)); res.status != 401 {
			t.Fatalf("unknown kid %d: %d", i, res.status)
		}
	}
	if n := b.p.Requests("/jwks") - fetches; n > 1 {
		t.Errorf("20 tokens with unknown kids caused %d JWKS fetches, want at most 1", n)
	}
}

// opaqueIntrospectedOnce: five requests with one opaque token make one
// introspection call, and the answer counts only for p's audiences.
func (b *bearerAttack) opaqueIntrospectedOnce(t *testing.T) {
	exp := time.Now().Add(time.Hour)
	opaque := []struct {
		name   string
		tok    string
		status int
	}{
		{"active, our audience", b.p.OpaqueToken("bob", "portcullis-api", "api:read", exp), 200},
		{"active, no aud, our client_id", b.p.OpaqueToken("bob", "", "api:read", exp), 200},
		{"active, another audience", b.p.OpaqueToken("bob", "another-api", "api:read", exp), 401},
		{"expired", b.p.OpaqueToken("bob", "portcullis-api", "api:read", time.Now().Add(-time.Minute)), 401},
	}
	for _, o := range opaque {
		calls := b.p.Requests("/introspect")
		for i := range 5 {
			res := apiCall(t, "GET", b.gw.URL+"/api/read/x", bearer(o.tok))
			if res.status != o.status {
				t.Fatalf("%s, request %d: %d %q, want %d", o.name, i, res.status, res.challenge, o.status)
			}
		}
		if n := b.p.Requests("/introspect") - calls; o.status == 200 && n != 1 {
			t.Errorf("%s: 5 requests made %d introspection calls, want 1", o.name, n)
		}
	}
}

// withMachines is the [provider] keys of a provider whose access tokens are
// for "portcullis-api", with machines as an extra issuer for "machines".
func withMachines(machines *oidctest.Provider) string {
	return `
audiences = ["portcullis-api"]

[[provider.extra_issuers]]
issuer = "` + machines.Issuer + `"
audiences = ["machines"]
`
}
