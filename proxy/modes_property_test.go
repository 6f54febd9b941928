package proxy

// A property test of "authorize exactly the request you forward": every
// request target an attacker can spell is decided the same in proxy mode,
// in forward-auth (as a trusted front proxy names it) and as a WebSocket
// upgrade, and in proxy mode the upstream receives a path that the routes
// decide as they decided the request.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/policy"
)

// modeRoutes is one table of every kind of rule: public, group,
// scope, deny, a trailing-slash pattern, a "*" segment, a sub-delim
// segment, a composed non-ASCII segment, a route per host and a
// catch-all for anyone signed in.
var modeRoutes = []policy.RouteConfig{
	{Path: "/public/**", Public: true},
	{Path: "/admin/**", AllowGroups: []string{"admins"}},
	{Path: "/api/**", RequireScopes: []string{"api:write"}},
	{Path: "/denied/**", Deny: true},
	{Path: "/team/", AllowGroups: []string{"admins"}},
	{Path: "/files/*/raw", AllowGroups: []string{"admins"}},
	{Path: "/@admin/**", AllowGroups: []string{"admins"}},
	{Path: "/%C3%BCber/**", AllowGroups: []string{"admins"}},
	{Path: "/reports", Methods: []string{"GET"}, AllowGroups: []string{"admins"}},
	{Host: "other.test", Path: "/**", AllowGroups: []string{"admins"}},
	{Path: "/docs/**", Methods: []string{"GET"}, Public: true},
	{Path: "/**"},
}

