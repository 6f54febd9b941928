package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// openDir is a fresh directory that every user of the host can enter, as
// /etc is: the test's temporary directories are closed to others (0700).
func openDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, d := range []string{dir, filepath.Dir(dir)} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for d := filepath.Dir(dir); d != filepath.Dir(d); d = filepath.Dir(d) {
		if fi, err := os.Stat(d); err != nil || fi.Mode().Perm()&0o001 == 0 {
			t.Fatalf("%s is closed to other users: run the test with a TMPDIR they can enter", d)
		}
	}
	return dir
}

// TestSecretFileReadableByOthersWarns: a secret file every user of the
// host can read is a warning naming its key (check, and serve's log), and
// the configuration still loads; a file only its owner or group reads, one
// under a directory closed to others, and one in a Kubernetes secret
// volume's layout (NAME a link to ..data/NAME, 0644 by default) are not.
func TestSecretFileReadableByOthersWarns(t *testing.T) {
	secret := func(t *testing.T, dir, name string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(goodSecret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil { // the umask does not decide it
			t.Fatal(err)
		}
		return p
	}
	kubernetes := func(t *testing.T) string {
		dir := openDir(t)
		data := filepath.Join(dir, "..2026_12_05_07_00_00.1")
		if err := os.Mkdir(data, 0o755); err != nil {
			t.Fatal(err)
		}
		secret(t, data, "secrets", 0o644)
		if err := os.Symlink(filepath.Base(data), filepath.Join(dir, "..data")); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "secrets")
		if err := os.Symlink(filepath.Join("..data", "secrets"), p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	for _, tc := range []struct {
		name string
		file func(t *testing.T) string
		warn bool
	}{
		{"0644 in an open directory", func(t *testing.T) string { return secret(t, openDir(t), "s", 0o644) }, true},
		{"0604 in an open directory", func(t *testing.T) string { return secret(t, openDir(t), "s", 0o604) }, true},
		{"a link to a 0644 file", func(t *testing.T) string {
			dir := openDir(t)
			p := filepath.Join(dir, "link")
			if err := os.Symlink(secret(t, dir, "s", 0o644), p); err != nil {
				t.Fatal(err)
			}
			return p
		}, true},
		{"0600", func(t *testing.T) string { return secret(t, openDir(t), "s", 0o600) }, false},
		{"0640", func(t *testing.T) string { return secret(t, openDir(t), "s", 0o640) }, false},
		{"0644 under a 0700 directory", func(t *testing.T) string {
			dir := filepath.Join(openDir(t), "private")
			if err := os.Mkdir(dir, 0o700); err != nil {
				t.Fatal(err)
			}
			return secret(t, dir, "s", 0o644)
		}, false},
		{"a Kubernetes secret volume", kubernetes, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			file := tc.file(t)
			doc := strings.Replace(base, `secrets = ["`+goodSecret+`"]`, `secrets_file = "`+file+`"`, 1)
			doc = strings.Replace(doc, "client_id = \"client\"\n", "client_id = \"client\"\nclient_secret_file = \""+file+"\"\n", 1)
			cfg, err := Parse(filepath.Join(t.TempDir(), "cfg.toml"), []byte(doc), envOf(nil))
			if err != nil {
				t.Fatal(err)
			}
			got := readableByAllWarnings(cfg)
			switch {
			case !tc.warn && len(got) != 0:
				t.Errorf("warnings %q, want none", got)
			case tc.warn && (len(got) != 2 || !strings.Contains(got[0], "provider.client_secret_file") ||
				!strings.Contains(got[1], "session.secrets_file") || !strings.Contains(got[1], "chmod o-r "+file)):
				t.Errorf("warnings %q, want one for each of the two keys", got)
			}
		})
	}
}

// TestConfigFileWithInlineSecretReadableByOthersWarns: a secret written
// into the configuration file itself (client_secret, secrets,
// redis_password, redis_url's password) puts the file in the class of the
// secret files: every user of the host reading it is a warning naming the
// key, never the value. A file closed to others, and one whose secrets all
// come from ${NAME} or *_file, are not.
func TestConfigFileWithInlineSecretReadableByOthersWarns(t *testing.T) {
	const inline = "Inl1ne-cl1ent-s3cret-value"
	redis := "store = \"redis\"\nredis_url = \"redis://:%s@127.0.0.1:6379/0\"\n"
	for _, tc := range []struct {
		name, from, to string
		mode           os.FileMode
		key            string // "": no warning
	}{
		{"client_secret, 0644", "client_id = \"client\"\n", "client_id = \"client\"\nclient_secret = \"" + inline + "\"\n", 0o644, "provider.client_secret"},
		{"secrets, 0604", "", "", 0o604, "session.secrets"},
		{"redis_password, 0644", "[session]\n", "[session]\n" + fmt.Sprintf(redis, "") + "redis_password = \"" + inline + "\"\n", 0o644, "session.redis_password"},
		{"redis_url's password, 0644", "[session]\n", "[session]\n" + fmt.Sprintf(redis, inline), 0o644, "session.redis_url"},
		{"client_secret, 0600", "client_id = \"client\"\n", "client_id = \"client\"\nclient_secret = \"" + inline + "\"\n", 0o600, ""},
		{"every secret from ${NAME}, 0644", `secrets = ["` + goodSecret + `"]`, "secrets = [\"${S}\"]\n" + fmt.Sprintf(redis, "${P}") + "redis_password = \"${P}\"", 0o644, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(openDir(t), "portcullis.toml")
			if err := os.WriteFile(path, []byte(strings.Replace(base, tc.from, tc.to, 1)), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tc.mode); err != nil {
				t.Fatal(err)
			}
			cfg, err := Load(path, envOf(map[string]string{"S": goodSecret, "P": inline}))
			if err != nil {
				t.Fatal(err)
			}
			got := readableByAllWarnings(cfg)
			switch {
			case tc.key == "" && len(got) != 0:
				t.Errorf("warnings %q, want none", got)
			case tc.key != "" && (len(got) != 1 || !strings.Contains(got[0], tc.key) || !strings.Contains(got[0], "chmod o-r "+path) ||
				strings.Contains(got[0], inline) || strings.Contains(got[0], goodSecret)):
				t.Errorf("warnings %q, want one naming %s and the file, without the value", got, tc.key)
			}
		})
	}
}

// readableByAllWarnings returns cfg's warnings of a file every user of the
// host can read.
func readableByAllWarnings(cfg *Config) []string {
	var got []string
	for _, w := range cfg.Warnings {
		if strings.Contains(w, "every user of this host") {
			got = append(got, w)
		}
	}
	return got
}
