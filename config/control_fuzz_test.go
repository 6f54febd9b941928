package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
)

// controlSlots are string values of the base document, each as the line
// that holds it (old) and the line that replaces it with the fuzzed value
// (%s, a TOML string) and the key a problem about it names.
var controlSlots = []struct{ old, line, key string }{
	{`public_url = "https://dash.example.com"`, `public_url = %s`, "server.public_url"},
	{`issuer = "https://accounts.google.com"`, `issuer = %s`, "provider.issuer"},
	{`client_id = "client"`, `client_id = %s`, "provider.client_id"},
	{`secrets = ["` + goodSecret + `"]`, `secrets = ["` + goodSecret + `", %s]`, "session.secrets[1]"},
	{`name = "app"`, `name = %s`, "upstreams[0].name"},
	{`url = "http://127.0.0.1:3000"`, `url = %s`, "upstreams[0].url"},
	{`path = "/**"`, `path = "/**"` + "\n" + `allow_groups = ["a", %s]`, "routes[0].allow_groups[1]"},
	{`path = "/**"`, `path = "/**"` + "\n" + `require_claims = { tenant = %s }`, "routes[0].require_claims.tenant"},
	{`path = "/**"`, `path = "/**"` + "\n" + `allow_emails = [%s]`, "routes[0].allow_emails[0]"},
}

// FuzzControlInStrings: a string value with any text at any of several
// keys (scalars, array elements, inline tables) never panics; a control
// character in it (C0, DEL, C1: unicode.IsControl) is always a problem at
// the value's line naming its key, and no problem's text holds a control
// character.
func FuzzControlInStrings(f *testing.F) {
	for i := range controlSlots {
		f.Add(uint8(i), false, "a\nb")
		f.Add(uint8(i), true, "x\u0085")
		f.Add(uint8(i), false, "\x1b[31m\t")
	}
	f.Fuzz(func(t *testing.T, slot uint8, multi bool, s string) {
		sl := controlSlots[int(slot)%len(controlSlots)]
		if !strings.Contains(base, sl.old) || strings.ContainsRune(s, '\uFFFD') {
			return
		}
		v := tomlString(s, multi)
		doc := strings.Replace(base, sl.old, fmt.Sprintf(sl.line, v), 1)
		line := strings.Count(doc[:strings.Index(doc, v)], "\n") + 1
		_, err := Parse("cfg.toml", []byte(doc), envOf(nil))
		var ps Problems
		if err != nil && !errors.As(err, &ps) {
			t.Fatalf("error %T: %v", err, err)
		}
		for _, p := range ps {
			if strings.IndexFunc(p.String(), unicode.IsControl) >= 0 {
				t.Errorf("problem %q holds a control character", p)
			}
		}
		if strings.IndexFunc(s, unicode.IsControl) < 0 {
			return
		}
		for _, p := range ps {
			if p.Line == line && p.Key == sl.key && strings.Contains(p.Msg, "control character") {
				return
			}
		}
		t.Errorf("a control character in %s (line %d) is no problem there: %v\n%s", sl.key, line, err, doc)
	})
}

// tomlString writes s as a TOML basic string, multi-line when multi, with
// every control character but the tab escaped (TOML allows no other raw).
func tomlString(s string, multi bool) string {
	var b strings.Builder
	q := `"`
	if multi {
		q = `"""`
	}
	b.WriteString(q)
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r != '\t' && unicode.IsControl(r):
			fmt.Fprintf(&b, `\u%04X`, r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteString(q)
	return b.String()
}
