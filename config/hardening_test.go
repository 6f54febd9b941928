package config

import (
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestListenCollidesWithOps: listen and ops_listen on the same
// address (":9180" is ops_listen's default) pass check, and serve then exits
// 1 with "listen :9180: address already in use", a problem without its line
// that check said was fine.
func TestListenCollidesWithOps(t *testing.T) {
	for _, tc := range []struct{ name, lines string }{
		{"listen on the default ops port", `listen = ":9180"`},
		{"both explicit", "listen = \"127.0.0.1:8000\"\nops_listen = \"127.0.0.1:8000\""},
		{"wildcard and loopback", "listen = \":8000\"\nops_listen = \"127.0.0.1:8000\""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, problems := parseDoc(t, t.TempDir(), section("[server]", tc.lines), nil)
			if cfg != nil {
				t.Errorf("listen %q and ops_listen %q share a port: accepted, serve cannot bind both", cfg.Listen, cfg.OpsListen)
			}
			_ = problems
		})
	}
}

// TestTrustedProxiesEveryone: a trusted_proxies entry that trusts
// every peer lets any client forge X-Forwarded-For/-Host/-Proto and call
// the forward-auth endpoint; docs/security.md says "never a whole network
// that clients share", yet nothing warns (pprof, http:// issuers and
// tls_skip_verify are warned about).
func TestTrustedProxiesEveryone(t *testing.T) {
	for _, entry := range []string{"0.0.0.0/0", "::/0"} {
		cfg, problems := parseDoc(t, t.TempDir(), section("[server]", `trusted_proxies = ["`+entry+`"]`), nil)
		if cfg != nil && !strings.Contains(strings.Join(cfg.Warnings, "\n"), "trusted_proxies") {
			t.Errorf("trusted_proxies = [%q]: accepted without a warning (problems %q)", entry, problems)
		}
	}
}

// TestTrustedProxyIPv4Mapped: the proxy unmaps the peer address
// (proxy/peer.go), so an IPv4-mapped entry ("::ffff:10.0.0.5") never
// matches anything; it is accepted silently and the load balancer is not
// trusted.
func TestTrustedProxyIPv4Mapped(t *testing.T) {
	for _, entry := range []string{"::ffff:10.0.0.5", "::ffff:10.0.0.0/104"} {
		cfg, _ := parseDoc(t, t.TempDir(), section("[server]", `trusted_proxies = ["`+entry+`"]`), nil)
		if cfg == nil {
			continue // refused: fine
		}
		peer := netip.MustParseAddr("::ffff:10.0.0.5").Unmap() // as proxy.peerAddr sees it
		ok := false
		for _, p := range cfg.Proxy.TrustedProxies {
			ok = ok || p.Contains(peer)
		}
		if !ok {
			t.Errorf("trusted_proxies = [%q] accepted as %v, which never contains the peer 10.0.0.5", entry, cfg.Proxy.TrustedProxies)
		}
	}
}

// TestCookieDomainPublicSuffix: a cookie_domain that is a public
// suffix "covers" public_url's host, but browsers refuse a cookie with such
// a Domain attribute: every login then loops back to the provider.
func TestCookieDomainPublicSuffix(t *testing.T) {
	for _, tc := range []struct{ host, domain string }{
		{"dash.example.com", "com"},
		{"dash.example.co.uk", "co.uk"},
		{"dash.github.io", "github.io"},
	} {
		doc := strings.Replace(section("[session]", `cookie_domain = "`+tc.domain+`"`), "dash.example.com", tc.host, 1)
		if cfg, _ := parseDoc(t, t.TempDir(), doc, nil); cfg != nil {
			t.Errorf("cookie_domain %q (a public suffix) for %q: accepted", tc.domain, tc.host)
		}
	}
}

// TestEmptySecretFiles: a client_secret_file or redis_password_file
// that is empty (a Kubernetes Secret key not filled in yet) silently becomes
// "no secret", the very thing an unset ${VAR} is an error to prevent; an
// empty secrets_file is already a problem.
func TestEmptySecretFiles(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "empty"), "\n")
	t.Run("client_secret_file", func(t *testing.T) {
		doc := strings.Replace(base, "client_id = \"client\"\n", "client_id = \"client\"\nclient_secret_file = \"empty\"\n", 1)
		if cfg, _ := parseDoc(t, dir, doc, nil); cfg != nil {
			t.Errorf("an empty client_secret_file is accepted: client secret %q", cfg.Provider.ClientSecret)
		}
	})
	t.Run("redis_password_file", func(t *testing.T) {
		doc := section("[session]", "store = \"redis\"\nredis_url = \"redis://r:6379/0\"\nredis_password_file = \"empty\"")
		if cfg, _ := parseDoc(t, dir, doc, nil); cfg != nil {
			t.Errorf("an empty redis_password_file is accepted: password %q", cfg.Redis.Password)
		}
	})
}

