package redact

import (
	"strings"
	"testing"
)

// TestSecret: a secret goes whole and in part (its first, middle or last
// bytes, cut by the quoting side or by a length limit), and text that
// shares fewer than MinRun bytes with it stays.
func TestSecret(t *testing.T) {
	const tok = "Zq3vN8sLw0PbT1xYk5Hd7Gm2Rc9Ue4Af"
	for _, c := range []struct{ in, want string }{
		{"token " + tok + " unknown", "token [redacted] unknown"},
		{"token " + tok[:16] + "… not found", "token [redacted]… not found"},
		{"got …" + tok[10:20] + "…", "got …[redacted]…"},
		{"cut at the end: " + tok[:9], "cut at the end: [redacted]"},
		{"twice " + tok[:12] + " and " + tok[20:], "twice [redacted] and [redacted]"},
		{"too short to tell: " + tok[:7], "too short to tell: " + tok[:7]},
		{"invalid_grant: no such grant", "invalid_grant: no such grant"},
	} {
		if got := Secret(c.in, tok); got != c.want {
			t.Errorf("Secret(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	if got := Secret("a", ""); got != "a" {
		t.Errorf("an empty secret changed the text: %q", got)
	}
	if got := Secret(strings.Repeat("x", 300), "short"); got != strings.Repeat("x", 300) {
		t.Error("a secret shorter than MinRun removed text that does not hold it")
	}
}
