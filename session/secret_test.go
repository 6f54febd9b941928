package session

import (
	"bytes"
	"encoding/base64"
	"strings"
	"testing"
)

func TestCheckSecret(t *testing.T) {
	var random []byte
	for i := range 32 {
		random = append(random, byte(i*97+13)) // 32 distinct values
	}
	for _, tc := range []struct {
		name   string
		secret []byte
		ok     bool
	}{
		{"32 distinct bytes", random, true},
		{"64 random bytes", append(randomSecret(t), randomSecret(t)...), true},
		{"31 bytes", random[:31], false},
		{"32 zero bytes", make([]byte, 32), false},
		{"repeated 4-byte pattern", bytes.Repeat([]byte("abcd"), 8), false},
		{"repeated 8-byte pattern", bytes.Repeat([]byte("Pa55w0rd"), 4), false},
		{"lower-case word", []byte(strings.Repeat("secret", 6)), false},
		{"nil", nil, false},
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
	raw := []byte{0xfb, 0xff, 0xfe}
	for i := range 29 {
		raw = append(raw, byte(i*7+1))
	}
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
