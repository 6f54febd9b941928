package proxy

import (
	"bytes"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/portcullis/portcullis"
)

// TestIdentityValuesHeaderRule: the forwarding step formats every identity
// value with idp.HeaderValue, the rule idp applies at login; a value it
// refuses (only an identity checked under other settings can carry one) is
// left out and logged, never altered, and non-ASCII text passes unchanged.
func TestIdentityValuesHeaderRule(t *testing.T) {
	n := newHeaderNames(Headers{User: "X-User", Email: "X-Email", Groups: "X-Groups",
		PreferredUsername: "X-Username", Claims: map[string]string{"X-Tenant": "tenant"}})
	for name, bad := range map[string]string{"tab": "a\tb", "CR": "a\rb", "LF": "a\nX-Injected: 1",
		"NUL": "a\x00b", "DEL": "a\x7fb", "trailing space": "a "} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, nil))
		id := &portcullis.Identity{Subject: bad, Email: bad, EmailVerified: true, PreferredUsername: bad,
			Groups: []string{"ok", bad}, Claims: map[string]any{"tenant": bad}}
		v := n.values(id, "", log)
		if v.header(slotUser) != nil || v.header(slotEmail) != nil || v.header(slotGroups) != nil ||
			v.header(slotUsername) != nil || v.header(slotClaims) != nil {
			t.Errorf("%s: values %+v, want every header left out", name, v)
		}
		for _, h := range []string{"X-User", "X-Email", "X-Groups", "X-Username", "X-Tenant"} {
			if !strings.Contains(logs.String(), "header="+h) {
				t.Errorf("%s: no log line for %s:\n%s", name, h, logs.String())
			}
		}
	}
	text := "Zoë Ånström 日本"
	id := &portcullis.Identity{Subject: text, Email: "zoe@example.com", EmailVerified: true,
		PreferredUsername: text, Groups: []string{text, "b"}, Claims: map[string]any{"tenant": float64(12345678)}}
	v := n.values(id, "", slog.New(slog.DiscardHandler))
	if v.vals[slotUser] != text || v.vals[slotUsername] != text || v.vals[slotGroups] != text+",b" ||
		v.vals[slotClaims] != "12345678" {
		t.Errorf("values %+v", v)
	}
}

// TestIdentityValuesShared: requests share one identity's cached values;
// what one request's header map does with them (an append, as Header.Add
// makes) never reaches the cache or another request.
func TestIdentityValuesShared(t *testing.T) {
	n := newHeaderNames(Headers{User: "X-User", Groups: "X-Groups", Assertion: "X-Assertion"})
	id := &portcullis.Identity{Subject: "alice", Groups: []string{"a", "b"}}
	v := n.values(id, "", slog.New(slog.DiscardHandler))
	v.vals[slotAssertion] = "signed"
	first, second := http.Header{}, http.Header{}
	n.setIdentity(first, v, "")
	n.setIdentity(second, v, "")
	first.Add("X-User", "mallory")
	first.Add("X-Groups", "admins")
	if got := second.Values("X-User"); len(got) != 1 || got[0] != "alice" {
		t.Errorf("second request's X-User = %q", got)
	}
	if v.vals[slotGroups] != "a,b" || v.vals[slotAssertion] != "signed" || v.vals[slotEmail] != "" {
		t.Errorf("cached values changed: %q", v.vals)
	}
	if _, ok := second["X-Email"]; ok {
		t.Error("an empty value was sent as a header")
	}
	if got := second.Get("X-Assertion"); got != "signed" {
		t.Errorf("X-Assertion = %q", got)
	}
}

// TestGroupWithCommaLeftOut: a group with a comma would read as two in the
// comma-separated header. idp refuses such an identity at sign-in; one that
// reaches forwarding all the same (a session saved by an older version)
// gets no groups header, with a warning naming the group.
func TestGroupWithCommaLeftOut(t *testing.T) {
	n := newHeaderNames(Headers{User: "X-User", Groups: "X-Groups"})
	var logs bytes.Buffer
	id := &portcullis.Identity{Subject: "alice", Groups: []string{"staff", "Sales, EMEA"}}
	v := n.values(id, "", slog.New(slog.NewTextHandler(&logs, nil)))
	if v.header(slotGroups) != nil || v.vals[slotUser] != "alice" {
		t.Errorf("values %q: want the groups header left out, the user kept", v.vals)
	}
	if !strings.Contains(logs.String(), "header=X-Groups") || !strings.Contains(logs.String(), "Sales, EMEA") {
		t.Errorf("log:\n%s", logs.String())
	}
}

// TestHeaderSetPrefix: a name ending in '*' matches every longer name that
// starts with it, in any letter case and '_' or '.' spelling, and not the
// prefix itself; an untrusted peer's request headers are looked up without
// allocating, prefixes included.
func TestHeaderSetPrefix(t *testing.T) {
	s := newHeaderSet("X-Real-Ip", "X-Pomerium-Claim-*")
	for name, want := range map[string]bool{
		"X-Pomerium-Claim-Email": true, "x_pomerium_claim_groups": true, "X.POMERIUM.CLAIM.X": true,
		"X-Pomerium-Claim-": false, "X-Pomerium-Clai": false, "X-Pomerium-Jwt-Assertion": false,
		"X-Real-Ip": true, "X-Real-Ipv6": false, "": false,
	} {
		if got := s.has(name); got != want {
			t.Errorf("has(%q) = %v, want %v", name, got, want)
		}
	}
	hdr := http.Header{"Accept": {"*/*"}, "User-Agent": {"x"}, "Cookie": {"a=b"}, "X-Request-Id": {"1"}}
	if n := testing.AllocsPerRun(100, func() { peerClaims.deleteFrom(hdr) }); n != 0 {
		t.Errorf("peerClaims.deleteFrom: %v allocations", n)
	}
}
