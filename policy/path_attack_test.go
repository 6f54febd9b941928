package policy

import (
	"errors"
	"net/url"
	"testing"
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
