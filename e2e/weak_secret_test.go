package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// TestWeakSecretsRefused: a session secret no random source makes, of each
// shape the byte histogram let through (a password in base64, a phrase of
// base64's letters written twice, the base64 alphabet, random bytes
// written twice, bytes counting up), makes check and serve exit 2 naming
// the file, the line and the key, in secrets and as the old secret of a
// rotation in secrets_file, and never prints the secret. check accepted
// each of them: whoever guessed it could seal a session for any user
// from his own cookie, offline.
func TestWeakSecretsRefused(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	b64 := base64.StdEncoding.EncodeToString
	sum := sha256.Sum256([]byte("sixteen bytes, then the same again"))
	counting := make([]byte, 32)
	for i := range counting {
		counting[i] = byte(i)
	}
	base := opsConfig(p, up.URL, []string{secret}, "")
	for _, tc := range []struct{ name, weak, why string }{
		{"a password in base64", b64([]byte("correct horse battery staple 2024")), "secret decodes to text (33 printable characters)"},
		{"a phrase twice", "ChangeMeToSomethingRandomChangeMeToSomethingRandom", "secret as written repeats a run of 10 characters"},
		{"the base64 alphabet", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", "secret as written has 10 or more characters in a row"},
		{"random bytes twice", b64(bytes.Repeat(sum[:16], 2)), "secret repeats a run of 8 bytes"},
		{"bytes counting up", b64(counting), "secret has 8 or more bytes in a row"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			inline := strings.Replace(base, `secrets = ["`+secret+`"]`, `secrets = ["`+tc.weak+`"]`, 1)
			file := filepath.Join(t.TempDir(), "session-secrets")
			if err := os.WriteFile(file, []byte("# NEW first, OLD until lifetime\n"+secret+"\n"+tc.weak+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			rotated := strings.Replace(base, `secrets = ["`+secret+`"]`, `secrets_file = "`+file+`"`, 1)
			for _, c := range []struct{ cfg, want string }{
				{inline, "session.secrets[0]: " + tc.why},
				{rotated, "session.secrets_file: line 3 of the file: " + tc.why},
			} {
				line := lineOf(c.cfg, "secrets")
				want := "broken.toml:" + strconv.Itoa(line) + ": " + c.want
				for _, cmd := range []string{"check", "serve"} {
					out := runBroken(t, cmd, c.cfg)
					if !strings.Contains(out, want) || strings.Contains(out, tc.weak) {
						t.Errorf("%s: want exit 2 naming %q without the secret:\n%s", cmd, want, out)
					}
				}
			}
		})
	}
}
