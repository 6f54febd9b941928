package proxy

import (
	"crypto/tls"
	"maps"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"slices"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/policy"
)

// FuzzSetForwarded: the X-Forwarded values setForwarded builds by hand are
// the ones httputil's SetXForwarded builds under the documented rules (a
// trusted peer's X-Forwarded-For chain is kept, fields joined, and its one
// http or https X-Forwarded-Proto believed; an untrusted peer's claims are
// dropped; X-Forwarded-Host is the parsed host), for every peer address,
// host and prior header; and appending to one of the values changes no
// other header, nor the values of another request.
func FuzzSetForwarded(f *testing.F) {
	f.Add(true, false, "10.1.2.3:1", "GW.test.", "203.0.113.9", "198.51.100.1, 10.0.0.1", "HTTPS")
	f.Add(false, true, "192.0.2.7:5555", "gw.test", "203.0.113.9", "", "https")
	f.Add(true, true, "@", "", "", "", "")
	f.Add(true, false, "[::1]:80", "[::1]:8080", "", "", "gopher")
	f.Add(false, false, "1.2.3.4", "a.test:443", "x", "y", "http, https")
	f.Fuzz(func(t *testing.T, trusted, useTLS bool, peer, host, xff1, xff2, xfp string) {
		in := httptest.NewRequest("GET", "http://gw.test/x", nil)
		in.RemoteAddr, in.Host = peer, host
		if useTLS {
			in.TLS = &tls.ConnectionState{}
		}
		for _, v := range []string{xff1, xff2} {
			if v != "" {
				in.Header.Add("X-Forwarded-For", v)
			}
		}
		for _, v := range strings.Split(xfp, ";") {
			if xfp != "" {
				in.Header.Add("X-Forwarded-Proto", v)
			}
		}
		in.Header.Set("X-Real-Ip", "203.0.113.66")
		parsed, err := policy.ParseHost(host)
		if err != nil {
			parsed = policy.Host{}
		}
		proto, ok := referenceProto(in, trusted)
		if _, err := forwardedProto(in); trusted && (err == nil) != ok {
			t.Fatalf("X-Forwarded-Proto %q: refused %v, want %v", in.Header["X-Forwarded-Proto"], err != nil, !ok)
		}
		if !ok {
			return // refused with 400 at entry (decideRequest)
		}
		got := forwardedOut(in, parsed, trusted)
		want := referenceForwarded(in, parsed, trusted, proto)
		if !maps.EqualFunc(got.Header, want.Header, slices.Equal) {
			t.Fatalf("trusted=%v peer=%q host=%q:\n got %q\nwant %q", trusted, peer, host, got.Header, want.Header)
		}
		other := forwardedOut(in, parsed, trusted)
		before := got.Header.Clone()
		inBefore := in.Header.Clone()
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			if _, ok := got.Header[k]; ok {
				got.Header[k] = append(got.Header[k], "appended")
			}
		}
		for _, k := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
			if n := len(before[k]); n > 0 && !slices.Equal(got.Header[k][:n], before[k]) {
				t.Errorf("appending to the X-Forwarded values changed %s: %q, was %q", k, got.Header[k], before[k])
			}
			if !slices.Equal(other.Header[k], before[k]) {
				t.Errorf("appending changed another request's %s: %q, want %q", k, other.Header[k], before[k])
			}
		}
		if !maps.EqualFunc(in.Header, inBefore, slices.Equal) {
			t.Errorf("the inbound headers changed: %q, were %q", in.Header, inBefore)
		}
	})
}

// forwardedOut is the request setForwarded sends for in, from a fresh
// exchange, after the reverse proxy's own removal of the client's
// forwarding headers (it runs before Rewrite).
func forwardedOut(in *http.Request, host policy.Host, trusted bool) *http.Request {
	h := &Handler{}
	ex := &exchange{host: host, trusted: trusted}
	out := in.Clone(in.Context())
	stripForwarding(out.Header)
	h.setForwarded(&httputil.ProxyRequest{In: withExchange(in, ex), Out: out}, ex)
	return out
}

// referenceForwarded is the request httputil's SetXForwarded sends, given
// the documented rules: the host is the parsed one when there is one, a
// trusted peer's chain and scheme are kept, an untrusted peer's claims go.
func referenceForwarded(in *http.Request, host policy.Host, trusted bool, proto string) *http.Request {
	out := in.Clone(in.Context())
	stripForwarding(out.Header)
	ref := *in
	if host.Name != "" {
		ref.Host = host.String()
	}
	if trusted {
		if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			out.Header["X-Forwarded-For"] = slices.Clone(prior)
		}
	} else {
		for k := range out.Header {
			if peerClaims.has(k) {
				delete(out.Header, k)
			}
		}
	}
	(&httputil.ProxyRequest{In: &ref, Out: out}).SetXForwarded()
	if proto != "" {
		out.Header.Set("X-Forwarded-Proto", proto)
	}
	return out
}

// referenceProto is the scheme a trusted peer's X-Forwarded-Proto claims
// ("" for none), ok false when the request is refused for it.
func referenceProto(in *http.Request, trusted bool) (proto string, ok bool) {
	vs := in.Header["X-Forwarded-Proto"]
	switch {
	case !trusted || len(vs) == 0:
		return "", true
	case len(vs) > 1:
		return "", false
	case vs[0] == "":
		return "", true
	}
	p := strings.ToLower(vs[0])
	return p, p == "http" || p == "https"
}

// stripForwarding removes what ReverseProxy removes before Rewrite.
func stripForwarding(h http.Header) {
	for _, k := range []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"} {
		h.Del(k)
	}
}
