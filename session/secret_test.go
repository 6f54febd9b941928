package session

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"testing"
)

// fixedRandom is 32 bytes drawn once from crypto/rand.
var fixedRandom = []byte{
	0x5c, 0x8e, 0x21, 0xf7, 0x03, 0x9a, 0xd4, 0x6b, 0xe0, 0x17, 0xb2, 0x48, 0x7f, 0xc5, 0x3e, 0x91,
	0x0d, 0xa6, 0x59, 0xee, 0x72, 0x24, 0xbf, 0x86, 0x1a, 0xd9, 0x63, 0x35, 0xfc, 0x4e, 0x97, 0x08,
}

func TestCheckSecret(t *testing.T) {
	counting := make([]byte, 32)
	stepped := make([]byte, 32)
	for i := range 32 {
		counting[i] = byte(i)
		stepped[i] = byte(i*97 + 13) // 32 distinct values, a flat histogram
	}
	for _, tc := range []struct {
		name   string
		secret []byte
		ok     bool
	}{
		{"32 random bytes", fixedRandom, true},
		{"64 random bytes", append(randomSecret(t), randomSecret(t)...), true},
		{"31 bytes", fixedRandom[:31], false},
		{"32 zero bytes", make([]byte, 32), false},
		{"repeated 4-byte pattern", bytes.Repeat([]byte("abcd"), 8), false},
		{"repeated 8-byte pattern", bytes.Repeat([]byte("Pa55w0rd"), 4), false},
		{"lower-case word", []byte(strings.Repeat("secret", 6)), false},
		{"nil", nil, false},
		// Typed shapes pass the histogram: SecretLooksTyped warns of them.
		{"lower-case pangram", []byte("thequickbrownfoxjumpsoverthelazydog"), true},
		{"bytes counting up", counting, true},
		{"bytes in steps of 97", stepped, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckSecret(tc.secret); (err == nil) != tc.ok {
				t.Errorf("CheckSecret = %v, want ok %v", err, tc.ok)
			}
		})
	}
	// Random secrets must pass essentially always.
	for range 2000 {
		if err := CheckSecret(randomSecret(t)); err != nil {
			t.Fatalf("random secret refused: %v", err)
		}
	}
}

func TestDecodeSecret(t *testing.T) {
	raw := append([]byte{0xfb, 0xff, 0xfe}, fixedRandom[3:]...) // base64 with + and / (- and _)
	for _, tc := range []struct {
		name string
		in   string
		ok   bool
	}{
		{"standard padded", base64.StdEncoding.EncodeToString(raw), true},
		{"standard raw", base64.RawStdEncoding.EncodeToString(raw), true},
		{"url-safe padded", base64.URLEncoding.EncodeToString(raw), true},
		{"url-safe raw", base64.RawURLEncoding.EncodeToString(raw), true},
		{"surrounding space", "  " + base64.StdEncoding.EncodeToString(raw) + "\n", true},
		{"not base64", "this is not base64 at all!!", false},
		{"empty", "", false},
		{"too short", base64.StdEncoding.EncodeToString(raw[:16]), false},
		{"zeros", base64.StdEncoding.EncodeToString(make([]byte, 32)), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeSecret(tc.in)
			if (err == nil) != tc.ok {
				t.Fatalf("DecodeSecret = %v, want ok %v", err, tc.ok)
			}
			if tc.ok && !bytes.Equal(got, raw) {
				t.Errorf("DecodeSecret = %x, want %x", got, raw)
			}
			if err != nil && tc.in != "" && strings.Contains(err.Error(), strings.TrimSpace(tc.in)) {
				t.Errorf("error echoes the secret: %v", err)
			}
		})
	}
}

// TestSecretLooksTyped: secrets that pass CheckSecret's histogram but no
// random source makes are named, without quoting them.
func TestSecretLooksTyped(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	counting := make([]byte, 32)
	stepped := make([]byte, 32)
	for i := range 32 {
		counting[i] = byte(i)
		stepped[i] = byte(i*97 + 13)
	}
	for _, tc := range []struct{ name, written, why string }{
		{"lower-case pangram", b64([]byte("thequickbrownfoxjumpsoverthelazydog")), "decodes to text"},
		{"a password with a line feed", b64([]byte("mysupersecretpasswordthatislong!\n")), "decodes to text"},
		{"a password in base64", b64([]byte("correct horse battery staple 2024")), "decodes to text"},
		{"random 16 bytes twice", b64(append(fixedRandom[:16:16], fixedRandom[:16]...)), "repeats a run of 8 bytes"},
		{"random 24 bytes, then 8 of them again", b64(append(fixedRandom[:24:24], fixedRandom[2:10]...)), "repeats a run of 8 bytes"},
		{"bytes counting up", b64(counting), "8 or more bytes in a row"},
		{"bytes in steps of 97", b64(stepped), "8 or more bytes in a row"},
		{"random with 8 equal bytes", b64(append(fixedRandom[:24:24], bytes.Repeat([]byte{0xaa}, 8)...)), "8 or more bytes in a row"},
		// Phrases of base64's letters: their bytes look random.
		{"a phrase twice", "ChangeMeToSomethingRandomChangeMeToSomethingRandom", "as written repeats a run of 10 characters"},
		{"a name and year twice", "PortcullisSessionSecret2026PortcullisSessionSecret2026", "as written repeats"},
		{"the base64 alphabet", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", "as written has 10 or more characters in a row"},
		{"32 random bytes", b64(fixedRandom), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := DecodeSecret(tc.written)
			if err != nil {
				t.Fatalf("DecodeSecret refused it (%v): the check is a warning", err)
			}
			got := SecretLooksTyped(tc.written, b)
			if (tc.why == "") != (got == "") || !strings.Contains(got, tc.why) {
				t.Fatalf("SecretLooksTyped = %q, want one naming %q", got, tc.why)
			}
			if tc.why != "" && strings.Contains(got, strings.TrimSpace(tc.written)[:12]) {
				t.Fatalf("the warning quotes the secret: %q", got)
			}
		})
	}
}

// TestRandomSecretsPass: the shape rules name none of the random secrets
// the documented commands make (openssl rand -base64 32 or 64, the chart's
// randBytes, and openssl rand -hex 32 or 64, which is valid base64 too), in
// every encoding DecodeSecret takes. The rules' chance on such input is
// about 10^-8 at most (secretshape.go).
func TestRandomSecretsPass(t *testing.T) {
	encodings := map[string]func([]byte) string{
		"std": base64.StdEncoding.EncodeToString, "raw-url": base64.RawURLEncoding.EncodeToString,
		"hex": hex.EncodeToString,
	}
	for name, enc := range encodings {
		for _, size := range []int{32, 64} {
			for range 3000 {
				b := make([]byte, size)
				if _, err := rand.Read(b); err != nil {
					t.Fatal(err)
				}
				w := enc(b)
				d, err := DecodeSecret(w)
				if err != nil {
					t.Fatalf("%s of %d random bytes refused: %v", name, size, err)
				}
				if why := SecretLooksTyped(w, d); why != "" {
					t.Fatalf("%s of %d random bytes warned about: %s", name, size, why)
				}
			}
		}
	}
}
