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

// TestTypedSecretsWarned: a session secret that passes the entropy check
// but no random source makes (a password in base64, a phrase of base64's
// letters written twice, the base64 alphabet, random bytes written twice,
// bytes counting up) is a warning naming the file, the line and the key,
// inline and as the old secret of a rotation in secrets_file: check exits
// 0 with it, check --strict 2, and serve logs it and serves. No output
// ever holds the secret. check said nothing of them before.
func TestTypedSecretsWarned(t *testing.T) {
	t.Parallel()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	base := opsConfig(p, up.URL, []string{secret}, "")
	for _, tc := range typedSecrets() {
		t.Run(tc.name, func(t *testing.T) {
			inline := strings.Replace(base, `secrets = ["`+secret+`"]`, `secrets = ["`+tc.weak+`"]`, 1)
			file := filepath.Join(t.TempDir(), "session-secrets")
			if err := os.WriteFile(file, []byte("# NEW first, OLD until lifetime\n"+secret+"\n"+tc.weak+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			rotated := strings.Replace(base, `secrets = ["`+secret+`"]`, `secrets_file = "`+file+`"`, 1)
			for _, c := range []struct{ cfg, want string }{
				{inline, "session.secrets[0]: warning: " + tc.why},
				{rotated, "session.secrets_file: warning: line 3 of the file: " + tc.why},
			} {
				want := "broken.toml:" + strconv.Itoa(lineOf(c.cfg, "secrets")) + ": " + c.want
				for args, code := range map[string]int{"check": 0, "check --strict": 2} {
					out := runWithConfig(t, strings.Fields(args), c.cfg, code)
					if !strings.Contains(out, want) || strings.Contains(out, tc.weak) {
						t.Errorf("%s: want %q without the secret:\n%s", args, want, out)
					}
				}
			}
			gw := startGateway(t, pickAddrs(t), inline)
			gw.waitOutput(t, "session.secrets[0]: warning: "+tc.why, 1)
			if strings.Contains(gw.Proc.Output(), tc.weak) {
				t.Errorf("serve logged the secret:\n%s", gw.Proc.Output())
			}
		})
	}
}

// typedSecrets are secrets of each shape SecretLooksTyped names, with the
// start of its warning.
func typedSecrets() []struct{ name, weak, why string } {
	b64 := base64.StdEncoding.EncodeToString
	sum := sha256.Sum256([]byte("sixteen bytes, then the same again"))
	counting := make([]byte, 32)
	for i := range counting {
		counting[i] = byte(i)
	}
	return []struct{ name, weak, why string }{
		{"a password in base64", b64([]byte("correct horse battery staple 2024")), "secret decodes to text (33 printable characters)"},
		{"a phrase twice", "ChangeMeToSomethingRandomChangeMeToSomethingRandom", "secret as written repeats a run of 10 characters"},
		{"the base64 alphabet", "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", "secret as written has 10 or more characters in a row"},
		{"random bytes twice", b64(bytes.Repeat(sum[:16], 2)), "secret repeats a run of 8 bytes"},
		{"bytes counting up", b64(counting), "secret has 8 or more bytes in a row"},
	}
}
