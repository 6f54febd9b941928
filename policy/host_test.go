package policy

import (
	"strings"
	"testing"
)

func TestParseHost(t *testing.T) {
	tests := []struct {
		in, want, name, port string // want "" = refused
	}{
		{"dash.example.com", "dash.example.com", "dash.example.com", ""},
		{"Dash.Example.COM", "dash.example.com", "dash.example.com", ""},
		{"dash.example.com:8443", "dash.example.com:8443", "dash.example.com", "8443"},
		{"dash.example.com.", "dash.example.com", "dash.example.com", ""},
		{"DASH.example.com.:443", "dash.example.com:443", "dash.example.com", "443"},
		{"localhost", "localhost", "localhost", ""},
		{"under_score.test", "under_score.test", "under_score.test", ""},
		{"127.0.0.1:80", "127.0.0.1:80", "127.0.0.1", "80"},
		{"[::1]", "[::1]", "::1", ""},
		{"[::1]:8080", "[::1]:8080", "::1", "8080"},
		{"[FE80:0::1]:1", "[fe80::1]:1", "fe80::1", "1"},
		{"a.example.com:65535", "a.example.com:65535", "a.example.com", "65535"},
		{strings.Repeat("a", 63) + ".test", strings.Repeat("a", 63) + ".test", strings.Repeat("a", 63) + ".test", ""},

		{"", "", "", ""},
		{"a.example.com:80:1", "", "", ""},
		{"a.example.com::", "", "", ""},
		{"admin.example.com::1", "", "", ""},
		{"::1", "", "", ""},
		{"a.example.com:", "", "", ""},
		{"a.example.com:0", "", "", ""},
		{"a.example.com:080", "", "", ""},
		{"a.example.com:65536", "", "", ""},
		{"a.example.com:+80", "", "", ""},
		{"a.example.com:8a", "", "", ""},
		{"a.example.com 80", "", "", ""},
		{" a.example.com", "", "", ""},
		{"user@a.example.com", "", "", ""},
		{"user:pw@a.example.com", "", "", ""},
		{"a..example.com", "", "", ""},
		{".a.example.com", "", "", ""},
		{"a.example.com..", "", "", ""},
		{".", "", "", ""},
		{"a/b", "", "", ""},
		{"a\\b", "", "", ""},
		{"a%2eb", "", "", ""},
		{"a.example.com\x00", "", "", ""},
		{"exämple.com", "", "", ""},
		{"*.example.com", "", "", ""},
		{strings.Repeat("a", 64) + ".test", "", "", ""},
		{strings.Repeat("a.", 127) + "test", "", "", ""},
		{"1.2.3", "", "", ""},
		{"127.1", "", "", ""},
		{"0177.0.0.1", "", "", ""},
		{"0x7f.0.0.1", "", "", ""},
		{"256.0.0.1", "", "", ""},
		{"[::1", "", "", ""},
		{"[::1]x", "", "", ""},
		{"[::1]:", "", "", ""},
		{"[fe80::1%25eth0]", "", "", ""},
		{"[127.0.0.1]", "", "", ""},
		{"[::ffff:127.0.0.1]:80", "[::ffff:127.0.0.1]:80", "::ffff:127.0.0.1", "80"},
		{"[a.example.com]", "", "", ""},
	}
	for _, tt := range tests {
		h, err := ParseHost(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("ParseHost(%q) = %q, want an error", tt.in, h)
			}
			continue
		}
		if err != nil {
			t.Errorf("ParseHost(%q): %v", tt.in, err)
			continue
		}
		if h.String() != tt.want || h.Name != tt.name || h.Port != tt.port {
			t.Errorf("ParseHost(%q) = %q (name %q port %q), want %q (%q, %q)", tt.in, h, h.Name, h.Port, tt.want, tt.name, tt.port)
		}
	}
}

func TestParseHostNoAllocation(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() {
		h, _ := ParseHost("dash.example.com:443")
		_ = h.String()
	}); n != 0 {
		t.Fatalf("ParseHost allocates %v times", n)
	}
}

// FuzzParseHost checks that an accepted host is canonical: parsing its
// String again gives the same Host, it has at most one ':' outside brackets,
// and nothing a server behind the gateway could read as another host
// (spaces, '@', '/', '\\', control bytes) survives.
func FuzzParseHost(f *testing.F) {
	for _, s := range []string{"a.example.com", "A.Example.COM.:443", "[::1]:80", "127.0.0.1",
		"a.example.com:80:1", "a.example.com::", "u@h", "1.2.3", "[fe80::1%25x]",
		":443", ":", "[]", "[]:443", "a.example.com:", "a.example.com:0443", "a.example.com:65536", "a.example.com:+80",
		"[::ffff:127.0.0.1]", "a%2eexample.com", "b\u00fccher.example", "@a.example.com", "a:b@a.example.com", "a.example.com\\",
		" a.example.com", "a.example.com\t", "//a.example.com"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, err := ParseHost(s)
		if err != nil {
			return
		}
		c := h.String()
		h2, err := ParseHost(c)
		if err != nil || h2 != h || h2.String() != c {
			t.Fatalf("ParseHost(%q) = %q, which parses again as %q, %v", s, c, h2, err)
		}
		if strings.ContainsAny(h.Name, " @/\\%?#[]") || h.Name != strings.ToLower(h.Name) {
			t.Fatalf("ParseHost(%q): name %q is not canonical", s, h.Name)
		}
		if c[0] != '[' && strings.Count(c, ":") > 1 {
			t.Fatalf("ParseHost(%q) = %q: more than one ':'", s, c)
		}
		for i := 0; i < len(c); i++ {
			if c[i] <= ' ' || c[i] >= 0x7f {
				t.Fatalf("ParseHost(%q) = %q: byte %#x", s, c, c[i])
			}
		}
	})
}
