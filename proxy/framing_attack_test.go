package proxy

import (
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
)

// TestListenerFramingDecidesWhatIsForwarded sends ambiguous HTTP/1.1
// framing to the gateway's listener over raw TCP. Each time, the upstream
// receives only requests the gateway decided, as it decided them: no
// smuggled request behind a body, no header unfolded past the scrubbing,
// no identity carried from one pipelined request to the next, and the host
// of an absolute-form target (not the Host header) is the one decided and
// forwarded. It guards Go's parser as much as the gateway: an upgrade that
// relaxed it would show here.
func TestListenerFramingDecidesWhatIsForwarded(t *testing.T) {
	const post = "POST /public/x HTTP/1.1\r\nHost: gw.test\r\n"
	cases := []struct {
		name, raw string
		statuses  []string // the status lines answered, in order
		forwarded []string // "METHOD path" the upstream received, in order
	}{
		// Content-Length with Transfer-Encoding: Go reads the chunked body
		// (and drops the Content-Length); a front proxy that read the
		// Content-Length sees the rest as the start of the next request. The
		// connection is closed after the answer (RFC 9112 §6.3): nothing
		// after the body is read as a request.
		{"Content-Length and Transfer-Encoding",
			post + "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin/x HTTP/1.1\r\nHost: gw.test\r\n\r\n",
			[]string{"200"}, []string{"POST /public/x"}},
		// HTTP/1.0 with Transfer-Encoding: Go ignores it (and drops it) and
		// reads the Content-Length; RFC 9112 §6.1: framing faulty, close.
		{"HTTP/1.0 with Transfer-Encoding",
			"POST /public/x HTTP/1.0\r\nHost: gw.test\r\nConnection: keep-alive\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /admin/x HTTP/1.1\r\nHost: gw.test\r\n\r\n",
			[]string{"200"}, []string{"POST /public/x"}},
		{"two Content-Lengths",
			post + "Content-Length: 4\r\nContent-Length: 5\r\n\r\nabcde", []string{"400"}, nil},
		{"Transfer-Encoding chunked, identity",
			post + "Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n", []string{"501"}, nil},
		{"Transfer-Encoding identity, chunked",
			post + "Transfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n", []string{"501"}, nil},
		{"space before the colon",
			post + "Transfer-Encoding : chunked\r\nContent-Length: 3\r\n\r\nabc", []string{"400"}, nil},
		{"obs-fold into an identity header",
			"GET /public/x HTTP/1.1\r\nHost: gw.test\r\nX-A: a\r\n X-Forwarded-User: mallory\r\nConnection: close\r\n\r\n",
			[]string{"200"}, []string{"GET /public/x"}},
		{"obs-fold of Host",
			"GET /public/x HTTP/1.1\r\nHost: gw.test\r\n other.test\r\n\r\n", []string{"400"}, nil},
		{"bare LF line endings",
			"GET /public/x HTTP/1.1\nHost: gw.test\nX-Forwarded-User: mallory\nConnection: close\n\n",
			[]string{"200"}, []string{"GET /public/x"}},
		{"absolute-form host decides, not Host",
			"GET http://gw.test/x HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n", []string{"404"}, nil},
		{"Expect: 100-continue on a refused request",
			"POST /app/x HTTP/1.1\r\nHost: gw.test\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nContent-Length: 100000\r\n\r\n",
			[]string{"401"}, nil}, // no 100 Continue: the body is never asked for
		{"pipelined: no identity carried to the next request",
			"GET /admin/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer alice-token\r\n\r\n" +
				"GET /admin/y HTTP/1.1\r\nHost: gw.test\r\n\r\n" +
				"GET /public/z HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n",
			[]string{"200", "401", "200"}, []string{"GET /admin/x", "GET /public/z"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.prov.bearers["alice-token"] = &portcullis.Identity{Subject: "alice", Groups: []string{"admins"}}
			srv := serveGateway(t, f)
			got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"), c.raw)
			var statuses []string
			for _, part := range strings.Split(strings.ReplaceAll(got, "HTTP/1.0 ", "HTTP/1.1 "), "HTTP/1.1 ")[1:] {
				statuses = append(statuses, part[:3])
			}
			if strings.Join(statuses, ",") != strings.Join(c.statuses, ",") {
				t.Errorf("answers %v, want %v:\n%s", statuses, c.statuses, got)
			}
			f.up.mu.Lock()
			reqs := append([]recorded(nil), f.up.reqs...)
			f.up.mu.Unlock()
			var forwarded []string
			for _, r := range reqs {
				forwarded = append(forwarded, r.Method+" "+r.Path)
				if u := r.Header.Get("X-Forwarded-User"); u != "" && (r.Path != "/admin/x" || u != "alice") {
					t.Errorf("%s %s reached the upstream as %q", r.Method, r.Path, u)
				}
				if r.Body != "" && !strings.Contains(c.raw, "HTTP/1.0") { // HTTP/1.0: the Content-Length's 5 bytes
					t.Errorf("%s %s reached the upstream with the body %q", r.Method, r.Path, r.Body)
				}
			}
			if strings.Join(forwarded, ",") != strings.Join(c.forwarded, ",") {
				t.Errorf("forwarded %v, want %v", forwarded, c.forwarded)
			}
		})
	}
}

