package proxy

// Review IJ: request-line and HTTP/2 cases of proxy mode that no other test
// pinned. Each held on the code as it was; these keep it so across Go and
// x/net upgrades.

import (
	"fmt"
	"net/url"
	"strings"
	"testing"

	"golang.org/x/net/http2"

	"github.com/portcullis/portcullis"
	"github.com/portcullis/portcullis/internal/testenv"
)

// TestRefusedBodyNeverReadAsRequest: a request the gateway refuses (401,
// 403, 400, 405, 431) whose body is itself a request an admin could send,
// followed on the same keep-alive connection by a second, anonymous
// request. The body is read or discarded as the body it was declared to
// be, never parsed as a request: the upstream receives nothing, and the
// second request is decided on its own (401). An anonymous untyped POST's
// body is read for an access_token (formToken), so its "Expect:
// 100-continue" gets a 100 and the body is consumed as a body, the
// connection kept.
func TestRefusedBodyNeverReadAsRequest(t *testing.T) {
	inner := "GET /admin/x HTTP/1.1\r\nHost: gw.test\r\nAuthorization: Bearer alice-token\r\n\r\n"
	next := "GET /admin/y HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n"
	sized := fmt.Sprintf("Content-Length: %d\r\n\r\n%s", len(inner), inner)
	cases := []struct{ name, head, want string }{
		{"401, form body read for access_token", "POST /app/x HTTP/1.1\r\nHost: gw.test\r\n", "401,401"},
		{"401 after Expect: 100-continue", "POST /app/x HTTP/1.1\r\nHost: gw.test\r\nExpect: 100-continue\r\n", "100,401,401"},
		{"403 after Expect: 100-continue (not asked for, closed)", "POST /denied/x HTTP/1.1\r\nHost: gw.test\r\nExpect: 100-continue\r\n", "403"},
		{"403", "POST /denied/x HTTP/1.1\r\nHost: gw.test\r\nContent-Type: text/plain\r\n", "403,401"},
		{"400 access_token in the query", "POST /app/x?access_token=1 HTTP/1.1\r\nHost: gw.test\r\n", "400,401"},
		{"405 TRACE", "TRACE /app/x HTTP/1.1\r\nHost: gw.test\r\n", "405,401"},
		{"400 Host", "POST /app/x HTTP/1.1\r\nHost: a..test\r\n", "400,401"},
		{"431", "POST /app/x HTTP/1.1\r\nHost: gw.test\r\nCookie: " + strings.Repeat("c", 17<<10) + "\r\n", "431,401"},
		{"gateway endpoint", "POST /oauth2/start HTTP/1.1\r\nHost: gw.test\r\n", "405,401"},
		{"chunked 401 (the connection closes)", "POST /app/x HTTP/1.1\r\nHost: gw.test\r\nTransfer-Encoding: chunked\r\n\r\n" +
			fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(inner), inner), "401"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			f.prov.bearers["alice-token"] = &portcullis.Identity{Subject: "alice", Groups: []string{"admins"}}
			srv := serveGateway(t, f)
			raw := c.head + sized + next
			if strings.Contains(c.head, "chunked") {
				raw = c.head + next
			}
			got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"), raw)
			var statuses []string
			for _, part := range strings.Split(got, "HTTP/1.1 ")[1:] {
				statuses = append(statuses, part[:3])
			}
			if strings.Join(statuses, ",") != c.want || f.up.count() != 0 {
				t.Errorf("answers %v, want %s; the upstream received %d requests:\n%s", statuses, c.want, f.up.count(), got)
			}
		})
	}
}

// TestAsteriskTargetNeverRoutes: "OPTIONS *" is answered by Go's server
// itself (200, no body) over HTTP/1.1 and HTTP/2, before the handler: it
// matches no route, reaches no upstream and has no access line. Any other
// method with "*" is the gateway's 400.
func TestAsteriskTargetNeverRoutes(t *testing.T) {
	buf := &syncBuffer{}
	f := newFixture(t, withDebugLog(buf))
	srv := serveGateway(t, f)
	got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"), "OPTIONS * HTTP/1.1\r\nHost: a..test\r\nConnection: close\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 200 ") || !strings.Contains(got, "Content-Length: 0\r\n") {
		t.Errorf("HTTP/1.1 OPTIONS *: %q", got)
	}
	addr := serveHTTP2(t, f)
	star := func(m string) [][2]string {
		return [][2]string{{":method", m}, {":scheme", "https"}, {":authority", "gw.test"}, {":path", "*"}}
	}
	if status := h2Status(t, addr, star("OPTIONS")); status != "200" {
		t.Errorf("HTTP/2 OPTIONS *: %s, want Go's 200", status)
	}
	if strings.Contains(buf.String(), "msg=request") {
		t.Errorf("OPTIONS * reached the handler:\n%s", buf.String())
	}
	for _, m := range []string{"GET", "DELETE"} {
		if status := h2Status(t, addr, star(m)); status != "400" {
			t.Errorf("HTTP/2 %s *: %s, want 400", m, status)
		}
	}
	if f.up.count() != 0 {
		t.Errorf("the upstream received %d requests", f.up.count())
	}
}