// TestDenyMethodStar: methods = ["*"] reads as "every method" (as in
// Envoy, Kong or Traefik) but is the literal method "*": the deny below
// never applies to any real request and /admin falls to the catch-all
// route. "*" is a valid token, so nothing says so.
func TestDenyMethodStar(t *testing.T) {
	doc := strings.Replace(base, "[[routes]]\npath = \"/**\"\n",
		"[[routes]]\npath = \"/admin/**\"\nmethods = [\"*\"]\ndeny = true\n\n[[routes]]\npath = \"/**\"\n", 1)
	cfg, problems := parseDoc(t, t.TempDir(), doc, nil)
	if cfg != nil && len(cfg.Warnings) == 0 {
		r := cfg.Proxy.Routes.Match("GET", "dash.example.com", "/admin/x")
		t.Errorf("methods = [\"*\"] on a deny route accepted silently; GET /admin/x is decided by %s (deny=%v)", r.Label(), r.Deny)
	}
	_ = problems
}

// TestRedisAddrsNeverEchoPassword: a Redis URL pasted into
// redis_cluster_addrs or redis_sentinel_addrs (which want host:port) is
// refused, and the problem quotes it whole, password included, in check's
// output and in the reload log. URL keys strip user information
// (withoutUserinfo); these do not.
func TestRedisAddrsNeverEchoPassword(t *testing.T) {
	const pw = "hunter2-s3cr3t"
	for _, key := range []string{"redis_cluster_addrs", "redis_sentinel_addrs"} {
		doc := section("[session]", "store = \"redis\"\nredis_sentinel_master = \"m\"\n"+key+" = [\"redis://default:"+pw+"@r:6379\"]")
		_, problems := parseDoc(t, t.TempDir(), doc, nil)
		if len(problems) == 0 {
			t.Fatalf("%s: no problem", key)
		}
		for _, p := range problems {
			if strings.Contains(p, pw) {
				t.Errorf("%s: problem echoes the password: %s", key, p)
			}
		}
	}
}

// TestRedisAddrsRefuseUserinfo: a host:port with user information before
// "@" ("PASSWORD@r:6379", "default:PASSWORD@r:6379" as redis-cli's -u
// spells it without the scheme) is no address: accepted, the password went
// into every dial error go-redis logs ("lookup PASSWORD@r: no such host"),
// and `sessions list` printed it; with a bad port, the problem quoted it.
// The problem names the key and never the password.
func TestRedisAddrsRefuseUserinfo(t *testing.T) {
	const pw = "hunter2-s3cr3t"
	for _, key := range []string{"redis_cluster_addrs", "redis_sentinel_addrs"} {
		for _, addr := range []string{pw + "@r:6379", "default:" + pw + "@r:6379", pw + "@r:63x79", "a@" + pw + "@r:6379", "[::1]:" + pw + "@r"} {
			doc := section("[session]", "store = \"redis\"\nredis_sentinel_master = \"m\"\n"+key+" = [\""+addr+"\"]")
			cfg, problems := parseDoc(t, t.TempDir(), doc, nil)
			if cfg != nil || len(problems) == 0 {
				t.Errorf("%s = [%q]: accepted", key, addr)
			}
			for _, p := range problems {
				if strings.Contains(p, pw) {
					t.Errorf("%s = [%q]: problem echoes the password: %s", key, addr, p)
				}
			}
		}
	}
}

// TestRedisURLProblemsHaveLines: a redis_url that go-redis refuses
// (a database that is not a number, an unknown option, a path with more
// than the database) passes config's check; the error only comes from
// building the store, so check prints it without its line ("FILE: session:
// redis_url: ...") and serve exits without one.
func TestRedisURLProblemsHaveLines(t *testing.T) {
	for _, u := range []string{"redis://r:6379/abc", "redis://r:6379/0?foo=bar", "redis://r:6379/0/extra"} {
		doc := section("[session]", "store = \"redis\"\nredis_url = \""+u+"\"")
		if cfg, _ := parseDoc(t, t.TempDir(), doc, nil); cfg != nil {
			t.Errorf("redis_url %q: accepted; only building the store refuses it, without a line", u)
		}
	}
}

