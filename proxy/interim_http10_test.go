package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestInterimAnswersNotSentToHTTP10: an application answers 100 Continue,
// 102 Processing and 103 Early Hints before its 200. An HTTP/1.0 client
// (nginx's proxy_pass speaks HTTP/1.0 unless proxy_http_version says
// otherwise) cannot tell an interim answer from the final one: nginx took
// the 103 as the answer and handed its own client the gateway's real
// status line and headers as body bytes, past its header filters and
// caching rules. RFC 9110 §15.2: a server must not send a 1xx to an
// HTTP/1.0 client. It gets the 200 alone; an HTTP/1.1 client still gets
// the hints.
func TestInterimAnswersNotSentToHTTP10(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		for _, code := range []int{http.StatusContinue, http.StatusProcessing, http.StatusEarlyHints} {
			w.Header().Set("Link", "</s.css>; rel=preload")
			w.WriteHeader(code)
		}
		w.Header().Del("Link")
		w.Header().Set("X-Final", "yes")
		_, _ = io.WriteString(w, "final")
	})
	addr := strings.TrimPrefix(serveGateway(t, f).URL, "http://")
	for _, c := range []struct{ req, want string }{
		{"GET /public/x HTTP/1.0\r\nHost: gw.test\r\n\r\n", "HTTP/1.0 200 OK\r\n"},
		{"GET /public/x HTTP/1.0\r\nHost: gw.test\r\nConnection: keep-alive\r\n\r\n", "HTTP/1.0 200 OK\r\n"},
		{"GET /public/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n", "HTTP/1.1 100 Continue\r\n"},
	} {
		got := rawGet(t, addr, c.req)
		lines := strings.Count(got, "HTTP/1.")
		if c.want[:8] == "HTTP/1.0" && lines != 1 {
			t.Errorf("%q: %d status lines, want the final one alone:\n%s", c.req, lines, got)
		}
		if !strings.HasPrefix(got, c.want) || !strings.Contains(got, "X-Final: yes\r\n") || !strings.HasSuffix(got, "final") {
			t.Errorf("%q: got %q, want it to start with %q and end with the final answer", c.req, got, c.want)
		}
	}
}

// TestInterimAnswersStoredByNoCache: the application sets its caching
// fields before its 103 (Go's server copies the whole header map onto a
// 1xx). A front proxy that reads no 1xx (nginx 1.22 over HTTP/1.1) takes
// the 103 for the answer, and a cache there stored it, with the gateway's
// real answer after it as its body, by the application's "public". Each
// interim answer says no-store, without the application's caching fields;
// the final one keeps its own.
func TestInterimAnswersStoredByNoCache(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=60")
		w.Header().Set("X-Accel-Expires", "60")
		w.Header().Set("Expires", "Thu, 01 Jan 2099 00:00:00 GMT")
		w.Header().Set("Link", "</s.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		_, _ = io.WriteString(w, "final")
	})
	addr := strings.TrimPrefix(serveGateway(t, f).URL, "http://")
	got := rawGet(t, addr, "GET /public/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n")
	interim, final, ok := strings.Cut(got, "\r\n\r\nHTTP/1.1 200 OK\r\n")
	if !ok || !strings.HasPrefix(interim, "HTTP/1.1 103 Early Hints\r\n") {
		t.Fatalf("want a 103, then the 200:\n%s", got)
	}
	for _, bad := range []string{"public", "X-Accel-Expires", "Expires"} {
		if strings.Contains(interim, bad) {
			t.Errorf("the 103 carries %q:\n%s", bad, interim)
		}
	}
	if !strings.Contains(interim, "Cache-Control: no-store\r\n") || !strings.Contains(interim, "Link: </s.css>") {
		t.Errorf("the 103 lacks Cache-Control: no-store or its Link:\n%s", interim)
	}
	if !strings.Contains(final, "Cache-Control: public, max-age=60\r\n") {
		t.Errorf("the final answer lost its own caching fields:\n%s", final)
	}
}

// TestInterimAnswersCarryNoHopByHopFields: an interim answer's fields are
// the upstream's as they came, its connection's own among them. They are
// about the connection between the upstream and the gateway, not the
// client's (RFC 9110 §7.6.1), and in HTTP/2 a message that carries them is
// malformed (RFC 9113 §8.2.2), which a strict client or front proxy
// answers by resetting the stream: the 103 goes without them, and without
// the fields its Connection names.
func TestInterimAnswersCarryNoHopByHopFields(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "X-Hop")
		w.Header().Set("X-Hop", "secret")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Proxy-Connection", "keep-alive")
		w.Header().Set("Upgrade", "foo/1")
		w.Header().Set("Link", "</s.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		for _, k := range []string{"Connection", "X-Hop", "Keep-Alive", "Proxy-Connection", "Upgrade"} {
			w.Header().Del(k)
		}
		_, _ = io.WriteString(w, "final")
	})
	addr := strings.TrimPrefix(serveGateway(t, f).URL, "http://")
	got := rawGet(t, addr, "GET /public/x HTTP/1.1\r\nHost: gw.test\r\nConnection: close\r\n\r\n")
	interim, _, ok := strings.Cut(got, "\r\n\r\nHTTP/1.1 200 OK\r\n")
	if !ok || !strings.HasPrefix(interim, "HTTP/1.1 103 Early Hints\r\n") {
		t.Fatalf("want a 103, then the 200:\n%s", got)
	}
	for _, bad := range []string{"Connection:", "X-Hop", "Keep-Alive", "Proxy-Connection", "Upgrade"} {
		if strings.Contains(interim, bad) {
			t.Errorf("the 103 carries %q:\n%s", bad, interim)
		}
	}
	if !strings.Contains(interim, "Link: </s.css>") {
		t.Errorf("the 103 lost its Link:\n%s", interim)
	}
}
