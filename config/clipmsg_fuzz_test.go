package config

import (
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzClipMsg: a clipped message is at most maxMsg bytes of the message
// plus the marker, keeps a prefix and a suffix of it, says how many bytes
// it left out, and a message within the bound is kept whole. A message
// of UTF-8 text is clipped to UTF-8 text, about maxMsg bytes of it.
func FuzzClipMsg(f *testing.F) {
	f.Add(strings.Repeat("a", maxMsg))
	f.Add(strings.Repeat("é", maxMsg))
	f.Add(strings.Repeat("\x80", 3*maxMsg))
	f.Add(strings.Repeat("日本", maxMsg/3) + strings.Repeat("x", 7))
	f.Fuzz(func(t *testing.T, msg string) {
		got := clipMsg(msg)
		if len(msg) <= maxMsg {
			if got != msg {
				t.Fatalf("a message of %d bytes was changed: %q", len(msg), got)
			}
			return
		}
		head, tail, ok := clipped(msg, got)
		if !ok {
			t.Fatalf("%q is no prefix of the message, a marker with the count of bytes left out and a suffix", got)
		}
		if len(head)+len(tail) > maxMsg {
			t.Errorf("keeps %d + %d bytes of a %d-byte message", len(head), len(tail), len(msg))
		}
		if !utf8.ValidString(msg) {
			return // cut where a rune would start; a run of stray bytes may leave little
		}
		if !utf8.ValidString(got) {
			t.Errorf("clipping %q made invalid UTF-8: %q", msg, got)
		}
		// A rune is at most utf8.UTFMax bytes: the cuts move less than that.
		if len(head) <= maxMsg/2-utf8.UTFMax || len(tail) <= maxMsg/4-utf8.UTFMax {
			t.Errorf("keeps %d + %d bytes of a %d-byte message", len(head), len(tail), len(msg))
		}
	})
}

// clipped splits got into a prefix of msg, a marker that counts the bytes
// between them, and a suffix of msg. The message may hold the marker's
// text itself, before or after the cut, so every place the marker could
// start is tried.
func clipped(msg, got string) (head, tail string, ok bool) {
	const open, shut = "…(", " bytes left out)…"
	for h := 0; h <= len(got) && h <= len(msg); h++ {
		if !strings.HasPrefix(got[h:], open) || got[:h] != msg[:h] {
			continue
		}
		rest := got[h+len(open):]
		digits := len(rest) - len(strings.TrimLeft(rest, "0123456789"))
		head, tail = got[:h], rest[digits+len(shut):]
		if strings.HasPrefix(rest[digits:], shut) && strings.HasSuffix(msg, tail) && rest[:digits] == itoa(len(msg)-h-len(tail)) {
			return head, tail, true
		}
	}
	return "", "", false
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}
