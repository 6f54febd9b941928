package e2e

import (
	"bufio"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/portcullis/portcullis/internal/oidctest"
	"github.com/portcullis/portcullis/internal/testenv"
)

// lineUpstream is an upstream that keeps the request line of each request
// as it arrived (an httptest server's Go parser refuses a malformed one
// before any handler sees it) and answers 200.
type lineUpstream struct {
	url   string
	mu    sync.Mutex
	lines []string
}

func newLineUpstream(tb testing.TB) *lineUpstream {
	tb.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	u := &lineUpstream{url: "http://" + ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go u.serve(c)
		}
	}()
	return u
}

// serve reads one request head on c, keeps its first line and answers.
func (u *lineUpstream) serve(c net.Conn) {
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	br := bufio.NewReader(c)
	line, err := br.ReadString('\n')
	if err != nil {
		return
	}
	u.mu.Lock()
	u.lines = append(u.lines, strings.TrimRight(line, "\r\n"))
	u.mu.Unlock()
	for {
		if l, err := br.ReadString('\n'); err != nil || l == "\r\n" {
			break
		}
	}
	_, _ = c.Write([]byte("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"))
}

func (u *lineUpstream) seen() []string {
	u.mu.Lock()
	defer u.mu.Unlock()
	return append([]string(nil), u.lines...)
}

// h2cStatus sends one bodyless HTTP/2 request with prior knowledge (h2c)
// to addr and returns its :status, or "reset".
func h2cStatus(t *testing.T, addr string, fields [][2]string) string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	_, _ = c.Write([]byte(http2.ClientPreface))
	fr := http2.NewFramer(c, c)
	_ = fr.WriteSettings()
	_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: testenv.H2Fields(fields), EndStream: true, EndHeaders: true})
	return testenv.H2AnswerField(t, fr, ":status")
}

// TestTargetCharactersDecidedAlikeInEveryMode runs the binary with a public
// route (and trusted_proxies for forward-auth) and sends, as a client
// and a front proxy can: an HTTP/2 :path with a raw space in its query,
// which the gateway wrote into the upstream's request line as it came
// ("GET /public/x?a HTTP/1.0 HTTP/1.1"), and an X-Original-URL that ends in
// "#", which was decided while the same target in proxy mode or in
// X-Forwarded-Uri is a 400. Each is a 400 now and reaches no upstream.
func TestTargetCharactersDecidedAlikeInEveryMode(t *testing.T) {
	t.Parallel()
	up := newLineUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	a := pickAddrs(t)
	startGateway(t, a, tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret), Upstream: up.url,
		Server: "trusted_proxies = [\"127.0.0.1\"]\n", Routes: "[[routes]]\npath = \"/public/**\"\npublic = true\n"}.String())
	for _, path := range []string{"/public/x?a HTTP/1.0", "/public/x?a /admin/secret"} {
		status := h2cStatus(t, a.Listen, [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", a.Listen}, {":path", path}})
		if got := up.seen(); status != "400" || len(got) != 0 {
			t.Errorf("HTTP/2 :path %q: status %s, want 400; the upstream received %q", path, status, got)
		}
	}
	if status := h2cStatus(t, a.Listen, [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", a.Listen},
		{":path", "/public/x?a%20b"}}); status != "200" || len(up.seen()) != 1 || up.seen()[0] != "GET /public/x?a%20b HTTP/1.1" {
		t.Errorf("HTTP/2 :path with an escaped space: status %s, the upstream received %q", status, up.seen())
	}
	c := &http.Client{Transport: clientTransport}
	for _, hdr := range []map[string]string{
		{"X-Original-URL": "http://" + a.Listen + "/public/x#", "X-Original-Method": "GET"},
		{"X-Original-URL": "http://" + a.Listen + "/public/x?a=1#", "X-Original-Method": "GET"},
		{"X-Forwarded-Uri": "/public/x#", "X-Forwarded-Method": "GET", "X-Forwarded-Host": a.Listen},
		{"X-Forwarded-Uri": "/public/x?a /admin/secret", "X-Forwarded-Method": "GET", "X-Forwarded-Host": a.Listen},
	} {
		if status, _ := send(t, c, "GET", "http://"+a.Listen+"/oauth2/auth", hdr); status != http.StatusBadRequest {
			t.Errorf("forward-auth %v: %d, want 400", hdr, status)
		}
	}
	if status, _ := send(t, c, "GET", "http://"+a.Listen+"/oauth2/auth",
		map[string]string{"X-Original-URL": "http://" + a.Listen + "/public/x?a=%23", "X-Original-Method": "GET"}); status != http.StatusOK {
		t.Errorf("forward-auth X-Original-URL with an escaped #: %d, want 200", status)
	}
}
