package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestWebSocketSwitchWithoutHandshakeIs502: an application answers a
// WebSocket upgrade with 101, Upgrade: websocket and Connection: Upgrade,
// but without the Sec-WebSocket-Accept that proves it read the handshake
// (a handler that writes the status and headers it is given, here through
// Go's server, which keeps reading HTTP on the connection after a 101 its
// handler wrote). Spliced, every request the client then sends through the
// tunnel reaches the application undecided, with identity headers of its
// own choosing. The client gets 502 and nothing is spliced; a real
// handshake (the accept derived from the client's key) still opens.
func TestWebSocketSwitchWithoutHandshakeIs502(t *testing.T) {
	var mu sync.Mutex
	var reached []string
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		reached = append(reached, r.URL.Path+" as "+r.Header.Get("X-Forwarded-User"))
		mu.Unlock()
		if r.URL.Path == "/public/switch" {
			w.Header().Set("Upgrade", "websocket")
			w.Header().Set("Connection", "Upgrade")
			if a := r.URL.Query().Get("accept"); a != "" {
				w.Header().Set("Sec-WebSocket-Accept", a)
			}
			w.WriteHeader(http.StatusSwitchingProtocols)
			return
		}
		_, _ = io.WriteString(w, "secret")
	})
	srv := serveGateway(t, f)
	const key = "dGhlIHNhbXBsZSBub25jZQ=="
	for _, accept := range []string{"", "wrong", websocketAccept("another key")} {
		mu.Lock()
		reached = nil
		mu.Unlock()
		conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		_ = conn.SetDeadline(time.Now().Add(5 * time.Second))
		_, _ = io.WriteString(conn, "GET /public/switch?accept="+accept+" HTTP/1.1\r\nHost: gw.test\r\n"+
			"Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\n\r\n")
		br := bufio.NewReader(conn)
		resp, err := http.ReadResponse(br, nil)
		if err != nil {
			t.Fatalf("accept %q: %v", accept, err)
		}
		if resp.StatusCode != http.StatusBadGateway {
			t.Errorf("accept %q: status %d, want 502", accept, resp.StatusCode)
		}
		// Through a spliced tunnel this reaches the application as is.
		_, _ = io.WriteString(conn, "GET /admin/secret HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-User: mallory\r\nConnection: close\r\n\r\n")
		_, _ = io.ReadAll(br)
		conn.Close()
		mu.Lock()
		for _, p := range reached {
			if strings.HasPrefix(p, "/admin/") {
				t.Errorf("accept %q: a request through the upgrade reached the application: %s", accept, p)
			}
		}
		mu.Unlock()
	}
}

// TestRefusedUpgradeKeepsDeciding: an application refuses a WebSocket
// upgrade (an ordinary answer), and the client, which sent its next bytes
// as though the upgrade had succeeded, finds them read as a request of its
// own, decided as any other: what follows a refused upgrade never reaches
// the application undecided, on the client's connection or the
// upstream's.
func TestRefusedUpgradeKeepsDeciding(t *testing.T) {
	f := newFixtureWith(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "no upgrade here")
	})
	srv := serveGateway(t, f)
	got := rawGet(t, strings.TrimPrefix(srv.URL, "http://"),
		"GET /public/x HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+wsKey+"\r\n"+
			"GET /admin/secret HTTP/1.1\r\nHost: gw.test\r\nX-Forwarded-User: mallory\r\nConnection: close\r\n\r\n")
	var statuses []string
	for _, part := range strings.Split(got, "HTTP/1.1 ")[1:] {
		statuses = append(statuses, part[:3])
	}
	if strings.Join(statuses, ",") != "200,401" {
		t.Errorf("answers %v, want [200 401]:\n%s", statuses, got)
	}
	f.up.mu.Lock()
	defer f.up.mu.Unlock()
	for _, r := range f.up.reqs {
		if r.Path != "/public/x" || r.Header.Get("X-Forwarded-User") != "" {
			t.Errorf("the application received %s as %q", r.Path, r.Header.Get("X-Forwarded-User"))
		}
	}
}

// TestConnectionCannotRemoveTheIdentity: a client that names the identity
// headers and the assertion in Connection (RFC 9110 §7.6.1 asks a proxy to
// remove them) still has them set on the forwarded request: the gateway
// sets them after the reverse proxy has applied Connection (a Director
// would have set them before, and lost them), and a trailer declared for
// them carries nothing past that.
func TestConnectionCannotRemoveTheIdentity(t *testing.T) {
	f := newFixture(t)
	alice := f.cookies(t, f.session())
	named := "X-Forwarded-User, x-forwarded-groups, X-Forwarded-Email, X-Portcullis-Jwt-Assertion, keep-alive"
	resp := f.do(t, "GET", "/app/x", nil, withCookies(alice), withHeader("Connection", named),
		withHeader("Te", "trailers"), withHeader("Trailer", "X-Forwarded-User"))
	_ = readBody(t, resp)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}
	got := f.up.last(t).Header
	for k, v := range map[string]string{"X-Forwarded-User": "alice", "X-Forwarded-Email": "alice@example.com",
		"X-Forwarded-Groups": "admins,staff"} {
		if got.Get(k) != v {
			t.Errorf("Connection: %s: the upstream received %s = %q, want %q", named, k, got.Get(k), v)
		}
	}
	if got.Get("X-Portcullis-Jwt-Assertion") == "" {
		t.Errorf("Connection: %s: the upstream received no assertion", named)
	}
}
