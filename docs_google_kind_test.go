package portcullis_test

import (
	"os"
	"regexp"
	"strings"
	"testing"
)

// A configuration the docs show with Google's issuer sets kind = "google"
// (or asks for offline access itself, as config.example.toml does):
// with kind "oidc" (the default when issuer is set) the authorization
// request carries no access_type=offline, Google issues no refresh token,
// and every session ends with its first access token, after an hour. A
// reader who pastes the block gets that without a word from check.

// googleIssuer is Google's issuer set in TOML, YAML or a helm --set.
var googleIssuer = regexp.MustCompile(`issuer\s*[=:]\s*"?https://accounts\.google\.com`)

// googleKind is kind = "google" in TOML, YAML or a helm --set.
var googleKind = regexp.MustCompile(`kind\s*[=:]\s*"?google\b`)

func TestDocsGoogleIssuerSetsKind(t *testing.T) {
	n := 0
	for _, file := range markdownFiles(t, ".") {
		if file == "CHANGELOG.md" {
			continue // history: what each release said then
		}
		md, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range fencedBlocks(md) {
			if googleIssuer.MatchString(b.text) {
				n++
				if !googleKind.MatchString(b.text) && !strings.Contains(b.text, "access_type") {
					t.Errorf("%s:%d: Google's issuer without kind = \"google\": no refresh token, every session ends after an hour", file, b.line)
				}
			}
		}
	}
	if n == 0 {
		t.Error("found no block with Google's issuer; the pattern no longer matches the docs")
	}
}

// TestDocsGoogleIssuerChecker: the checker tells the blocks apart.
func TestDocsGoogleIssuerChecker(t *testing.T) {
	md := strings.Join([]string{
		"```toml", "[provider]", `issuer = "https://accounts.google.com"`, "```",
		"```yaml", "provider:", "  kind: google", "  issuer: https://accounts.google.com", "```",
		"```sh", "helm install x \\", "  --set config.provider.issuer=https://accounts.google.com", "```",
		"```sh", "  --set config.provider.kind=google --set config.provider.issuer=https://accounts.google.com", "```",
	}, "\n")
	var got []bool
	for _, b := range fencedBlocks([]byte(md)) {
		got = append(got, googleIssuer.MatchString(b.text) && !googleKind.MatchString(b.text))
	}
	want := []bool{true, false, true, false}
	if len(got) != len(want) {
		t.Fatalf("blocks: %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("block %d: flagged %v, want %v", i, got[i], want[i])
		}
	}
}
