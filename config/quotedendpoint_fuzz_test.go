package config

import (
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"
)

// FuzzQuotedEndpointHidesQuery: whatever a provider endpoint is made of,
// the quote a warning or error makes of it holds nothing of its query or
// fragment. The marker is random on each run, so that only the places the
// oracle puts it can carry it; uppercase hexadecimal, which no escape
// writes.
func FuzzQuotedEndpointHidesQuery(f *testing.F) {
	for _, s := range [][5]string{
		{"http", "p.example", "/token", "code=", ""},
		{"https", "p.example:8443", "", "", "k="},
		{"http", "[::1]", "/a%3Fb", "a=b&key=", "x"},
		{"http", "p.example", "/x#y", "?", "?"},
		{"http", "p.example", "/%zz", "a=%zz", "#"},
		{"http", "p.example", "/\u00e9", "k=\u202e", "\xff"},
		{"mailto", "", "", "", ""},
	} {
		f.Add(s[0], s[1], s[2], s[3], s[4], uint8(3))
	}
	f.Fuzz(func(t *testing.T, scheme, host, path, query, frag string, parts uint8) {
		q, fr := querySecret(t), querySecret(t)
		raw := scheme + "://" + host + path
		if parts&1 != 0 {
			raw += "?" + query + q + frag
		}
		if parts&2 != 0 {
			raw += "#" + frag + fr + query
		}
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		quoted := quotedEndpoint(u)
		for name, s := range map[string]string{"query": q, "fragment": fr} {
			for i := 0; i+6 <= len(s); i++ {
				if strings.Contains(quoted, s[i:i+6]) {
					t.Fatalf("quotedEndpoint(%q) = %s: the %s (%s) shows", raw, quoted, name, s)
				}
			}
		}
		left := u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || u.RawFragment != ""
		if left != strings.HasSuffix(quoted, "(query and fragment not shown)") {
			t.Fatalf("quotedEndpoint(%q) = %s: says wrongly whether it left a query or fragment out", raw, quoted)
		}
	})
}

// querySecret is 24 random uppercase hexadecimal digits.
func querySecret(t *testing.T) string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return strings.ToUpper(hex.EncodeToString(b))
}