// TestRedisURLSkipVerifyRefused: go-redis reads "skip_verify=true" in a
// rediss:// URL as InsecureSkipVerify, which the gateway offers nowhere
// for Redis: it turned verification off without a word, and made
// redis_tls_ca_file a no-op. Whoever then sits between the gateway and Redis
// reads the Redis password and can answer that a revoked session is still
// there.
func TestRedisURLSkipVerifyRefused(t *testing.T) {
	for _, u := range []string{"rediss://r:6380/0?skip_verify=true", "rediss://r:6380/0?db=0&skip_verify=1"} {
		doc := section("[session]", "store = \"redis\"\nredis_url = \""+u+"\"")
		cfg, problems := parseDoc(t, t.TempDir(), doc, nil)
		if cfg != nil || !strings.Contains(strings.Join(problems, "\n"), "session.redis_url: skip_verify") {
			t.Errorf("redis_url %q: problems %q; want skip_verify refused with its line", u, problems)
		}
	}
}

// TestNamedFileTooLarge: a *_file key that names /dev/zero (or a log file,
// by mistake) was read whole: check, serve and a running gateway's SIGHUP
// reload grew until the kernel killed them, instead of naming the line.
func TestNamedFileTooLarge(t *testing.T) {
	dir := t.TempDir()
	huge := filepath.Join(dir, "huge")
	writeFile(t, huge, strings.Repeat("x", maxFileSize+1))
	for _, name := range []string{huge, "/dev/zero"} {
		doc := strings.Replace(base, "client_id = \"client\"\n", "client_id = \"client\"\nclient_secret_file = \""+name+"\"\n", 1)
		_, problems := parseDoc(t, dir, doc, nil)
		want := "cfg.toml:7: provider.client_secret_file: cannot read file: " + name + " is larger than"
		if len(problems) != 1 || !strings.HasPrefix(problems[0], want) {
			t.Errorf("client_secret_file = %q: problems %q, want one starting %q", name, problems, want)
		}
	}
}

// TestNamedFileIsAPipeWithoutWriter: a *_file key naming a named pipe that
// no one writes to (a secret mounted wrong) blocked check, serve and a
// SIGHUP reload in open(2) for ever; it now reads as empty, a problem with
// its line.
func TestNamedFileIsAPipeWithoutWriter(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "secret")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(base, "client_id = \"client\"\n", "client_id = \"client\"\nclient_secret_file = \""+fifo+"\"\n", 1)
	done := make(chan []string, 1)
	go func() { _, problems := parseDoc(t, dir, doc, nil); done <- problems }()
	select {
	case problems := <-done:
		if len(problems) != 1 || !strings.HasPrefix(problems[0], "cfg.toml:7: provider.client_secret_file: ") {
			t.Errorf("problems %q, want one naming client_secret_file", problems)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("parsing a configuration naming a pipe without writer hangs")
	}
}

// TestConfigFileTooLarge: Load read the configuration file whole, whatever
// its size (--config /dev/zero).
func TestConfigFileTooLarge(t *testing.T) {
	_, err := Load("/dev/zero", nil)
	if err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("Load(/dev/zero) = %v, want a too-large error", err)
	}
}

// TestTLSFilesTooLarge: tls_cert_file and tls_key_file were read whole by
// tls.LoadX509KeyPair, past the bound of every other named file.
func TestTLSFilesTooLarge(t *testing.T) {
	dir := t.TempDir()
	doc := section("[server]", "tls_cert_file = \"/dev/zero\"\ntls_key_file = \"/dev/zero\"")
	_, problems := parseDoc(t, dir, doc, nil)
	if len(problems) != 2 || !strings.Contains(problems[0], "server.tls_cert_file: cannot read file: /dev/zero is larger than") ||
		!strings.Contains(problems[1], "server.tls_key_file: cannot read file: /dev/zero is larger than") {
		t.Errorf("problems %q, want one for each file", problems)
	}
}

// TestHeaderNamesFoldDots: the proxy removes inbound headers with '_' and
// '.' read as '-' (PHP and CGI turn both into '_'), but validation folded
// only '_': a claim header "X.Forwarded.User" passed beside the user header
// (a PHP app reads both as HTTP_X_FORWARDED_USER, the claim winning), and
// "X.Forwarded.For" passed although X-Forwarded-For cannot carry identity.
func TestHeaderNamesFoldDots(t *testing.T) {
	for _, tc := range []struct{ lines, want string }{
		{`claims = { "X.Forwarded.User" = "name" }`, `cfg.toml:18: headers.claims."X.Forwarded.User": header "X.Forwarded.User" is already used by headers.user`},
		{`claims = { "X.Forwarded.For" = "name" }`, `cfg.toml:18: headers.claims."X.Forwarded.For": header "X.Forwarded.For" cannot carry identity`},
		{`email = "X.Forwarded.User"`, `cfg.toml:18: headers.email: header "X.Forwarded.User" is already used by headers.user`},
	} {
		_, problems := parseDoc(t, t.TempDir(), base+"[headers]\n"+tc.lines+"\n", nil)
		if len(problems) != 1 || problems[0] != tc.want {
			t.Errorf("%s: problems %q, want %q", tc.lines, problems, tc.want)
		}
	}
}

