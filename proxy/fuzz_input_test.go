package proxy

import (
	"bytes"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// FuzzRedirectValidate: a return URL the policy keeps is the input itself,
// and a browser resolving it against public_url (as a Location header,
// after http.Redirect's cleaning) lands on public_url's origin or an
// allowed host, over http(s); a relative one is path-absolute.
func FuzzRedirectValidate(f *testing.F) {
	for _, s := range []string{"/", "/dash?x=1#top", "//evil.com", "/\\evil.com", "https://app.example.org/x",
		"https://a.b.example.net/", "/#/../%2F%2Fevil.com", "/a/../..//evil.com", "https:evil.com", "/%2e%2e/x",
		"HTTPS://example.com:443/a", "http://[::1]/", "https://example.com@evil.com/",
		// Authorities one parser reads as another host, or as none.
		"https://:443/", "https://:/", "https://[]/", "https://example.com:/", "https://example.com:0443/",
		"https://example.com:65536/", "https://example.com:+443/", "https://APP.example.org./", "https://@example.com/",
		"https://a:b@example.com/", "https://[fe80::1%25eth0]/", "https://[::ffff:127.0.0.1]/", "http://localhost.:80/",
		"https://app.ex%61mple.org/", "https://b\u00fccher.example.net/", "https://example.com\\@evil.com/", "\\\\evil.com",
		"https://example.com?x", " https://example.com/", "https://example.com\t/"} {
		f.Add(s)
	}
	public, _ := url.Parse("https://example.com")
	p, err := newRedirectPolicy(public, []string{"app.example.org", "api.example.org:8443", "*.example.net"})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := p.validate(raw)
		if got == "/" {
			return
		}
		if got != raw {
			t.Fatalf("validate(%q) = %q, want the input or \"/\"", raw, got)
		}
		loc := raw
		if raw[0] == '/' {
			if strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, "/\\") {
				t.Fatalf("validate kept %q, which is not path-absolute", raw)
			}
			loc = asRedirected(raw)
		}
		u, err := url.Parse(loc)
		if err != nil {
			t.Fatalf("validate kept %q, which does not parse as sent (%q): %v", raw, loc, err)
		}
		dest := public.ResolveReference(u)
		scheme := strings.ToLower(dest.Scheme)
		if scheme != "http" && scheme != "https" || dest.User != nil || dest.Opaque != "" {
			t.Fatalf("validate kept %q, which leads to %q", raw, dest)
		}
		if h, err := policy.ParseHost(dest.Host); err != nil || !p.allowedHost(scheme, h.Name, effectivePort(scheme, h.Port)) {
			t.Fatalf("validate kept %q, which leads to host %q", raw, dest.Host)
		}
	})
}

// directivesAsRead are the directives of a Cache-Control field as a cache
// reads them, apart from the code under test: its lines joined with ", "
// (RFC 9110 §5.3), so that a quoted argument left open on one line runs on
// into the next, split at the commas outside quoted strings.
func directivesAsRead(vs []string) []string {
	var out []string
	for _, d := range splitOutsideQuotes(strings.Join(vs, ", ")) {
		if d = strings.TrimSpace(d); d != "" {
			out = append(out, d)
		}
	}
	return out
}

// directiveNames is the set of the lower-cased names of the unqualified
// directives in a Cache-Control field, as a cache reads them.
func directiveNames(vs []string) map[string]bool {
	out := map[string]bool{}
	for _, d := range directivesAsRead(vs) {
		if name, _, qualified := strings.Cut(d, "="); !qualified {
			out[strings.ToLower(strings.TrimSpace(name))] = true
		}
	}
	return out
}

// FuzzKeepPrivate: whatever the upstream's Cache-Control fields, the
// answer's Cache-Control, read again as a cache reads it, has private or
// no-store; a no-store the upstream named is kept; public and s-maxage are
// gone unless no-store or private stand; the targeted fields are gone.
func FuzzKeepPrivate(f *testing.F) {
	for _, s := range [][2]string{{"", ""}, {"public, max-age=60", ""}, {"no-store", ""}, {`no-cache="Set-Cookie, X", s-maxage=9`, "public"},
		{`private="Set-Cookie"`, "max-age=1"}, {`x="a\"`, ""}, {`x="`, "no-store"}, {"NO-STORE", ""}, {",,", " "}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		h := http.Header{"Cdn-Cache-Control": {"max-age=60"}, "Surrogate-Control": {"max-age=60"}, "X-Accel-Expires": {"60"},
			"Cloudflare-Cdn-Cache-Control": {"max-age=60"}, "Edge-Control": {"!no-store"}}
		var in []string
		for _, v := range []string{a, b} {
			if v != "" {
				h.Add("Cache-Control", v)
				in = append(in, v)
			}
		}
		upstream := directiveNames(in)
		client := http.Header{}
		keepPrivate(h, client)
		for k := range h {
			if sharedCacheField(k) {
				t.Fatalf("Cache-Control %q: %s kept", in, k)
			}
		}
		out := append(append([]string(nil), h.Values("Cache-Control")...), client.Values("Cache-Control")...)
		names := directiveNames(out)
		if !names["private"] && !names["no-store"] {
			t.Fatalf("Cache-Control %q became %q: neither private nor no-store", in, out)
		}
		if upstream["no-store"] && !names["no-store"] {
			t.Fatalf("Cache-Control %q became %q: no-store dropped", in, out)
		}
		if !upstream["no-store"] && !upstream["private"] && (names["public"] || hasDirective(out, "s-maxage")) {
			t.Fatalf("Cache-Control %q became %q: still shareable", in, out)
		}
	})
}

