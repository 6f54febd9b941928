package proxy

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// TestBaseDestination: the Destination forwarded to an upstream with a path
// names the decided path with that path in front, in the form the client
// wrote (an absolute URL on the upstream's scheme and the Host it
// receives); without a path, or without the header, nothing changes.
func TestBaseDestination(t *testing.T) {
	host, err := policy.ParseHost("gw.example.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		upstream, outHost, dest, want string
	}{
		{"http://files/alice/", "", "/bob/notes", "/alice/bob/notes"},
		{"http://files/alice", "", "/%7ebob/./x%20y", "/alice/~bob/x%20y"},
		{"http://files/alice/", "", "https://GW.example.com/bob/x?q=1", "http://files/alice/bob/x"},
		{"h2c://files:81/alice/", "gw.example.com", "http://gw.example.com/x", "http://gw.example.com/alice/x"},
		{"http://files/", "", "/bob/notes", "/bob/notes"},
		{"http://files", "", "http://gw.example.com//x", "http://gw.example.com//x"},
		{"http://files/alice/", "", "/../x", ""},
	} {
		u, err := url.Parse(c.upstream)
		if err != nil {
			t.Fatal(err)
		}
		up := &upstream{target: wireURL(u), basePath: strings.TrimSuffix(u.EscapedPath(), "/")}
		out := &http.Request{Header: http.Header{"Destination": {c.dest}}, Host: c.outHost}
		baseDestination(out, up, host)
		if got := out.Header.Get("Destination"); got != c.want {
			t.Errorf("%s, Destination %q: forwarded %q, want %q", c.upstream, c.dest, got, c.want)
		}
	}
	out := &http.Request{Header: http.Header{}}
	baseDestination(out, &upstream{basePath: "/alice"}, host)
	if _, ok := out.Header["Destination"]; ok {
		t.Errorf("a request without Destination got one: %q", out.Header["Destination"])
	}
}