// TestAbsoluteFormHostForwarded: with an absolute-form target, the host
// the gateway decides and sends as X-Forwarded-Host is the target's, and
// the client's Host header never reaches the application.
func TestAbsoluteFormHostForwarded(t *testing.T) {
	f := newFixture(t)
	srv := serveGateway(t, f)
	got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"),
		"GET http://other.test/public/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Fatalf("answer: %q", got)
	}
	r := f.up.last(t)
	if xfh := r.Header.Get("X-Forwarded-Host"); xfh != "other.test" {
		t.Errorf("X-Forwarded-Host = %q, want the decided other.test", xfh)
	}
	for k, v := range r.Header {
		if strings.Contains(strings.Join(v, ","), "gw.test") {
			t.Errorf("the client's Host reached the upstream in %s: %q", k, v)
		}
	}
}

// TestAbsoluteFormAuthority: an absolute-form target's authority is the
// host the request is decided and forwarded under, so it follows the Host
// rule as a Host header does, and as forward-auth's X-Original-URL does:
// userinfo ("http://other.test@gw.test/", which Go's server drops, so the
// gateway decided gw.test while a front proxy, WAF or log that read the
// authority up to its first '/' saw other.test; RFC 9110 §4.2.4 has a
// recipient treat it as an error) and a scheme other than http or https
// are a 400, and nothing is forwarded.
func TestAbsoluteFormAuthority(t *testing.T) {
	cases := []struct{ target, status string }{
		{"http://other.test@gw.test/public/x", "400"},
		{"http://other.test:443@gw.test/public/x", "400"},
		{"http://@gw.test/public/x", "400"},
		{"http://user:pass@gw.test/public/x", "400"},
		{"ftp://gw.test/public/x", "400"},
		{"ws://gw.test/public/x", "400"},
		{"http://gw.test/public/x", "200"},
		{"HTTPS://gw.test/public/x", "200"},
	}
	for _, c := range cases {
		t.Run(c.target, func(t *testing.T) {
			f := newFixture(t)
			srv := serveGateway(t, f)
			got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"),
				"GET "+c.target+" HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n")
			if !strings.HasPrefix(got, "HTTP/1.1 "+c.status) {
				t.Fatalf("GET %s: %q, want %s", c.target, got, c.status)
			}
			f.up.mu.Lock()
			n := len(f.up.reqs)
			f.up.mu.Unlock()
			if want := map[string]int{"200": 1, "400": 0}[c.status]; n != want {
				t.Errorf("GET %s: the upstream received %d requests, want %d", c.target, n, want)
			}
		})
	}
}

