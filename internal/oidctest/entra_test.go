package oidctest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// entraLogin runs the code flow against e's issuer and returns the token
// response (id_token claims decoded under "claims").
func entraLogin(t *testing.T, e *EntraServer, scope string) map[string]any {
	t.Helper()
	p := e.Provider
	st, _, disc := getJSON(t, http.DefaultClient, p.Issuer+"/.well-known/openid-configuration")
	if st != 200 || disc["issuer"] != p.Issuer {
		t.Fatalf("discovery: %d %v", st, disc)
	}
	c := code(t, disc["authorization_endpoint"].(string), url.Values{"client_id": {p.ClientID}, "response_type": {"code"},
		"redirect_uri": {"https://rp/cb"}, "state": {"s"}, "scope": {scope},
		"code_challenge": {challenge("verifier")}, "code_challenge_method": {"S256"}})
	st, tok := postToken(t, p, url.Values{"grant_type": {"authorization_code"}, "code": {c},
		"redirect_uri": {"https://rp/cb"}, "code_verifier": {"verifier"}})
	if st != 200 {
		t.Fatalf("token: %d %v", st, tok)
	}
	parts := strings.Split(tok["id_token"].(string), ".")
	b, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var claims map[string]any
	_ = json.Unmarshal(b, &claims)
	tok["claims"] = claims
	return tok
}

func groupIDs(n int) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("00000000-0000-0000-0000-%012d", i))
	}
	return out
}

func TestEntraIDTokenGroupsAndOverage(t *testing.T) {
	user := EntraUser{OID: "oid-alice", PreferredUsername: "alice@acme.onmicrosoft.com",
		Groups: []string{"g-sre", "g-dev"}, Roles: []string{"Admin"}}
	e := NewEntra(t, EntraOptions{GroupsThreshold: 3}, user)
	e.SetGroupParents("g-sre", "g-eng")
	if !strings.HasSuffix(e.Provider.Issuer, "/"+e.Tenant+"/v2.0") {
		t.Fatalf("issuer %q", e.Provider.Issuer)
	}
	c := entraLogin(t, e, "openid profile User.Read")["claims"].(map[string]any)
	if fmt.Sprint(c["groups"]) != "[g-dev g-eng g-sre]" || fmt.Sprint(c["roles"]) != "[Admin]" ||
		c["oid"] != "oid-alice" || c["tid"] != e.Tenant || c["_claim_names"] != nil {
		t.Fatalf("claims under the threshold: %v", c)
	}
	// Four transitive groups exceed the threshold of 3: the overage form.
	e.SetGroupParents("g-dev", "g-all")
	c = entraLogin(t, e, "openid User.Read")["claims"].(map[string]any)
	names, _ := c["_claim_names"].(map[string]any)
	src, _ := c["_claim_sources"].(map[string]any)["src1"].(map[string]any)
	if c["groups"] != nil || names["groups"] != "src1" ||
		src["endpoint"] != "https://graph.windows.net/"+e.Tenant+"/users/oid-alice/getMemberObjects" || c["roles"] == nil {
		t.Fatalf("overage claims: %v", c)
	}
	imp := NewEntra(t, EntraOptions{ImplicitOverage: true}, EntraUser{Groups: groupIDs(201)})
	c = entraLogin(t, imp, "openid User.Read")["claims"].(map[string]any)
	if c["hasgroups"] != true || c["groups"] != nil || c["_claim_names"] != nil {
		t.Fatalf("implicit overage (default threshold 200): %v", c)
	}
}

// graphAll follows @odata.nextLink from u and returns the ids, their
// @odata.types and the number of pages.
func graphAll(t *testing.T, u, token string) ([]string, map[string]string, int) {
	t.Helper()
	var ids []string
	types := map[string]string{}
	pages := 0
	for u != "" {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		if strings.Contains(u, "/microsoft.graph.group") {
			req.Header.Set("ConsistencyLevel", "eventual")
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %d %v", u, resp.StatusCode, m)
		}
		pages++
		for _, v := range m["value"].([]any) {
			o := v.(map[string]any)
			ids = append(ids, o["id"].(string))
			types[o["id"].(string)] = o["@odata.type"].(string)
		}
		u, _ = m["@odata.nextLink"].(string)
	}
	return ids, types, pages
}

