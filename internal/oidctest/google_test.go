package oidctest

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/google"
)

// getJSON GETs u with client and decodes the JSON answer.
func getJSON(t *testing.T, client *http.Client, u string) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header, m
}

// googleClient is the client a gateway builds from the key file with the
// real library, impersonating subject ("" = none).
func googleClient(t *testing.T, g *GoogleServer, subject string, scopes ...string) (*http.Client, oauth2.TokenSource) {
	t.Helper()
	cfg, err := google.JWTConfigFromJSON(g.ServiceAccountKey(), scopes...)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Subject = subject
	ctx := context.Background()
	return cfg.Client(ctx), cfg.TokenSource(ctx)
}

func emailsOf(m map[string]any, list, field string) []string {
	var out []string
	items, _ := m[list].([]any)
	for _, it := range items {
		obj := it.(map[string]any)
		if field == "groupKey.id" {
			out = append(out, obj["groupKey"].(map[string]any)["id"].(string))
		} else {
			out = append(out, obj[field].(string))
		}
	}
	return out
}

func TestGoogleDirectoryDelegatedPagingNestingAndChanges(t *testing.T) {
	g := NewGoogle(t, GoogleOptions{})
	g.SetMemberships("alice@acme.com", "sre@acme.com", "dev@acme.com", "ops@acme.com")
	g.SetMemberships("sre@acme.com", "eng@acme.com") // nested: sre is a member of eng
	g.SetGroup("sre@acme.com", "Site Reliability")
	client, ts := googleClient(t, g, "admin@acme.com", googleScopeGroupReadonly)
	if _, err := ts.Token(); err != nil {
		t.Fatalf("token: %v", err)
	}
	reqs := g.TokenRequests()
	if len(reqs) != 1 || reqs[0].Subject != "admin@acme.com" || reqs[0].Status != 200 {
		t.Fatalf("token requests: %+v", reqs)
	}
	base := g.URL + "/admin/directory/v1/groups?userKey=" + url.QueryEscape("alice@acme.com") + "&maxResults=2"
	st, _, p1 := getJSON(t, client, base)
	if st != 200 || p1["kind"] != "admin#directory#groups" || p1["nextPageToken"] == nil {
		t.Fatalf("page 1: %d %v", st, p1)
	}
	_, _, p2 := getJSON(t, client, base+"&pageToken="+url.QueryEscape(p1["nextPageToken"].(string)))
	got := append(emailsOf(p1, "groups", "email"), emailsOf(p2, "groups", "email")...)
	if strings.Join(got, ",") != "dev@acme.com,ops@acme.com,sre@acme.com" || p2["nextPageToken"] != nil {
		t.Fatalf("direct groups over two pages: %v (page 2 %v)", got, p2)
	}
	first := p1["groups"].([]any)[0].(map[string]any)
	if first["kind"] != "admin#directory#group" || first["id"] == "" || first["directMembersCount"] != "1" {
		t.Fatalf("group resource: %v", first)
	}
	// Direct only: eng is not listed for alice; a group's own parents are.
	_, _, parents := getJSON(t, client, g.URL+"/admin/directory/v1/groups?userKey=sre@acme.com")
	if e := emailsOf(parents, "groups", "email"); len(e) != 1 || e[0] != "eng@acme.com" {
		t.Fatalf("parents of sre: %v", parents)
	}
	// A page token of another query is refused.
	if st, _, _ := getJSON(t, client, g.URL+"/admin/directory/v1/groups?userKey=bob@acme.com&pageToken="+url.QueryEscape(p1["nextPageToken"].(string))); st != 400 {
		t.Fatalf("foreign page token: %d", st)
	}
	// Removing alice from every group is seen at once; empty lists are omitted.
	g.SetMemberships("alice@acme.com")
	_, _, none := getJSON(t, client, base)
	if _, has := none["groups"]; has || none["kind"] != "admin#directory#groups" {
		t.Fatalf("no groups: %v", none)
	}
	if c := g.Calls("/admin/directory/v1/groups"); len(c) != 5 || !strings.HasPrefix(c[0].Authorization, "Bearer ya29.") {
		t.Fatalf("calls: %+v", c)
	}
}

