package policy

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalize(t *testing.T) {
	tests := []struct {
		name, in, want string // want "" means refused
	}{
		{"empty", "", "/"},
		{"root", "/", "/"},
		{"plain", "/a/b", "/a/b"},
		{"trailing slash kept", "/a/b/", "/a/b/"},
		{"dot dot", "/public/../admin", "/admin"},
		{"encoded dot dot", "/public/%2e%2e/admin", "/admin"},
		{"encoded dot dot upper", "/public/%2E%2E/admin", "/admin"},
		{"mixed dot dot", "/public/.%2e/admin", "/admin"},
		{"dot", "/a/./b", "/a/b"},
		{"trailing dot", "/a/.", "/a/"},
		{"trailing dot dot", "/a/b/..", "/a/"},
		{"dot dot to root", "/a/..", "/"},
		{"dotfile", "/.well-known/x", "/.well-known/x"},
		{"double slash", "//admin", "/admin"},
		{"many slashes", "/a///b//", "/a/b/"},
		{"case kept", "/ADMIN", "/ADMIN"},
		{"unreserved decoded", "/%7euser", "/~user"},
		{"letters decoded", "/%61%62%2D%5F", "/ab-_"},
		{"space kept", "/a%20b", "/a%20b"},
		{"hex upper-cased", "/a%3cb", "/a%3Cb"},
		{"utf-8 kept", "/caf%C3%A9", "/caf%C3%A9"},
		{"utf-8 lower hex", "/caf%c3%a9", "/caf%C3%A9"},
		{"raw utf-8 encoded", "/caf\xc3\xa9", "/caf%C3%A9"},
		{"raw space encoded", "/a b", "/a%20b"},
		{"sub-delims raw", "/a!$&'()*+,=:@b", "/a!$&'()*+,=:@b"},
		{"sub-delim escapes kept", "/a%21%24%26%27%28%29%2a%2B%2C%3D%3A%40b", "/a%21%24%26%27%28%29%2A%2B%2C%3D%3A%40b"},
		{"encoded at sign kept", "/%40admin/x", "/%40admin/x"},
		{"encoded replacement char", "/%EF%BF%BD", "/%EF%BF%BD"},
		{"other scripts kept", "/%E6%97%A5%E6%9C%AC/%D0%B4%D0%B0", "/%E6%97%A5%E6%9C%AC/%D0%B4%D0%B0"},
		{"half-width katakana kept", "/%EF%BD%B1", "/%EF%BD%B1"},
		{"combining accent kept", "/cafe%CC%81", "/cafe%CC%81"},

		{"relative", "admin", ""},
		{"encoded slash", "/admin%2fx", ""},
		{"encoded slash upper", "/admin%2Fx", ""},
		{"encoded backslash", "/a%5cb", ""},
		{"encoded question", "/a%3Fb", ""},
		{"encoded hash", "/a%23b", ""},
		{"encoded percent", "/a%25b", ""},
		{"double encoded dot", "/a/%252e%252e/b", ""},
		{"raw backslash", "/a\\b", ""},
		{"raw hash", "/a#b", ""},
		{"raw semicolon", "/admin;x", ""},
		{"encoded semicolon", "/admin%3Bx/secret", ""},
		{"encoded semicolon lower", "/admin%3b/secret", ""},
		{"three dots", "/public/.../admin/secret", ""},
		{"dots and encoded space", "/public/..%20/admin/secret", ""},
		{"dots and raw space", "/public/.. /admin/secret", ""},
		{"dot and space", "/public/.%20/admin", ""},
		{"space then dots", "/public/%20../admin", ""},
		{"encoded dots and space", "/public/%2e%2e%20/admin", ""},
		{"three dots last", "/public/...", ""},
		{"dots inside a name kept", "/compare/main...dev", "/compare/main...dev"},
		{"trailing dot kept", "/wiki/Dr.", "/wiki/Dr."},
		{"space segment kept", "/a/%20/b", "/a/%20/b"},
		{"raw question", "/a?b", ""},
		{"encoded nul", "/admin%00", ""},
		{"raw nul", "/admin\x00", ""},
		{"encoded tab", "/%09/evil", ""},
		{"raw newline", "/a\nb", ""},
		{"encoded del", "/a%7F", ""},
		// C1 controls (U+0080-U+009F) are control characters as well: NEL
		// (U+0085) ends a line for Python's splitlines, Java's regexes and
		// many log viewers.
		{"encoded next line", "/a%C2%85b", ""},
		{"raw next line", "/a\xc2\x85b", ""},
		{"encoded first C1 control", "/a%C2%80", ""},
		{"encoded last C1 control", "/%C2%9F/x", ""},
		{"a character past the C1 controls kept", "/a%C2%A1", "/a%C2%A1"},
		// The line and paragraph separators end a line as NEL does
		// (JavaScript, Java, Python's splitlines), as the header rule says.
		{"encoded line separator", "/a%E2%80%A8b", ""},
		{"raw paragraph separator", "/a\xe2\x80\xa9b", ""},
		// 0x80-0x9F are also continuation bytes: "ą" is C4 85, "Б" D0 91.
		{"continuation bytes in the C1 range kept", "/%C4%85/\xd0\x91/%E2%80%A7", "/%C4%85/%D0%91/%E2%80%A7"},
		{"overlong slash", "/a/%C0%AF", ""},
		{"lone continuation", "/a%80", ""},
		{"truncated sequence", "/a%C3", ""},
		{"sequence across slash", "/a%C3/%A9", ""},
		{"surrogate", "/%ED%A0%80", ""},
		{"raw invalid utf-8", "/a\xff", ""},
		{"malformed escape short", "/a%4", ""},
		{"malformed escape end", "/a%", ""},
		{"malformed escape letters", "/a%zz", ""},
		{"climb", "/../x", ""},
		{"climb later", "/a/../../x", ""},
		{"encoded climb", "/%2e%2e", ""},
		{"two dot leader", "/app/%E2%80%A5/admin", ""},
		{"two dot leader and fullwidth solidus", "/app/%E2%80%A5%EF%BC%8Fadmin", ""},
		{"raw two dot leader", "/app/\xe2\x80\xa5/admin", ""},
		{"one dot leader", "/app/%E2%80%A4%E2%80%A4/admin", ""},
		{"fullwidth full stop", "/app/%EF%BC%8E%EF%BC%8E/admin", ""},
		{"small full stop", "/app/%EF%B9%92%EF%B9%92/admin", ""},
		{"fullwidth reverse solidus", "/app/%EF%BC%BCadmin", ""},
		{"fullwidth percent", "/app/%EF%BC%852e", ""},
		{"fullwidth letter", "/%EF%BD%81dmin", ""},
		{"ligature", "/pro%EF%AC%81le", ""},
		{"account of", "/%E2%84%80", ""},
		// Unicode 16's outlined digit one, unknown to this Unicode (15.0): NFKC
		// makes it "1" in newer runtimes. A CJK ideograph added since passes.
		{"outlined digit", "/v%F0%9C%B3%B1/x", ""},
		{"CJK ideograph of Unicode 15.1", "/%F0%AE%AF%B0", "/%F0%AE%AF%B0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Normalize(tt.in)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Normalize(%q) = %q, want refused", tt.in, got)
				}
				if !errors.Is(err, ErrBadPath) {
					t.Fatalf("Normalize(%q) error %v does not wrap ErrBadPath", tt.in, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Normalize(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("Normalize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestNormalizeNoAllocation(t *testing.T) {
	for _, p := range []string{"/", "/api/v1/users/42", "/a%20b/", "/static/app.js"} {
		if n := testing.AllocsPerRun(100, func() { _, _ = Normalize(p) }); n != 0 {
			t.Errorf("Normalize(%q) allocates %v times", p, n)
		}
	}
}

// checkNormal asserts the properties every output of Normalize has.
func checkNormal(t *testing.T, in, out string) {
	t.Helper()
	if !strings.HasPrefix(out, "/") {
		t.Fatalf("Normalize(%q) = %q: no leading slash", in, out)
	}
	if strings.Contains(out, "//") {
		t.Fatalf("Normalize(%q) = %q: repeated slash", in, out)
	}
	if strings.Contains(out+"/", "/./") || strings.Contains(out+"/", "/../") {
		t.Fatalf("Normalize(%q) = %q: dot-segment", in, out)
	}
	for i := 0; i < len(out); i++ {
		if c := out[i]; !isRawPathChar(c) && c != '%' {
			t.Fatalf("Normalize(%q) = %q: raw byte %q", in, out, c)
		}
	}
	again, err := Normalize(out)
	if err != nil || again != out {
		t.Fatalf("Normalize(%q) = %q, but Normalize(%q) = %q, %v", in, out, out, again, err)
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{
		"", "/", "/a/b/", "/public/../admin", "/public/%2e%2e/admin", "/admin%2fx", "//admin",
		"/ADMIN", "/admin;x", "/admin%00", "/a/%C0%AF", "/../x", "/%7euser", "/a%20b",
		"/caf\xc3\xa9", "/a/./b/../c//", "/%2E%2e/", "/.../..../", "/a%c3%a9%F0%9F%98%80",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, err := Normalize(in)
		if err != nil {
			if !errors.Is(err, ErrBadPath) {
				t.Fatalf("Normalize(%q) error %v does not wrap ErrBadPath", in, err)
			}
			return
		}
		checkNormal(t, in, out)
	})
}

func BenchmarkNormalize(b *testing.B) {
	for _, bc := range []struct{ name, path string }{
		{"normal", "/api/v1/dashboards/42/panels"},
		{"escaped", "/files/a%20b/caf%C3%A9.txt"},
		{"dirty", "/api//v1/./dashboards/%7e42/../42/"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Normalize(bc.path); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestMatchKey(t *testing.T) {
	for in, want := range map[string]string{
		"/plain/path": "/plain/path",
		"/%40admin/x": "/@admin/x",
		"/a%21%24%26%27%28%29%2A%2B%2C%3D%3A%40b": "/a!$&'()*+,=:@b",
		"/keep%3B%20%2F%25":                       "/keep%3B%20%2F%25", // ';', space, '/', '%' stay escaped
		"/x%40":                                   "/x@",
		"/%4":                                     "/%4",
		"/%40%40":                                 "/@@",
	} {
		if got := MatchKey(in); got != want {
			t.Errorf("MatchKey(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _ = MatchKey("/app/dashboard/x") }); n != 0 {
		t.Errorf("MatchKey of a path without escapes allocates %v times", n)
	}
}

// TestEscapedSubDelimMatchesItsRoute: "/%40admin" is the path "/@admin" to
// every application, so it meets "/@admin"'s route, in either spelling of
// the route.
func TestEscapedSubDelimMatchesItsRoute(t *testing.T) {
	for _, route := range []string{"/@admin/**", "/%40admin/**"} {
		table, err := Compile([]RouteConfig{{Path: route, AllowGroups: []string{"admins"}}, {Path: "/**"}})
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{"/@admin/x", "/%40admin/x"} {
			if r := table.Match("GET", "", p); r == nil || r.Index != 0 {
				t.Errorf("route %s: %s matched %v, want the first route", route, p, r)
			}
		}
	}
}
