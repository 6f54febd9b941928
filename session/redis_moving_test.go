package session

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// movingRedis plays a Redis that speaks RESP3 and accepts go-redis's
// maintenance-notification handshake (CLIENT MAINT_NOTIFICATIONS, which
// Redis Enterprise and Redis Cloud have and redis-server 7 has not, so no
// real server here can send what follows), then answers every PING with a
// MOVING push naming endpoint: the server telling the client to take its
// connections to another address. It records each command's name.
type movingRedis struct {
	ln       net.Listener
	endpoint string
	mu       sync.Mutex
	cmds     []string
}

func newMovingRedis(t *testing.T, endpoint string) *movingRedis {
	m := &movingRedis{endpoint: endpoint}
	m.ln = serveTCP(t, m.serve)
	return m
}

// serveTCP listens on a loopback port until the test ends and hands each
// connection to serve, on its own goroutine.
func serveTCP(t *testing.T, serve func(net.Conn)) net.Listener {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go serve(c)
		}
	}()
	return ln
}

func (m *movingRedis) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	for {
		args, err := readCommand(r)
		if err != nil {
			return
		}
		name := strings.ToUpper(strings.Join(args[:min(2, len(args))], " "))
		m.mu.Lock()
		m.cmds = append(m.cmds, name)
		m.mu.Unlock()
		var reply string
		switch {
		case strings.HasPrefix(name, "HELLO"):
			reply = "%3\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$5\r\n7.4.0\r\n$5\r\nproto\r\n:3\r\n"
		case name == "CLUSTER SLOTS":
			host, port, _ := net.SplitHostPort(c.LocalAddr().String()) // the listener's own
			reply = fmt.Sprintf("*1\r\n*3\r\n:0\r\n:16383\r\n*3\r\n$%d\r\n%s\r\n:%s\r\n$2\r\nid\r\n", len(host), host, port)
		case name == "COMMAND":
			reply = "*0\r\n"
		case name == "PING":
			reply = fmt.Sprintf(">4\r\n$6\r\nMOVING\r\n:1\r\n:2\r\n$%d\r\n%s\r\n+PONG\r\n", len(m.endpoint), m.endpoint)
		default:
			reply = "+OK\r\n"
		}
		if _, err := io.WriteString(c, reply); err != nil {
			return
		}
	}
}

func (m *movingRedis) commands() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.cmds...)
}

// readCommand reads one RESP array of bulk strings.
func readCommand(r *bufio.Reader) ([]string, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, "*")))
	if err != nil {
		return nil, err
	}
	args := make([]string, 0, n)
	for range n {
		hdr, err := r.ReadString('\n')
		if err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(hdr, "$")))
		if err != nil {
			return nil, err
		}
		b := make([]byte, size+2)
		if _, err := io.ReadFull(r, b); err != nil {
			return nil, err
		}
		args = append(args, string(b[:size]))
	}
	return args, nil
}

// TestRedisServerCannotMoveConnections: go-redis asks every Redis for
// maintenance notifications by default ("auto"), and follows a MOVING push
// to whatever host:port it names: it dials it and signs in there with the
// configured password, then sends it the sessions' traffic. redis_url
// names the Redis the gateway trusts with its password; an endpoint that
// can speak for it (a proxy in front of it, a compromised node) must not
// be able to send both elsewhere. Without the rule the other endpoint
// here got a connection that began with HELLO ... AUTH and the password.
func TestRedisServerCannotMoveConnections(t *testing.T) {
	got := make(chan string, 64)
	elsewhere := serveTCP(t, func(c net.Conn) {
		defer c.Close()
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		b := make([]byte, 512)
		n, _ := c.Read(b)
		got <- string(b[:n])
	})
	m := newMovingRedis(t, elsewhere.Addr().String())
	for _, cfg := range []RedisConfig{
		{URL: "redis://:redis-password-7@" + m.ln.Addr().String()},
		{ClusterAddrs: []string{m.ln.Addr().String()}, Password: "redis-password-7"},
	} {
		cluster := cfg.ClusterAddrs != nil
		pingMovingRedis(t, m, cfg)
		for len(got) > 0 {
			t.Errorf("cluster %v: the client followed MOVING to %s; it sent there: %q", cluster, elsewhere.Addr(), <-got)
		}
	}
}

// pingMovingRedis PINGs m with a client of cfg, checks that it did not ask
// for maintenance notifications, and keeps the client open for a second
// more: a handoff's dial follows the PING at once, but go-redis's handoff
// workers drop the handoffs still queued when the client closes: closed
// at once, a loaded machine could drop the very dial this test looks for.
func pingMovingRedis(t *testing.T, m *movingRedis, cfg RedisConfig) {
	t.Helper()
	client, err := newRedisClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	seen := len(m.commands())
	for range 3 {
		if err := client.Ping(context.Background()).Err(); err != nil {
			t.Fatalf("PING: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(time.Second)
	for _, c := range m.commands()[seen:] {
		if strings.Contains(c, "MAINT_NOTIFICATIONS") {
			t.Errorf("cluster %v: the client asked Redis for maintenance notifications (%q)", cfg.ClusterAddrs != nil, c)
			break
		}
	}
}
