package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"testing"
	"time"

	"github.com/portcullis/portcullis/session"
)

// TestSameRedis: a reload that loads the same CA file again keeps the Redis
// connection; another CA, or another address, opens a new one.
func TestSameRedis(t *testing.T) {
	pool := func(certs ...*x509.Certificate) *x509.CertPool {
		p, err := x509.SystemCertPool()
		if err != nil {
			p = x509.NewCertPool()
		}
		for _, c := range certs {
			p.AddCert(c)
		}
		return p
	}
	ca1, ca2 := selfSigned(t, "ca-1"), selfSigned(t, "ca-2")
	url := "rediss://127.0.0.1:6380/0"
	for _, tc := range []struct {
		name string
		a, b session.RedisConfig
		same bool
	}{
		{"no CA", session.RedisConfig{URL: url}, session.RedisConfig{URL: url}, true},
		{"the same CA loaded twice", session.RedisConfig{URL: url, RootCAs: pool(ca1)}, session.RedisConfig{URL: url, RootCAs: pool(ca1)}, true},
		{"another CA", session.RedisConfig{URL: url, RootCAs: pool(ca1)}, session.RedisConfig{URL: url, RootCAs: pool(ca2)}, false},
		{"a CA added", session.RedisConfig{URL: url}, session.RedisConfig{URL: url, RootCAs: pool(ca1)}, false},
		{"another address", session.RedisConfig{URL: url, RootCAs: pool(ca1)}, session.RedisConfig{URL: url + "1", RootCAs: pool(ca1)}, false},
	} {
		if got := sameRedis(tc.a, tc.b); got != tc.same {
			t.Errorf("%s: sameRedis = %v, want %v", tc.name, got, tc.same)
		}
	}
}

func selfSigned(t *testing.T, cn string) *x509.Certificate {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}