func TestGoogleDirectoryRefusals(t *testing.T) {
	g := NewGoogle(t, GoogleOptions{})
	g.SetMemberships("alice@acme.com", "sre@acme.com")
	u := g.URL + "/admin/directory/v1/groups?userKey=alice@acme.com"
	cases := []struct {
		name    string
		subject string
		status  int
		message string
	}{
		{"service account's own token", "", 403, "Not Authorized to access this resource/api"},
		{"delegated to a non-admin", "alice@acme.com", 403, "Not Authorized to access this resource/api"},
		{"delegated to the admin", "admin@acme.com", 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client, _ := googleClient(t, g, c.subject, googleScopeGroupReadonly)
			st, _, m := getJSON(t, client, u)
			if st != c.status {
				t.Fatalf("status %d, want %d: %v", st, c.status, m)
			}
			if c.message != "" {
				e := m["error"].(map[string]any)
				if e["message"] != c.message || e["code"].(float64) != 403 || len(e["errors"].([]any)) != 1 {
					t.Fatalf("error body: %v", m)
				}
			}
		})
	}
	if st, h, _ := getJSON(t, http.DefaultClient, u); st != 401 || h.Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d", st)
	}
}

// googleTokenError is the token endpoint's refusal of ts's grant, with its
// error and error_description.
func googleTokenError(t *testing.T, ts oauth2.TokenSource) *oauth2.RetrieveError {
	t.Helper()
	_, err := ts.Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		t.Fatalf("want a RetrieveError, got %v", err)
	}
	// golang.org/x/oauth2/jwt leaves ErrorCode empty: parse the body.
	var body struct {
		Error            string `json:"error"`
		ErrorDescription string `json:"error_description"`
	}
	_ = json.Unmarshal(re.Body, &body)
	re.ErrorCode, re.ErrorDescription = body.Error, body.ErrorDescription
	return re
}

func TestGoogleTokenEndpointErrors(t *testing.T) {
	g := NewGoogle(t, GoogleOptions{})
	t.Run("delegation missing", func(t *testing.T) {
		g.SetFaults(GoogleErrorOnDelegation)
		defer g.SetFaults(0)
		_, ts := googleClient(t, g, "admin@acme.com", googleScopeGroupReadonly)
		re := googleTokenError(t, ts)
		if re.Response.StatusCode != 401 || re.ErrorCode != "unauthorized_client" ||
			!strings.HasPrefix(re.ErrorDescription, "Client is unauthorized to retrieve access tokens using this method") {
			t.Fatalf("%d %q %q", re.Response.StatusCode, re.ErrorCode, re.ErrorDescription)
		}
		// Without impersonation the service account still gets a token.
		_, own := googleClient(t, g, "", googleScopeGroupReadonly)
		if _, err := own.Token(); err != nil {
			t.Fatalf("own token: %v", err)
		}
	})
	t.Run("scope not in the delegation", func(t *testing.T) {
		_, ts := googleClient(t, g, "admin@acme.com", googleScopeGroup)
		if re := googleTokenError(t, ts); re.ErrorCode != "unauthorized_client" {
			t.Fatalf("%q", re.ErrorCode)
		}
	})
	t.Run("user outside the domain", func(t *testing.T) {
		_, ts := googleClient(t, g, "mallory@evil.com", googleScopeGroupReadonly)
		if re := googleTokenError(t, ts); re.ErrorCode != "invalid_grant" || re.ErrorDescription != "Invalid email or User ID" {
			t.Fatalf("%q %q", re.ErrorCode, re.ErrorDescription)
		}
	})
	t.Run("key of another account", func(t *testing.T) {
		var key map[string]string
		_ = json.Unmarshal(g.ServiceAccountKey(), &key)
		other := NewGoogle(t, GoogleOptions{})
		other.key = unpublishedRSA(t).Private.(*rsa.PrivateKey)
		var otherKey map[string]string
		_ = json.Unmarshal(other.ServiceAccountKey(), &otherKey)
		key["private_key"], key["private_key_id"] = otherKey["private_key"], ""
		b, _ := json.Marshal(key)
		cfg, err := google.JWTConfigFromJSON(b, googleScopeGroupReadonly)
		if err != nil {
			t.Fatal(err)
		}
		if re := googleTokenError(t, cfg.TokenSource(context.Background())); re.Response.StatusCode != 400 ||
			re.ErrorCode != "invalid_grant" || re.ErrorDescription != "Invalid JWT Signature." {
			t.Fatalf("%d %q %q", re.Response.StatusCode, re.ErrorCode, re.ErrorDescription)
		}
	})
	t.Run("assertion in the JWS JSON serialization", func(t *testing.T) {
		// Google's token endpoint takes a JWT, which is compact only
		// (RFC 7519 §7.2); the same signed claims in the JSON form are no
		// assertion.
		signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: g.key}, nil)
		if err != nil {
			t.Fatal(err)
		}
		now := time.Now().Unix()
		claims, _ := json.Marshal(map[string]any{"iss": g.ServiceAccountEmail, "aud": g.TokenURL(),
			"scope": googleScopeGroupReadonly, "iat": now, "exp": now + 3600})
		jws, err := signer.Sign(claims)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.PostForm(g.TokenURL(), url.Values{"grant_type": {jwtBearerGrant},
			"assertion": {jws.FullSerialize()}})
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&m)
		if resp.StatusCode != 400 || m["error"] != "invalid_grant" {
			t.Fatalf("%d %v, want 400 invalid_grant", resp.StatusCode, m["error"])
		}
	})
	t.Run("assertion out of its time window", func(t *testing.T) {
		late := NewGoogle(t, GoogleOptions{Now: func() time.Time { return time.Now().Add(2 * time.Hour) }})
		_, ts := googleClient(t, late, "admin@acme.com", googleScopeGroupReadonly)
		if re := googleTokenError(t, ts); re.ErrorCode != "invalid_grant" || !strings.Contains(re.ErrorDescription, "short-lived") {
			t.Fatalf("%q %q", re.ErrorCode, re.ErrorDescription)
		}
	})
	t.Run("unavailable", func(t *testing.T) {
		g.SetFaults(GoogleUnavailable)
		defer g.SetFaults(0)
		_, ts := googleClient(t, g, "admin@acme.com", googleScopeGroupReadonly)
		if re := googleTokenError(t, ts); re.Response.StatusCode != 503 {
			t.Fatalf("%d", re.Response.StatusCode)
		}
	})
}