// TestClaimHeaderEmptyName: a claims entry with an empty header name was
// accepted and then silently never sent.
func TestClaimHeaderEmptyName(t *testing.T) {
	_, problems := parseDoc(t, t.TempDir(), base+"[headers]\nclaims = { \"\" = \"tenant_id\" }\n", nil)
	want := `cfg.toml:18: headers.claims."": header name must not be empty`
	if len(problems) != 1 || problems[0] != want {
		t.Errorf("problems %q, want %q", problems, want)
	}
}

// TestByteOrderMark: a file saved with a UTF-8 byte-order mark (Windows
// editors, PowerShell 5's Out-File) was refused as "invalid character at
// start of key: U+00EF 'ï'".
func TestByteOrderMark(t *testing.T) {
	if _, problems := parseDoc(t, t.TempDir(), "\uFEFF"+base, nil); problems != nil {
		t.Errorf("a file starting with a byte-order mark: %q", problems)
	}
	_, problems := parseDoc(t, t.TempDir(), "\uFEFF"+base+"bogus = 1\n", nil)
	if want := "cfg.toml:17: routes[0].bogus: unknown key"; len(problems) != 1 || problems[0] != want {
		t.Errorf("problems %q, want %q", problems, want)
	}
}

// TestLargeDocumentLinear: finding each key's line scanned the document
// from its start (unstable.Parser.Shape), and each problem was compared
// with every earlier one: a 1 MiB file with 400,000 array elements of the
// wrong type kept check (and a SIGHUP reload) busy for many minutes. The
// test compares a document of 50,000 wrongly typed elements with one of
// 50,000 valid ones, the same parsing without a problem: naming each
// problem with its line takes 3–5 times the parse alone here (about 2
// under -race), while a scan of the earlier problems per problem took 375
// times (20 s) when tried.
// Timing two sizes of the wrongly typed document against each other (4×
// for linear work, 16× for quadratic) failed now and then on a loaded
// machine, where the larger document's time grew most (11.9× once).
func TestLargeDocumentLinear(t *testing.T) {
	const n = 50_000
	// The best of three, alternating: on a loaded machine one slow run of
	// either was read as quadratic growth.
	valid, wrong := time.Duration(1<<62), time.Duration(1<<62)
	for range 3 {
		valid = min(valid, loadScopes(t, n, `"openid",`))
		wrong = min(wrong, loadScopes(t, n, "1,"))
	}
	t.Logf("%d valid elements %v, as many of the wrong type %v", n, valid, wrong)
	if wrong > 20*valid {
		t.Errorf("%d wrongly typed elements took %v, as many valid ones %v (%.1f×; linear is 2–5×)",
			n, wrong, valid, float64(wrong)/float64(valid))
	}
}

// loadScopes loads a document whose scopes array has n copies of elem
// (an integer and a comma, or a string), checks that each integer is
// named with its line, and returns the CPU time the load took.
func loadScopes(t *testing.T, n int, elem string) time.Duration {
	t.Helper()
	doc := strings.Replace(base, "client_id = \"client\"\n", "client_id = \"client\"\nscopes = ["+strings.Repeat(elem, n)+"]\n", 1)
	dir := t.TempDir()
	start := cpuTime(t)
	_, problems := parseDoc(t, dir, doc, nil)
	elapsed := cpuTime(t) - start
	if elem != "1," {
		if problems != nil {
			t.Errorf("a document of %d valid scopes: %q", n, problems[0])
		}
		return elapsed
	}
	if len(problems) != n || problems[n-1] != fmt.Sprintf("cfg.toml:7: provider.scopes[%d]: must be a string, got integer", n-1) {
		t.Errorf("%d problems, the last %q", len(problems), problems[len(problems)-1])
	}
	return elapsed
}

