package config

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/session"
)

// TestSessionsBoundToTheCookieScope: two gateways that share the provider,
// its client_id and the secrets, but whose cookies no browser shares (one
// host each, host-only or with a cookie_domain of its own), open none of
// each other's sessions (login states are bound to the redirect URI as
// well, in cmd/portcullis). An application
// behind one of them (forward-auth hands it the Cookie header) replayed a
// user's session cookie at the other, the isolation docs/forward-auth.md
// advises for apps of different trust. Replicas, and gateways on hosts that
// share one cookie_domain, still share their sessions.
func TestSessionsBoundToTheCookieScope(t *testing.T) {
	gateway := func(publicURL, extra string) session.CookieConfig {
		doc := strings.Replace(base, "https://dash.example.com", publicURL, 1)
		doc = strings.Replace(doc, "[session]\n", "[session]\n"+extra+"\n", 1)
		return mustParse(t, t.TempDir(), doc, nil).Cookie
	}
	app1 := gateway("https://app1.example.com", "")
	tests := []struct {
		name     string
		from, to session.CookieConfig
		shared   bool
	}{
		{"host-only, other host", app1, gateway("https://app2.example.com", ""), false},
		{"host-only, replica", app1, gateway("https://APP1.example.com.:8443", ""), true},
		{"own cookie_domain each", gateway("https://app1.example.com", `cookie_domain = "app1.example.com"`),
			gateway("https://app2.example.com", `cookie_domain = "app2.example.com"`), false},
		{"host-only and a cookie_domain", gateway("https://app1.example.com", `cookie_name = "portcullis"`),
			gateway("https://app1.example.com", `cookie_domain = "app1.example.com"`), false},
		{"one cookie_domain", gateway("https://app1.example.com", `cookie_domain = "example.com"`),
			gateway("https://app2.example.com", `cookie_domain = ".Example.com"`), true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := opensSession(t, tc.from, tc.to); got != tc.shared {
				t.Errorf("a session sealed by one gateway opens at the other: %v, want %v", got, tc.shared)
			}
		})
	}
}

// opensSession reports whether a session that from saves opens at to.
func opensSession(t *testing.T, from, to session.CookieConfig) bool {
	t.Helper()
	a, err := session.NewCookieStore(from)
	if err != nil {
		t.Fatal(err)
	}
	b, err := session.NewCookieStore(to)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	s := &session.Session{Identity: portcullis.Identity{Subject: "alice", Issuer: "https://accounts.google.com"},
		IDToken: "id-token", CreatedAt: now, ExpiresAt: now.Add(time.Hour)}
	rec := httptest.NewRecorder()
	if err := a.Save(rec, httptest.NewRequest(http.MethodGet, "https://app1.example.com/", nil), s); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodGet, "https://app2.example.com/", nil)
	for _, c := range rec.Result().Cookies() {
		r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	_, err = b.Load(r)
	return err == nil
}
