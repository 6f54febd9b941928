package proxy

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
)

// assertionPayload signs an assertion for id and returns its claims.
func assertionPayload(t *testing.T, id *portcullis.Identity) map[string]any {
	t.Helper()
	s, err := newSigner(nil, nil, nil, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := s.sign("https://gw.example.com", "app.example.com", id, time.Unix(1700000000, 0), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[1])
	var claims map[string]any
	if err != nil || json.Unmarshal(b, &claims) != nil {
		t.Fatalf("payload %q: %v", b, err)
	}
	return claims
}

// TestAssertionNamesTheIdentitysIssuer: with extra_issuers, a machine
// token from another issuer (a CI system, a Kubernetes cluster, another
// tenant) can carry the sub of a provider user: sub is unique only within
// one issuer. The assertion's iss is the gateway's, so before, the two
// identities gave the application the same claims, and an app keyed on
// sub took the machine for the user. sub_id (RFC 9493, iss_sub) names the
// issuer that vouched and its sub.
func TestAssertionNamesTheIdentitysIssuer(t *testing.T) {
	user := &portcullis.Identity{Subject: "1234", ProviderSubject: "1234", Issuer: "https://idp.example.com"}
	machine := &portcullis.Identity{Subject: "1234", ProviderSubject: "1234", Issuer: "https://ci.example.net"}
	a, b := assertionPayload(t, user), assertionPayload(t, machine)
	if a["sub"] != b["sub"] {
		t.Fatalf("sub %v and %v: the test needs one sub", a["sub"], b["sub"])
	}
	for _, c := range []struct {
		claims map[string]any
		iss    string
	}{{a, "https://idp.example.com"}, {b, "https://ci.example.net"}} {
		sid, _ := c.claims["sub_id"].(map[string]any)
		if sid["format"] != "iss_sub" || sid["iss"] != c.iss || sid["sub"] != "1234" || len(sid) != 3 {
			t.Errorf("sub_id = %v, want iss_sub of %s and 1234", c.claims["sub_id"], c.iss)
		}
		if c.claims["iss"] != "https://gw.example.com" {
			t.Errorf("iss = %v, want the gateway's", c.claims["iss"])
		}
	}
}

// TestAssertionSubjectIDIsTheIssuersSub: sub_id carries the issuer's sub,
// not the user_claim value (an email here), and is left out when the
// identity has no issuer (a plain OAuth 2.0 provider such as GitHub) or no
// known sub there.
func TestAssertionSubjectIDIsTheIssuersSub(t *testing.T) {
	byEmail := &portcullis.Identity{Subject: "alice@example.com", ProviderSubject: "1234", Issuer: "https://idp.example.com"}
	if sid, _ := assertionPayload(t, byEmail)["sub_id"].(map[string]any); sid["sub"] != "1234" {
		t.Errorf("sub_id = %v, want the sub 1234", sid)
	}
	legacy := &portcullis.Identity{Subject: "alice@example.com", Issuer: "https://idp.example.com",
		Claims: map[string]any{"sub": "1234"}}
	if sid, _ := assertionPayload(t, legacy)["sub_id"].(map[string]any); sid["sub"] != "1234" {
		t.Errorf("sub_id of a session saved without ProviderSubject = %v, want the sub 1234", sid)
	}
	for _, id := range []*portcullis.Identity{
		{Subject: "583231", ProviderSubject: "583231"},                    // GitHub
		{Subject: "alice@example.com", Issuer: "https://idp.example.com"}, // no sub known
	} {
		if sid, ok := assertionPayload(t, id)["sub_id"]; ok {
			t.Errorf("sub_id = %v for %+v, want none", sid, id)
		}
	}
}

// TestUserinfoNamesTheIdentitysIssuer: {prefix}/userinfo answers with the
// same identity as the assertion, so it names the issuer that vouched too:
// its sub alone is the same for a provider user and an extra issuer's
// token that carries their sub.
func TestUserinfoNamesTheIdentitysIssuer(t *testing.T) {
	f := newFixture(t)
	s := f.session()
	s.Identity.Issuer, s.Identity.ProviderSubject = "https://ci.example.net", "alice"
	resp := f.do(t, "GET", "/oauth2/userinfo", nil, withCookies(f.cookies(t, s)))
	body := readBody(t, resp)
	if want := `"sub_id":{"format":"iss_sub","iss":"https://ci.example.net","sub":"alice"}`; resp.StatusCode != 200 || !strings.Contains(body, want) {
		t.Fatalf("userinfo = %d %s, want %s", resp.StatusCode, body, want)
	}
}