// cpuTime is the CPU time this process has used. The test runs alone (it
// is not parallel), so what a load adds is the load's own work with its
// garbage collection; the wall clock also counted the time other programs
// on a loaded machine held the cores, and a multi-second load of the large
// document met more of it than the small one (7.4× at a load of 15).
func cpuTime(t *testing.T) time.Duration {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// TestURLPortOutOfRange: url.Parse accepts any digits as a port, so an
// upstream "http://127.0.0.1:65536" or a public_url with port 0 passed
// check, and every request then failed (a 502, a redirect URI no browser
// can follow).
func TestURLPortOutOfRange(t *testing.T) {
	for _, tc := range []struct{ from, to, want string }{
		{"http://127.0.0.1:3000", "http://127.0.0.1:65536", `cfg.toml:13: upstreams[0].url: invalid port in URL "http://127.0.0.1:65536"`},
		{"http://127.0.0.1:3000", "http://127.0.0.1:0", `cfg.toml:13: upstreams[0].url: invalid port in URL "http://127.0.0.1:0"`},
		{"https://dash.example.com", "https://dash.example.com:0", `cfg.toml:2: server.public_url: invalid port in URL "https://dash.example.com:0"`},
	} {
		_, problems := parseDoc(t, t.TempDir(), strings.Replace(base, tc.from, tc.to, 1), nil)
		if len(problems) != 1 || problems[0] != tc.want {
			t.Errorf("%s: problems %q, want %q", tc.to, problems, tc.want)
		}
	}
}

// TestMissingTablesNameALine: a required table left out of the file is a
// problem like any other, with a line: the file's last, where the table
// would be added, and the message names the table. Before, such problems
// were printed without a line.
func TestMissingTablesNameALine(t *testing.T) {
	for _, tc := range []struct{ name, doc, want string }{
		{"empty file", "", "cfg.toml:1: provider.client_id: required; the file has no [provider] table"},
		{"no provider", "[server]\npublic_url = \"https://auth.example.com\"\n\n",
			"cfg.toml:3: provider.client_id: required; the file has no [provider] table"},
		{"no routes", "# comment\n[server]\n", "cfg.toml:2: routes: at least one [[routes]] entry is required (nothing is allowed by default)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, problems := parseDoc(t, t.TempDir(), tc.doc, nil)
			if cfg != nil {
				t.Fatal("accepted")
			}
			found := false
			for _, p := range problems {
				if !withLine.MatchString(p) {
					t.Errorf("problem without a line: %q", p)
				}
				found = found || p == tc.want
			}
			if !found {
				t.Errorf("problems %q, want among them %q", problems, tc.want)
			}
		})
	}
}

var withLine = regexp.MustCompile(`^cfg\.toml:[1-9][0-9]*: `)

// TestTrustedProxyHostBitsWarned: "10.0.0.1/8" means 10.0.0.0/8, often a
// typo for the one address; it was widened silently.
func TestTrustedProxyHostBitsWarned(t *testing.T) {
	cfg, problems := parseDoc(t, t.TempDir(), section("[server]", `trusted_proxies = ["10.0.0.1/8", "10.1.0.0/16", "10.2.0.7"]`), nil)
	if cfg == nil {
		t.Fatalf("refused: %q", problems)
	}
	oneWarning(t, cfg.Warnings, "trusted_proxies",
		`cfg.toml:2: server.trusted_proxies[0]: warning: "10.0.0.1/8" has bits set past its /8: it trusts all of 10.0.0.0/8; write that, or 10.0.0.1/32 for the one address`)
}

// oneWarning checks that exactly one of warnings mentions about, and that
// it contains want.
func oneWarning(t *testing.T, warnings []string, about, want string) {
	t.Helper()
	n := 0
	for _, w := range warnings {
		if strings.Contains(w, about) {
			n++
			if !strings.Contains(w, want) {
				t.Errorf("warning %q, want one containing %q", w, want)
			}
		}
	}
	if n != 1 {
		t.Errorf("warnings %q: want exactly one about %s", warnings, about)
	}
}

// TestRouteUnderPrefixWarned: the gateway answers every path under its
// prefix itself, on every host, so a route there never decides a request;
// an operator who writes one (an app of its own under /oauth2) is told.
func TestRouteUnderPrefixWarned(t *testing.T) {
	doc := strings.Replace(base, "[[routes]]\npath = \"/**\"\n",
		"[[routes]]\npath = \"/oauth2/**\"\npublic = true\n\n[[routes]]\npath = \"/oauth2x/**\"\n\n[[routes]]\npath = \"/**\"\n", 1)
	cfg, problems := parseDoc(t, t.TempDir(), doc, nil)
	if cfg == nil {
		t.Fatalf("refused: %q", problems)
	}
	// One: /oauth2x/** is not under the prefix.
	oneWarning(t, cfg.Warnings, "server.prefix",
		`cfg.toml:16: routes[0].path: warning: unreachable: "/oauth2/**" is under server.prefix "/oauth2"`)
}

