package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testCA writes a self-signed CA certificate as PEM into dir and returns
// the file and the certificate.
func testCA(t *testing.T, dir string) (string, *x509.Certificate) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "portcullis test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	path := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return path, cert
}

// TestCAFilesAddToSystemRoots: both CA files (an upstream's tls_ca_file and
// redis_tls_ca_file) are loaded once, here, by one rule: the system roots
// plus the file. The packages get the pool, not the path.
func TestCAFilesAddToSystemRoots(t *testing.T) {
	dir := t.TempDir()
	_, ca := testCA(t, dir)
	doc := strings.Replace(base, "[session]\n", "[session]\nstore = \"redis\"\nredis_url = \"rediss://127.0.0.1:6380\"\nredis_tls_ca_file = \"ca.pem\"\n", 1)
	doc = strings.Replace(doc, `url = "http://127.0.0.1:3000"`, "url = \"https://127.0.0.1:3000\"\ntls_ca_file = \"ca.pem\"", 1)
	path := filepath.Join(dir, "portcullis.toml")
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(path, envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	want, err := x509.SystemCertPool()
	if err != nil {
		want = x509.NewCertPool()
	}
	want.AddCert(ca)
	for name, got := range map[string]*x509.CertPool{
		"upstream tls_ca_file": cfg.Proxy.Upstreams[0].RootCAs,
		"redis_tls_ca_file":    cfg.Redis.RootCAs,
	} {
		if got == nil || !got.Equal(want) {
			t.Errorf("%s: the pool is not the system roots plus the file", name)
		}
	}
}

func TestCAFileProblems(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.pem")
	os.WriteFile(junk, []byte("not a certificate"), 0o600)
	for name, tc := range map[string]struct{ doc, want string }{
		"upstream CA without PEM": {strings.Replace(base, `url = "http://127.0.0.1:3000"`, "url = \"https://127.0.0.1:3000\"\ntls_ca_file = \""+junk+"\"", 1),
			`cfg.toml:14: upstreams[0].tls_ca_file: no PEM certificate in "` + junk + `"`},
		"missing redis CA": {section("[session]", "store = \"redis\"\nredis_url = \"rediss://r:6380\"\nredis_tls_ca_file = \"/nonexistent/ca.pem\""),
			`cfg.toml:11: session.redis_tls_ca_file: cannot read file: open /nonexistent/ca.pem: no such file or directory`},
		"redis CA without TLS": {section("[session]", "store = \"redis\"\nredis_url = \"redis://r:6379\"\nredis_tls_ca_file = \""+junk+"\""),
			`cfg.toml:11: session.redis_tls_ca_file: needs a rediss:// redis_url (TLS)`},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Parse("cfg.toml", []byte(tc.doc), nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v\nwant %s", err, tc.want)
			}
		})
	}
	// The cookie store ignores the redis_* keys: their CA file is not read.
	if _, err := Parse("cfg.toml", []byte(section("[session]", "redis_tls_ca_file = \"/nonexistent/ca.pem\"")), nil); err != nil {
		t.Errorf("cookie store with an unread redis CA: %v", err)
	}
}
