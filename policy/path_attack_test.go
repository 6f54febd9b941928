package policy

import (
	"errors"
	"net/url"
	"strings"
	"testing"
	"unicode"
)

// TestNormalizeURLUsesThePathAsSent: NormalizeURL sees the escapes the
// client sent even where url.URL.EscapedPath would re-encode the decoded
// path (and turn "%2F" into "/").
func TestNormalizeURLUsesThePathAsSent(t *testing.T) {
	for _, tt := range []struct{ target, want string }{
		{"/a/b", "/a/b"},
		{"/a/%7Bb%7D", "/a/%7Bb%7D"},
		{"/a/{b}", "/a/%7Bb%7D"},
		{"/a/%62", "/a/b"},
		{"/a/x%2Fy{", ""},
		{"/a/x%2F..%2F..%2Fb{", ""},
		{"/a/%5C|", ""},
		{"/a/%25|", ""},
		{"/a/%3F\"", ""},
	} {
		u, err := url.ParseRequestURI(tt.target)
		if err != nil {
			t.Fatal(err)
		}
		got, err := NormalizeURL(u)
		if tt.want == "" {
			if !errors.Is(err, ErrBadPath) {
				t.Errorf("%s: got %q, %v; want ErrBadPath", tt.target, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: got %q, %v; want %q", tt.target, got, err, tt.want)
		}
	}
}

// FuzzNormalizeInvariants: whatever Normalize accepts is a fixed point,
// decodes cleanly, holds no dot-segment once decoded (the upstream's view),
// not even once trailing dots and spaces are trimmed (Windows, IIS),
// and carries no encoded delimiter ("?", "#", "\\").
func FuzzNormalizeInvariants(f *testing.F) {
	for _, s := range []string{"/a/b", "/a%C2%85b", "/a%E2%80%A8", "/a/%2e%2e/b", "/a//b/", "/%41", "/a/./b/../c", "/é", "/a%7b", "/a/..%20/b", "/a/.../b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		n, err := Normalize(p)
		if err != nil {
			return
		}
		n2, err := Normalize(n)
		if err != nil || n2 != n {
			t.Fatalf("not idempotent: %q -> %q -> %q %v", p, n, n2, err)
		}
		dec, err := url.PathUnescape(n)
		if err != nil {
			t.Fatalf("%q -> %q undecodable", p, n)
		}
		for _, seg := range strings.Split(dec, "/") {
			if seg == "." || seg == ".." {
				t.Fatalf("%q -> %q has dot segment", p, n)
			}
			if strings.Contains(seg, ".") && strings.Trim(seg, ". ") == "" {
				t.Fatalf("%q -> %q has a segment of dots and spaces, a dot-segment once trimmed as Windows does", p, n)
			}
		}
		for _, r := range dec {
			if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
				t.Fatalf("%q -> %q carries the control character %U", p, n, r)
			}
		}
		if strings.Contains(n, "%3F") || strings.Contains(n, "%23") || strings.Contains(n, "%5C") || strings.Contains(n, "%2F") {
			t.Fatalf("%q -> %q carries an encoded delimiter", p, n)
		}
	})
}

func TestHasDotDotSegment(t *testing.T) {
	for p, want := range map[string]bool{
		"/a/../b": true, "/a/%2e%2e/b": true, "/a/.%2E": true, "/..": true, "/a/..b": false,
		"/a/./b": false, "/a/b..": false, "/a/%2e": false, "/a/b": false, "/": false,
	} {
		if got := HasDotDotSegment(p); got != want {
			t.Errorf("HasDotDotSegment(%q) = %v", p, got)
		}
	}
}

// FuzzHasDotDotSegment holds HasDotDotSegment, which allocates nothing, to
// the reading it replaced: split on '/', decode "%2e" and "%2E", compare.
func FuzzHasDotDotSegment(f *testing.F) {
	for _, p := range []string{"/a/../b", "/a/%2e%2E/b", "/a/.%2e", "/%2%2ee", "/%2e%2e%2e", "/a/..b", "..", "", "/%2E."} {
		f.Add(p)
	}
	f.Fuzz(func(t *testing.T, p string) {
		want := false
		for _, seg := range strings.Split(p, "/") {
			if strings.ReplaceAll(strings.ReplaceAll(seg, "%2e", "."), "%2E", ".") == ".." {
				want = true
			}
		}
		if got := HasDotDotSegment(p); got != want {
			t.Fatalf("HasDotDotSegment(%q) = %v, want %v", p, got, want)
		}
	})
}

func TestHasDotDotSegmentAllocates(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { HasDotDotSegment("/app/dashboard/%2e/x/y") }); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
