package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/internal/logattr"
)

// certPollInterval is how often certReloader looks at the certificate and
// key files for a change.
const certPollInterval = 5 * time.Second

// certReloader serves the gateway's TLS certificate and key
// (server.tls_cert_file, server.tls_key_file) and re-reads them on SIGHUP
// and when their content changes: cert-manager and other renewers replace
// the files in place (in a Kubernetes Secret volume by swapping a symlink),
// so the files are compared by content, which sees through both. A new
// pair that does not load keeps the previous one in service, with an error
// logged once per bad content. Unlike the other files the configuration
// names, these are read here, at run time: renewal must not need a restart.
type certReloader struct {
	certFile, keyFile string
	logger            *slog.Logger

	cur atomic.Pointer[tls.Certificate]

	mu              sync.Mutex // serialises reloads; guards the fields below
	certPEM, keyPEM []byte     // the contents of the pair in service
	badCert, badKey []byte     // the last contents that failed to load
	readError       string     // the last read error logged, so a poll logs it once
}

// newCertReloader loads the pair; an error here fails the start.
func newCertReloader(certFile, keyFile string, logger *slog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, logger: logger}
	certPEM, keyPEM, err := r.read()
	if err != nil {
		return nil, err
	}
	if err := r.install(certPEM, keyPEM); err != nil {
		return nil, fmt.Errorf("server.tls_cert_file: %w", err)
	}
	return r, nil
}

// GetCertificate is tls.Config.GetCertificate: every new TLS handshake
// gets the pair in service at that moment.
func (r *certReloader) GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	return r.cur.Load(), nil
}

func (r *certReloader) read() (certPEM, keyPEM []byte, err error) {
	if certPEM, err = config.ReadFile(r.certFile); err != nil {
		return nil, nil, err
	}
	if keyPEM, err = config.ReadFile(r.keyFile); err != nil {
		return nil, nil, err
	}
	return certPEM, keyPEM, nil
}

// install parses the pair and puts it in service.
func (r *certReloader) install(certPEM, keyPEM []byte) error {
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return err
	}
	if c.Leaf == nil {
		if c.Leaf, err = x509.ParseCertificate(c.Certificate[0]); err != nil {
			return err
		}
	}
	r.certPEM, r.keyPEM = certPEM, keyPEM
	r.cur.Store(&c)
	return nil
}

// reload re-reads the files and puts a changed, valid pair in service.
// why ("SIGHUP", "file change") goes into the log line. It reports whether
// a new pair went into service.
func (r *certReloader) reload(why string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	certPEM, keyPEM, err := r.read()
	if err != nil {
		// A renewer may be between writing the two files; say it once.
		if msg := err.Error(); msg != r.readError {
			r.readError = msg
			r.logger.Error("tls: cannot read the certificate or key; still serving the previous certificate",
				"trigger", why, logattr.Err(err))
		}
		return false
	}
	r.readError = ""
	if bytes.Equal(certPEM, r.certPEM) && bytes.Equal(keyPEM, r.keyPEM) {
		return false
	}
	if bytes.Equal(certPEM, r.badCert) && bytes.Equal(keyPEM, r.badKey) && why != "SIGHUP" {
		return false // already reported
	}
	if err := r.install(certPEM, keyPEM); err != nil {
		r.badCert, r.badKey = certPEM, keyPEM
		r.logger.Error("tls: the new certificate and key do not load; still serving the previous certificate",
			"trigger", why, "cert_file", r.certFile, "key_file", r.keyFile, logattr.Err(err))
		return false
	}
	leaf := r.cur.Load().Leaf
	r.logger.Info("tls: certificate reloaded", "trigger", why, "subject", leaf.Subject.String(),
		"not_after", leaf.NotAfter.UTC().Format(time.RFC3339))
	return true
}

// watch polls the files every interval until ctx ends.
func (r *certReloader) watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			r.reload("file change")
		}
	}
}
