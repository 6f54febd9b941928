package e2e

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/net/http2"

	"github.com/portcullis/portcullis/internal/oidctest"
)

// keyPair is a self-signed certificate for 127.0.0.1 and the hosts of
// siblingDomain, and its key, in PEM.
type keyPair struct {
	name            string
	certPEM, keyPEM []byte
	der             []byte
}

func newKeyPair(tb testing.TB, name string) keyPair {
	tb.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		tb.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"*." + siblingDomain}, // the browser tests' sibling hosts
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		tb.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		tb.Fatal(err)
	}
	return keyPair{
		name:    name,
		certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}),
		der:     der,
	}
}

// secretVolume lays out certificate files the way a Kubernetes Secret volume
// does (cert-manager's tls.crt and tls.key): dir/tls.crt -> ..data/tls.crt,
// ..data -> a versioned directory, swapped atomically on update.
type secretVolume struct {
	dir     string
	version int
}

func newSecretVolume(tb testing.TB, kp keyPair) *secretVolume {
	tb.Helper()
	v := &secretVolume{dir: tb.TempDir()}
	v.swap(tb, kp.certPEM, kp.keyPEM)
	for _, f := range []string{"tls.crt", "tls.key"} {
		if err := os.Symlink(filepath.Join("..data", f), filepath.Join(v.dir, f)); err != nil {
			tb.Fatal(err)
		}
	}
	return v
}

// swap writes a new version directory and points ..data at it in one rename.
func (v *secretVolume) swap(tb testing.TB, certPEM, keyPEM []byte) {
	tb.Helper()
	v.version++
	ver := filepath.Join(v.dir, "..v"+string(rune('0'+v.version)))
	if err := os.Mkdir(ver, 0o755); err != nil {
		tb.Fatal(err)
	}
	writeFile(tb, filepath.Join(ver, "tls.crt"), certPEM)
	writeFile(tb, filepath.Join(ver, "tls.key"), keyPEM)
	tmp := filepath.Join(v.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(ver), tmp); err != nil {
		tb.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(v.dir, "..data")); err != nil {
		tb.Fatal(err)
	}
}

func writeFile(tb testing.TB, path string, data []byte) {
	tb.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		tb.Fatal(err)
	}
}

// servedCert opens a new TLS connection to addr and returns the leaf
// certificate the gateway presented.
func servedCert(tb testing.TB, addr string) []byte {
	tb.Helper()
	// Which certificate is presented is the observation; the test trusts
	// neither, so verification is off for this probe only.
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr,
		&tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12})
	if err != nil {
		tb.Fatalf("TLS handshake with %s: %v", addr, err)
	}
	defer c.Close()
	return c.ConnectionState().PeerCertificates[0].Raw
}

