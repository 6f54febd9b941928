package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// testPair returns a self-signed certificate named cn and its key, in PEM.
func testPair(t *testing.T, cn string) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func TestCertReloader(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	write := func(cert, key []byte) {
		t.Helper()
		if err := os.WriteFile(certFile, cert, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(keyFile, key, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	certA, keyA := testPair(t, "a")
	certB, keyB := testPair(t, "b")
	write(certA, keyA)
	var logs bytes.Buffer
	r, err := newCertReloader(certFile, keyFile, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	served := func() string {
		c, _ := r.GetCertificate(nil)
		return c.Leaf.Subject.CommonName
	}
	if served() != "a" {
		t.Fatalf("serving %q, want a", served())
	}
	if r.reload("file change") {
		t.Error("unchanged files reloaded")
	}

	write(certB, keyA) // B's certificate with A's key
	for range 3 {
		if r.reload("file change") {
			t.Fatal("a mismatched pair went into service")
		}
	}
	if n := strings.Count(logs.String(), "do not load"); n != 1 {
		t.Errorf("a bad pair seen by 3 polls logged %d times, want once:\n%s", n, logs.String())
	}
	r.reload("SIGHUP")
	if n := strings.Count(logs.String(), "do not load"); n != 2 {
		t.Errorf("SIGHUP on a bad pair logged %d errors in all, want 2", n)
	}
	if served() != "a" {
		t.Fatalf("serving %q after a bad pair, want a", served())
	}

	write(certB, keyB)
	if !r.reload("file change") || served() != "b" {
		t.Fatalf("the good new pair is not in service (serving %q)", served())
	}

	os.Remove(keyFile) // a renewer between two writes
	r.reload("file change")
	r.reload("file change")
	if n := strings.Count(logs.String(), "cannot read"); n != 1 || served() != "b" {
		t.Errorf("a missing key logged %d times (want once), serving %q (want b)", n, served())
	}

	if _, err := newCertReloader(certFile, filepath.Join(dir, "none"), slog.Default()); err == nil {
		t.Error("a missing key at start is not an error")
	}
}

// TestCertReloaderFileTooLarge: the TLS files re-read on change or SIGHUP
// were read whole; one replaced by something endless (a mistaken symlink
// to /dev/zero) made the running gateway run out of memory.
func TestCertReloaderFileTooLarge(t *testing.T) {
	certPEM, keyPEM := testPair(t, "a")
	dir := t.TempDir()
	cert, key := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(cert, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	r, err := newCertReloader(cert, key, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(cert); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", cert); err != nil {
		t.Fatal(err)
	}
	if r.reload("SIGHUP") {
		t.Error("a certificate file that never ends was installed")
	}
	if !strings.Contains(logs.String(), "larger than") {
		t.Errorf("logs lack the reason:\n%s", logs.String())
	}
}
