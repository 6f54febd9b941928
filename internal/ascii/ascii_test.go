package ascii

import "testing"

func TestEqualFold(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{
		{"dir.test", "DIR.Test", true},
		{"", "", true},
		{"dir.teſt", "dir.test", false},      // long s
		{"\u212aeycloak", "keycloak", false}, // Kelvin sign
		{"https", "httpS", true},
		{"https", "http", false},
		{"[", "{", false}, // 0x5B and 0x7B differ by 0x20 but are no letters
		{"@", "`", false},
	} {
		if got := EqualFold(tt.a, tt.b); got != tt.want {
			t.Errorf("EqualFold(%q, %q) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestToLower(t *testing.T) {
	for in, want := range map[string]string{
		"Acme/SRE":       "acme/sre",
		"acme":           "acme",
		"":               "",
		"\u212aube":      "\u212aube", // Kelvin sign: strings.ToLower gives "kube"
		"İnfra@Acme.com": "İnfra@acme.com",
		"[@]`{":          "[@]`{",
	} {
		if got := ToLower(in); got != want {
			t.Errorf("ToLower(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestCaseLookalike pins the characters that Unicode's case mapping or
// folding, simple or full, turns into ASCII: exactly these six (the
// ligatures full mapping turns into ASCII are NFKCLookalike's).
func TestCaseLookalike(t *testing.T) {
	var got []rune
	for r := rune(0); r <= 0x10FFFF; r++ {
		if CaseLookalike(r) {
			got = append(got, r)
		}
	}
	if want := []rune{0xdf, 0x130, 0x131, 0x17f, 0x1e9e, 0x212a}; string(got) != string(want) {
		t.Errorf("CaseLookalike holds %U, want %U", got, want)
	}
}

// TestMisreadable: names an application reads as others are told apart
// from accented letters and other scripts in composed form.
func TestMisreadable(t *testing.T) {
	for s, bad := range map[string]bool{"alice": false, "José": false, "Müller": false, "山田太郎": false,
		"\u212aate": true, "ａｄｍｉｎ": true, "adm\u0131n": true, "\u017fam": true, "jose\u0301": true,
		"ops\u00b2": true, "\ufb01ona": true, "wei\u00df": true, "WEI\u1e9e": true} {
		if got := Misreadable(s) != ""; got != bad {
			t.Errorf("Misreadable(%q) = %q", s, Misreadable(s))
		}
	}
}
