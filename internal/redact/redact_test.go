package redact

import (
	"strings"
	"testing"
	"time"
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

// TestSecretCostFollowsTheSecret: a client chooses the authorization code
// (tens of KiB in a callback URL) that a refused exchange's error is
// searched for, so the cost may grow with the secret's length but not with
// the message's times the secret's: a 200-byte message costs about what a
// 25-byte one does. Searching the code at every position of the message
// made it 8 times (50 ms of CPU a refused callback). Fastest of several
// runs each, so a loaded machine slows both alike.
func TestSecretCostFollowsTheSecret(t *testing.T) {
	v := strings.Repeat("aaaaaaab", 8<<10)
	fastest := func(s string) time.Duration {
		best := time.Hour
		for range 5 {
			start := time.Now()
			Secret(s, v)
			best = min(best, time.Since(start))
		}
		return best
	}
	short, long := fastest(strings.Repeat("aaaaaaac", 3)), fastest(strings.Repeat("aaaaaaac", 25))
	t.Logf("a 24-byte message %v, a 200-byte one %v", short, long)
	if long > 3*short+time.Millisecond {
		t.Errorf("a 200-byte message took %v against %v for 24 bytes: the cost grows with the message times the secret", long, short)
	}
}
