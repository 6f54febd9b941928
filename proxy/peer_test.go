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
