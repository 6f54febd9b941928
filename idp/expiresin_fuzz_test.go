package idp

import (
	"encoding/json"
	"testing"
)

// FuzzExpiresIn: whatever a token endpoint writes for expires_in (a JSON
// number or string, or a form value), an expiry read from it is 1 s to
// maxExpiresIn (about ten years) from now, never negative or zero; a
// positive integer is read as itself, capped.
func FuzzExpiresIn(f *testing.F) {
	for _, s := range []string{"3600", `"3600"`, "-1", "0", "1e400", "0.5", "9223372036854775808", `"-9223372036854775809"`,
		"NaN", `"+5"`, `" 5"`, "1.7976931348623157e308", `"0x10"`, "null", "[1]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(from string, v any) {
			n, ok := expiresIn(v)
			if ok && (n < 1 || n > maxExpiresIn) {
				t.Fatalf("expires_in %s (%T) read as %d seconds", from, v, n)
			}
		}
		check("form "+s, s)
		var v any
		if json.Unmarshal([]byte(s), &v) == nil {
			check("JSON "+s, v)
		}
		var num json.Number
		if json.Unmarshal([]byte(s), &num) == nil {
			check("JSON number "+s, num)
		}
	})
}
