package config

import (
	"strings"
	"testing"
)

// TestUpstreamIsNotTheGateway: an upstream at the ops listener served
// /metrics and the profiler through a route (public, or to anyone the route
// admits), and one at the gateway's listener or public_url's origin sent
// every request back to be decided again, a loop; check passed both. Each
// is a problem at the upstream's url line now, also where the dialler reads
// the port or address in another spelling (a leading zero; 127.1, 2130706433
// or 0x7f.0.0.1, which the cgo resolver's inet_aton takes as 127.0.0.1).
// Another port, another host, or a listener on another address is fine.
func TestUpstreamIsNotTheGateway(t *testing.T) {
	with := func(server, upstream string) string {
		doc := strings.Replace(base, "[server]\n", "[server]\n"+server+"\n", 1)
		return strings.Replace(doc, `url = "http://127.0.0.1:3000"`, `url = "`+upstream+`"`, 1)
	}
	const ops, self, origin = "reaches the gateway's ops listener", "reaches the gateway's own listener", "is public_url's origin"
	for _, tc := range []struct{ server, upstream, want string }{
		{`pprof = true` + "\n" + `ops_listen = "127.0.0.1:9180"`, "http://127.0.0.1:9180", ops},
		{"", "http://localhost:9180/", ops},  // default ops_listen ":9180"
		{"", "http://[::1]:9180", ops},       // every address, IPv6 loopback too
		{"", "http://127.0.0.2:9180", ops},   // all of 127/8 is loopback
		{"", "http://0.0.0.0:9180", ops},     // dialled as loopback
		{"", "https://LOCALHOST.:9180", ops}, // case and a final dot
		{`ops_listen = "localhost:9181"`, "h2c://127.0.0.1:9181", ops},
		{`ops_listen = "10.0.0.5:9180"`, "http://10.0.0.5:9180", ops},
		{"", "http://127.0.0.1:09180", ops}, // the dialler reads the port as 9180
		{`ops_listen = "127.0.0.1:09180"`, "http://127.0.0.1:9180", ops},
		{"", "http://127.1:9180", ops}, // getaddrinfo's (cgo) inet_aton forms
		{"", "http://2130706433:9180", ops},
		{"", "http://0x7f.0.0.1:9180", ops},
		{"", "http://0177.0.0.01:9180", ops},
		{"", "http://0x7F.0x0.0.0x1:9180", ops},
		{`ops_listen = "127.0.0.123:9180"`, "http://0x7f.0.0.0x7b:9180", ops}, // a hex b
		{"", "http://0b1111111.0.0.1:9180", ""},                               // no inet_aton form
		{"", "http://1_27.0.0.1:9180", ""},
		{"", "http://127.0.0.1:4180", self}, // default listen ":4180"
		{`listen = ":80"`, "http://localhost", self},
		{`listen = "[::1]:8080"`, "http://[::ffff:127.0.0.1]:8080", ""}, // another address
		{`listen = "[::1]:8080"`, "http://[::1]:8080/app", self},
		{"", "https://dash.example.com", origin},
		{"", "https://Dash.Example.com.:443/app", origin},
		{"", "https://dash.example.com:0443", origin},
		{"", "http://dash.example.com", ""}, // another origin (port 80)
		{"", "http://127.0.0.1:3000", ""},   // the application
		{"", "http://10.0.0.5:9180", ""},    // another host, though the same port
		{`ops_listen = "10.0.0.5:9180"`, "http://127.0.0.1:9180", ""},
		{`ops_listen = ""`, "http://127.0.0.1:9180", ""},
	} {
		_, problems := parseDoc(t, t.TempDir(), with(tc.server, tc.upstream), nil)
		got := strings.Join(problems, "\n")
		switch {
		case tc.want == "" && got != "":
			t.Errorf("%s with %q: refused: %s", tc.upstream, tc.server, got)
		case tc.want != "" && (len(problems) != 1 || !strings.Contains(got, "upstreams[0].url: ") || !strings.Contains(got, tc.want)):
			t.Errorf("%s with %q: problems %q, want one at upstreams[0].url that %s", tc.upstream, tc.server, problems, tc.want)
		}
	}
}

// TestOpsListenerHasItsOwnPort: ops_listen on listen's port was an error
// only when the two were spelled alike or one was a wildcard; check passed
// localhost:4180 beside 127.0.0.1:4180, or port 04180 beside 4180, which
// serve then failed to bind ("address already in use"). Each is a problem
// at ops_listen's line now; another port or another address is fine.
func TestOpsListenerHasItsOwnPort(t *testing.T) {
	for _, tc := range []struct {
		listen, ops string
		refused     bool
	}{
		{"127.0.0.1:4180", "localhost:4180", true},
		{"LOCALHOST:4180", "127.0.0.1:4180", true},
		{"localhost:4180", "[::1]:4180", false}, // Go binds localhost's IPv4 address
		{"127.0.0.1:4180", "127.0.0.1:04180", true},
		{"[::]:04180", "[::1]:4180", true},
		{"[::ffff:127.0.0.1]:4180", "127.0.0.1:4180", true},
		{":4180", "127.0.0.1:4180", true},
		{"127.0.0.1:4180", "127.0.0.2:4180", false},
		{"127.0.0.1:4180", "localhost:9180", false},
		{"10.0.0.5:4180", "127.0.0.1:4180", false},
		{"127.0.0.1:0", "127.0.0.1:0", false}, // any free port, each its own
	} {
		doc := section("[server]", `listen = "`+tc.listen+`"`+"\n"+`ops_listen = "`+tc.ops+`"`)
		_, problems := parseDoc(t, t.TempDir(), doc, nil)
		got := strings.Join(problems, "\n")
		if refused := strings.Contains(got, "server.ops_listen: ") && strings.Contains(got, "takes the port of listen"); refused != tc.refused || len(problems) > 1 {
			t.Errorf("listen %q, ops_listen %q: problems %q, want refused %v", tc.listen, tc.ops, problems, tc.refused)
		}
	}
}
