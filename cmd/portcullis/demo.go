package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"

	"github.com/portcullis/portcullis/config"
	"github.com/portcullis/portcullis/demo"
)

// runDemo is `portcullis demo`: a demo provider, a demo upstream and the
// gateway in front of both, all on 127.0.0.1, configured through a generated
// TOML file that goes through the same loading and validation as serve.
func runDemo(ctx context.Context, args []string, env func(string) (string, bool), stdout, stderr io.Writer) error {
	fs := newCommand("demo", "[--listen 127.0.0.1:PORT]",
		"Runs a self-contained demo on 127.0.0.1: a demo identity provider, a demo\nupstream and the gateway in front of both. Prints the gateway URL and the\ndemo users first.")
	listen := fs.String("listen", "127.0.0.1:0", "the gateway's `ADDRESS` (on 127.0.0.1; port 0 picks a free one)")
	if err := fs.parse(args, stdout, stderr); err != nil {
		return err
	}
	ln, err := demoListener(*listen)
	if err != nil {
		return err
	}
	defer ln.Close()

	// Log lines (one names the demo provider's URL) wait until the banner
	// is out: on a terminal the first URL a newcomer sees is the gateway's.
	held := &heldWriter{w: stderr}
	defer held.release()
	logger := newLogger("text", "info", held)
	denv, err := demo.Start(ctx, demo.Options{GatewayURL: "http://" + ln.Addr().String(), Logger: logger})
	if err != nil {
		return err
	}
	defer denv.Close()

	path, removeDir, err := writeDemoConfig(denv, ln.Addr().String())
	if err != nil {
		return err
	}
	cfg, err := loadConfig(path, env, stderr)
	// The file holds the demo's client and session secrets; the demo
	// never reads it again (it does not reload), so it goes at once and
	// a demo that is killed leaves nothing behind.
	removeDir()
	if err != nil {
		return err
	}
	return serveDemo(ctx, cfg, logger, ln, held, denv.Users, stdout)
}

// demoListener listens on listen, which must be on 127.0.0.1.
func demoListener(listen string) (net.Listener, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil || host != "127.0.0.1" {
		return nil, usageError("demo: --listen must be 127.0.0.1:PORT, got %q", listen)
	}
	return net.Listen("tcp", listen)
}

// writeDemoConfig writes the demo's configuration, for the gateway on
// addr with a fresh session secret, to a file of its own in a new
// temporary directory; removeDir removes the directory.
func writeDemoConfig(denv *demo.Env, addr string) (path string, removeDir func(), err error) {
	dir, err := os.MkdirTemp("", "portcullis-demo-")
	if err != nil {
		return "", nil, err
	}
	removeDir = func() { os.RemoveAll(dir) }
	path = filepath.Join(dir, "demo.toml")
	if err := os.WriteFile(path, []byte(denv.ConfigTOML(addr, randomSecret())), 0o600); err != nil {
		removeDir()
		return "", nil, err
	}
	return path, removeDir, nil
}

// serveDemo runs the gateway of cfg on ln until ctx ends, once it has
// printed the banner (the gateway's URL and the demo users) and released
// the log lines held until then.
func serveDemo(ctx context.Context, cfg *config.Config, logger *slog.Logger, ln net.Listener, held *heldWriter, users []demo.User, stdout io.Writer) error {
	g, err := buildGateway(cfg, logger, nil)
	if err != nil {
		return err
	}
	defer g.close()
	srv, err := g.listen(ln)
	if err != nil {
		return err
	}
	// The demo provider is local: load its metadata before printing the
	// banner, so the printed URL works at once.
	if err := g.current().provider.Discover(ctx); err != nil {
		return fmt.Errorf("demo: provider discovery: %w", err)
	}
	fmt.Fprintf(stdout, "http://%s/\n", ln.Addr())
	for _, u := range users {
		fmt.Fprintf(stdout, "username: %s  password: %s\n", u.Name, u.Password)
	}
	held.release()
	return g.run(ctx, srv)
}

// heldWriter holds what is written to it until release, then writes it
// and everything after straight to w.
type heldWriter struct {
	mu       sync.Mutex
	w        io.Writer
	buf      bytes.Buffer
	released bool
}

func (h *heldWriter) Write(p []byte) (int, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.released {
		return h.w.Write(p)
	}
	return h.buf.Write(p)
}

// release writes what was held and lets later writes through.
func (h *heldWriter) release() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.released {
		h.released = true
		_, _ = h.w.Write(h.buf.Bytes())
		h.buf.Reset()
	}
}

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
