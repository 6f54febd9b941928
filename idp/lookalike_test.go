package idp

import (
	"context"
	"encoding/json"
	"errors"
	"slices"
	"testing"

	"github.com/portcullis/portcullis"
)

// TestIdentityLookalikesRefused: a user, email, preferred_username, group
// or provider sub that an application reads as another value (it
// lowercases, compares case-insensitively, or applies NFKC or NFC) fails
// the identity; accented letters and other scripts in composed form pass.
func TestIdentityLookalikesRefused(t *testing.T) {
	c, err := New(Config{Issuer: "https://idp.example.com", ClientID: "client", UserClaim: "preferred_username"})
	if err != nil {
		t.Fatal(err)
	}
	for name, claims := range map[string]string{
		"Kelvin sign (strings.ToLower: k)":       `{"sub":"1","preferred_username":"\u212aate"}`,
		"U+0130 (ToLower: i)":                    `{"sub":"1","preferred_username":"\u0130van"}`,
		"dotless i (ToUpper: I)":                 `{"sub":"1","preferred_username":"adm\u0131n"}`,
		"long s (ToUpper: S)":                    `{"sub":"1","preferred_username":"\u017fam"}`,
		"sharp s (full ToUpper: SS)":             `{"sub":"1","preferred_username":"bo\u00df"}`,
		"capital sharp s (full fold: ss)":        `{"sub":"1","preferred_username":"BO\u1e9e"}`,
		"fullwidth letters (NFKC: admin)":        `{"sub":"1","preferred_username":"ａｄｍｉｎ"}`,
		"ligature (NFKC: fi)":                    `{"sub":"1","preferred_username":"\ufb01ona"}`,
		"superscript two (NFKC: 2)":              `{"sub":"1","preferred_username":"ops\u00b2"}`,
		"inner ideographic space (NFKC: ' ')":    `{"sub":"1","preferred_username":"ann\u3000lee"}`,
		"NFD address (NFC: é)":                   `{"sub":"1","preferred_username":"u","email":"jose\u0301@example.com"}`,
		"fullwidth at sign in an address":        `{"sub":"1","preferred_username":"u","email":"admin\uff20example.com@evil.test"}`,
		"fullwidth group":                        `{"sub":"1","preferred_username":"u","groups":["staff","ａｄｍｉｎｓ"]}`,
		"NFD group":                              `{"sub":"1","preferred_username":"u","groups":["e\u0301quipe"]}`,
		"provider sub, under another user_claim": `{"sub":"\u212aate","preferred_username":"u"}`,
		"zero-width space (a collation: kate)":   `{"sub":"1","preferred_username":"ka\u200bte"}`,
		"soft hyphen in the provider sub":        `{"sub":"ad\u00admin","preferred_username":"u"}`,
		"right-to-left override in a group":      `{"sub":"1","preferred_username":"u","groups":["\u202esnimda"]}`,
	} {
		var m map[string]any
		if err := json.Unmarshal([]byte(claims), &m); err != nil {
			t.Fatal(err)
		}
		if id, err := c.identity(m, c.cfg.Issuer); !errors.Is(err, ErrLookalike) {
			t.Errorf("%s: err = %v, identity %+v", name, err, id)
		}
	}
	var m map[string]any
	json.Unmarshal([]byte(`{"sub":"José","preferred_username":"山田太郎","email":"müller@example.com","email_verified":true,"groups":["Équipe","Ærø"]}`), &m)
	id, err := c.identity(m, c.cfg.Issuer)
	if err != nil || id.Subject != "山田太郎" || id.Email != "müller@example.com" || !slices.Equal(id.Groups, []string{"Équipe", "Ærø"}) {
		t.Errorf("composed text: %v, %+v", err, id)
	}
}

// TestDirectoryAndRoleLookalikes: a directory's group (refused like a
// token's) and an Entra app role (left out: a role only grants) that is a
// look-alike never become a group.
func TestDirectoryAndRoleLookalikes(t *testing.T) {
	c, err := New(Config{Kind: "github", ClientID: "c", Directory: &stubDirectory{groups: []string{"acme", "\u212aube"}}})
	if err != nil {
		t.Fatal(err)
	}
	id := &portcullis.Identity{Subject: "1"}
	if g, err := c.DirectoryGroups(context.Background(), id, "tok"); !errors.Is(err, ErrLookalike) {
		t.Errorf("directory groups %q, err %v", g, err)
	}
	roles := map[string]any{"roles": []any{"Reader", "ａｄｍｉｎ", "adm\u0131n"}}
	if g := entraGroups(roles, []string{"00000000-0000-0000-0000-000000000001"}); !slices.Equal(g, []string{"00000000-0000-0000-0000-000000000001", "Reader"}) {
		t.Errorf("entra groups %q", g)
	}
}

// TestGoogleAuthorityIsASCII: Google answers for Gmail addresses; one
// whose domain is gmail.com only under Unicode case mapping (U+0130
// lowercases to "i" in Go) is another domain, anyone's to register.
func TestGoogleAuthorityIsASCII(t *testing.T) {
	for email, want := range map[string]bool{"ann@GMAIL.com": true, "ann@gma\u0130l.com": false,
		"ci@proj.iam.gserviceaccount.co\u212a": false} {
		if got := googleAuthoritative(map[string]any{}, email); got != want {
			t.Errorf("googleAuthoritative(%q) = %v, want %v", email, got, want)
		}
	}
}
