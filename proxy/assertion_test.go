package proxy

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

func TestAssertionVerifiesAgainstJWKS(t *testing.T) {
	for _, kind := range []string{"generated", "rsa-pkcs1", "ec-sec1", "ec-pkcs8"} {
		t.Run(kind, func(t *testing.T) {
			f := newFixture(t, func(c *Config) {
				if kind != "generated" {
					c.AssertionKey = parsedKey(t, kind)
				}
			})
			srv := serveGateway(t, f)
			cookies := f.cookies(t, f.session())
			req, _ := http.NewRequest("GET", srv.URL+"/app/x", nil)
			req.Host = "App.Example.com:8443"
			for _, c := range cookies {
				req.AddCookie(c)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil || resp.StatusCode != 200 {
				t.Fatalf("request: %v %v", resp, err)
			}
			raw := f.up.last(t).Header.Get("X-Portcullis-Jwt-Assertion")
			ctx := context.Background()
			keys := oidc.NewRemoteKeySet(ctx, srv.URL+"/oauth2/jwks.json")
			// The audience is public_url's host, whatever Host the client sent.
			v := oidc.NewVerifier("http://gw.test", keys, &oidc.Config{ClientID: "gw.test",
				SupportedSigningAlgs: []string{"ES256", "RS256"}, Now: f.clock.Now})
			tok, err := v.Verify(ctx, raw)
			if err != nil {
				t.Fatalf("assertion does not verify: %v", err)
			}
			var claims struct {
				Email  string   `json:"email"`
				Groups []string `json:"groups"`
			}
			if err := tok.Claims(&claims); err != nil {
				t.Fatal(err)
			}
			if tok.Subject != "alice" || claims.Email != "alice@example.com" || strings.Join(claims.Groups, ",") != "admins,staff" {
				t.Errorf("claims: sub %q %+v", tok.Subject, claims)
			}
			if d := tok.Expiry.Sub(tok.IssuedAt); d < 2*time.Minute || d > 5*time.Minute {
				t.Errorf("lifetime = %v", d)
			}
			hb, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
			var hdr map[string]string
			if err != nil || json.Unmarshal(hb, &hdr) != nil || hdr["typ"] != "JWT" || hdr["kid"] == "" || len(hdr) != 3 {
				t.Errorf("protected header %s, want alg, kid and typ JWT", hb)
			}
		})
	}
}

// TestAssertionCachedUntilHalfLife: an assertion is reused for at least a
// quarter of its lifetime and renewed by half of it, with the other
// identity headers unchanged.
func TestAssertionCachedUntilHalfLife(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	get := func() http.Header {
		f.do(t, "GET", "/app/x", nil, withCookies(cookies))
		return f.up.last(t).Header
	}
	first := get()
	a := first.Get("X-Portcullis-Jwt-Assertion")
	f.clock.Advance(assertionLifetime/4 - time.Second)
	if b := get().Get("X-Portcullis-Jwt-Assertion"); b != a {
		t.Fatal("assertion re-signed within a quarter of its lifetime")
	}
	f.clock.Advance(assertionLifetime/4 + 2*time.Second)
	renewed := get()
	if c := renewed.Get("X-Portcullis-Jwt-Assertion"); c == a || c == "" {
		t.Fatalf("assertion reused past its half-life (or dropped): %q", c)
	}
	for _, h := range []string{"X-Forwarded-User", "X-Forwarded-Email", "X-Forwarded-Groups"} {
		if renewed.Get(h) != first.Get(h) || first.Get(h) == "" {
			t.Errorf("%s = %q after the renewal, %q before", h, renewed.Get(h), first.Get(h))
		}
	}
}

// TestRenewAtSpread: renewal falls between a quarter and half of the
// lifetime, spread, so identities first seen together are not all signed
// again at once.
func TestRenewAtSpread(t *testing.T) {
	now := time.Unix(1e9, 0)
	seen := map[time.Time]bool{}
	for range 1000 {
		at := renewAt(now)
		if d := at.Sub(now); d <= assertionLifetime/4 || d > assertionLifetime/2 {
			t.Fatalf("renewal after %v, want within (%v, %v]", d, assertionLifetime/4, assertionLifetime/2)
		}
		seen[at] = true
	}
	if len(seen) < 900 {
		t.Errorf("1000 renewals fell on only %d instants", len(seen))
	}
}

// TestAssertionAudienceNotSteeredByHost: on a route without host, the
// assertion's aud is public_url's host whatever Host the client sends, and
// a new Host costs no new signature (the values are cached per audience).
func TestAssertionAudienceNotSteeredByHost(t *testing.T) {
	f := newFixture(t)
	cookies := f.cookies(t, f.session())
	var assertions []string
	for _, host := range []string{"gw.test", "other-app.example.com", "Evil.Example:8443", strings.Repeat("x", 63) + "." + strings.Repeat("y", 63) + ".test"} {
		resp := f.do(t, "GET", "/app/x", nil, withCookies(cookies), func(r *http.Request) { r.Host = host })
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("Host %.20s: status %d", host, resp.StatusCode)
		}
		a := f.up.last(t).Header.Get("X-Portcullis-Jwt-Assertion")
		if !strings.Contains(decodeJWTPayload(t, a), `"aud":"gw.test"`) {
			t.Errorf("Host %.20s: assertion payload %s, want aud gw.test", host, decodeJWTPayload(t, a))
		}
		assertions = append(assertions, a)
	}
	for _, a := range assertions[1:] {
		if a != assertions[0] {
			t.Error("a different Host cost a new assertion")
		}
	}
	if n := f.h.idCache.c.Len(); n != 1 {
		t.Errorf("identity-value cache holds %d entries after 4 Hosts, want 1", n)
	}
}

