package directory

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeGoogle plays Google's token endpoint (the RFC 7523 service-account
// grant) and the two directory APIs, recording what it was asked.
type fakeGoogle struct {
	srv      *httptest.Server
	groups   map[string][]string // member (user or group) -> groups it directly belongs to
	refuse   string              // token endpoint error code, "" = grant
	pageSize int

	mu       sync.Mutex
	subjects []string // sub of each grant's assertion
	scopes   []string
	queries  []string // Cloud Identity query parameters
	calls    int
}

func newFakeGoogle(t *testing.T) *fakeGoogle {
	t.Helper()
	f := &fakeGoogle{groups: map[string][]string{}, pageSize: 1}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /token", f.token)
	mux.HandleFunc("GET /admin/directory/v1/groups", f.adminGroups)
	mux.HandleFunc("GET /v1/groups/-/memberships:searchTransitiveGroups", f.searchTransitive)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeGoogle) token(w http.ResponseWriter, r *http.Request) {
	if r.FormValue("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		http.Error(w, `{"error":"unsupported_grant_type"}`, http.StatusBadRequest)
		return
	}
	parts := strings.Split(r.FormValue("assertion"), ".")
	var claims struct {
		Sub   string `json:"sub"`
		Scope string `json:"scope"`
	}
	if len(parts) == 3 {
		b, _ := base64.RawURLEncoding.DecodeString(parts[1])
		_ = json.Unmarshal(b, &claims)
	}
	f.mu.Lock()
	f.subjects = append(f.subjects, claims.Sub)
	f.scopes = append(f.scopes, claims.Scope)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if f.refuse != "" {
		w.WriteHeader(http.StatusUnauthorized)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": f.refuse, "error_description": "Client is unauthorized to retrieve access tokens using this method"})
		return
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"access_token": "sa-token", "token_type": "Bearer", "expires_in": 3600})
}

func (f *fakeGoogle) authorized(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	f.calls++
	f.mu.Unlock()
	if r.Header.Get("Authorization") != "Bearer sa-token" {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":{"code":401,"message":"Login Required."}}`))
		return false
	}
	return true
}

// page returns the slice of list the page token names, and the next token.
func (f *fakeGoogle) page(list []string, token string) ([]string, string) {
	start, _ := strconv.Atoi(token)
	end := min(start+f.pageSize, len(list))
	next := ""
	if end < len(list) {
		next = strconv.Itoa(end)
	}
	return list[start:end], next
}

func (f *fakeGoogle) adminGroups(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	list, next := f.page(f.groups[r.URL.Query().Get("userKey")], r.URL.Query().Get("pageToken"))
	out := map[string]any{"kind": "admin#directory#groups"}
	var gs []map[string]string
	for _, g := range list {
		gs = append(gs, map[string]string{"kind": "admin#directory#group", "email": g, "id": "id-" + g})
	}
	if gs != nil {
		out["groups"] = gs
	}
	if next != "" {
		out["nextPageToken"] = next
	}
	_ = json.NewEncoder(w).Encode(out)
}

// transitive returns every group member belongs to, directly or not.
func (f *fakeGoogle) transitive(member string) []string {
	var out []string
	queue := []string{member}
	for len(queue) > 0 {
		m := queue[0]
		queue = queue[1:]
		for _, g := range f.groups[m] {
			if !slices.Contains(out, g) {
				out = append(out, g)
				queue = append(queue, g)
			}
		}
	}
	return out
}

func (f *fakeGoogle) searchTransitive(w http.ResponseWriter, r *http.Request) {
	if !f.authorized(w, r) {
		return
	}
	q := r.URL.Query().Get("query")
	f.mu.Lock()
	f.queries = append(f.queries, q)
	f.mu.Unlock()
	const prefix = "member_key_id == '"
	member := ""
	if strings.HasPrefix(q, prefix) {
		member, _, _ = strings.Cut(q[len(prefix):], "'")
	}
	list, next := f.page(f.transitive(member), r.URL.Query().Get("pageToken"))
	var ms []map[string]any
	for _, g := range list {
		ms = append(ms, map[string]any{"group": "groups/" + g, "groupKey": map[string]string{"id": g},
			"displayName": g, "relationType": "DIRECT_AND_INDIRECT"})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"memberships": ms, "nextPageToken": next})
}

// serviceAccountKey returns a service-account JSON key whose token_uri is
// tokenURL.
func serviceAccountKey(t testing.TB, tokenURL string) []byte {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKCS8PrivateKey(k)
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "p", "private_key_id": "kid1",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "portcullis@p.iam.gserviceaccount.com", "client_id": "1234567890",
		"token_uri": tokenURL,
	})
	return b
}

func TestGoogleAdminSDKNestedAndPaged(t *testing.T) {
	f := newFakeGoogle(t)
	f.groups["ann@acme.com"] = []string{"SRE@acme.com", "eng@acme.com"}
	f.groups["sre@acme.com"] = []string{"oncall@acme.com", "eng@acme.com"}
	f.groups["oncall@acme.com"] = []string{"sre@acme.com"} // a cycle
	f.groups["eng@acme.com"] = []string{"all@acme.com"}
	g, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, f.srv.URL+"/token"),
		AdminEmail: "admin@acme.com", BaseURL: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Groups(context.Background(), User{Email: "Ann@acme.com"})
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"sre@acme.com", "eng@acme.com", "oncall@acme.com", "all@acme.com"}
	if !slices.Equal(got, want) {
		t.Errorf("groups = %v, want %v", got, want)
	}
	if !slices.Equal(f.subjects, []string{"admin@acme.com"}) || f.scopes[0] != AdminSDKScope {
		t.Errorf("grant subjects %v scopes %v: want one grant as the admin with the Admin SDK scope", f.subjects, f.scopes)
	}
	// A second read reuses the service-account token.
	if _, err := g.Groups(context.Background(), User{Email: "ann@acme.com"}); err != nil || len(f.subjects) != 1 {
		t.Errorf("second read: err %v, %d grants", err, len(f.subjects))
	}
}

