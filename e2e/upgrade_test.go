package e2e

import (
	"bufio"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestWebSocketEndsWithItsSession: a WebSocket opened through replica A
// with a Redis-store session is closed by A once the session is signed out
// on replica B: access ends for connections already open too.
func TestWebSocketEndsWithItsSession(t *testing.T) {
	t.Parallel()
	rs := startRedis(t, false)
	p := oidctest.New(t, oidctest.Options{})
	up := httptest.NewServer(http.HandlerFunc(echoWebSocket))
	t.Cleanup(up.Close)
	cfg := redisGatewayConfig(p.Issuer, p.ClientID, p.ClientSecret, up.URL, redisSession(rs.URL()))
	gwA := startGateway(t, pickAddrs(t), cfg)
	gwB := startGateway(t, pickAddrs(t), cfg)
	c := browser(t)
	loginThrough(t, c, gwA, "alice")
	ck := sessionCookie(t, c, gwA)

	conn, br := dialWebSocket(t, gwA, ck)
	time.Sleep(time.Second)
	wsEcho(t, conn, br) // still open while the session is
	status, _, _ := withCookie(t, "GET", gwB.URL+"/oauth2/sign_out?rd=/public/bye", ck, true)
	if status != http.StatusFound {
		t.Fatalf("sign_out on B: %d", status)
	}
	start := time.Now()
	_ = conn.SetReadDeadline(time.Now().Add(25 * time.Second))
	if _, err := br.ReadString('\n'); err != io.EOF {
		t.Fatalf("the WebSocket on A was not closed after the sign-out on B (read: %v)", err)
	}
	t.Logf("closed %v after the sign-out", time.Since(start).Round(time.Second))
}

// echoWebSocket accepts an upgrade and echoes lines until the connection
// ends (a stand-in for a WebSocket server: the gateway copies the bytes);
// other requests get what they carried, as newUpstream answers.
func echoWebSocket(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Upgrade") != "websocket" {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(seen{Method: r.Method, Path: r.URL.EscapedPath(), Host: r.Host, Headers: r.Header})
		return
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	// The handshake's answer to the key (RFC 6455 §4.2.2): the gateway
	// splices no WebSocket without it.
	sum := sha1.Sum([]byte(r.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
		"Sec-WebSocket-Accept: " + base64.StdEncoding.EncodeToString(sum[:]) + "\r\n\r\n")
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

// dialWebSocket opens an upgraded connection to gw's /app/ws with ck.
func dialWebSocket(t *testing.T, gw *gateway, ck *http.Cookie) (net.Conn, *bufio.Reader) {
	t.Helper()
	return dialWebSocketAt(t, gw, "/app/ws", ck)
}

// dialWebSocketAt is dialWebSocket of path.
func dialWebSocketAt(t *testing.T, gw *gateway, path string, ck *http.Cookie) (net.Conn, *bufio.Reader) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(gw.URL, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "GET "+path+" HTTP/1.1\r\nHost: "+strings.TrimPrefix(gw.URL, "http://")+
		"\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nCookie: "+ck.Name+"="+ck.Value+"\r\n\r\n")
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("upgrade through %s: %v %v", gw.URL, resp, err)
	}
	wsEcho(t, conn, br)
	return conn, br
}

func wsEcho(t *testing.T, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "ping\n")
	if line, err := br.ReadString('\n'); err != nil || line != "echo ping\n" {
		t.Fatalf("echo = %q, %v", line, err)
	}
}
