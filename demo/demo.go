// Package demo is the self-contained world behind `portcullis demo`: a
// demo OpenID Provider (built on github.com/zitadel/oidc's op package, with a
// login form and generated users) and a demo upstream that shows what it
// received. Both listen on 127.0.0.1 only. Only cmd's demo command imports
// this package; `serve` never reaches it.
package demo

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Options configures Start. Zero values mean the documented defaults.
type Options struct {
	// GatewayURL is the gateway's public URL, e.g. "http://127.0.0.1:41234".
	// Its callback GatewayURL+"/oauth2/callback" and post-logout URI
	// GatewayURL+"/oauth2/signed_out" are registered at the provider.
	GatewayURL string
	Logger     *slog.Logger // nil: discard
	// AccessTokenLifetime is how long access tokens live; 0 means 5 minutes,
	// short so that the gateway's refresh can be seen.
	AccessTokenLifetime time.Duration
	// Now is the provider's clock for its own records; nil means time.Now.
	Now func() time.Time
}

// Env is a running demo provider and upstream.
type Env struct {
	IssuerURL    string // http://127.0.0.1:PORT, the provider
	UpstreamURL  string // http://127.0.0.1:PORT, the demo upstream
	ClientID     string
	ClientSecret string
	Users        []User // with their generated passwords

	gatewayURL string
	servers    []*http.Server
	stop       func() bool
	closeOnce  sync.Once
	closeErr   error
}

// defaultAccessTokenLifetime is short so that a demo session shows a refresh.
const defaultAccessTokenLifetime = 5 * time.Minute

// Start starts the provider and the upstream on fresh 127.0.0.1 ports. They
// stop when ctx is done or Close is called.
func Start(ctx context.Context, opts Options) (*Env, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("demo: not started: %w", err)
	}
	gw, err := parseGatewayURL(opts.GatewayURL)
	if err != nil {
		return nil, err
	}
	opts, err = opts.withDefaults()
	if err != nil {
		return nil, err
	}
	key, err := newSigningKey()
	if err != nil {
		return nil, err
	}
	provLn, upLn, err := listenPair()
	if err != nil {
		return nil, err
	}
	issuer := "http://" + provLn.Addr().String()
	users := newUsers()
	c := newClient(issuer, gw)
	store := newStorage(c, &userDirectory{users: users}, key, opts.AccessTokenLifetime, opts.Now)
	provider, err := newProviderHandler(issuer, store, opts.Logger)
	if err != nil {
		provLn.Close()
		upLn.Close()
		return nil, err
	}
	e := &Env{
		IssuerURL: issuer, UpstreamURL: "http://" + upLn.Addr().String(),
		ClientID: c.id, ClientSecret: c.secret, Users: users, gatewayURL: gw,
	}
	e.serve(provider, provLn, "provider", opts.Logger)
	e.serve(NewUpstream(), upLn, "upstream", opts.Logger)
	e.stop = context.AfterFunc(ctx, func() { _ = e.shutdown() })
	opts.Logger.Info("demo provider and upstream started", "issuer", e.IssuerURL, "upstream", e.UpstreamURL)
	return e, nil
}

// withDefaults is opts with its zero fields given their defaults; a
// negative access token lifetime is refused.
func (opts Options) withDefaults() (Options, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.AccessTokenLifetime == 0 {
		opts.AccessTokenLifetime = defaultAccessTokenLifetime
	}
	if opts.AccessTokenLifetime < 0 {
		return opts, fmt.Errorf("demo: negative access token lifetime %s", opts.AccessTokenLifetime)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return opts, nil
}

// listenPair listens on two fresh 127.0.0.1 ports: the provider's and the
// upstream's.
func listenPair() (provLn, upLn net.Listener, err error) {
	provLn, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, fmt.Errorf("demo: provider listener: %w", err)
	}
	upLn, err = net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		provLn.Close()
		return nil, nil, fmt.Errorf("demo: upstream listener: %w", err)
	}
	return provLn, upLn, nil
}

// serve runs h on ln in the background.
func (e *Env) serve(h http.Handler, ln net.Listener, name string, logger *slog.Logger) {
	srv := newServer(h, logger)
	e.servers = append(e.servers, srv)
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("demo: "+name+" stopped", "err", err)
		}
	}()
}

// Close stops both listeners, letting requests in flight finish for a moment.
// It is safe to call more than once.
func (e *Env) Close() error {
	if e.stop != nil {
		e.stop()
	}
	return e.shutdown()
}

// shutdown stops the servers once; it is what ctx's end triggers, and it
// never touches e.stop, which Start sets after registering it.
func (e *Env) shutdown() error {
	e.closeOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var errs []error
		for _, srv := range e.servers {
			if err := srv.Shutdown(ctx); err != nil {
				errs = append(errs, srv.Close())
			}
		}
		e.closeErr = errors.Join(errs...)
	})
	return e.closeErr
}

// parseGatewayURL accepts an absolute http(s) URL without query or fragment
// and returns it without a trailing slash.
func parseGatewayURL(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return "", fmt.Errorf("demo: gateway URL %q is not an absolute http(s) URL", raw)
	}
	return strings.TrimSuffix(u.String(), "/"), nil
}
