package config

import (
	"crypto"
	"crypto/x509"
	"strings"

	"github.com/portcullis/portcullis/proxy"
)

// Files the configuration names are read here, once, and handed to the
// packages as values: no other package opens them.

// caPool loads the CA file name (the value at key) into a certificate pool:
// the system roots plus every PEM certificate in the file. One rule for
// every CA file (docs/configuration.md "CA files"): the file adds to the
// system roots, it never replaces them. A file without a PEM certificate is
// a problem.
func (d *decoder) caPool(key, name string) *x509.CertPool {
	b, ok := d.readFile(key, name)
	if !ok {
		return nil
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool() // no system roots on this platform
	}
	if !pool.AppendCertsFromPEM(b) {
		d.problem(key, "no PEM certificate in %q", name)
		return nil
	}
	return pool
}

// signingKeys loads the assertion key file name (the value at key): a key
// the proxy can sign assertions with (EC P-256 for ES256, RSA >= 2048 bits
// for RS256), and the further keys jwks.json lists (proxy.ParseAssertionKeys).
func (d *decoder) signingKeys(key, name string) (crypto.Signer, []crypto.PublicKey) {
	b, ok := d.readSecretFile(key, name)
	if !ok {
		return nil, nil
	}
	k, published, err := proxy.ParseAssertionKeys(b)
	if err != nil {
		d.problem(key, "%s: %s", name, strings.TrimPrefix(err.Error(), "proxy: assertion key: "))
		return nil, nil
	}
	return k, published
}
