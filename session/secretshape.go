package session

import "fmt"

// The shapes of a secret that no random source makes, which
// SecretLooksTyped warns about. CheckSecret's byte histogram cannot see them: the ASCII of a password, base64-encoded, has
// 20 or more distinct bytes and scores over 4 bits per byte (a lower-case
// pangram passed); a phrase that happens to be valid base64 decodes into
// bytes with a histogram as flat as random ones
// ("ChangeMeToSomethingRandom" twice passed); and a 16-byte pattern
// written twice, or 32 bytes counting up from 0, has 16 or 32 distinct
// values. Random secrets meet these rules with a chance of about 10^-8
// at most: the worst case is the hex of 64 bytes, whose characters carry
// 4 bits each (rough odds below; TestRandomSecretsPass draws the
// encodings operators use: base64 of 32 and 64 bytes, and hex).
const (
	// minRepeatBytes: a run of this many bytes seen twice. In 64 random
	// bytes about 2^-53 (~1,700 pairs of places, 2^-64 each); in the 48
	// bytes a hex secret decodes to (42 random bits per 8 bytes), 2^-32.
	minRepeatBytes = 8
	// minStepBytes: this many bytes in a row, each the one before plus
	// one same step (mod 256): "abcdefgh", eight equal bytes, 0, 97, 194…
	minStepBytes = 8
	// minRepeatChars and minStepChars are the same rules for the text as
	// written, whose characters carry 4 (hex) to 6 (base64) bits each: in
	// 128 hex characters a repeated run of 10 comes about once in 2*10^8
	// secrets, a stepped one once in 4*10^8 (extrapolated from runs of 5
	// to 7 in 300,000 draws); in base64, under 10^-12.
	minRepeatChars = 10
	minStepChars   = 10
)

// textSecret reports whether b is text (printable ASCII, tabs and line
// breaks): a password or phrase written in base64, not random bytes. 32
// random bytes are all of these with a probability of (98/256)^32, 10^-13.
func textSecret(b []byte) bool {
	for _, c := range b {
		if (c < ' ' || c > '~') && c != '\t' && c != '\n' && c != '\r' {
			return false
		}
	}
	return true
}

// secretShape names the first shape of b no random source makes (unit
// names what b counts: "bytes" or "characters"), "" when it has none. It
// never quotes b: the run it found is part of the secret.
func secretShape(b []byte, unit string, repeat, step int) string {
	if repeatsRun(b, repeat) {
		return fmt.Sprintf("repeats a run of %d %s", repeat, unit)
	}
	if steppedRun(b, step) {
		return fmt.Sprintf("has %d or more %s in a row that differ by one same step (a sequence or a repeated value)", step, unit)
	}
	return ""
}

// repeatsRun reports whether some run of n bytes occurs twice in b (the
// two may overlap: "abababab…").
func repeatsRun(b []byte, n int) bool {
	seen := make(map[string]struct{}, len(b))
	for i := 0; i+n <= len(b); i++ {
		k := string(b[i : i+n])
		if _, ok := seen[k]; ok {
			return true
		}
		seen[k] = struct{}{}
	}
	return false
}

// steppedRun reports whether b holds n values in a row whose differences
// (mod 256) are all the same.
func steppedRun(b []byte, n int) bool {
	run := 2
	for i := 2; i < len(b); i++ {
		if b[i]-b[i-1] == b[i-1]-b[i-2] {
			run++
		} else {
			run = 2
		}
		if run >= n {
			return true
		}
	}
	return false
}
