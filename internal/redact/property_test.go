package redact

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// reference is Secrets written the slow and obvious way: a byte of s goes
// when some run of MinRun bytes of s around it is also a run of one of vs
// (for a secret shorter than MinRun: when it lies in a whole occurrence of
// it), and each stretch of such bytes becomes one Mark; every other byte
// stays.
func reference(s string, vs ...string) string {
	gone := make([]bool, len(s))
	for _, v := range vs {
		switch {
		case v == "":
		case len(v) < MinRun:
			for i := 0; i+len(v) <= len(s); {
				if s[i:i+len(v)] != v {
					i++
					continue
				}
				for k := i; k < i+len(v); k++ {
					gone[k] = true
				}
				i += len(v)
			}
		default:
			for i := 0; i+MinRun <= len(s); i++ {
				if strings.Contains(v, s[i:i+MinRun]) {
					for k := i; k < i+MinRun; k++ {
						gone[k] = true
					}
				}
			}
		}
	}
	var b strings.Builder
	for i := range len(s) {
		switch {
		case !gone[i]:
			b.WriteByte(s[i])
		case i == 0 || !gone[i-1]:
			b.WriteString(Mark)
		}
	}
	return b.String()
}

// TestSecretAgreesWithReference: Secret removes every run of MinRun bytes
// of the secret that the message holds, the secret's own bytes just
// before or after a whole occurrence of it too, and changes nothing else.
func TestSecretAgreesWithReference(t *testing.T) {
	const tok = "Zq3vN8sLw0PbT1xYk5Hd7Gm2Rc9Ue4Af"
	cases := [][2]string{
		{tok, tok},            // the message is the secret
		{tok + tok, tok},      // twice, touching
		{tok[25:] + tok, tok}, // a run of 7 before a whole one
		{"x" + tok[24:] + tok + tok[:7] + "y", tok},
		{tok[:12] + tok[4:20], tok},     // overlapping runs
		{"aaaaaaaaaaaaa", "aaaaaaaaab"}, // repeated bytes
		{"abcdefgh" + "abcdefghabcdefgh", "bcdefghabcdefgha"},
		{"héllo wörld ünïcödé", "ö wörld ün"},
		{"token abc here", "abc"}, // shorter than MinRun
		{"abcabc abc", "abc"},
		{"abcdefg", "abcdefgh"},
	}
	for _, c := range cases {
		if got, want := Secret(c[0], c[1]), reference(c[0], c[1]); got != want {
			t.Errorf("Secret(%q, %q) = %q, want %q", c[0], c[1], got, want)
		}
	}
}

// FuzzSecret compares Secrets with reference on any message and two
// secrets.
func FuzzSecret(f *testing.F) {
	f.Add("token Zq3vN8sLw0PbT1xYk5Hd unknown", "Zq3vN8sLw0PbT1xYk5Hd", "")
	f.Add("abababababababab", "babababa", "ab")
	f.Add("t=AAAAAAAAAA%2Fq%2BCCCCCCCCCC", "AAAAAAAAAA/q+CCCCCCCCCC", "AAAAAAAAAA%2Fq%2BCCCCCCCCCC")
	f.Fuzz(func(t *testing.T, s, v, w string) {
		if got, want := Secrets(s, v, w), reference(s, v, w); got != want {
			t.Errorf("Secrets(%q, %q, %q) = %q, want %q", s, v, w, got, want)
		}
	})
}

// TestSecretsAtOnce: a value and its form-encoded spelling, the message
// quoting the latter. One removed after the other left what lay between
// the first one's Marks ("%2Fq%2B").
func TestSecretsAtOnce(t *testing.T) {
	const v, q = "AAAAAAAAAA/q+CCCCCCCCCC", "AAAAAAAAAA%2Fq%2BCCCCCCCCCC"
	if got := Secrets("t="+q+".", v, q); got != "t=[redacted]." {
		t.Errorf("Secrets = %q, want %q", got, "t=[redacted].")
	}
}

// TestSecretRandom builds messages out of pieces of a small-alphabet
// secret, so that runs overlap, repeat and touch, and compares.
func TestSecretRandom(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		v := randomString(r, 1+r.IntN(24), "ab\xc3\xa9")
		var s strings.Builder
		for range r.IntN(6) {
			if r.IntN(2) == 0 {
				i := r.IntN(len(v))
				s.WriteString(v[i : i+r.IntN(len(v)-i+1)])
			} else {
				s.WriteString(randomString(r, r.IntN(5), "abc"))
			}
		}
		if got, want := Secret(s.String(), v), reference(s.String(), v); got != want {
			t.Fatalf("Secret(%q, %q) = %q, want %q", s.String(), v, got, want)
		}
	}
}

func randomString(r *rand.Rand, n int, alphabet string) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}