// TestSchemeAndCertificateClaimsFromUntrustedPeer: from a peer outside
// trusted_proxies, the headers with which applications learn the scheme or
// the client's TLS certificate from a proxy in front of them are removed in
// any spelling, as X-Forwarded-Ssl is: Tornado (xheaders) believes
// X-Scheme before X-Forwarded-Proto, and an application behind a
// TLS-terminating proxy believes Client-Cert and Client-Cert-Chain (RFC
// 9440, which has that proxy remove a client's own) or Envoy's
// X-Forwarded-Client-Cert as the certificate the client authenticated with.
// So are the platforms' own: Fastly-Client-IP, Azure Front Door's
// X-Azure-ClientIP, App Engine's X-Appengine-User-Ip, gunicorn's and Echo's
// X-Forwarded-Protocol, Cloudflare's CF-Visitor, ASP.NET's X-Client-Cert,
// Traefik's and AWS ALB's certificate headers. So are the identity
// headers of other authentication products (AWS ALB, Google IAP,
// Cloudflare Access, Azure App Service, Authelia, Pomerium, Vouch,
// Grafana's auth proxy), which an application moved behind the gateway
// may still read as the signed-in user, their prefixes included
// (X-Pomerium-Claim-*, X-Ms-Token-*). A trusted proxy's pass.
func TestSchemeAndCertificateClaimsFromUntrustedPeer(t *testing.T) {
	f := newFixture(t)
	srv := serveGateway(t, f) // the peer, 127.0.0.1, is not in 10.0.0.0/8
	claims := []string{"X-Scheme", "X_Scheme", "Client-Cert", "Client_Cert", "Client-Cert-Chain",
		"X-Forwarded-Client-Cert", "X_Forwarded_Client_Cert",
		// The platforms' own address, scheme and certificate headers.
		"Fastly-Client-Ip", "Cf-Connecting-Ipv6", "X-Azure-Clientip", "X-Azure-Socketip", "X-Appengine-User-Ip",
		"X-Appengine-Remote-Addr", "Fly-Client-Ip", "X-Envoy-External-Address", "Cloudfront-Viewer-Address",
		"X-Forwarded-Protocol", "X_Forwarded_Protocol", "Cf-Visitor", "Fastly-Ssl", "Cloudfront-Forwarded-Proto", "X-Arr-Ssl",
		"X-Client-Cert", "X-Arr-Clientcert", "X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info",
		"X-Amzn-Mtls-Clientcert", "X-Amzn-Mtls-Clientcert-Leaf", "X-Amzn-Mtls-Clientcert-Subject",
		"X-Amzn-Mtls-Clientcert-Issuer", "X-Amzn-Mtls-Clientcert-Serial-Number", "X-Amzn-Mtls-Clientcert-Validity",
		// Other authentication products' identity headers.
		"X-Amzn-Oidc-Data", "X-Amzn-Oidc-Identity", "X-Amzn-Oidc-Accesstoken",
		"X-Goog-Authenticated-User-Email", "X-Goog-Authenticated-User-Id", "X-Goog-Iap-Jwt-Assertion",
		"Cf-Access-Jwt-Assertion", "Cf-Access-Authenticated-User-Email", "CF_Access_Authenticated_User_Email",
		"X-Ms-Client-Principal", "X-Ms-Client-Principal-Name", "X-Ms-Client-Principal-Id", "X-Ms-Client-Principal-Idp",
		"X-Ms-Token-Aad-Access-Token", "X-MS-TOKEN-AAD-ID-TOKEN", "X_Ms_Token_Aad_Refresh_Token",
		"Remote-User", "Remote_User", "Remote-Groups", "Remote-Email", "Remote-Name",
		"X-Pomerium-Jwt-Assertion", "X-Pomerium-Claim-Email", "X-Pomerium-Claim-Groups", "x.pomerium.claim.user",
		"X-Vouch-User", "X-Vouch-Idp-Idtoken", "X-Vouch-Idp-Accesstoken", "X-Vouch-Idp-Claims-Email",
		"X-Webauth-User", "X-WEBAUTH-EMAIL", "X-Webauth-Role", "X_Webauth_Groups"}
	raw := "GET /public/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n"
	for _, k := range claims {
		raw += k + ": :c3Bvb2ZlZA==:\r\n"
	}
	if got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"), raw+"\r\n"); !strings.HasPrefix(got, "HTTP/1.1 200") {
		t.Fatalf("answer: %q", got)
	}
	for k, v := range f.up.last(t).Header {
		if strings.Contains(strings.Join(v, ","), "c3Bvb2ZlZA==") {
			t.Errorf("the client's %s reached the upstream: %q", k, v)
		}
	}
	// Control: from a trusted proxy they pass.
	if resp := f.do(t, "GET", "/public/x", nil, fromPeer("10.1.2.3:1"), withHeader("Fastly-Client-Ip", "198.51.100.1"),
		withHeader("X-Forwarded-Protocol", "https"), withHeader("X-Client-Cert", "c3Bvb2ZlZA=="),
		withHeader("Cf-Access-Authenticated-User-Email", "alice@example.com"), withHeader("X-Pomerium-Claim-Email", "alice@example.com"),
		withHeader("X-Ms-Token-Aad-Id-Token", "eyJ0")); resp.StatusCode != 200 {
		t.Fatalf("trusted peer: %d", resp.StatusCode)
	}
	if h := f.up.last(t).Header; h.Get("Fastly-Client-Ip") != "198.51.100.1" || h.Get("X-Forwarded-Protocol") != "https" || h.Get("X-Client-Cert") == "" ||
		h.Get("Cf-Access-Authenticated-User-Email") != "alice@example.com" || h.Get("X-Pomerium-Claim-Email") != "alice@example.com" ||
		h.Get("X-Ms-Token-Aad-Id-Token") != "eyJ0" {
		t.Errorf("a trusted proxy's claims were removed: %v", h)
	}
}
