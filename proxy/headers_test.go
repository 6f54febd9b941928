package proxy

import (
	"bytes"
	"log/slog"
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
		if v.user != nil || v.email != nil || v.groups != nil || v.username != nil || v.claims[0] != nil {
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
	if v.user[0] != text || v.username[0] != text || v.groups[0] != text+",b" || v.claims[0][0] != "12345678" {
		t.Errorf("values %+v", v)
	}
}