// TestExtraIssuerRepeated: a token is matched to the first issuer its exact
// iss names, so an extra issuer that repeats provider.issuer or an earlier
// entry never applies (and before discovery completed, a repeat of the
// provider's issuer took its tokens with the entry's audiences). Both were
// accepted silently; they are problems that name both lines, and an entry
// that differs only by a trailing slash is a warning.
func TestExtraIssuerRepeated(t *testing.T) {
	extra := func(iss ...string) string {
		doc := base
		for _, i := range iss {
			doc += "\n[[provider.extra_issuers]]\nissuer = \"" + i + "\"\naudiences = [\"portcullis\"]\n"
		}
		return doc
	}
	runProblemCases(t, t.TempDir(), []problemCase{
		{name: "the provider's issuer", doc: extra("https://accounts.google.com"), want: []string{
			`cfg.toml:19: provider.extra_issuers[0].issuer: "https://accounts.google.com" is provider.issuer (line 5), whose tokens are checked with provider.audiences: list more audiences there instead`}},
		{name: "listed twice", doc: extra("https://ci.example.com", "https://ci.example.com"), want: []string{
			`cfg.toml:23: provider.extra_issuers[1].issuer: "https://ci.example.com" is already trusted by provider.extra_issuers[0].issuer (line 19), and only the first entry applies to its tokens: merge the two`}},
		{name: "kind google's default issuer", doc: strings.Replace(extra("https://accounts.google.com"),
			`issuer = "https://accounts.google.com"`+"\nclient_id", "kind = \"google\"\nclient_id", 1), want: []string{
			`cfg.toml:19: provider.extra_issuers[0].issuer: "https://accounts.google.com" is provider.issuer (line 4), whose tokens are checked with provider.audiences: list more audiences there instead`}},
	})
	cfg, problems := parseDoc(t, t.TempDir(), extra("https://ci.example.com", "https://ci.example.com/", "https://accounts.google.com/"), nil)
	if cfg == nil {
		t.Fatalf("refused: %q", problems)
	}
	oneWarning(t, cfg.Warnings, "extra_issuers[1].issuer: warning",
		`cfg.toml:23: provider.extra_issuers[1].issuer: warning: "https://ci.example.com/" differs from provider.extra_issuers[0].issuer "https://ci.example.com" (line 19) only by a trailing slash`)
	oneWarning(t, cfg.Warnings, "extra_issuers[2].issuer: warning", `differs from provider.issuer "https://accounts.google.com" (line 5)`)
}

// TestPublicURLWithPath: the redirect URI is public_url + prefix +
// "/callback", but the gateway answers its endpoints at prefix from the
// host's root and decides routes, return URLs and cookies from there too.
// "https://dash.example.com/auth" was accepted, and the provider then sent
// every sign-in to /auth/oauth2/callback, which the gateway never answers.
func TestPublicURLWithPath(t *testing.T) {
	with := func(u string) string {
		return strings.Replace(base, `public_url = "https://dash.example.com"`, `public_url = "`+u+`"`, 1)
	}
	runProblemCases(t, t.TempDir(), []problemCase{
		{name: "path", doc: with("https://dash.example.com/auth/"), want: []string{
			`cfg.toml:2: server.public_url: "https://dash.example.com/auth/" has a path: the gateway serves its endpoints (/oauth2/callback) and the routes from the host's root, so the redirect URI https://dash.example.com/auth/oauth2/callback would never reach it; give public_url without a path (an origin) and set server.prefix to move the endpoints`}},
	})
	for _, u := range []string{"https://dash.example.com/%2F", "https://dash.example.com//", "https://dash.example.com/a"} {
		if _, problems := parseDoc(t, t.TempDir(), with(u), nil); len(problems) != 1 || !strings.Contains(problems[0], "has a path") {
			t.Errorf("%s: %q", u, problems)
		}
	}
	for _, u := range []string{"https://dash.example.com/", "https://dash.example.com:8443", "http://127.0.0.1:4180/"} {
		if cfg, problems := parseDoc(t, t.TempDir(), with(u), nil); cfg == nil {
			t.Errorf("%s refused: %q", u, problems)
		}
	}
}