func TestEntraGraphPagingNestingAndChanges(t *testing.T) {
	user := EntraUser{OID: "oid-alice", Groups: groupIDs(5), DirectoryRoles: []string{"role-1"}}
	e := NewEntra(t, EntraOptions{}, user)
	e.SetGroupParents(groupIDs(5)[0], "parent-group")
	at := entraLogin(t, e, "openid User.Read")["access_token"].(string)
	cast := e.GraphURL + "/v1.0/me/transitiveMemberOf/microsoft.graph.group?$select=id&$top=2&$count=true"
	ids, types, pages := graphAll(t, cast, at)
	if len(ids) != 6 || pages != 3 || types["parent-group"] != "#microsoft.graph.group" {
		t.Fatalf("cast: %v in %d pages", ids, pages)
	}
	if q := e.Calls("/v1.0/me/transitiveMemberOf/microsoft.graph.group")[1].Query; !strings.Contains(q, "$select=id") ||
		!strings.Contains(q, "$top=2") || !strings.Contains(q, "$skiptoken=") {
		t.Fatalf("nextLink query %q", q)
	}
	// The cast is an advanced query: refused without ConsistencyLevel and $count.
	for _, bare := range []struct{ url, level string }{
		{e.GraphURL + "/v1.0/me/transitiveMemberOf/microsoft.graph.group?$select=id", "eventual"},
		{cast, ""},
	} {
		c := &http.Client{Transport: headerTransport{http.Header{"Authorization": {"Bearer " + at}}}}
		if bare.level != "" {
			c.Transport.(headerTransport).h.Set("ConsistencyLevel", bare.level)
		}
		if st, _, m := getJSON(t, c, bare.url); st != 400 || m["error"].(map[string]any)["code"] != "Request_UnsupportedQuery" {
			t.Fatalf("cast %s (ConsistencyLevel %q): %d %v", bare.url, bare.level, st, m)
		}
	}
	ids, types, _ = graphAll(t, e.GraphURL+"/v1.0/me/transitiveMemberOf?$select=id", at)
	if len(ids) != 7 || types["role-1"] != "#microsoft.graph.directoryRole" {
		t.Fatalf("uncast: %v %v", ids, types)
	}
	user.Groups = groupIDs(1)
	e.SetUser(user)
	if ids, _, _ := graphAll(t, cast, at); len(ids) != 2 {
		t.Fatalf("after removal: %v", ids)
	}
}

func TestEntraGraphErrors(t *testing.T) {
	e := NewEntra(t, EntraOptions{}, EntraUser{Subject: "alice", Groups: []string{"g1"}})
	u := e.GraphURL + "/v1.0/me/transitiveMemberOf?$select=id"
	get := func(token string) (int, http.Header, map[string]any) {
		req, _ := http.NewRequest(http.MethodGet, u, nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, resp.Header, m
	}
	code := func(m map[string]any) any { e, _ := m["error"].(map[string]any); return e["code"] }
	p := e.Provider
	now := time.Now().Unix()
	for name, tok := range map[string]string{
		"none":          "",
		"garbage":       "not-a-jwt",
		"other key":     p.Sign(map[string]any{"iss": p.Issuer, "sub": "alice", "aud": EntraGraphAudience, "exp": now + 60, "scp": "User.Read"}, SignOptions{Key: unpublishedRSA(t)}),
		"other api":     p.AccessToken("alice", map[string]any{"aud": "api://other", "scp": "User.Read"}),
		"expired":       p.AccessToken("alice", map[string]any{"exp": now - 60, "scp": "User.Read"}),
		"unknown user":  e.AccessToken("mallory", "User.Read"),
		"other issuer!": p.AccessToken("alice", map[string]any{"iss": "https://login.microsoftonline.com/other/v2.0", "scp": "User.Read"}),
		"JSON form":     jsonSerialized(t, e.AccessToken("alice", "User.Read")), // a JWT is compact only
	} {
		if st, h, m := get(tok); st != 401 || code(m) != "InvalidAuthenticationToken" || h.Get("WWW-Authenticate") == "" {
			t.Errorf("%s: %d %v", name, st, m)
		}
	}
	name := func(token string) any {
		req, _ := http.NewRequest(http.MethodGet, e.GraphURL+"/v1.0/me/transitiveMemberOf?$select=id,displayName", nil)
		req.Header.Set("Authorization", "Bearer "+token)
		_, _, m := getJSON(t, &http.Client{Transport: headerTransport{req.Header}}, req.URL.String())
		return m["value"].([]any)[0].(map[string]any)["displayName"]
	}
	if n := name(e.AccessToken("alice", "User.Read")); n != nil {
		t.Fatalf("User.Read alone: displayName %v, want null", n)
	}
	if n := name(e.AccessToken("alice", "User.Read GroupMember.Read.All")); n != "Group g1" {
		t.Fatalf("GroupMember.Read.All: displayName %v", n)
	}
	if st, _, m := get(e.AccessToken("alice", "openid profile")); st != 403 || code(m) != "Authorization_RequestDenied" {
		t.Fatalf("no Graph permission: %d %v", st, m)
	}
	good := e.AccessToken("alice", "openid User.Read")
	e.ThrottleNext(2, 3*time.Second)
	for i := range 2 {
		if st, h, m := get(good); st != 429 || h.Get("Retry-After") != "3" || code(m) != "TooManyRequests" {
			t.Fatalf("throttled call %d: %d %q %v", i, st, h.Get("Retry-After"), m)
		}
	}
	if st, _, m := get(good); st != 200 || len(m["value"].([]any)) != 1 {
		t.Fatalf("after throttling: %d %v", st, m)
	}
	e.SetFaults(FaultEntraGraphUnavailable)
	if st, _, _ := get(good); st != 503 {
		t.Fatalf("unavailable: %d", st)
	}
}

// headerTransport adds headers to every request.
type headerTransport struct{ h http.Header }

func (t headerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for k, v := range t.h {
		r.Header[k] = v
	}
	return http.DefaultTransport.RoundTrip(r)
}

// jsonSerialized returns the compact JWS raw in the JWS JSON serialization,
// the same signed payload in the form no JWT takes (RFC 7519 §7.2).
func jsonSerialized(t *testing.T, raw string) string {
	t.Helper()
	jws, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256, jose.ES256})
	if err != nil {
		t.Fatal(err)
	}
	return jws.FullSerialize()
}