// hasDirective reports whether a directive called name, qualified or not,
// is among vs's.
func hasDirective(vs []string, name string) bool {
	for _, d := range directivesAsRead(vs) {
		n, _, _ := strings.Cut(d, "=")
		if strings.EqualFold(strings.TrimSpace(n), name) {
			return true
		}
	}
	return false
}

// FuzzOriginalRequest: whatever forwarded headers a front proxy (or a
// client through it) sends, the request forward-auth decides has a method
// the policy accepts (or none), a host that parses again to itself, a
// normalised path that does not start with "//", and a query that passes
// checkQuery.
func FuzzOriginalRequest(f *testing.F) {
	f.Add("GET", "", "app.example.com", "/a/b?x=1", "", "", "app.example.com")
	f.Add("", "POST", "", "", "https://app.example.com/a?y", "", "app.example.com")
	f.Add("GET", "GET", "a.example.com:8443", "", "", "/x/%2e%2e/y", "b")
	f.Add("get", "", "", "/./../a", "http://a.example.com?/admin", "/a", "a.example.com")
	f.Add("", "", "", "//public/admin", "", "/.//x", "[::1]:80")
	// Hosts with a port and no name, an empty port, a zone, user information.
	for _, h := range []string{":443", ":", "[]", "app.example.com:", "app.example.com:0443", "[fe80::1%25eth0]", "a@app.example.com", "APP.example.com."} {
		f.Add("", "", h, "/x", "", "", h)
		f.Add("", "", "", "", "http://"+h+"/x", "", "app.example.com")
	}
	f.Fuzz(func(t *testing.T, m1, m2, fwdHost, fwdURI, origURL, origURI, host string) {
		r := &http.Request{Method: http.MethodGet, Host: host, Header: http.Header{}, URL: &url.URL{Path: "/oauth2/auth"}}
		for k, v := range map[string]string{"X-Forwarded-Method": m1, "X-Original-Method": m2, "X-Forwarded-Host": fwdHost,
			"X-Forwarded-Uri": fwdURI, "X-Original-Url": origURL, "X-Original-Uri": origURI} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		q, query, err := originalRequest(r)
		if err != nil {
			return
		}
		if q.method != "" && !policy.ValidMethod(q.method) {
			t.Fatalf("method %q accepted", q.method)
		}
		if again, err := policy.ParseHost(q.host.String()); err != nil || again != q.host {
			t.Fatalf("host %+v does not parse again to itself: %+v, %v", q.host, again, err)
		}
		if n, err := policy.Normalize(q.path); err != nil || n != q.path {
			t.Fatalf("path %q is not normalised (%q, %v)", q.path, n, err)
		}
		if !strings.HasPrefix(q.path, "/") || strings.HasPrefix(q.path, "//") {
			t.Fatalf("path %q", q.path)
		}
		if e := checkQuery(query); e != nil {
			t.Fatalf("query %q: %v", query, e)
		}
	})
}

// FuzzMethodOverrideSeen: every _method that Go's own parsers read in a
// urlencoded or multipart body, or the query, is one the gateway decides
// as: methodOverride returns that method, or refuses the request. An
// application must never act on a method the gateway did not see.
func FuzzMethodOverrideSeen(f *testing.F) {
	f.Add("a=1", false, "_method=delete")
	f.Add("", true, "--b\r\nContent-Disposition: form-data; name=\"_method\"\r\n\r\ndelete\r\n--b--\r\n")
	f.Add("_method=put", true, "--b\r\nContent-Disposition: form-data; name=\"_%6Dethod\"\r\n\r\nput\r\n--b--\r\n")
	f.Add("_meth%6Fd=patch", false, "x=1;_method=delete&%5Fmethod=get")
	f.Fuzz(func(t *testing.T, query string, multi bool, body string) {
		var seen []string
		seeQuery := func(raw string) {
			vals, _ := url.ParseQuery(raw)
			seen = append(seen, vals["_method"]...)
		}
		seeQuery(query)
		kind := urlencodedForm
		if multi {
			kind = multipartForm
			mr := multipart.NewReader(strings.NewReader(body), "b")
			for {
				p, err := mr.NextPart()
				if err != nil {
					break
				}
				if p.FormName() == "_method" {
					v, _ := io.ReadAll(io.LimitReader(p, 1<<10))
					seen = append(seen, string(v))
				}
			}
		} else {
			seeQuery(body)
		}
		m, err := methodOverride(query, kind, "b", bytes.Clone([]byte(body)), false)
		if err != nil {
			return
		}
		for _, v := range seen {
			want := strings.ToUpper(strings.TrimSpace(v))
			if want == http.MethodPost {
				want = ""
			}
			if want != m {
				t.Fatalf("query %q body %q: Go reads _method %q, the gateway decided as %q", query, body, v, m)
			}
		}
	})
}