// TestSessionDurationsBounded: a lifetime past the 400 days browsers keep
// a cookie ended sessions silently then (and one near Duration's limit
// overflowed the cookie's Max-Age into a deletion): a problem with its
// line now. A margin that common token lives are shorter than is a
// warning; a margin past a short lifetime (a test set-up's) is fine.
func TestSessionDurationsBounded(t *testing.T) {
	with := func(lines string) string { return section("[session]", lines) }
	runProblemCases(t, t.TempDir(), []problemCase{
		{name: "lifetime past the cookie cap", doc: with(`lifetime = "9601h"`), want: []string{
			`cfg.toml:9: session.lifetime: 9601h0m0s is longer than browsers keep a cookie (400 days, 9600h): sessions would end then, silently; at most "9600h"`}},
		{name: "lifetime at Duration's limit", doc: with(`lifetime = "2562047h47m16s"`), want: []string{
			`cfg.toml:9: session.lifetime: "2562047h47m16s" is longer than any the gateway can use (at most "87600h", 10 years)`}},
		{name: "zero lifetime", doc: with(`lifetime = "0s"`), want: []string{
			`cfg.toml:9: session.lifetime: must be greater than 0, got "0s"`}},
		{name: "negative margin", doc: with(`refresh_margin = "-1m"`), want: []string{
			`cfg.toml:9: session.refresh_margin: must not be negative, got "-1m"`}},
	})
	for _, ok := range []string{`lifetime = "9600h"`, "lifetime = \"1h\"\nrefresh_margin = \"1h\"\nrefresh = false", `refresh_margin = "4m59s"`,
		`lifetime = "30s"`, "lifetime = \"1m\"\nrefresh_margin = \"2m\""} {
		cfg, problems := parseDoc(t, t.TempDir(), with(ok), nil)
		if cfg == nil || strings.Contains(strings.Join(cfg.Warnings, "\n"), "session.") {
			t.Errorf("%s: problems %q, config %v", ok, problems, cfg)
		}
	}
	for _, margin := range []string{"10m", "1000h"} {
		cfg, problems := parseDoc(t, t.TempDir(), with(`refresh_margin = "`+margin+`"`), nil)
		if cfg == nil {
			t.Fatalf("%s refused: %q", margin, problems)
		}
		oneWarning(t, cfg.Warnings, "refresh_margin", `cfg.toml:9: session.refresh_margin: warning: `)
	}
}

// TestDurationsBounded: every duration key refuses a value past 10 years
// with its line. Go's durations end at about 292 years and the gateway adds
// to them: a shutdown_timeout near that end made a reload's "close the old
// Redis connection after shutdown_timeout + 1s" wrap negative, closing it
// at once under the requests in flight. Such values were accepted.
func TestDurationsBounded(t *testing.T) {
	const huge = `"2562047h47m16s"`
	runProblemCases(t, t.TempDir(), []problemCase{
		{name: "shutdown_timeout", doc: section("[server]", "shutdown_timeout = "+huge), want: []string{
			`cfg.toml:2: server.shutdown_timeout: "2562047h47m16s" is longer than any the gateway can use (at most "87600h", 10 years)`}},
		{name: "shutdown_delay", doc: section("[server]", `shutdown_delay = "87601h"`), want: []string{
			`cfg.toml:2: server.shutdown_delay: "87601h" is longer than any the gateway can use (at most "87600h", 10 years)`}},
		{name: "upgrade_idle_timeout", doc: section("[server]", "upgrade_idle_timeout = "+huge), want: []string{
			`cfg.toml:2: server.upgrade_idle_timeout: "2562047h47m16s" is longer than any the gateway can use (at most "87600h", 10 years)`}},
		{name: "groups_refresh", doc: section("[provider]", "groups_refresh = "+huge), want: []string{
			`cfg.toml:5: provider.groups_refresh: "2562047h47m16s" is longer than any the gateway can use (at most "87600h", 10 years)`}},
		{name: "upstream timeout", doc: section("[[upstreams]]", "timeout = "+huge), want: []string{
			`cfg.toml:12: upstreams[0].timeout: "2562047h47m16s" is longer than any the gateway can use (at most "87600h", 10 years)`}},
		{name: "negative flush_interval", doc: section("[[upstreams]]", `flush_interval = "-2562047h"`), want: []string{
			`cfg.toml:12: upstreams[0].flush_interval: "-2562047h" is longer than any the gateway can use (at most "87600h", 10 years)`}},
	})
	if cfg, problems := parseDoc(t, t.TempDir(), section("[server]", `shutdown_timeout = "87600h"`), nil); cfg == nil {
		t.Errorf("87600h refused: %q", problems)
	}
}

// TestOIDCScopesNeedOpenID: scopes without "openid" (copied from a plain
// OAuth 2.0 set-up) were accepted with an OpenID Connect provider, which
// then issues no ID token: every sign-in failed at the callback ("token
// response has no id_token"), found only in production.
func TestOIDCScopesNeedOpenID(t *testing.T) {
	runProblemCases(t, t.TempDir(), []problemCase{
		{name: "oidc without openid", doc: section("[provider]", `scopes = ["email", "profile"]`), want: []string{
			`cfg.toml:5: provider.scopes: must include "openid" with an OpenID Connect provider (kind "oidc"): without it no ID token is issued and every sign-in fails`}},
		{name: "empty", doc: section("[provider]", `scopes = []`), want: []string{
			`cfg.toml:5: provider.scopes: must include "openid" with an OpenID Connect provider (kind "oidc"): without it no ID token is issued and every sign-in fails`}},
		{name: "google", doc: section("[provider]", "kind = \"google\"\nscopes = [\"email\"]"), want: []string{
			`cfg.toml:6: provider.scopes: must include "openid" with an OpenID Connect provider (kind "google"): without it no ID token is issued and every sign-in fails`}},
	})
	if cfg, problems := parseDoc(t, t.TempDir(), section("[provider]", `scopes = ["openid", "groups"]`), nil); cfg == nil {
		t.Errorf("openid refused: %q", problems)
	}
}

