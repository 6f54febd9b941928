package proxy

import (
	"net/netip"
	"testing"
)

func TestPeerTrust(t *testing.T) {
	h := &Handler{cfg: Config{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}}}
	tests := []struct {
		remote string
		want   bool
	}{
		{"10.1.2.3:80", true},
		{"[::ffff:10.1.2.3]:80", true},
		{"[fd00::1]:443", true},
		{"11.0.0.1:80", false},
		{"", false},
		{"garbage", false},
		{"10.1.2.3", true},
	}
	for _, tt := range tests {
		if got := h.isTrusted(peerAddr(tt.remote)); got != tt.want {
			t.Errorf("trusted(%q) = %v, want %v", tt.remote, got, tt.want)
		}
	}
}

func TestPeerHost(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.7:5555":        "192.0.2.7",
		"[2001:db8::1]:443":     "2001:db8::1",
		"[::ffff:192.0.2.9]:80": "192.0.2.9",
		"192.0.2.7":             "192.0.2.7",
		"2001:db8::1":           "2001:db8::1",
		"[fe80::1%eth0]:8080":   "fe80::1%eth0",
		"":                      "",
	} {
		if got := peerHost(in); got != want {
			t.Errorf("peerHost(%q) = %q, want %q", in, got, want)
		}
		if a := testing.AllocsPerRun(10, func() { peerHost(in) }); a != 0 {
			t.Errorf("peerHost(%q) allocates %v times", in, a)
		}
	}
}
