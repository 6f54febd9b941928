package proxy

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"strings"
	"sync/atomic"
	"testing"
)

// FuzzUpstreamTrailers: whatever trailer section an upstream writes after
// a chunked body (any names, spelt in any case, announced in Trailer: or
// not), no trailer reaching the client is named like a field the gateway
// controls on the answer (responseControlled: Set-Cookie, Cache-Control
// and the rest), like an identity header, or like a field RFC 9110 §6.5.1
// forbids in trailers; and none reaches the answer's header.
func FuzzUpstreamTrailers(f *testing.F) {
	type answer struct{ announced, trailers string }
	var cur atomic.Pointer[answer]
	fx := newFixture(f)
	// The upstream writes its answer raw, over an in-memory connection:
	// the gateway's own transport parses it.
	fx.h.single.transport.DialContext = func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		go func() {
			defer server.Close()
			if _, err := http.ReadRequest(bufio.NewReader(server)); err != nil {
				return
			}
			a := cur.Load()
			head := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
			if a.announced != "" {
				head += "Trailer: " + a.announced + "\r\n"
			}
			_, _ = io.WriteString(server, head+"\r\n4\r\nbody\r\n0\r\n"+a.trailers+"\r\n")
		}()
		return client, nil
	}
	for _, s := range []answer{
		{"Set-Cookie, Grpc-Status", "Set-Cookie: portcullis=planted\r\nGrpc-Status: 0\r\n"},
		{"", "set-cookie: a=b\r\nCACHE-CONTROL: public\r\nServer-Timing: db\r\n"},
		{"Vary", "Vary: *\r\nX-Forwarded-User: mallory\r\nCdn-Cache-Control: max-age=9\r\n"},
		{"Content-Length", "Content-Length: 5\r\nTransfer-Encoding: chunked\r\nAuthorization: x\r\n"},
		{"", "Set_Cookie: a=b\r\nclear-site-data: \"*\"\r\nX-Portcullis-Jwt-Assertion: x\r\n"},
		{"Expires, Age, Pragma", "Expires: 0\r\nAge: 1\r\nPragma: no-cache\r\nSurrogate-Control: x\r\nX-Accel-Expires: 9\r\n"},
	} {
		f.Add(s.announced, s.trailers)
	}
	identity := []string{fx.cfg.Headers.User, fx.cfg.Headers.Email, fx.cfg.Headers.Groups,
		fx.cfg.Headers.PreferredUsername, fx.cfg.Headers.Assertion}
	for h := range fx.cfg.Headers.Claims {
		identity = append(identity, h)
	}
	refused := append([]string{"Set-Cookie", "Set-Cookie2", "Clear-Site-Data", "Cache-Control", "Expires", "Pragma",
		"Age", "Vary", "Cdn-Cache-Control", "Surrogate-Control", "X-Accel-Expires",
		"Content-Length", "Transfer-Encoding", "Authorization", "Host", "Trailer", "Content-Type"}, identity...)
	isRefused := func(name string) bool {
		n := strings.NewReplacer("_", "-", ".", "-").Replace(textproto.CanonicalMIMEHeaderKey(name))
		for _, r := range refused {
			if strings.EqualFold(n, r) {
				return true
			}
		}
		return false
	}
	// The harness itself: an ordinary trailer, announced or not, passes.
	cur.Store(&answer{"Grpc-Status", "Grpc-Status: 0\r\nServer-Timing: db\r\n"})
	if tr := fx.do(f, "GET", "/public/x", nil).Trailer; tr.Get("Grpc-Status") != "0" || tr.Get("Server-Timing") != "db" {
		f.Fatalf("ordinary trailers lost: %v", tr)
	}
	f.Fuzz(func(t *testing.T, announced, trailers string) {
		cur.Store(&answer{announced, trailers})
		resp := fx.do(t, "GET", "/public/x", nil)
		for k := range resp.Trailer {
			if isRefused(k) {
				t.Fatalf("the trailer %q reached the client (announced %q, trailers %q): %v", k, announced, trailers, resp.Trailer)
			}
		}
		for _, k := range []string{"Set-Cookie", "Clear-Site-Data", "Vary", "Cdn-Cache-Control", "Surrogate-Control", "X-Accel-Expires"} {
			if v := resp.Header.Values(k); len(v) > 0 {
				t.Fatalf("the answer's header has %s %q (announced %q, trailers %q)", k, v, announced, trailers)
			}
		}
	})
}
