package proxy

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis"
)

// echoUpgrade is an upstream that accepts a WebSocket upgrade and echoes
// lines until the connection ends.
func echoUpgrade(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "websocket" {
		http.Error(w, "want an upgrade", http.StatusBadRequest)
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = brw.WriteString(switchedTo(r))
	_ = brw.Flush()
	for {
		line, err := brw.ReadString('\n')
		if err != nil {
			return
		}
		_, _ = brw.WriteString("echo " + line)
		_ = brw.Flush()
	}
}

// wsKey is the Sec-WebSocket-Key line of the tests' upgrade requests.
const wsKey = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"

// switchedTo is an application's 101 to the WebSocket upgrade r, with the
// handshake's answer to its key, up to the blank line.
func switchedTo(r *http.Request) string {
	return "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + websocketAccept(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n"
}

// openUpgrade opens an upgraded connection through the fixture's gateway
// with the extra request header lines hdr, and checks that it echoes.
func openUpgrade(t *testing.T, f *fixture, hdr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	return openUpgradeAt(t, f, "/app/ws", hdr)
}

// openUpgradeAt is openUpgrade of path.
func openUpgradeAt(t *testing.T, f *fixture, path, hdr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	srv := serveGateway(t, f)
	conn, err := net.Dial("tcp", strings.TrimPrefix(srv.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: gw.test\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"+wsKey+hdr+"\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade: %v %v", resp, err)
	}
	echoes(t, conn, br)
	return conn, br
}

func echoes(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	_, _ = io.WriteString(conn, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo ping\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
}

// closedWithin reports whether the gateway closes conn within d.
func closedWithin(conn net.Conn, br *bufio.Reader, d time.Duration) bool {
	_ = conn.SetReadDeadline(time.Now().Add(d))
	_, err := br.ReadString('\n')
	return err == io.EOF
}

func TestUpgradeEndsAtTokenExpiry(t *testing.T) {
	f := newFixtureWith(t, echoUpgrade)
	f.prov.bearers["ws"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(500 * time.Millisecond)}
	conn, br := openUpgrade(t, f, "Authorization: Bearer ws\r\n")
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket outlived its bearer token")
	}
}

func TestUpgradeEndsWhenTokenRevoked(t *testing.T) {
	var logs syncBuffer
	f := newFixtureWith(t, echoUpgrade, withDebugLog(&logs), func(c *Config) { c.UpgradeRecheck = 50 * time.Millisecond })
	f.prov.bearers["ws"] = &portcullis.Identity{Subject: "svc", Expiry: f.clock.Now().Add(time.Hour)}
	conn, br := openUpgrade(t, f, "Authorization: Bearer ws\r\n")
	time.Sleep(200 * time.Millisecond) // several rechecks of a valid token
	echoes(t, conn, br)
	f.prov.mu.Lock()
	delete(f.prov.bearers, "ws") // the provider no longer accepts it (introspection: inactive)
	f.prov.mu.Unlock()
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket outlived the revocation of its bearer token")
	}
	// Its line names which connection ended, and why.
	want := `msg="proxy: upgraded connection ended" sub=svc host=gw.test path=/app/ws reason="the session or token was revoked"`
	if !strings.Contains(logs.String(), want) {
		t.Errorf("the end line lacks %s:\n%s", want, logs.String())
	}
}

func TestUpgradeEndsAtSessionEnd(t *testing.T) {
	f := newFixtureWith(t, echoUpgrade, func(c *Config) { c.UpgradeRecheck = 50 * time.Millisecond })
	s := f.session()
	s.ExpiresAt = f.clock.Now().Add(500 * time.Millisecond)
	var cookie []string
	for _, c := range f.cookies(t, s) {
		cookie = append(cookie, c.String())
	}
	conn, br := openUpgrade(t, f, "Cookie: "+strings.Join(cookie, "; ")+"\r\n")
	time.Sleep(200 * time.Millisecond)
	echoes(t, conn, br)
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket outlived its session")
	}
}

// TestUpgradeEndsAtAccessTokenExpiryWithoutRefresh: with refresh off, a
// session ends for every request when its access token expires, refresh
// token or not (fresh); its WebSocket lived on to the session's lifetime
// (12 h here), because identityEnd asked only whether the session has a
// refresh token, not whether the gateway refreshes.
func TestUpgradeEndsAtAccessTokenExpiryWithoutRefresh(t *testing.T) {
	f := newFixtureWith(t, echoUpgrade, func(c *Config) { c.Refresh = false })
	s := f.session() // with a refresh token, for 12 h
	s.Expiry = f.clock.Now().Add(500 * time.Millisecond)
	var cookie []string
	for _, c := range f.cookies(t, s) {
		cookie = append(cookie, c.String())
	}
	conn, br := openUpgrade(t, f, "Cookie: "+strings.Join(cookie, "; ")+"\r\n")
	if !closedWithin(conn, br, 5*time.Second) {
		t.Fatal("the WebSocket outlived its session's access token, which the gateway does not refresh")
	}
}
