package proxy

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
)

// TestIdentityAnswersVaryOnCredentials: the browser's own cache, which
// "private" lets keep an answer, keyed it on the URL alone, so the next
// person to sign in in the same browser (a shared computer, the previous
// session ended without a sign-out) was handed the previous user's data
// answers (TestNextUserGetsOwnAnswersInChromium in e2e). Every non-page
// answer let through for an identity now varies on the credentials,
// whatever the upstream said about caching, its own Vary kept; "*" is
// left alone, and a public route's answer is the application's.
func TestIdentityAnswersVaryOnCredentials(t *testing.T) {
	answers := map[string]http.Header{
		"/app/data":    {"Cache-Control": {"max-age=600"}},
		"/app/private": {"Cache-Control": {"private, max-age=600"}},
		"/app/nostore": {"Cache-Control": {"no-store"}},
		"/app/encoded": {"Cache-Control": {"max-age=600"}, "Vary": {"Accept-Encoding"}},
		"/app/star":    {"Cache-Control": {"max-age=600"}, "Vary": {"Origin, *"}},
		"/public/data": {"Cache-Control": {"public, max-age=600"}},
	}
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		for k, v := range answers[r.URL.Path] {
			w.Header()[k] = v
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"user":"` + r.Header.Get("X-Forwarded-User") + `"}`))
	})
	f.prov.bearers["tok"] = &portcullis.Identity{Subject: "svc", Scopes: []string{"api:write"}}
	cookies := f.cookies(t, f.session())
	want := map[string][]string{
		"/app/data":    {"Cookie, Authorization"},
		"/app/private": {"Cookie, Authorization"},
		"/app/nostore": {"Cookie, Authorization"},
		"/app/encoded": {"Accept-Encoding", "Cookie, Authorization"},
		"/app/star":    {"Origin, *"},
		"/public/data": nil,
	}
	for path, vary := range want {
		resp := f.do(t, "GET", path, nil, withCookies(cookies))
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s = %d", path, resp.StatusCode)
		}
		if got := resp.Header.Values("Vary"); !slices.Equal(got, vary) {
			t.Errorf("GET %s as alice: Vary %q, want %q", path, got, vary)
		}
	}
	resp := f.do(t, "GET", "/api/x", nil, withHeader("Authorization", "Bearer tok"))
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /api/x with a bearer token = %d", resp.StatusCode)
	}
	if got := strings.Join(resp.Header.Values("Vary"), ", "); got != "Cookie, Authorization" {
		t.Errorf("GET /api/x with a bearer token: Vary %q, want the credentials", got)
	}
}

// FuzzVaryOnCredentials: whatever Vary lines the upstream sent, the
// answer's Vary, read as a cache reads it (the lines joined with ", "),
// names Cookie and Authorization, or "*", which no request matches; the
// upstream's lines are kept as they were.
func FuzzVaryOnCredentials(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"Accept-Encoding", ""}, {"*", ""}, {"Origin,*", "Accept"}, {" * ", ""}, {",,", "cookie"}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		h := http.Header{}
		var in []string
		for _, v := range []string{a, b} {
			if v != "" {
				h.Add("Vary", v)
				in = append(in, v)
			}
		}
		client := http.Header{}
		varyOnCredentials(h, client)
		out := append(append([]string(nil), h.Values("Vary")...), client.Values("Vary")...)
		if !slices.Equal(out[:len(in)], in) {
			t.Fatalf("Vary %q became %q: the upstream's lines changed", in, out)
		}
		names := map[string]bool{}
		for _, n := range strings.Split(strings.Join(out, ", "), ",") {
			names[strings.ToLower(strings.TrimSpace(n))] = true
		}
		if !names["*"] && (!names["cookie"] || !names["authorization"]) {
			t.Fatalf("Vary %q became %q: a cache may hand the answer to other credentials", in, out)
		}
	})
}
