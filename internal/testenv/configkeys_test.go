package testenv

import (
	"slices"
	"testing"
)

// TestConfigKeysReadsEveryDecoderMethod: the keys the decoder reads with
// count (server.max_connections) and anyDuration (routes' flush_interval)
// are listed too, so that the docs and example tests that follow
// ConfigKeys cover them.
func TestConfigKeysReadsEveryDecoderMethod(t *testing.T) {
	keys := ConfigKeys(t, "../../config")
	for _, k := range []string{"max_connections", "flush_interval", "listen", "routes", "secrets"} {
		if !slices.Contains(keys, k) {
			t.Errorf("ConfigKeys does not list %q (found %d keys)", k, len(keys))
		}
	}
}
