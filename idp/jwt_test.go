package idp

import (
	"context"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// variants returns the strings that decode to the same bytes as the
// base64url segment seg (unused low bits of its last character set).
func variants(seg string) []string {
	unused := map[int]int{2: 4, 3: 2}[len(seg)%4]
	if unused == 0 {
		return []string{seg}
	}
	const alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	last := strings.IndexByte(alpha, seg[len(seg)-1])
	var out []string
	for low := 0; low < 1<<unused; low++ {
		out = append(out, seg[:len(seg)-1]+string(alpha[last&^(1<<unused-1)|low]))
	}
	return out
}

// TestOneTokenOneSpelling: base64url decoders ignore the unused low bits of
// a segment's last character, and the bearer cache is keyed by the token's
// digest, so one valid token would have up to 16x16x16 spellings, each
// verified and cached on its own. Only the canonical one is accepted.
func TestOneTokenOneSpelling(t *testing.T) {
	p, c, _ := setup(t, oidctest.Options{}, nil)
	tok := p.AccessToken("alice", map[string]any{"aud": p.ClientID, "x": "ab"})
	parts := strings.Split(tok, ".")
	accepted := 0
	for _, h := range variants(parts[0]) {
		for _, pl := range variants(parts[1]) {
			for _, s := range variants(parts[2]) {
				if _, err := c.VerifyBearer(context.Background(), h+"."+pl+"."+s); err == nil {
					accepted++
				}
			}
		}
	}
	if accepted > 1 || c.bearers.Len() > 1 {
		t.Errorf("one issued token was accepted in %d spellings, %d bearer-cache entries", accepted, c.bearers.Len())
	}
}

func TestCanonicalSegments(t *testing.T) {
	for raw, want := range map[string]bool{
		"eyJh.eyJi.c2ln":  true,  // whole quanta
		"QQ.QUI.c2lnbg":   true,  // partial quanta, unused bits zero
		"QR.QUI.c2lnbg":   false, // "QR": unused bits set
		"QQ.QUJ.c2lnbg":   false,
		"QQ.QUI.c2lnbh":   false,
		"QQ.QUI.c2lnb":    false, // a length no encoding has
		"QQ==.QUI.c2lnbg": false, // padded
		"Q+.QUI.c2lnbg":   false, // not the URL alphabet
	} {
		if got := canonicalSegments(raw); got != want {
			t.Errorf("canonicalSegments(%q) = %v, want %v", raw, got, want)
		}
	}
}