// TestHTTP2ContentLengthAgreesWithData: over HTTP/2 the body is framed by
// DATA frames, and a content-length field only states it. One that
// disagrees with the DATA sent is refused before anything is forwarded
// (more DATA: the stream is reset; less: 400); a list is reset. Two
// different fields were accepted, the first framing the body (Go's server),
// where HTTP/1.1 answers 400: they are a 400 too now (found by review IR),
// and two equal ones are one length, as over HTTP/1.1. The upstream gets
// exactly the bytes decided with that length: the transport frames the
// request anew and never copies the client's field.
func TestHTTP2ContentLengthAgreesWithData(t *testing.T) {
	f := newFixture(t)
	addr := serveHTTP2(t, f)
	cases := []struct {
		name, want string
		cls        []string
		body       string
	}{
		{"more DATA than declared", "reset", []string{"5"}, "0123456789"},
		{"less DATA than declared", "400", []string{"10"}, "01234"},
		{"a list", "reset", []string{"5, 5"}, "01234"},
		{"two different fields, the first true", "400", []string{"5", "10"}, "01234"},
		{"two different fields, the second true", "400", []string{"10", "5"}, "01234"},
		{"two equal fields", "200", []string{"5", "5"}, "01234"},
	}
	for _, c := range cases {
		fields := [][2]string{{":method", "POST"}, {":scheme", "https"}, {":authority", "gw.test"},
			{":path", "/public/x"}, {"content-type", "application/octet-stream"}}
		for _, cl := range c.cls {
			fields = append(fields, [2]string{"content-length", cl})
		}
		before := f.up.count()
		fr := h2Dial(t, addr)
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: testenv.H2Fields(fields), EndHeaders: true})
		_ = fr.WriteData(1, true, []byte(c.body))
		got := h2Answer(t, fr)
		forwarded := f.up.count() > before
		if got != c.want || forwarded != (c.want == "200") {
			t.Errorf("%s: %s, want %s; forwarded: %v", c.name, got, c.want, forwarded)
		}
		if !forwarded {
			continue
		}
		if r := f.up.last(t); r.Body != c.body || r.Header.Get("Content-Length") != "5" {
			t.Errorf("%s: the upstream received %q with Content-Length %q", c.name, r.Body, r.Header.Get("Content-Length"))
		}
	}
}

// TestHTTP2SchemeSteersNoURL: a client's ":scheme http" on a TLS
// connection steers nothing the gateway writes: a start on another host
// goes on to public_url's, with its return URL made absolute over
// public_url's scheme (https), as a plain "https" request's is.
func TestHTTP2SchemeSteersNoURL(t *testing.T) {
	f := httpsFixture(t)
	addr := serveHTTP2(t, f)
	for _, scheme := range []string{"http", "https"} {
		fr := h2Dial(t, addr)
		fields := [][2]string{{":method", "GET"}, {":scheme", scheme}, {":authority", "app.test"}, {":path", "/oauth2/start?rd=/x"}}
		_ = fr.WriteHeaders(http2.HeadersFrameParam{StreamID: 1, BlockFragment: testenv.H2Fields(fields), EndStream: true, EndHeaders: true})
		loc, err := url.Parse(testenv.H2AnswerField(t, fr, "location"))
		if err != nil || loc.Scheme+"://"+loc.Host+loc.Path != "https://gw.test/oauth2/start" ||
			loc.Query().Get("rd") != "https://app.test/x" {
			t.Errorf(":scheme %s: Location %v (%v), want public_url's start with rd https://app.test/x", scheme, loc, err)
		}
	}
}
