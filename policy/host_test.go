package policy

import "testing"

func TestNormalizeHost(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"dash.example.com", "dash.example.com"},
		{"Dash.Example.COM", "dash.example.com"},
		{"dash.example.com:8443", "dash.example.com"},
		{"dash.example.com.", "dash.example.com"},
		{"dash.example.com.:443", "dash.example.com"},
		{"dash.example.com..", "dash.example.com."},
		{"[::1]:80", "::1"},
		{"[::1]", "::1"},
		{"[FE80::1]", "fe80::1"},
		{"::1", "::1"},
		{"127.0.0.1:80", "127.0.0.1"},
		{"", ""},
	} {
		if got := NormalizeHost(tt.in); got != tt.want {
			t.Errorf("NormalizeHost(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNormalizeHostNoAllocation(t *testing.T) {
	if n := testing.AllocsPerRun(100, func() { NormalizeHost("dash.example.com:443") }); n != 0 {
		t.Fatalf("NormalizeHost allocates %v times", n)
	}
}
