package idp

import (
	"encoding/json"
	"math"
	"math/big"
	"strconv"
	"testing"
)

// FuzzExpiresIn: whatever a token endpoint writes for expires_in (a JSON
// number or string, or a form value), an expiry is read from it exactly
// when refExpiresIn reads one, and it is the same number of seconds: 1 s
// to maxExpiresIn (about ten years) from now, never negative or zero; a
// positive integer is read as itself, capped; anything else states none.
func FuzzExpiresIn(f *testing.F) {
	for _, s := range []string{"3600", `"3600"`, "-1", "0", "1e400", "0.5", "9223372036854775808", `"-9223372036854775809"`,
		"NaN", `"+5"`, `" 5"`, "1.7976931348623157e308", `"0x10"`, "null", "[1]", "315360000", "316224001", "1.5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		check := func(from string, v any) {
			n, ok := expiresIn(v)
			if ok && (n < 1 || n > maxExpiresIn) {
				t.Fatalf("expires_in %s (%T) read as %d seconds", from, v, n)
			}
			if want, wantOK := refExpiresIn(v); ok != wantOK || n != want && ok {
				t.Fatalf("expires_in %s (%T) read as %d, %v; want %d, %v", from, v, n, ok, want, wantOK)
			}
		}
		check("form "+s, s)
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			check("form int64 "+s, n) // as x/oauth2's Extra gives a form value
		}
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

// refExpiresIn is expiresIn's reference, with big numbers and math rather
// than the int64s and strconv of the code: a number of seconds at least
// one, rounded down and capped at maxExpiresIn; a string (a form value or
// a JSON string or number's text) only when it is a decimal integer.
func refExpiresIn(v any) (int64, bool) {
	var text string
	switch x := v.(type) {
	case int64:
		return min(x, maxExpiresIn), x >= 1
	case float64:
		if x >= 1 {
			return int64(math.Min(math.Floor(x), maxExpiresIn)), true
		}
		return 0, false
	case string:
		text = x
	case json.Number:
		text = string(x)
	default:
		return 0, false
	}
	n, ok := new(big.Int).SetString(text, 10)
	if !ok || n.Sign() <= 0 {
		return 0, false
	}
	if n.Cmp(big.NewInt(maxExpiresIn)) > 0 {
		return maxExpiresIn, true
	}
	return n.Int64(), true
}
