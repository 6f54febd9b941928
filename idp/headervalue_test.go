package idp

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestHeaderValue is the one rule for claims in headers: how values are
// formatted, and which cannot be carried faithfully.
func TestHeaderValue(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string // "" with refused
		bad  bool
	}{
		{name: "string", in: "a", want: "a"},
		{name: "bool", in: true, want: "true"},
		{name: "integer", in: float64(42), want: "42"},
		{name: "large integer", in: float64(12345678901), want: "12345678901"},
		{name: "fraction", in: 1.5, want: "1.5"},
		{name: "json.Number", in: json.Number("7"), want: "7"},
		{name: "array", in: []any{"a", "b", float64(1)}, want: "a,b,1"},
		{name: "string array", in: []string{"x", "y"}, want: "x,y"},
		{name: "object", in: map[string]any{"k": "v"}, want: `{"k":"v"}`},
		{name: "nested array is JSON", in: []any{"a", map[string]any{"k": "v\n"}}, want: `["a",{"k":"v\n"}]`},
		{name: "nil", in: nil, want: ""},
		{name: "non-ASCII passes unchanged", in: "José Müller 日本", want: "José Müller 日本"},
		{name: "bytes from 0x80", in: "a\x80\xff", want: "a\x80\xff"},
		{name: "inner space", in: "Ada Lovelace", want: "Ada Lovelace"},
		{name: "percent stays", in: "100%25", want: "100%25"},
		{name: "tab", in: "a\tb", bad: true},
		{name: "CR", in: "a\rb", bad: true},
		{name: "LF", in: "a\nX-Injected: 1", bad: true},
		{name: "CRLF", in: "a\r\nX-Injected: 1", bad: true},
		{name: "NUL", in: "a\x00b", bad: true},
		{name: "DEL", in: "a\x7fb", bad: true},
		{name: "BEL", in: "\x07", bad: true},
		{name: "leading space", in: " alice", bad: true},
		{name: "trailing space", in: "alice ", bad: true},
		// Go's strings.TrimSpace, JavaScript's trim() and Python's strip()
		// remove Unicode white space too: "alice" plus a no-break space
		// would read as alice.
		{name: "trailing no-break space", in: "alice\u00a0", bad: true},
		{name: "leading ideographic space", in: "\u3000alice", bad: true},
		{name: "trailing byte-order mark", in: "alice\ufeff", bad: true},
		{name: "no-break space in an array element", in: []string{"admins\u2007"}, bad: true},
		{name: "trailing next line (NEL)", in: "alice\u0085", bad: true},
		// U+180E was white space (Zs) up to Unicode 6.2: Java 8's
		// Character.isWhitespace (Spring's StringUtils.trimWhitespace,
		// Commons' StringUtils.strip) and Python 2's strip() remove it.
		{name: "trailing Mongolian vowel separator", in: "alice\u180e", bad: true},
		{name: "leading Mongolian vowel separator", in: "\u180ealice", bad: true},
		// C1 controls and the Unicode line separators split the
		// application's log lines or start terminal escapes.
		{name: "inner next line (NEL)", in: "alice\u0085bob", bad: true},
		{name: "inner CSI", in: "alice\u009b31m", bad: true},
		{name: "inner line separator", in: "alice\u2028bob", bad: true},
		{name: "paragraph separator in an array element", in: []string{"ok", "a\u2029b"}, bad: true},
		{name: "U+00A0 after the C1 range passes", in: "a\u00a1b", want: "a\u00a1b"},
		{name: "inner no-break space passes", in: "Ada\u00a0Lovelace", want: "Ada\u00a0Lovelace"},
		{name: "LF in array element", in: []any{"ok", "a\nb"}, bad: true},
		{name: "tab in string array", in: []string{"ok", "a\tb"}, bad: true},
		{name: "space around array element", in: []string{"ok", " admins"}, bad: true},
		// One group "staff,admins" would read as two groups.
		{name: "comma in a string array element", in: []string{"staff,admins"}, bad: true},
		{name: "comma in an array element", in: []any{"eng", "x,admins"}, bad: true},
		{name: "comma in a scalar passes", in: "Doe, Jane", want: "Doe, Jane"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := HeaderValue(tt.in)
			if tt.bad {
				if err == nil {
					t.Fatalf("HeaderValue(%q) = %q, want an error", tt.in, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("HeaderValue(%#v) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
		})
	}
}

// TestIdentityHeaderRule: every value bound for a header, the claims of
// HeaderClaims included, follows HeaderValue at login and for bearer
// tokens alike.
func TestIdentityHeaderRule(t *testing.T) {
	bad := map[string]string{"tab": "a\tb", "CR": "a\rb", "LF": "a\nb", "NUL": "a\x00b", "DEL": "a\x7fb",
		"leading space": " a"}
	fields := map[string]func(v string) map[string]any{
		"sub":                func(v string) map[string]any { return map[string]any{"sub": v} },
		"email":              func(v string) map[string]any { return map[string]any{"email": v} },
		"preferred_username": func(v string) map[string]any { return map[string]any{"preferred_username": v} },
		"groups":             func(v string) map[string]any { return map[string]any{"groups": []any{"ok", v}} },
		"header claim":       func(v string) map[string]any { return map[string]any{"tenant": map[string]any{"id": v}} },
	}
	c, err := New(Config{Issuer: "https://idp.example.com", ClientID: "client", HeaderClaims: []string{"tenant.id"}})
	if err != nil {
		t.Fatal(err)
	}
	for field, claims := range fields {
		for name, v := range bad {
			m := map[string]any{"sub": "u"}
			for k, x := range claims(v) {
				m[k] = x
			}
			if id, err := c.identity(m, "iss"); err == nil {
				t.Errorf("%s with %s: identity %+v accepted", field, name, id)
			}
		}
		m := map[string]any{"sub": "u"}
		for k, x := range claims("Zoë 日本") {
			m[k] = x
		}
		if _, err := c.identity(m, "iss"); err != nil {
			t.Errorf("%s with non-ASCII: %v", field, err)
		}
	}
	// A claim no header carries is not the rule's business.
	if _, err := c.identity(map[string]any{"sub": "u", "note": "a\nb"}, "iss"); err != nil {
		t.Errorf("claim not sent in a header: %v", err)
	}
}

// TestBearerHeaderRule: bearer identities never pass the callback, and get
// the same rule: JWT and introspected tokens with a claim a header cannot
// carry are invalid.
func TestBearerHeaderRule(t *testing.T) {
	p, c, clk := setup(t, oidctest.Options{User: &oidctest.User{Subject: "alice",
		Claims: map[string]any{"tenant": "t1\r\nX-Injected: 1"}}}, func(cfg *Config) {
		cfg.HeaderClaims = []string{"tenant"}
	})
	ctx := context.Background()
	for name, tok := range map[string]string{
		"JWT tab in preferred_username": p.AccessToken("alice", map[string]any{"preferred_username": "al\tice"}),
		"JWT LF in header claim":        p.AccessToken("alice", map[string]any{"tenant": "t1\nX-Injected: 1"}),
		"JWT NUL in group":              p.AccessToken("alice", map[string]any{"groups": []string{"a\x00"}}),
		"introspected CRLF claim":       p.OpaqueToken("alice", p.ClientID, "", clk.Now().Add(time.Hour)),
	} {
		id, err := c.VerifyBearer(ctx, tok)
		if id != nil || !errors.Is(err, ErrInvalidToken) || !strings.Contains(err.Error(), "control character") {
			t.Errorf("%s: id %+v, err = %v", name, id, err)
		}
	}
	if id, err := c.VerifyBearer(ctx, p.AccessToken("alice", map[string]any{"tenant": "Zoë"})); err != nil || id.Subject != "alice" {
		t.Errorf("non-ASCII claim: %v", err)
	}
}

// TestGroupWithCommaRefused: a group with a comma (a directory's display
// name "Sales, EMEA") would read as two in the comma-separated groups
// header, and leaving the header out would hide the user's other groups,
// some of which may restrict: the login is refused with ErrAmbiguousList,
// which names the group, whether the group comes from the token or the
// directory. An Entra app role with a comma is left out (it only grants).
func TestGroupWithCommaRefused(t *testing.T) {
	t.Run("directory", func(t *testing.T) {
		dir := &stubDirectory{groups: []string{"staff,admins@acme.com"}}
		_, c, _ := setup(t, oidctest.Options{User: googleUser("acme.com")}, func(cfg *Config) {
			cfg.Kind, cfg.HostedDomain, cfg.Directory = "google", "acme.com", dir
		})
		_, _, err := login(t, c)
		if !errors.Is(err, ErrAmbiguousList) || !strings.Contains(err.Error(), `"staff,admins@acme.com"`) {
			t.Errorf("login: %v, want ErrAmbiguousList naming the group", err)
		}
	})
	t.Run("token claim", func(t *testing.T) {
		_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "u", Claims: map[string]any{
			"groups": []any{"Sales, EMEA", "staff"}}}}, nil)
		if _, _, err := login(t, c); !errors.Is(err, ErrAmbiguousList) {
			t.Errorf("login: %v, want ErrAmbiguousList", err)
		}
	})
	t.Run("entra role", func(t *testing.T) {
		_, c, _ := setup(t, oidctest.Options{User: &oidctest.User{Subject: "oid", Claims: map[string]any{
			"groups": []any{"0b1f9851-1bf0-433f-aec3-cb9272f093dc"}, "roles": []any{"Reports.Read,Write"}}}},
			func(cfg *Config) { cfg.Kind, cfg.Directory = "entra", &stubDirectory{} })
		_, id, err := login(t, c)
		if err != nil || slices.Contains(id.Groups, "Reports.Read,Write") {
			t.Errorf("login: %v, groups %v: a role the groups header cannot carry is left out", err, id)
		}
	})
}