// waitServed polls new connections until addr presents want.
func waitServed(tb testing.TB, gw *gateway, addr string, want keyPair, within time.Duration) {
	tb.Helper()
	deadline := time.Now().Add(within)
	for !bytes.Equal(servedCert(tb, addr), want.der) {
		if time.Now().After(deadline) {
			tb.Fatalf("certificate %s not served within %v; output:\n%s", want.name, within, gw.Proc.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTLSCertificateReload serves HTTPS with certificate A, then replaces the
// files: SIGHUP puts B in service for new connections; a mismatched pair is
// refused and B stays; a renewal the way a Kubernetes Secret volume does it
// (symlink swap) is picked up by the file watcher without a signal.
func TestTLSCertificateReload(t *testing.T) {
	t.Parallel()
	certA, certB, certC := newKeyPair(t, "cert-a"), newKeyPair(t, "cert-b"), newKeyPair(t, "cert-c")
	vol := newSecretVolume(t, certA)
	a := pickAddrs(t)
	gw := startTLSGateway(t, a, vol)
	if !bytes.Equal(servedCert(t, a.Listen), certA.der) {
		t.Fatal("the gateway does not present certificate A at start")
	}

	// In place, then SIGHUP.
	writeFile(t, filepath.Join(vol.dir, "tls.crt"), certB.certPEM)
	writeFile(t, filepath.Join(vol.dir, "tls.key"), certB.keyPEM)
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, "trigger=SIGHUP", 1)
	waitServed(t, gw, a.Listen, certB, 2*time.Second)
	if !strings.Contains(gw.Proc.Output(), "tls: certificate reloaded") {
		t.Errorf("no reload log line; output:\n%s", gw.Proc.Output())
	}

	// A certificate with another certificate's key: refused, B stays.
	const refused = "tls: the new certificate and key do not load"
	before := strings.Count(gw.Proc.Output(), refused)
	writeFile(t, filepath.Join(vol.dir, "tls.crt"), certC.certPEM)
	gw.signal(t, syscall.SIGHUP)
	gw.waitOutput(t, refused, before+1)
	if !bytes.Equal(servedCert(t, a.Listen), certB.der) {
		t.Error("a bad pair replaced the certificate in service")
	}

	// Renewal by symlink swap, no signal: the watcher picks it up.
	vol.swap(t, certC.certPEM, certC.keyPEM)
	waitServed(t, gw, a.Listen, certC, certPollIntervalForTest+5*time.Second)
	gw.waitOutput(t, "trigger=\"file change\"", 1)

	// HTTPS requests are served on the new certificate.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certC.certPEM)
	c := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
	conn, err := tls.Dial("tcp", a.Listen, c)
	if err != nil {
		t.Fatalf("verified handshake with certificate C: %v", err)
	}
	conn.Close()
}

// startTLSGateway starts a gateway serving HTTPS on a.Listen with vol's
// certificate, every path public.
func startTLSGateway(t *testing.T, a addrs, vol *secretVolume) *gateway {
	t.Helper()
	up := newUpstream(t)
	p := oidctest.New(t, oidctest.Options{})
	return startGateway(t, a, tomlConfig{
		PublicURL: "https://{{LISTEN}}",
		Server: "tls_cert_file = \"" + filepath.Join(vol.dir, "tls.crt") + "\"\n" +
			"tls_key_file = \"" + filepath.Join(vol.dir, "tls.key") + "\"\n",
		Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: up.URL,
		Routes:   "[[routes]]\npath = \"/**\"\npublic = true\n",
	}.String())
}

// certPollIntervalForTest is the binary's poll interval of the certificate
// files (certPollInterval in cmd/portcullis).
const certPollIntervalForTest = 5 * time.Second

// TestHTTP2StreamLimit reads the SETTINGS the TLS listener sends an HTTP/2
// client, and a listener without TLS an h2c client (prior knowledge): at
// most 100 requests in flight on one connection either way.
func TestHTTP2StreamLimit(t *testing.T) {
	t.Parallel()
	vol := newSecretVolume(t, newKeyPair(t, "h2"))
	a := pickAddrs(t)
	startTLSGateway(t, a, vol)
	// The settings are the observation, not the certificate.
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", a.Listen,
		&tls.Config{InsecureSkipVerify: true, NextProtos: []string{"h2"}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if got := c.ConnectionState().NegotiatedProtocol; got != "h2" {
		t.Fatalf("ALPN chose %q, want h2", got)
	}
	assertStreamLimit(t, c)

	plain := pickAddrs(t)
	p := oidctest.New(t, oidctest.Options{})
	startGateway(t, plain, tomlConfig{Provider: oidcProvider(p.Issuer, p.ClientID, p.ClientSecret),
		Upstream: newUpstream(t).URL, Routes: "[[routes]]\npath = \"/**\"\npublic = true\n"}.String())
	h2c, err := net.DialTimeout("tcp", plain.Listen, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer h2c.Close()
	assertStreamLimit(t, h2c)
}

// assertStreamLimit opens HTTP/2 on c and checks the server's first SETTINGS.
func assertStreamLimit(t *testing.T, c net.Conn) {
	t.Helper()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	f, err := fr.ReadFrame()
	if err != nil {
		t.Fatal(err)
	}
	s, ok := f.(*http2.SettingsFrame)
	if !ok {
		t.Fatalf("first frame %T, want SETTINGS", f)
	}
	if v, ok := s.Value(http2.SettingMaxConcurrentStreams); !ok || v != 100 {
		t.Errorf("SETTINGS_MAX_CONCURRENT_STREAMS = %d (sent: %v), want 100", v, ok)
	}
}
