package config

import (
	"strings"
	"testing"
)

// TestUpstreamURLPath: the gateway joins an upstream URL's path in front
// of every path it forwards, unchecked, so a path the gateway would never
// forward itself (a dot-segment that climbs out of it, an encoded "/" or
// ";", a raw ";" that Tomcat reads as a parameter, "//") reached the
// upstream in front of every authorized path. It is a problem naming the
// line, by policy.Normalize's rules; a path not in normal form names the
// form to write.
func TestUpstreamURLPath(t *testing.T) {
	with := func(u string) string {
		return strings.Replace(base, `url = "http://127.0.0.1:3000"`, `url = "`+u+`"`, 1)
	}
	refused := func(u, why string) problemCase {
		return problemCase{name: u, doc: with(u), want: []string{`cfg.toml:13: upstreams[0].url: "` + u + `" has a path the gateway would not forward (` + why + `): it goes in front of every forwarded path, so write it as the upstream must receive it`}}
	}
	unnormal := func(u, want string) problemCase {
		return problemCase{name: u, doc: with(u), want: []string{`cfg.toml:13: upstreams[0].url: "` + u + `" has a path that is not in normal form: it goes in front of every forwarded path, so write it as the upstream receives it, "` + want + `"`}}
	}
	runProblemCases(t, t.TempDir(), []problemCase{
		refused("http://app/../admin", "dot-segment above the root"),
		refused("http://app/api;jsessionid=x", `raw ';'`),
		refused("http://app/api%2F..%2Fadmin", `encoded '/'`),
		refused("http://app/api%3Bx", `encoded ';'`),
		refused("http://app/api%5C", `encoded '\\'`),
		refused("http://app/api%25", `encoded '%'`),
		refused("http://app/api%3F", `encoded '?'`),
		refused("http://app/api%23", `encoded '#'`),
		refused("http://app/a%00", "control character"),
		refused("http://app/a%C2%85", "control character or line separator"),
		refused("http://app/a%E2%80%A8", "control character or line separator"),
		refused("http://app/..%20/x", `a segment of dots and spaces that is not "." or ".."`),
		unnormal("http://app/public/../admin", "/admin"),
		unnormal("http://app/./api/", "/api/"),
		unnormal("http://app//api", "/api"),
		unnormal("http://app/%7euser", "/~user"),
		{name: "query", doc: with("http://app/api?x=1"), want: []string{`cfg.toml:13: upstreams[0].url: URL "http://app/api?x=1" must not have a query or fragment`}},
		refused("h2c://app/../admin", "dot-segment above the root"),
		{name: "ftp", doc: with("ftp://app"), want: []string{`cfg.toml:13: upstreams[0].url: must be an absolute http://, https:// or h2c:// URL, got "ftp://app"`}},
		{name: "h2c without host", doc: with("h2c:///x"), want: []string{`cfg.toml:13: upstreams[0].url: URL "h2c:///x" has no host`}},
		{name: "fragment", doc: with("http://app/api#x"), want: []string{`cfg.toml:13: upstreams[0].url: URL "http://app/api#x" must not have a query or fragment`}},
	})
	for _, u := range []string{"http://app", "http://app/", "http://app/api", "http://app/api/v1/", "http://app/a%20b", "http://app/caf%C3%A9", "http://app/%C4%85", "http://app/~user", "h2c://app:50051", "H2C://app/api"} {
		if cfg, problems := parseDoc(t, t.TempDir(), with(u), nil); cfg == nil {
			t.Errorf("%s refused: %q", u, problems)
		}
	}
}
