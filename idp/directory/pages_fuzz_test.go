package directory

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/portcullis/portcullis/internal/ascii"
)

// pageTransport plays a directory at https://dir.test: the service-account
// grant at /token, and every other request the next of its pages (cycling),
// with the page's Link header. It records every request's host.
type pageTransport struct {
	mu    sync.Mutex
	pages [][]byte
	link  string
	n     int
	hosts []string
}

func (p *pageTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		r.Body.Close()
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.hosts = append(p.hosts, r.URL.Scheme+"://"+r.URL.Host)
	h := http.Header{"Content-Type": {"application/json"}}
	body := []byte(`{"access_token":"sa-token","token_type":"Bearer","expires_in":3600}`)
	if r.URL.Path != "/token" {
		body = p.pages[p.n%len(p.pages)]
		p.n++
		if p.link != "" {
			h.Set("Link", p.link)
		}
	}
	return &http.Response{StatusCode: http.StatusOK, Header: h, Body: io.NopCloser(bytes.NewReader(body)),
		Request: r, ContentLength: int64(len(body))}, nil
}

func (p *pageTransport) reset(pages [][]byte, link string) {
	p.mu.Lock()
	p.pages, p.link, p.n, p.hosts = pages, link, 0, nil
	p.mu.Unlock()
}

// FuzzDirectoryPages: whatever pages Microsoft Graph, GitHub or Google
// answer (bodies, @odata.nextLink, Link, nextPageToken), a read never
// panics, never asks any other origin than the directory's (a paging link
// elsewhere would carry the token there), makes at most its bounded number
// of requests, and returns no groups with an error, or at most MaxGroups
// distinct, non-empty groups of at most maxGroupLen bytes each.
func FuzzDirectoryPages(f *testing.F) {
	const base = "https://dir.test"
	pt := &pageTransport{}
	sources := pagedSources(f, base, &http.Client{Transport: pt})
	graph, cloud := sources[0], sources[3]
	// Requests one read may make, the service-account grant included.
	bound := []int{maxPages, 2 * maxPages, maxPages + MaxGroups + 1, maxPages + 1}
	for _, s := range []struct {
		src         uint8
		pages, link string
	}{
		{0, `{"value":[{"@odata.type":"#microsoft.graph.group","id":"g1"}],"@odata.nextLink":"https://dir.test/v1.0/next"}` +
			"\n--\n" + `{"value":[{"@odata.type":"#microsoft.graph.group","id":"g2"}]}`, ""},
		{0, `{"value":[],"@odata.nextLink":"https://evil.test/v1.0/next"}`, ""},
		{0, `{"value":[],"@odata.nextLink":"https://dir.test@evil.test/x"}`, ""},
		{0, `{"value":[],"@odata.nextLink":"//evil.test/x"}`, ""},
		{1, `[{"login":"Acme"}]` + "\n--\n" + `[{"slug":"sre","organization":{"login":"acme"}}]`, ""},
		{1, `[{"login":"acme"}]`, `<https://evil.test/user/orgs?page=2>; rel="next"`},
		{1, `[{"login":"acme"}]`, `<https://dir.test/user/orgs?page=2>; rel="next"`},
		{1, `[]`, `<https://dIr.test>;rel=neXt`},
		{1, `[{"login":"acme"}]`, "<https://dir.te\u017ft/user/orgs?page=2>; rel=\"next\""},
		{2, `{"groups":[{"email":"a@acme.com"},{"email":"B@acme.com"}],"nextPageToken":"t"}` + "\n--\n" + `{}`, ""},
		{3, `{"memberships":[{"groupKey":{"id":"x@acme.com"}}],"nextPageToken":"t"}` + "\n--\n" + `{"memberships":[]}`, ""},
		{3, `null`, ""}, {0, `{"error":{"message":"no"}}`, ""},
	} {
		f.Add(s.src, s.pages, s.link)
	}
	// The harness itself: honest pages give their groups.
	pt.reset([][]byte{[]byte(`{"value":[{"@odata.type":"#microsoft.graph.group","id":"g1"}]}`)}, "")
	if g, err := graph.Groups(context.Background(), User{Subject: "u", AccessToken: "user-token"}); err != nil || len(g) != 1 {
		f.Fatalf("honest page: %q, %v", g, err)
	}
	pt.reset([][]byte{[]byte(`{"memberships":[{"groupKey":{"id":"x@acme.com"}}]}`)}, "")
	if g, err := cloud.Groups(context.Background(), User{Email: "ann@acme.com"}); err != nil || len(g) != 1 {
		f.Fatalf("honest page: %q, %v", g, err)
	}
	f.Fuzz(func(t *testing.T, src uint8, pages, link string) {
		i := int(src) % len(sources)
		var bodies [][]byte
		for _, p := range strings.Split(pages, "\n--\n") {
			bodies = append(bodies, []byte(p))
		}
		pt.reset(bodies, link)
		groups, err := sources[i].Groups(context.Background(), User{Subject: "u", Email: "ann@acme.com", AccessToken: "user-token"})
		pt.mu.Lock()
		hosts := pt.hosts
		pt.mu.Unlock()
		for _, h := range hosts {
			// A host name's case is no other origin: "https://dIr.test"
			// is the directory (the request's URL keeps the case written).
			if !ascii.EqualFold(h, base) {
				t.Fatalf("source %d asked %s (pages %q, Link %q)", i, h, pages, link)
			}
		}
		if len(hosts) > bound[i] {
			t.Fatalf("source %d made %d requests", i, len(hosts))
		}
		if err != nil {
			if groups != nil {
				t.Fatalf("source %d: groups %q with error %v", i, groups, err)
			}
			return
		}
		checkGroupList(t, i, groups)
	})
}

// pagedSources are the sources FuzzDirectoryPages reads, all at base
// through hc: Graph, GitHub, Google with an admin (Admin SDK) and Google
// without (Cloud Identity).
func pagedSources(f *testing.F, base string, hc *http.Client) []Source {
	graph, err := NewGraph(base, hc)
	if err != nil {
		f.Fatal(err)
	}
	github, err := NewGitHub(base, hc)
	if err != nil {
		f.Fatal(err)
	}
	key := serviceAccountKey(f, base+"/token")
	admin, err := NewGoogle(GoogleConfig{CredentialsJSON: key, AdminEmail: "admin@acme.com", BaseURL: base, HTTPClient: hc})
	if err != nil {
		f.Fatal(err)
	}
	cloud, err := NewGoogle(GoogleConfig{CredentialsJSON: key, BaseURL: base, HTTPClient: hc})
	if err != nil {
		f.Fatal(err)
	}
	return []Source{graph, github, admin, cloud}
}

// checkGroupList fails t unless source i's groups are at most MaxGroups,
// distinct, non-empty and at most maxGroupLen bytes each.
func checkGroupList(t *testing.T, i int, groups []string) {
	t.Helper()
	if len(groups) > MaxGroups {
		t.Fatalf("source %d: %d groups", i, len(groups))
	}
	seen := map[string]bool{}
	for _, g := range groups {
		if g == "" || len(g) > maxGroupLen || seen[g] {
			t.Fatalf("source %d: group %q (empty, too long or twice) in %q", i, g, groups)
		}
		seen[g] = true
	}
}
