package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"

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
	host, _, err := net.SplitHostPort(*listen)
	if err != nil || host != "127.0.0.1" {
		return usageError("demo: --listen must be 127.0.0.1:PORT, got %q", *listen)
	}
	ln, err := net.Listen("tcp", *listen)
	if err != nil {
		return err
	}
	defer ln.Close()
	gatewayURL := "http://" + ln.Addr().String()

	logger := newLogger("text", "info", stderr)
	denv, err := demo.Start(ctx, demo.Options{GatewayURL: gatewayURL, Logger: logger})
	if err != nil {
		return err
	}
	defer denv.Close()

	dir, err := os.MkdirTemp("", "portcullis-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "demo.toml")
	if err := os.WriteFile(path, []byte(denv.ConfigTOML(ln.Addr().String(), randomSecret())), 0o600); err != nil {
		return err
	}
	cfg, err := loadConfig(path, env, stderr)
	if err != nil {
		return err
	}
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
	fmt.Fprintf(stdout, "%s/\n", gatewayURL)
	for _, u := range denv.Users {
		fmt.Fprintf(stdout, "username: %s  password: %s\n", u.Name, u.Password)
	}
	return g.run(ctx, srv)
}

func randomSecret() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}
