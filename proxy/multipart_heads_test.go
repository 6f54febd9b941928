package proxy

import (
	"strings"
	"testing"
	"time"
)

// TestHeadSpans: the spans a parser may read as a part's head start at
// each boundary, mid-line and in another case too, and end past the later
// of the first LF blank line and the first CRLF CRLF.
func TestHeadSpans(t *testing.T) {
	tests := []struct {
		name, body string
		want       []span
	}{
		{"CRLF head", "--b\r\nA: 1\r\n\r\nxx\r\n--b--\r\n", []span{{0, 13}, {17, 24}}},
		{"LF blank line first", "--b\r\nA: 1\n\nB: 2\r\n\r\nxx", []span{{0, 19}}},
		{"no CRLF CRLF", "--b\nA: 1\n\nxx", []span{{0, 12}}},
		{"mid-line, another case", "x --B\r\n\r\ntext", []span{{2, 9}}},
		{"none", "text", nil},
	}
	for _, tt := range tests {
		got := headSpans(tt.body, "b")
		if len(got) != len(tt.want) || (len(got) > 0 && !equalSpans(got, tt.want)) {
			t.Errorf("%s: headSpans = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func equalSpans(a, b []span) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestHeadSpansLinear: a 64 KiB body that repeats its boundary thousands
// of times is read in one pass. Searched again from each boundary for the
// blank lines, it took a third of a second of CPU per request (about 1 ms
// now); the bound is loose for shared and race-instrumented runs.
func TestHeadSpansLinear(t *testing.T) {
	body := "--b\r\nContent-Disposition: form-data; name=\"method\"\r\n" + strings.Repeat("--b\r\n", 13000) + "access"
	start := time.Now()
	headSpans(body, "b")
	rawNamingLines(body, "b")
	partNamesAccessToken(body, "b")
	if took := time.Since(start); took > 100*time.Millisecond {
		t.Fatalf("reading the heads of a %d-byte body took %v", len(body), took)
	}
}
