package proxy

import "slices"

// peerClaimHeaders are headers outside docs/requests.md's list that frameworks
// and platforms commonly believe about the client's address, scheme or TLS
// certificate; only a trusted proxy may send them, and from another peer
// they are removed in any spelling (peerClaims: "X_Real_IP" reaches a CGI
// or WSGI app as X-Real-IP). One list per category.
var peerClaimHeaders = slices.Concat(addressClaims, schemeClaims, certificateClaims, identityClaims)

// addressClaims name the client's address: the CDNs' and clouds' own
// (Cloudflare, Fastly, Akamai's True-Client-IP, Azure Front Door, App
// Engine, Fly.io, CloudFront, Envoy at the edge), which gin's
// TrustedPlatform and many applications read before X-Forwarded-For.
var addressClaims = []string{
	"X-Real-Ip", "X-Client-Ip", "True-Client-Ip", "Cf-Connecting-Ip", "Cf-Connecting-Ipv6", "X-Cluster-Client-Ip",
	"Client-Ip", "X-Forwarded", "Forwarded-For", "X-Forwarded-Server", "Fastly-Client-Ip",
	"X-Azure-Clientip", "X-Azure-Socketip", "X-Appengine-User-Ip", "X-Appengine-Remote-Addr", "Fly-Client-Ip",
	"Cloudfront-Viewer-Address", "X-Envoy-External-Address",
}

// schemeClaims say the client spoke HTTPS. Tornado believes X-Scheme
// before X-Forwarded-Proto; gunicorn (from loopback by default) and Echo
// believe X-Forwarded-Protocol; Cloudflare's CF-Visitor carries the scheme
// as JSON.
var schemeClaims = []string{
	"X-Forwarded-Ssl", "X-Forwarded-Scheme", "X-Forwarded-Protocol", "X-Url-Scheme", "Front-End-Https", "X-Scheme",
	"Cf-Visitor", "Fastly-Ssl", "Cloudfront-Forwarded-Proto", "X-Arr-Ssl",
}

// certificateClaims name the certificate a TLS-terminating proxy saw, which
// the gateway never forwards: Client-Cert and Client-Cert-Chain (RFC 9440
// §2, whose proxy removes a client's own), Envoy's X-Forwarded-Client-Cert,
// ASP.NET's certificate forwarding (X-Client-Cert by default, App Service's
// X-ARR-ClientCert), Traefik's passTLSClientCert and AWS ALB's mutual TLS.
var certificateClaims = []string{
	"Client-Cert", "Client-Cert-Chain", "X-Forwarded-Client-Cert", "X-Client-Cert", "X-Arr-Clientcert",
	"X-Forwarded-Tls-Client-Cert", "X-Forwarded-Tls-Client-Cert-Info",
	"X-Amzn-Mtls-Clientcert", "X-Amzn-Mtls-Clientcert-Leaf", "X-Amzn-Mtls-Clientcert-Subject",
	"X-Amzn-Mtls-Clientcert-Issuer", "X-Amzn-Mtls-Clientcert-Serial-Number", "X-Amzn-Mtls-Clientcert-Validity",
}

// identityClaims name the signed-in user as other authentication products
// tell the application behind them, which an application moved behind the
// gateway may still read: a client's own would sign it in as anyone. Only
// such a product in front of the gateway, a trusted proxy, may send them.
// Names ending in '*' are prefixes (headerSet).
var identityClaims = []string{
	// AWS ALB's authenticate-oidc and authenticate-cognito actions.
	"X-Amzn-Oidc-Data", "X-Amzn-Oidc-Identity", "X-Amzn-Oidc-Accesstoken",
	// Google Cloud IAP.
	"X-Goog-Authenticated-User-Email", "X-Goog-Authenticated-User-Id", "X-Goog-Iap-Jwt-Assertion",
	// Cloudflare Access.
	"Cf-Access-Jwt-Assertion", "Cf-Access-Authenticated-User-Email",
	// Azure App Service authentication, and its provider tokens
	// (X-Ms-Token-Aad-Access-Token, X-Ms-Token-Aad-Id-Token, ...).
	"X-Ms-Client-Principal", "X-Ms-Client-Principal-Name", "X-Ms-Client-Principal-Id",
	"X-Ms-Client-Principal-Idp", "X-Ms-Token-*",
	// Authelia's trusted-header SSO, which NetBox (HTTP_REMOTE_USER by
	// default), Papermerge and others read.
	"Remote-User", "Remote-Groups", "Remote-Email", "Remote-Name",
	// Pomerium's identity headers, one X-Pomerium-Claim-{Name} per claim.
	"X-Pomerium-Jwt-Assertion", "X-Pomerium-Claim-*",
	// Vouch Proxy's user, and its IdP token and claim headers
	// (X-Vouch-Idp-Idtoken, X-Vouch-Idp-Claims-Email, ...).
	"X-Vouch-User", "X-Vouch-Idp-*",
	// Grafana's auth proxy: X-Webauth-User by default, and the
	// X-Webauth-Name, -Email, -Role and -Groups of its documented example.
	"X-Webauth-*",
	// authentik's proxy outpost (X-Authentik-Username, -Groups, -Email,
	// -Name, -Uid, -Jwt, -Meta-*).
	"X-Authentik-*",
	// Keycloak Gatekeeper, Louketo Proxy and gogatekeeper (not their
	// X-Auth-Token, which APIs also take from clients as their key).
	"X-Auth-Userid", "X-Auth-Username", "X-Auth-Subject", "X-Auth-Email", "X-Auth-Groups", "X-Auth-Roles",
	// Tailscale Serve's identity headers.
	"Tailscale-User-Login", "Tailscale-User-Name", "Tailscale-User-Profile-Pic",
	// SonarQube's HTTP header authentication (its X-Forwarded-Email and
	// -Groups are the gateway's own).
	"X-Forwarded-Login", "X-Forwarded-Name",
	// Kubernetes' authenticating proxy (the API server's default names),
	// which Apache set-ups also write.
	"X-Remote-User", "X-Remote-Group",
	// Apache mod_auth_openidc: OIDC_CLAIM_<claim> per claim and the tokens
	// (OIDC_access_token, OIDC_id_token_payload, ...), which a CGI, WSGI or
	// PHP app reads as HTTP_OIDC_CLAIM_EMAIL whatever the client's spelling.
	"Oidc-Claim-*", "Oidc-Access-Token", "Oidc-Access-Token-Expires", "Oidc-Id-Token", "Oidc-Id-Token-Payload",
	"Oidc-Userinfo-Json", "Oidc-Refresh-Token",
}

var peerClaims = newHeaderSet(peerClaimHeaders...)