func TestGoogleCloudIdentityTransitive(t *testing.T) {
	g := NewGoogle(t, GoogleOptions{})
	g.SetMemberships("alice@acme.com", "sre@acme.com", "eng@acme.com")
	g.SetMemberships("sre@acme.com", "eng@acme.com", "oncall@acme.com")
	g.SetMemberships("oncall@acme.com", "all@acme.com")
	client, _ := googleClient(t, g, "", googleScopeCIReadonly) // no impersonation
	query := "member_key_id == 'alice@acme.com' && '" + discussionForumLabel + "' in labels"
	base := g.URL + "/v1/groups/-/memberships:searchTransitiveGroups?pageSize=3&query=" + url.QueryEscape(query)
	st, _, p1 := getJSON(t, client, base)
	if st != 200 || p1["nextPageToken"] == nil {
		t.Fatalf("page 1: %d %v", st, p1)
	}
	_, _, p2 := getJSON(t, client, base+"&pageToken="+url.QueryEscape(p1["nextPageToken"].(string)))
	rel := map[string]string{}
	for _, page := range []map[string]any{p1, p2} {
		for _, it := range page["memberships"].([]any) {
			m := it.(map[string]any)
			rel[m["groupKey"].(map[string]any)["id"].(string)] = m["relationType"].(string)
			if !strings.HasPrefix(m["group"].(string), "groups/") || m["displayName"] == "" {
				t.Fatalf("membership: %v", m)
			}
		}
	}
	want := map[string]string{"sre@acme.com": "DIRECT", "eng@acme.com": "DIRECT_AND_INDIRECT",
		"oncall@acme.com": "INDIRECT", "all@acme.com": "INDIRECT"}
	if len(rel) != len(want) || p2["nextPageToken"] != nil {
		t.Fatalf("transitive: %v", rel)
	}
	for k, v := range want {
		if rel[k] != v {
			t.Fatalf("%s: %q, want %q (all %v)", k, rel[k], v, rel)
		}
	}
	// A removal deep in the nesting is seen at once.
	g.SetMemberships("oncall@acme.com")
	_, _, after := getJSON(t, client, g.URL+"/v1/groups/-/memberships:searchTransitiveGroups?query="+url.QueryEscape(query))
	if e := emailsOf(after, "memberships", "groupKey.id"); strings.Join(e, ",") != "eng@acme.com,oncall@acme.com,sre@acme.com" {
		t.Fatalf("after removal: %v", e)
	}
	if st, _, m := getJSON(t, client, g.URL+"/v1/groups/-/memberships:searchTransitiveGroups?query="+url.QueryEscape("member_key_id == 'alice@acme.com'")); st != 400 {
		t.Fatalf("query without the label: %d %v", st, m)
	}
	g.SetFaults(GoogleNoGroupsReader)
	st, _, m := getJSON(t, client, base)
	if st != 403 || m["error"].(map[string]any)["status"] != "PERMISSION_DENIED" {
		t.Fatalf("without Groups Reader: %d %v", st, m)
	}
	// The Directory scope does not open Cloud Identity.
	g.SetFaults(0)
	dirClient, _ := googleClient(t, g, "", googleScopeGroupReadonly)
	if st, _, _ := getJSON(t, dirClient, base); st != 403 {
		t.Fatalf("wrong scope: %d", st)
	}
}