func TestAssertionAudience(t *testing.T) {
	table, err := policy.Compile([]policy.RouteConfig{
		{Path: "/any/**"},
		{Host: "Dash.Example.COM.", Path: "/**"},
		{Host: "*.apps.example.com", Path: "/**"},
	})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, func(c *Config) { c.Routes = table })
	h := f.h
	override := &upstream{audience: "urn:app"}
	tests := []struct {
		name string
		up   *upstream
		host string
		path string
		want string
	}{
		{"host-less route", nil, "evil.test:1234", "/any/x", "gw.test"},
		{"exact host", nil, "dash.example.com", "/x", "dash.example.com"},
		{"exact host, case and dot", nil, "DASH.example.com.", "/x", "dash.example.com"},
		{"exact host with port", nil, "dash.example.com:8443", "/x", "dash.example.com:8443"},
		{"exact host, case, dot and port", nil, "Dash.Example.com.:8443", "/x", "dash.example.com:8443"},
		{"wildcard host", nil, "Grafana.Apps.example.com:443", "/x", "grafana.apps.example.com:443"},
		{"wildcard host, deeper", nil, "a.b.apps.example.com", "/x", "a.b.apps.example.com"},
		{"upstream override", override, "dash.example.com", "/x", "urn:app"},
		{"upstream override, host-less", override, "evil.test", "/any/x", "urn:app"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			host, err := policy.ParseHost(tt.host)
			if err != nil {
				t.Fatal(err)
			}
			route := table.Match("GET", host.Name, tt.path)
			if route == nil {
				t.Fatalf("no route for %s%s", tt.host, tt.path)
			}
			if got := h.audience(route, tt.up, host); got != tt.want {
				t.Errorf("audience = %q, want %q", got, tt.want)
			}
		})
	}
	// Hosts that are no DNS name never reach the audience: 400 at the entry.
	for _, bad := range []string{"dash.example.com:08443", "a b.apps.example.com", "a..apps.example.com"} {
		if _, err := policy.ParseHost(bad); err == nil {
			t.Errorf("policy.ParseHost(%q) accepted", bad)
		}
	}
	canonical, _ := policy.ParseHost("dash.example.com:8443")
	route := table.Match("GET", canonical.Name, "/x")
	if n := testing.AllocsPerRun(100, func() { h.audience(route, nil, canonical) }); n != 0 {
		t.Errorf("audience allocates %v times for a canonical host", n)
	}
}