// targetWords are the segments the generator joins: the routes' own
// words in other spellings (case, escapes, NFD, fullwidth, suffixes) and
// what proxies and applications read differently.
var targetWords = []string{
	"admin", "Admin", "ADMIN", "%61dmin", "adm%69n", "%41dmin", "ａdmin", "admin.", "admin%20", "admin.json",
	"public", "api", "denied", "team", "team.json", "team.", "files", "raw", "raw.json", "reports", "reports.json",
	"@admin", "%40admin", "über", "%C3%BCber", "u%CC%88ber", "u\xcc\x88ber", "docs", "x", ".env", "a.b.c",
	"%2F", "admin%2Fx", "%5C", "%00", "%2e", "%2E%2e", ".", "..", "...", "..%20", "%20", ";x", "admin;x", `\`,
	"%C0%AF", "%ff", "\xff", "%E2%80%A8", "%", "%4", "%G1", "*", "~", "%7E", "a?b", "#", "%23", "%3F", "%3B",
	"%25", "{", "|", "'", "%27", "(", "%28", "%2A", "+", "%2B", ":", "%3A", "%C2%85", "\u2025", "%EF%BC%8F",
	"é", "%E2%84%AB", "ﬁles", strings.Repeat("a", 300), "", "a b", "admin ", "%09", "%7F", "\x7f", "%C3", "%CC%88",
	"%E0%80%AE", "%F0%9C%B3%B1", "%ef%bc%a1dmin", "admin%E2%80%8B", "%C2%A0", "ADMIN.json", "team%2F", "%2e%2e%2f",
}

var targetSeparators = []string{"/", "/", "/", "//", "/./", "/../", `\`, "/%2e/", "/%2E%2E/", ";/", "/;/"}

var targetQueries = []string{"", "", "?a=1", "?_method=DELETE", "?_method=get", "?", "?a?b", "?/../admin",
	"?#", "#x", "?a=%00", "?access_token=x", "?x=1&access.token=y", "?a=1;b=2"}

// targetStarts are what comes before the first segment: a path, none
// (no leading "/"), or an absolute-form target naming a host.
var targetStarts = []string{"/", "/", "/", "/", "//", "/./", "/%2e/", "", "http://gw.test/", "HTTP://GW.TEST/",
	"http://other.test/", "https://Other.Test./", "http://gw.test", "http://other.test:80/"}

// randomTarget draws a request target from the grammar above.
func randomTarget(rng *rand.Rand) string {
	var b strings.Builder
	b.WriteString(targetStarts[rng.IntN(len(targetStarts))])
	for i, n := 0, 1+rng.IntN(4); i < n; i++ {
		if i > 0 {
			b.WriteString(targetSeparators[rng.IntN(len(targetSeparators))])
		}
		b.WriteString(targetWords[rng.IntN(len(targetWords))])
	}
	if rng.IntN(4) == 0 {
		b.WriteByte('/')
	}
	b.WriteString(targetQueries[rng.IntN(len(targetQueries))])
	return b.String()
}

// modeCase is one request: who sends it, with which method, to which
// target on which host.
type modeCase struct {
	method, target, host, who string
	destination               string // a COPY's Destination, from the same grammar
	cookie                    string // carol's session cookie when who is "carol"
	upgrade                   bool   // a WebSocket handshake
	origin                    string // its Origin, when it has one
}

func (c modeCase) String() string {
	return fmt.Sprintf("%s %q (Host %s, %s, Destination %q)", c.method, c.target, c.host, c.who, c.destination)
}

var modeMethods = []string{"GET", "GET", "HEAD", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "PROPFIND",
	"COPY", "PURGE", "get"}

// modeHosts are the spellings of the two hosts a client may send.
var modeHosts = []string{"gw.test", "gw.test", "GW.Test.", "gw.test:80", "other.test", "Other.TEST", "other.test.:8080"}

// wsOrigins are the Origins a WebSocket handshake may come with.
var wsOrigins = []string{"", "http://gw.test", "http://GW.TEST", "http://gw.test:80", "http://other.test",
	"http://evil.test", "null", "http://app.test", "http://a.example.com"}

// randomCase draws a case; carol signs in with cookie, a session.
func randomCase(rng *rand.Rand, cookie string) modeCase {
	c := modeCase{method: modeMethods[rng.IntN(len(modeMethods))], target: randomTarget(rng),
		host: modeHosts[rng.IntN(len(modeHosts))], origin: wsOrigins[rng.IntN(len(wsOrigins))]}
	c.who = []string{"", "bob", "alice", "carol"}[rng.IntN(4)]
	if c.who == "carol" {
		c.cookie = cookie
	}
	if c.method == "COPY" {
		c.destination = randomTarget(rng)
	}
	if h, ok := absoluteHost(c.target); ok {
		c.host = h // one host, as a client that names it twice names it
	}
	return c
}

// absoluteHost is an absolute-form target's authority.
func absoluteHost(target string) (string, bool) {
	_, rest, ok := strings.Cut(target, "://")
	if !ok || strings.HasPrefix(target, "/") {
		return "", false
	}
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		rest = rest[:i]
	}
	return rest, true
}

// originForm is what a front proxy names as the original request's
// target (nginx's $request_uri, Caddy's {uri}): an absolute-form
// target's path and query after its authority ("/" when it has no path).
func originForm(target string) string {
	_, rest, ok := strings.Cut(target, "://")
	if !ok || strings.HasPrefix(target, "/") {
		return target
	}
	i := strings.IndexAny(rest, "/?#")
	switch {
	case i < 0:
		return "/"
	case rest[i] != '/':
		return "/" + rest[i:] // Go's server reads "http://h?q" as "/?q"
	}
	return rest[i:]
}

// modeBearers are the identities the cases send as bearer tokens.
var modeBearers = map[string]*portcullis.Identity{
	"bob":   {Subject: "bob", Groups: []string{"staff"}},
	"alice": {Subject: "alice", Groups: []string{"admins"}, Scopes: []string{"api:write"}},
}

// modeFixture is the gateway of modeRoutes with the bearer identities
// and carol's session cookie, carol being in the group staff alone.
func modeFixture(t *testing.T) (*fixture, string) {
	f := newFixture(t, withRoutes(t, modeRoutes))
	for who, id := range modeBearers {
		f.prov.bearers[who+"-token"] = id
	}
	s := f.session()
	s.Identity.Subject, s.Identity.Groups = "carol", []string{"staff"}
	var parts []string
	for _, c := range f.cookies(t, s) {
		parts = append(parts, c.Name+"="+c.Value)
	}
	return f, strings.Join(parts, "; ")
}

// header is what c carries besides its target, in every mode: its
// credentials and its Destination (the front proxy passes the client's
// headers to forward-auth).
func (c modeCase) header() map[string]string {
	h := map[string]string{}
	switch {
	case c.cookie != "":
		h["Cookie"] = c.cookie
	case c.who != "":
		h["Authorization"] = "Bearer " + c.who + "-token"
	}
	if c.upgrade {
		h["Sec-WebSocket-Key"], h["Sec-WebSocket-Version"] = "dGhlIHNhbXBsZSBub25jZQ==", "13"
		if c.origin != "" {
			h["Origin"] = c.origin
		}
	}
	if c.destination != "" && !strings.ContainsAny(c.destination, "\r\n") {
		h["Destination"] = c.destination
	}
	return h
}

// caseRequest reads a request as Go's HTTP/1.1 server does, or reports
// that the server would not hand it to a handler.
func caseRequest(c modeCase, extra string) (*http.Request, bool) {
	raw := c.method + " " + c.target + " HTTP/1.1\r\nHost: " + c.host + "\r\n" + extra
	for k, v := range c.header() {
		raw += k + ": " + v + "\r\n"
	}
	r, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
	if err != nil {
		return nil, false
	}
	r.RemoteAddr = "192.0.2.7:5555"
	return r, true
}

// modeAnswer is what one mode made of a case: the status, and in proxy
// mode what the upstream received (nil when nothing).
type modeAnswer struct {
	status   int
	upstream *recorded
}

func (f *fixture) serveCase(r *http.Request) modeAnswer {
	before := f.up.count()
	rec := httptest.NewRecorder()
	f.h.ServeHTTP(rec, r)
	a := modeAnswer{status: rec.Code}
	f.up.mu.Lock()
	defer f.up.mu.Unlock()
	if len(f.up.reqs) > before {
		a.upstream = &f.up.reqs[len(f.up.reqs)-1]
	}
	return a
}

// forwardAuthCase names c to the forward-auth endpoint as a trusted
// front proxy names it: nginx, Caddy and Traefik with X-Forwarded-Method,
// -Host and -Uri, ingress-nginx with X-Original-URL and
// X-Original-Method (and X-Forwarded-Host: $host).
func (f *fixture) forwardAuthCase(c modeCase, ingress bool) (modeAnswer, bool) {
	uri := originForm(c.target)
	if uri == "" || strings.ContainsAny(uri, "\r\n") {
		return modeAnswer{}, false
	}
	r := httptest.NewRequest("GET", "/oauth2/auth", nil)
	r.RemoteAddr, r.Host = "10.0.0.1:4000", "127.0.0.1:4180"
	r.Header.Set("X-Forwarded-Host", c.host)
	if c.method == "" {
		r.Header.Set("X-Forwarded-Uri", uri)
	} else if ingress {
		r.Header.Set("X-Original-Method", c.method)
		r.Header.Set("X-Original-URL", "http://"+c.host+uri)
	} else {
		r.Header.Set("X-Forwarded-Method", c.method)
		r.Header.Set("X-Forwarded-Uri", uri)
	}
	for k, v := range c.header() {
		r.Header.Set(k, v)
	}
	return f.serveCase(r), true
}

// verdict is a status read as what it decided: forward-auth answers 403
// where proxy mode answers 404 for a path no route matches.
func verdict(status int) string {
	switch status {
	case http.StatusOK:
		return "allowed"
	case http.StatusUnauthorized:
		return "sign in"
	case http.StatusForbidden, http.StatusNotFound:
		return "refused"
	case http.StatusBadRequest:
		return "bad request"
	}
	return fmt.Sprintf("status %d", status)
}

// sameVerdict reports whether forward-auth's verdict av on c agrees with
// proxy mode's pv: the same, or a 400 forward-auth alone gives.
func sameVerdict(pv, av string, c modeCase) bool {
	return pv == av || av == "bad request" && forwardAuthOnlyRefusal(originForm(c.target))
}

// forwardAuthOnlyRefusal reports what docs/forward-auth.md refuses in
// forward-auth alone, since the front proxy sends the application the
// path as it was written: one starting with "//" (after leading "."
// segments, as a WHATWG parser reads it) or holding a ".." segment, raw
// or with its dots encoded.
func forwardAuthOnlyRefusal(uri string) bool {
	path, _, _ := strings.Cut(uri, "?")
	for _, seg := range strings.Split(path, "/") {
		if strings.EqualFold(strings.ReplaceAll(strings.ToLower(seg), "%2e", "."), "..") {
			return true
		}
	}
	for {
		rest, ok := cutDotSegment(path)
		if !ok {
			return strings.HasPrefix(path, "//")
		}
		path = rest
	}
}

// cutDotSegment removes a leading "/." or "/%2e" segment from path.
func cutDotSegment(path string) (string, bool) {
	for _, dot := range []string{"/.", "/%2e", "/%2E"} {
		if rest, ok := strings.CutPrefix(path, dot); ok && strings.HasPrefix(rest, "/") {
			return rest, true
		}
	}
	return path, false
}

// modeCases is how many cases TestEveryModeDecidesAlike draws: under a
// second of CPU (200,000 cases, and other seeds, found nothing more).
const modeCases = 4000

// TestEveryModeDecidesAlike draws request targets from an attacker's
// grammar (randomTarget), with hosts spelt as clients spell them, a COPY's
// Destination from the same grammar, bearer tokens and a session cookie,
// and sends each in proxy mode over HTTP/1.1 and HTTP/2, as a WebSocket
// (with an Origin), to `check --request` (Explain), and to forward-auth as
// nginx, Caddy or Traefik (X-Forwarded-Uri) and ingress-nginx
// (X-Original-URL) name it, with and without a method. The verdict must be
// the same in every mode (forward-auth may refuse with 400 what it alone
// refuses: forwardAuthOnlyRefusal), no answer is a 5xx, and the upstream
// received the normalised path that was decided. The same seed gives the
// same cases on every run, in well under a second.
func TestEveryModeDecidesAlike(t *testing.T) {
	f, cookie := modeFixture(t)
	rng := rand.New(rand.NewPCG(20261206, 0x4d58))
	seen := map[string]int{}
	failures := 0
	for i := 0; i < modeCases && failures < 20; i++ {
		c := randomCase(rng, cookie)
		v, err := f.checkModes(c)
		if err != nil {
			failures++
			t.Errorf("%v: %v", c, err)
		}
		seen[v]++
	}
	// The grammar must keep reaching every verdict, not only the 400s.
	for _, v := range []string{"allowed", "sign in", "refused", "bad request"} {
		if seen[v] < modeCases/50 {
			t.Errorf("%d of %d cases were %s: the grammar no longer tests it (%v)", seen[v], modeCases, v, seen)
		}
	}
}

// checkModes runs one case in every mode and returns the verdict and the
// first disagreement. A target only HTTP/2 can carry (a raw space) is
// compared over HTTP/2 and forward-auth.
func (f *fixture) checkModes(c modeCase) (string, error) {
	proxied, ok, err := f.proxyModes(c)
	if !ok || err != nil {
		return "", err
	}
	pv := verdict(proxied.status)
	for _, ingress := range []bool{false, true} {
		auth, ok := f.forwardAuthCase(c, ingress)
		if !ok {
			continue
		}
		if auth.status >= 500 || auth.upstream != nil {
			return pv, fmt.Errorf("forward-auth: %d (upstream reached %v)", auth.status, auth.upstream != nil)
		}
		if av := verdict(auth.status); !sameVerdict(pv, av, c) {
			return pv, fmt.Errorf("proxy mode %d (%s), forward-auth (X-Original-URL %v) %d (%s)",
				proxied.status, pv, ingress, auth.status, av)
		}
	}
	return pv, f.checkEveryMethod(c)
}

// checkEveryMethod: forward-auth without a method (a front proxy that
// names none) answers 200 only for a request proxy mode lets through
// whatever its method. Every fourth case pays for it.
func (f *fixture) checkEveryMethod(c modeCase) error {
	if len(c.target)%4 != 0 {
		return nil
	}
	none := c
	none.method = ""
	auth, ok := f.forwardAuthCase(none, false)
	if !ok || auth.status != http.StatusOK {
		return nil
	}
	for _, m := range modeMethods {
		c.method = m
		if m == "get" || m == "COPY" {
			continue // refused as written; a Destination is the client's header
		}
		if r, ok := caseRequest(c, ""); ok {
			if a := f.serveCase(r); a.status != http.StatusOK {
				return fmt.Errorf("forward-auth without a method 200, proxy mode %s %d", m, a.status)
			}
		}
	}
	return nil
}

// proxyModes runs c in proxy mode over HTTP/1.1, as a WebSocket and over
// HTTP/2, checks each, and returns the answer to compare forward-auth's
// with; ok is false when no server would hand c to a handler.
func (f *fixture) proxyModes(c modeCase) (modeAnswer, bool, error) {
	r, ok := caseRequest(c, "")
	if !ok {
		h2, ok := http2Request(c)
		if !ok {
			return modeAnswer{}, false, nil
		}
		a := f.serveCase(h2)
		return a, true, f.checkUpstream(c, h2, a)
	}
	proxied := f.serveCase(r)
	if err := f.checkUpstream(c, r, proxied); err != nil {
		return proxied, true, err
	}
	if err := f.checkWebSocket(c, proxied); err != nil {
		return proxied, true, err
	}
	if err := f.checkExplain(c, proxied); err != nil {
		return proxied, true, err
	}
	return proxied, true, f.checkHTTP2(c, proxied)
}

// checkUpstream: a forwarded request reached the upstream with exactly
// the normalised path of what the client sent, and the routes decide
// that path as they decided the request.
func (f *fixture) checkUpstream(c modeCase, r *http.Request, a modeAnswer) error {
	if a.status >= 500 && a.upstream == nil {
		return fmt.Errorf("proxy mode (HTTP/%d): %d", r.ProtoMajor, a.status)
	}
	if a.upstream == nil {
		return nil
	}
	if a.status != http.StatusOK {
		return fmt.Errorf("proxy mode %d, but the upstream was reached", a.status)
	}
	want, err := policy.NormalizeURL(r.URL)
	if err != nil {
		return fmt.Errorf("forwarded a path Normalize refuses: %v", err)
	}
	got, _, _ := strings.Cut(a.upstream.RequestURI, "?")
	if got != want {
		return fmt.Errorf("the upstream received %q, the decided path is %q", a.upstream.RequestURI, want)
	}
	host, _, _ := strings.Cut(strings.ToLower(strings.TrimSuffix(c.host, ".")), ":")
	host = strings.TrimSuffix(host, ".")
	if f.cfg.Routes.Match(c.method, host, got) != f.cfg.Routes.Match(c.method, host, want) {
		return fmt.Errorf("the upstream's path %q matches another route than %q", got, want)
	}
	return nil
}

// checkWebSocket: a GET asking to upgrade to a WebSocket is decided as
// the GET is, but for its Origin when a session cookie opens it, and
// forward-auth decides the handshake (its Sec-WebSocket-Key and Origin
// passed on by the front proxy) as proxy mode does.
func (f *fixture) checkWebSocket(c modeCase, plain modeAnswer) error {
	if c.method != http.MethodGet {
		return nil
	}
	c.upgrade = true
	r, ok := caseRequest(c, "Connection: Upgrade\r\nUpgrade: websocket\r\n")
	if !ok {
		return nil
	}
	ws := f.serveCase(r)
	if ws.status >= 500 && ws.upstream == nil {
		return fmt.Errorf("WebSocket: %d", ws.status)
	}
	// The stub upstream answers 200 instead of 101, which the gateway
	// answers 502: reaching it is the allowed verdict.
	wv := verdict(ws.status)
	if ws.upstream != nil {
		wv = "allowed"
	}
	if pv := verdict(plain.status); wv != pv && (c.cookie == "" || c.origin == "" || wv != "refused") {
		return fmt.Errorf("GET %d (%s), as a WebSocket %d (%s)", plain.status, pv, ws.status, wv)
	}
	auth, ok := f.forwardAuthCase(c, false)
	if av := verdict(auth.status); ok && !sameVerdict(wv, av, c) {
		return fmt.Errorf("WebSocket: proxy mode %d (%s), forward-auth %d (%s)", ws.status, wv, auth.status, av)
	}
	return nil
}

// http2Request is c as Go's HTTP/2 server hands it to a handler: :path
// parsed as a request-target (url.ParseRequestURI), :authority as the
// host, no Host field. A :path that does not start with "/" is a
// protocol error there.
func http2Request(c modeCase) (*http.Request, bool) {
	if !strings.HasPrefix(c.target, "/") {
		return nil, false
	}
	u, err := url.ParseRequestURI(c.target)
	if err != nil {
		return nil, false
	}
	r := &http.Request{Method: c.method, URL: u, RequestURI: c.target, Host: c.host, Proto: "HTTP/2.0",
		ProtoMajor: 2, Header: http.Header{}, Body: http.NoBody, RemoteAddr: "192.0.2.7:5555"}
	for k, v := range c.header() {
		r.Header.Set(k, v)
	}
	return r.WithContext(context.Background()), true
}

// checkHTTP2: the same request over HTTP/2 is decided as over HTTP/1.1.
func (f *fixture) checkHTTP2(c modeCase, h1 modeAnswer) error {
	r, ok := http2Request(c)
	if !ok {
		return nil
	}
	h2 := f.serveCase(r)
	if err := f.checkUpstream(c, r, h2); err != nil {
		return fmt.Errorf("HTTP/2: %v", err)
	}
	if hv, pv := verdict(h2.status), verdict(h1.status); hv != pv {
		return fmt.Errorf("HTTP/1.1 %d (%s), HTTP/2 %d (%s)", h1.status, pv, h2.status, hv)
	}
	return nil
}

// checkExplain: `portcullis check --request` (Handler.Explain) decides c,
// for the identity c's credentials stand for, as serve did.
func (f *fixture) checkExplain(c modeCase, served modeAnswer) error {
	target := c.target
	if strings.HasPrefix(target, "/") {
		target = "http://" + c.host + target
	}
	hdr := http.Header{}
	if c.destination != "" {
		hdr.Set("Destination", c.destination)
	}
	var id *portcullis.Identity
	if c.cookie != "" {
		id = &portcullis.Identity{Subject: "carol", Groups: []string{"staff"}}
	} else if c.who != "" {
		id = modeBearers[c.who]
	}
	x, err := f.h.Explain(c.method, target, hdr, id)
	ev := "bad request"
	var refused *RefusedError
	switch {
	case errors.As(err, &refused) && refused.Status != http.StatusBadRequest:
		ev = fmt.Sprintf("status %d", refused.Status)
	case err == nil:
		ev = explained(x.Decision.Outcome)
	}
	if sv := verdict(served.status); sv != ev {
		return fmt.Errorf("serve %d (%s), check --request %s (%v)", served.status, sv, ev, err)
	}
	return nil
}

// explained is the verdict of an explained decision's outcome.
func explained(o portcullis.Outcome) string {
	switch o {
	case portcullis.OutcomeAllow, portcullis.OutcomePublic:
		return "allowed"
	case portcullis.OutcomeUnauthenticated:
		return "sign in"
	}
	return "refused"
}
