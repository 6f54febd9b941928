package demo

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"html/template"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// Paths of the provider's own pages; op serves everything else
// (/.well-known/openid-configuration, /authorize, /oauth/token, /keys,
// /userinfo, /revoke, /oauth/introspect, /end_session).
const (
	loginPath     = "/login"
	signedOutPath = "/signed-out"
)

// newClient registers the gateway at gatewayURL as the provider's only client.
func newClient(issuer, gatewayURL string) *client {
	return &client{
		id:             "portcullis-demo",
		secret:         rand.Text(),
		redirectURIs:   []string{gatewayURL + "/oauth2/callback"},
		postLogoutURIs: []string{gatewayURL + "/oauth2/signed_out"},
		loginURL: func(id string) string {
			return issuer + loginPath + "?authRequestID=" + url.QueryEscape(id)
		},
		idTokenTTL: idTokenTTL,
	}
}

// newSigningKey generates the provider's RS256 key; RS256 is the algorithm
// every relying party must support (OpenID Connect Core 15.1).
func newSigningKey() (*signingKey, error) {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("demo: generate signing key: %w", err)
	}
	return &signingKey{id: newID(), key: k}, nil
}

// newProviderHandler mounts op's OpenID Provider for issuer together with the
// login and signed-out pages.
func newProviderHandler(issuer string, store *storage, logger *slog.Logger) (http.Handler, error) {
	var cryptoKey [32]byte // encrypts op's opaque tokens; unused with JWT access tokens, but never a constant
	if _, err := rand.Read(cryptoKey[:]); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	cfg := &op.Config{
		CryptoKey:                cryptoKey,
		CryptoKeyId:              newID(),
		DefaultLogoutRedirectURI: signedOutPath,
		CodeMethodS256:           true,
		AuthMethodPost:           true,
		GrantTypeRefreshToken:    true,
		SupportedUILocales:       []language.Tag{language.English},
		SupportedScopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail,
			scopeGroups, oidc.ScopeOfflineAccess},
		SupportedClaims: append(append([]string{}, op.DefaultSupportedClaims...), "groups"),
	}
	// The issuer is http://127.0.0.1:PORT, which op refuses without
	// WithAllowInsecure; the demo never listens off loopback.
	provider, err := op.NewProvider(cfg, store, op.StaticIssuer(issuer), op.WithAllowInsecure())
	if err != nil {
		return nil, fmt.Errorf("demo: start provider: %w", err)
	}
	callback := op.AuthCallbackURL(provider)
	mux := http.NewServeMux()
	mux.Handle(loginPath, &login{
		store: store,
		users: store.users,
		callback: func(ctx context.Context, id string) string {
			return callback(op.ContextWithIssuer(ctx, issuer), id)
		},
		logger: logger,
	})
	mux.HandleFunc(signedOutPath, serveSignedOut)
	mux.Handle("/", provider)
	return mux, nil
}

var signedOutTemplate = template.Must(template.New("signed-out").Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Signed out · Portcullis demo provider</title></head>
<body><h1 id="signed-out">You are signed out of the Portcullis demo provider.</h1></body></html>
`))

// serveSignedOut is where end_session lands without a registered
// post_logout_redirect_uri.
func serveSignedOut(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_ = signedOutTemplate.Execute(w, nil)
}

// newServer wraps h with the timeouts every listener of the demo uses.
func newServer(h http.Handler, logger *slog.Logger) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}
