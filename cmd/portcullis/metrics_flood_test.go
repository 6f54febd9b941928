package main

import (
	"bufio"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestClientValuesMakeNoSeries: nothing a client chooses becomes a label
// value on the ops listener's /metrics. A real gateway in front of the
// oidctest provider gets 3,000 requests, each
// with a Host, method, path, query, bearer token (opaque, forged with an
// unknown kid, another issuer's, or the provider's own for a new user),
// session cookie, callback state and provider error of its own; the page
// must list exactly the series it listed after one request of each kind.
// A label taken from any of them would add up to 3,000.
func TestClientValuesMakeNoSeries(t *testing.T) {
	f := newFixtureWith(t, nil, nil, func(c *testConfig) {
		c.route = "[[routes]]\npath = \"/open/**\"\nupstream = \"app\"\npublic = true\n"
	})
	stranger := oidctest.NewUnpublishedKey(t, "stranger", "ES256")
	kinds := []func(n string) string{
		func(n string) string { return "GET /open/" + n + "?q=" + n + " HTTP/1.1\r\nHost: h" + n + ".test\r\n" },
		func(n string) string { return "M" + n + " /app/" + n + " HTTP/1.1\r\nHost: " + f.cfg.public + "\r\n" },
		func(n string) string {
			return "GET /app/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer opaque-" + n + "\r\n"
		},
		func(n string) string {
			tok := f.p.Sign(map[string]any{"iss": f.p.Issuer, "sub": n, "aud": f.p.ClientID,
				"exp": time.Now().Add(time.Hour).Unix()}, oidctest.SignOptions{Key: stranger, KID: "kid-" + n})
			return "GET /app/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\n"
		},
		func(n string) string {
			tok := f.p.Sign(map[string]any{"iss": "https://iss-" + n + ".test", "sub": n,
				"exp": time.Now().Add(time.Hour).Unix()}, oidctest.SignOptions{})
			return "GET /app/" + n + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + tok + "\r\n"
		},
		func(n string) string {
			return "GET /app/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + f.p.AccessToken("user-"+n, nil) + "\r\n"
		},
		func(n string) string { return "GET /app/x HTTP/1.1\r\nHost: x\r\nCookie: portcullis=" + n + "\r\n" },
		func(n string) string {
			return "GET /oauth2/callback?code=" + n + "&state=" + n + " HTTP/1.1\r\nHost: " + f.cfg.public + "\r\n"
		},
		func(n string) string {
			return "GET /oauth2/callback?error=e" + n + "&state=" + n + " HTTP/1.1\r\nHost: " + f.cfg.public + "\r\n"
		},
		func(n string) string {
			return "GET /oauth2/start?rd=/" + n + " HTTP/1.1\r\nHost: " + f.cfg.public + "\r\nAccept: text/html\r\n"
		},
	}
	statuses := make([]map[int]int, len(kinds))
	for k := range statuses {
		statuses[k] = map[int]int{}
	}
	send := func(from, to int) {
		for i := from; i < to; i++ {
			k := i % len(kinds)
			statuses[k][sendOnConn(t, f, kinds[k](strconv.Itoa(i))+"\r\n")]++
		}
	}
	send(0, 2*len(kinds))
	before := metricSeries(t, f)
	send(2*len(kinds), 3_000)
	after := metricSeries(t, f)
	t.Logf("statuses by kind: %v", statuses)
	for name, n := range after {
		if n != before[name] {
			t.Errorf("%s: %d series after the flood, %d before", name, n, before[name])
		}
	}
	if len(before) == 0 || before["portcullis_requests_total"] == 0 || before["portcullis_bearer_verifications_total"] == 0 {
		t.Fatalf("the metrics page lists none of the gateway's series: %v", before)
	}
}

// sendOnConn sends one raw request on a connection of its own (a method or
// Host the gateway refuses may close it) and reads its answer.
func sendOnConn(t *testing.T, f *fixture, req string) int {
	t.Helper()
	c := dialGateway(t, f)
	defer c.Close()
	if _, err := io.WriteString(c, req); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("%q: %v", req[:min(len(req), 80)], err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// metricSeries counts the series of each metric on the ops listener's
// /metrics whose name starts with "portcullis_" (Go's and the process's
// own are fixed sets).
func metricSeries(t *testing.T, f *fixture) map[string]int {
	t.Helper()
	b := opsMetrics(t, f)
	out := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "portcullis_") {
			continue
		}
		name, _, _ := strings.Cut(line, "{")
		name, _, _ = strings.Cut(name, " ")
		out[name]++
	}
	if len(out) == 0 {
		t.Fatalf("no portcullis_ series on /metrics:\n%s", b)
	}
	return out
}