// TestAssertionAudienceOverride: an upstream's assertion_audience is the
// aud of what it receives, in proxy mode and from the forward-auth endpoint.
func TestAssertionAudienceOverride(t *testing.T) {
	f := newFixture(t, func(c *Config) { c.Upstreams[0].AssertionAudience = "urn:portcullis:app" })
	cookies := f.cookies(t, f.session())
	f.do(t, "GET", "/app/x", nil, withCookies(cookies))
	if p := decodeJWTPayload(t, f.up.last(t).Header.Get("X-Portcullis-Jwt-Assertion")); !strings.Contains(p, `"aud":"urn:portcullis:app"`) {
		t.Errorf("proxy mode: payload %s", p)
	}
	resp := f.do(t, "GET", "/oauth2/auth", nil, withCookies(cookies), fromPeer("10.1.2.3:1000"),
		withHeader("X-Forwarded-Method", "GET"), withHeader("X-Forwarded-Host", "evil.test"), withHeader("X-Forwarded-Uri", "/app/x"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("forward-auth status %d", resp.StatusCode)
	}
	if p := decodeJWTPayload(t, resp.Header.Get("X-Portcullis-Jwt-Assertion")); !strings.Contains(p, `"aud":"urn:portcullis:app"`) {
		t.Errorf("forward-auth: payload %s", p)
	}
}

func TestAssertionKeyRefused(t *testing.T) {
	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := newSigner(p384, nil, nil, time.Time{}); err == nil {
		t.Error("a P-384 key was accepted")
	}
	der, _ := x509.MarshalECPrivateKey(p384)
	if _, err := ParseSigningKey(pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der})); err == nil {
		t.Error("a P-384 PEM key was accepted")
	}
	if _, err := ParseSigningKey([]byte("not a key")); err == nil {
		t.Error("bytes without a key were accepted")
	}
}

// parsedKey is a key of kind written as PEM and parsed back, as the config
// package hands it over from headers.assertion_key_file.
func parsedKey(t *testing.T, kind string) crypto.Signer {
	t.Helper()
	var block *pem.Block
	switch kind {
	case "rsa-pkcs1":
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		block = &pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)}
	case "ec-sec1":
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalECPrivateKey(k)
		block = &pem.Block{Type: "EC PRIVATE KEY", Bytes: der}
	case "ec-pkcs8":
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		block = &pem.Block{Type: "PRIVATE KEY", Bytes: der}
	}
	k, err := ParseSigningKey(pem.EncodeToMemory(block))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// TestAssertionNeverOutlivesIdentity: an assertion's exp is at most the end
// of the identity it states: a bearer token's expiry, a session's end (here
// the expiry of an access token no refresh token can extend), as for the
// WebSocket watcher (identityEnd).
func TestAssertionNeverOutlivesIdentity(t *testing.T) {
	f := newFixture(t)
	now := f.clock.Now()
	tokenEnd := now.Add(40 * time.Second)
	f.prov.bearers["short"] = &portcullis.Identity{Subject: "svc", Scopes: []string{"api:write"}, Expiry: tokenEnd}
	s := f.session()
	s.RefreshToken = ""
	s.Expiry = now.Add(50 * time.Second)
	sessionEnd := s.Expiry
	long := f.session()
	long.ExpiresAt = now.Add(30 * time.Second) // absolute end before the access token's
	long.Identity.Subject = "carol"
	cases := []struct {
		name string
		opt  reqOption
		path string
		want time.Time
	}{
		{"bearer token", withHeader("Authorization", "Bearer short"), "/api/x", tokenEnd},
		{"session without refresh token", withCookies(f.cookies(t, s)), "/app/x", sessionEnd},
		{"session at its absolute end", withCookies(f.cookies(t, long)), "/app/x", long.ExpiresAt},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := "GET"
			if tc.path == "/api/x" {
				method = "POST"
			}
			if resp := f.do(t, method, tc.path, nil, tc.opt); resp.StatusCode != 200 {
				t.Fatalf("status %d", resp.StatusCode)
			}
			exp := assertionExpiry(t, f.up.last(t).Header.Get("X-Portcullis-Jwt-Assertion"))
			if exp.After(tc.want) || exp.Before(tc.want.Add(-time.Second)) {
				t.Errorf("assertion exp %v, want the identity's end %v", exp, tc.want)
			}
		})
	}
}

// assertionExpiry reads the exp claim of a compact JWS (its signature is
// checked by TestAssertionVerifiesAgainstJWKS).
func assertionExpiry(t *testing.T, raw string) time.Time {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("assertion %q is not a compact JWS", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		Exp int64 `json:"exp"`
	}
	if err != nil || json.Unmarshal(b, &c) != nil || c.Exp == 0 {
		t.Fatalf("assertion payload %q: %v", b, err)
	}
	return time.Unix(c.Exp, 0)
}

