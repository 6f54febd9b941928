// Package e2e holds the end-to-end tests: the real portcullis binary in front
// of real providers (the demo provider, zitadel/oidc's example OpenID
// Provider, node oidc-provider), real Redis, nginx and Caddy, and a real
// headless Chromium. It has no non-test code.
package e2e