func TestGoogleCloudIdentityTransitive(t *testing.T) {
	f := newFakeGoogle(t)
	f.groups["ann@acme.com"] = []string{"sre@acme.com"}
	f.groups["sre@acme.com"] = []string{"eng@acme.com"}
	f.pageSize = 1
	g, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, f.srv.URL+"/token"), BaseURL: f.srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := g.Groups(context.Background(), User{Email: "ann@acme.com"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []string{"sre@acme.com", "eng@acme.com"}) {
		t.Errorf("groups = %v", got)
	}
	wantQ := "member_key_id == 'ann@acme.com' && 'cloudidentity.googleapis.com/groups.discussion_forum' in labels"
	if len(f.queries) != 2 || f.queries[0] != wantQ {
		t.Errorf("queries = %q, want two pages of %q", f.queries, wantQ)
	}
	if f.subjects[0] != "" || f.scopes[0] != CloudIdentityScope {
		t.Errorf("grant sub %q scope %q: Cloud Identity is called as the service account itself", f.subjects[0], f.scopes[0])
	}
	// A quote in the address stays inside the CEL string literal.
	if _, err := g.Groups(context.Background(), User{Email: "x' || 'a' == 'a@acme.com"}); err != nil {
		t.Fatal(err)
	}
	wantQ = `member_key_id == 'x\' || \'a\' == \'a@acme.com' && 'cloudidentity.googleapis.com/groups.discussion_forum' in labels`
	if q := f.queries[len(f.queries)-1]; q != wantQ {
		t.Errorf("query = %q, want %q", q, wantQ)
	}
	// A backslash of the address cannot escape the quote that follows it,
	// nor spell one as a unicode escape: both stay literal characters.
	for email, want := range map[string]string{
		`x\' || 'a@acme.com`:    `member_key_id == 'x\\\' || \'a@acme.com'`,
		`x\u0027 || a@acme.com`: `member_key_id == 'x\\u0027 || a@acme.com'`,
	} {
		if _, err := g.Groups(context.Background(), User{Email: email}); err != nil {
			t.Fatal(err)
		}
		if q := f.queries[len(f.queries)-1]; !strings.HasPrefix(q, want+" && ") {
			t.Errorf("query for %q = %q, want it to begin %q", email, q, want)
		}
	}
}

func TestGoogleErrors(t *testing.T) {
	t.Run("delegation missing", func(t *testing.T) {
		f := newFakeGoogle(t)
		f.refuse = "unauthorized_client"
		g, err := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, f.srv.URL+"/token"),
			AdminEmail: "admin@acme.com", BaseURL: f.srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		_, err = g.Groups(context.Background(), User{Email: "ann@acme.com"})
		if err == nil || !strings.Contains(err.Error(), "Domain-wide delegation must list client ID 1234567890") {
			t.Errorf("err = %v, want a delegation hint", err)
		}
		if f.calls != 0 {
			t.Errorf("directory asked %d times without a token", f.calls)
		}
	})
	t.Run("403 from the API", func(t *testing.T) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == "/token" {
				_, _ = w.Write([]byte(`{"access_token":"sa-token","token_type":"Bearer","expires_in":3600}`))
				return
			}
			w.WriteHeader(http.StatusForbidden)
			_, _ = w.Write([]byte(`{"error":{"code":403,"message":"Not Authorized to access this resource/api"}}`))
		}))
		defer srv.Close()
		g, _ := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, srv.URL+"/token"), AdminEmail: "a@acme.com", BaseURL: srv.URL})
		_, err := g.Groups(context.Background(), User{Email: "ann@acme.com"})
		var se *StatusError
		if !errors.As(err, &se) || se.Status != 403 || !strings.Contains(se.Detail, "Not Authorized") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("redirect not followed", func(t *testing.T) {
		hits := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			switch r.URL.Path {
			case "/token":
				_, _ = w.Write([]byte(`{"access_token":"sa-token","token_type":"Bearer","expires_in":3600}`))
			case "/elsewhere":
				hits++
			default:
				http.Redirect(w, r, "/elsewhere", http.StatusFound)
			}
		}))
		defer srv.Close()
		g, _ := NewGoogle(GoogleConfig{CredentialsJSON: serviceAccountKey(t, srv.URL+"/token"), BaseURL: srv.URL})
		_, err := g.Groups(context.Background(), User{Email: "ann@acme.com"})
		var se *StatusError
		if !errors.As(err, &se) || se.Status != http.StatusFound || hits != 0 {
			t.Errorf("err = %v, redirect target hit %d times", err, hits)
		}
	})
	t.Run("not a service account key", func(t *testing.T) {
		if _, err := NewGoogle(GoogleConfig{CredentialsJSON: []byte(`{"type":"authorized_user"}`)}); err == nil {
			t.Error("a user credential was accepted")
		}
	})
}

func TestCELQuoted(t *testing.T) {
	for in, want := range map[string]string{
		"ann@acme.com":          "ann@acme.com",
		"o'brien@acme.com":      `o\'brien@acme.com`,
		`x\' || 'a' == 'a@acme`: `x\\\' || \'a\' == \'a@acme`,
	} {
		if got := celQuoted(in); got != want {
			t.Errorf("celQuoted(%q) = %q, want %q", in, got, want)
		}
	}
}