// TestSecretControlCharacters: a client_secret or redis_password with a
// control character, most often the line feed that ends a value put into
// the environment with $(cat file), was accepted, and every sign-in then
// failed at the provider (invalid_client) or every Redis command at AUTH,
// far from the cause. The problem names the key and never the value.
func TestSecretControlCharacters(t *testing.T) {
	const pw = "hunter2-s3cr3t"
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "two-lines"), []byte(pw+"\nsecond line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	redis := "[session]\nstore = \"redis\"\nredis_url = \"redis://127.0.0.1:6379/0\"\n"
	for name, tc := range map[string]struct{ doc, want string }{
		"client_secret from the environment": {
			strings.Replace(base, `client_id = "client"`, "client_id = \"client\"\nclient_secret = \"${S}\"", 1),
			"cfg.toml:7: provider.client_secret: ends with a control character"},
		"client_secret_file of two lines": {
			strings.Replace(base, `client_id = "client"`, "client_id = \"client\"\nclient_secret_file = \"two-lines\"", 1),
			"cfg.toml:7: provider.client_secret_file: contains a control character at byte 15"},
		"redis_password from the environment": {
			strings.Replace(base, "[session]\n", redis+"redis_password = \"${S}\"\n", 1),
			"cfg.toml:11: session.redis_password: ends with a control character"},
	} {
		_, problems := parseDoc(t, dir, tc.doc, map[string]string{"S": pw + "\n"})
		got := strings.Join(problems, "\n")
		if !strings.Contains(got, tc.want) {
			t.Errorf("%s: problems %q, want %q", name, got, tc.want)
		}
		if strings.Contains(got, pw) {
			t.Errorf("%s: a problem shows the secret: %q", name, got)
		}
	}
}

// TestSecretsFileEveryBadLine: check prints every problem, not just the
// first; a secrets_file with two bad lines named only the first (problems
// are kept once per key, and every line of the file is the one key), so
// the operator fixed it and met the next on the following run.
func TestSecretsFileEveryBadLine(t *testing.T) {
	dir := t.TempDir()
	const short = "SHORTsecretVALUE"
	if err := os.WriteFile(filepath.Join(dir, "s"), []byte("# rotated\n"+short+"\n"+goodSecret+"\nzz!NOTB64value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := strings.Replace(base, `secrets = ["`+goodSecret+`"]`, `secrets_file = "s"`, 1)
	_, problems := parseDoc(t, dir, doc, nil)
	got := strings.Join(problems, "\n")
	for _, want := range []string{"cfg.toml:9: session.secrets_file: line 2 of the file: ", "cfg.toml:9: session.secrets_file: line 4 of the file: "} {
		if !strings.Contains(got, want) {
			t.Errorf("problems %q, want %q", got, want)
		}
	}
	if strings.Contains(got, short) || strings.Contains(got, "NOTB64") {
		t.Errorf("a problem shows a secret: %q", got)
	}
}

// TestPublicURLHostARequestCanName: url.Parse accepts a port with leading
// zeros and a name that is not ASCII, which no request's Host can spell
// (the gateway's Host rule refuses both). Accepted, the gateway never knew
// a request for public_url's host, and forward-auth's subrequest Host check
// let a client's X-Forwarded-Host decide a request for it.
func TestPublicURLHostARequestCanName(t *testing.T) {
	for _, tc := range []struct{ to, want string }{
		{"https://dash.example.com:0443", `cfg.toml:2: server.public_url: host "dash.example.com:0443" is not one a request can name (a DNS name in ASCII, an IPv4 address or a bracketed IPv6 address, and a port in plain decimal such as 8443): host port is not a number from 1 to 65535`},
		{"https://dash.exämple.com", `cfg.toml:2: server.public_url: host "dash.exämple.com" is not one a request can name (a DNS name in ASCII, an IPv4 address or a bracketed IPv6 address, and a port in plain decimal such as 8443): host has a character not allowed in a host name`},
	} {
		_, problems := parseDoc(t, t.TempDir(), strings.Replace(base, "https://dash.example.com", tc.to, 1), nil)
		if !slices.Contains(problems, tc.want) {
			t.Errorf("%s: problems %q, want among them %q", tc.to, problems, tc.want)
		}
	}
}