// TestJWKSListsRetiredKeyForItsGrace: the public key a reload replaced is
// listed after the signing key until RetiredAssertionKeyUntil, then no
// longer; a private key handed over as the retired one is refused, so no
// private member can reach jwks.json.
func TestJWKSListsRetiredKeyForItsGrace(t *testing.T) {
	old := parsedKey(t, "rsa-pkcs1")
	var until time.Time
	f := newFixture(t, func(c *Config) {
		until = c.Now().Add(RetiredKeyGrace)
		c.AssertionKey = parsedKey(t, "ec-pkcs8")
		c.RetiredAssertionKey, c.RetiredAssertionKeyUntil = old.Public(), until
	})
	kids := func() []string {
		t.Helper()
		resp := f.do(t, "GET", "/oauth2/jwks.json", nil)
		var set struct{ Keys []map[string]any }
		if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, k := range set.Keys {
			if _, ok := k["d"]; ok {
				t.Error("jwks.json serves a private key")
			}
			out = append(out, k["kty"].(string))
		}
		return out
	}
	if got := strings.Join(kids(), ","); got != "EC,RSA" {
		t.Errorf("keys during the grace: %s, want the signing key then the retired one", got)
	}
	f.clock.Advance(until.Sub(f.clock.Now()) - time.Second)
	if got := strings.Join(kids(), ","); got != "EC,RSA" {
		t.Errorf("keys a second before the grace ends: %s", got)
	}
	f.clock.Advance(time.Second)
	if got := strings.Join(kids(), ","); got != "EC" {
		t.Errorf("keys after the grace: %s, want only the signing key", got)
	}
	if _, err := newSigner(parsedKey(t, "ec-sec1"), nil, old, until); err == nil {
		t.Error("a private key was accepted as the retired public key")
	}
}

// TestAssertionKeyFileKeys: the first private key of an assertion key file
// signs; every further key, private or public, is only listed in
// jwks.json (once, whatever the times it appears), so that replicas can
// publish a key before signing with it. A further key that could not sign
// assertions, or more than maxPublishedKeys of them, refuses the file.
func TestAssertionKeyFileKeys(t *testing.T) {
	pemOf := func(k crypto.Signer) []byte {
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}
	pubPEM := func(k crypto.Signer) []byte {
		der, _ := x509.MarshalPKIXPublicKey(k.Public())
		return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	}
	signing, next, prev := parsedKey(t, "ec-pkcs8"), parsedKey(t, "rsa-pkcs1"), parsedKey(t, "ec-sec1")
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{6, 8, 42, 134, 72, 206, 61, 3, 1, 7}})
	file := slices.Concat(params, pubPEM(prev), pemOf(signing), pemOf(next), pubPEM(prev), pemOf(signing))
	k, published, err := ParseAssertionKeys(file)
	if err != nil {
		t.Fatal(err)
	}
	if !k.Public().(*ecdsa.PublicKey).Equal(signing.Public()) {
		t.Error("the signing key is not the first private key of the file")
	}
	s, err := newSigner(k, published, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(s.keySet(time.Now()), &set); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, key := range set.Keys {
		if _, ok := key["d"]; ok {
			t.Error("jwks.json serves a private key")
		}
		kinds = append(kinds, key["kty"].(string)+"/"+key["alg"].(string))
	}
	if got := strings.Join(kinds, ","); got != "EC/ES256,EC/ES256,RSA/RS256" {
		t.Errorf("jwks.json lists %s, want the signing key, then the public and the further private key once each", got)
	}

	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, _, err := ParseAssertionKeys(slices.Concat(pemOf(signing), pemOf(p384))); err == nil ||
		!strings.Contains(err.Error(), "P-256") {
		t.Errorf("a further P-384 key: %v, want it refused", err)
	}
	if _, _, err := ParseAssertionKeys(slices.Concat(pubPEM(next), pubPEM(prev))); err == nil {
		t.Error("a file of public keys only was accepted")
	}
	many := pemOf(signing)
	for range maxPublishedKeys + 1 {
		many = slices.Concat(many, pubPEM(parsedKey(t, "ec-pkcs8")))
	}
	if _, _, err := ParseAssertionKeys(many); err == nil {
		t.Errorf("%d further keys were accepted", maxPublishedKeys+1)
	}
}
