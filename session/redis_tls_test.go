package session

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/portcullis/portcullis/internal/testenv"
)

// writeTLSFiles makes a CA and a server certificate for 127.0.0.1 signed by
// it, writes them (PEM) into dir and returns the CA certificate.
func writeTLSFiles(t *testing.T, dir string) *x509.Certificate {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test redis CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	for name, b := range map[string]*pem.Block{
		"ca.pem": {Type: "CERTIFICATE", Bytes: caDER}, "server.pem": {Type: "CERTIFICATE", Bytes: der},
		"server.key": {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(filepath.Join(dir, name), pem.EncodeToMemory(b), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return ca
}

// TestRedisTLSRootCAs runs redis-server with TLS only: the store verifies
// it with the pool it is handed (the system roots plus the CA, as config
// loads redis_tls_ca_file), and refuses it with the system roots alone.
func TestRedisTLSRootCAs(t *testing.T) {
	dir := t.TempDir()
	ca := writeTLSFiles(t, dir)
	bin := testenv.LookPath(t, "redis-server")
	port := testenv.FreePort(t)
	p := testenv.Start(t, exec.Command(bin, "--port", "0", "--tls-port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--tls-cert-file", filepath.Join(dir, "server.pem"), "--tls-key-file", filepath.Join(dir, "server.key"),
		"--tls-ca-cert-file", filepath.Join(dir, "ca.pem"), "--tls-auth-clients", "no", "--save", "", "--appendonly", "no"))
	testenv.WaitTCP(t, testenv.Addr(port), 10*time.Second, p)

	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	pool.AddCert(ca)
	clock := newTestClock()
	url := "rediss://" + testenv.Addr(port) + "/0"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, tc := range []struct {
		name string
		cfg  RedisConfig
		ok   bool
	}{
		{"system roots plus the CA", RedisConfig{URL: url, RootCAs: pool}, true},
		{"system roots alone", RedisConfig{URL: url}, false},
	} {
		store, err := NewRedisStore(tc.cfg, testCookieConfig(t, clock))
		if err != nil {
			t.Fatal(err)
		}
		err = store.Ping(ctx)
		store.Close()
		if (err == nil) != tc.ok {
			t.Errorf("%s: Ping = %v, want ok %v\n%s", tc.name, err, tc.ok, p.Output())
		}
	}
}
