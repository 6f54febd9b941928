package config

import (
	"strings"
	"testing"
)

// TestExtendedConnectWarning: GODEBUG=http2xconnect=1 makes Go's HTTP/2
// server announce SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441) on both
// listeners, and the gateway answers every extended CONNECT 405. Browsers
// that take the offer (Chrome, Firefox) open their WebSockets that way and
// lose them all, where the HTTP/1.1 Upgrade would have been decided by the
// route. Nothing said so; it is a warning now (check --strict fails).
func TestExtendedConnectWarning(t *testing.T) {
	for _, tc := range []struct {
		godebug string
		warn    bool
	}{{"http2xconnect=1", true}, {"gctrace=0,http2xconnect=1", true}, {"http2xconnect=0", false}, {"", false}} {
		cfg := mustParse(t, t.TempDir(), base, map[string]string{"GODEBUG": tc.godebug})
		got := strings.Contains(strings.Join(cfg.Warnings, "\n"), "server.listen: warning: GODEBUG=http2xconnect=1 announces WebSockets over HTTP/2")
		if got != tc.warn {
			t.Errorf("GODEBUG %q: warned %v, want %v (%q)", tc.godebug, got, tc.warn, cfg.Warnings)
		}
	}
}
