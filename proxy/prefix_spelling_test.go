package proxy

import "testing"

// TestPrefixSpelling: a prefix must be spelled as a request's normalised
// path is, and a path is under it as routes read the path: an escaped
// sub-delim ("%40" for "@") names the endpoint as the raw one does.
func TestPrefixSpelling(t *testing.T) {
	for p, want := range map[string]bool{"/oauth2": true, "/_auth": true, "/a/b": true, "/@gw": true, "/~me+gw": true,
		"/{gw}": false, "/gw|x": false, "/über": false, "/a b": false, "/gw^": false, "/[gw]": false} {
		if got := NormalPrefix(p); got != want {
			t.Errorf("NormalPrefix(%q) = %v, want %v", p, got, want)
		}
	}
	h := &Handler{prefix: "/@gw"}
	for path, want := range map[string]string{"/@gw/start": "/start", "/%40gw/start": "/start", "/%40gw": "",
		"/%40gw%2Bx/start": "-", "/gw/start": "-", "/@gwx/start": "-"} {
		got, ok := h.gatewayEndpoint(path)
		if !ok {
			got = "-"
		}
		if got != want {
			t.Errorf("gatewayEndpoint(%q) under /@gw: %q, want %q", path, got, want)
		}
	}
}
