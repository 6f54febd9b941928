// Test-only OpenID Provider for the Portcullis end-to-end tests: the
// OpenID-certified node "oidc-provider" package, configured entirely from the
// JSON document in the PORTCULLIS_OP_CONFIG environment variable (written by
// the Go package internal/nodeop, which documents every field):
//
//   {
//     "port": 43123,
//     "clients": [{ "client_id": "...", "client_secret": "...", "redirect_uris": [...],
//                   "post_logout_redirect_uris": [...], "backchannel_logout_uri": "...",
//                   "userinfo_signed_response_alg": "RS256" }],
//     "resource": { "indicator": "urn:portcullis", "audience": "portcullis",
//                   "scopes": ["dashboards:read"] },
//     "accessTokenTTL": 3600,
//     "rotateRefreshTokens": false
//   }
//
// It listens on 127.0.0.1 only, with issuer http://127.0.0.1:PORT, and prints
// exactly one line "READY <issuer>" once it accepts connections. Signing keys
// and cookie keys are generated for each run. Nothing secret is logged.
import * as crypto from 'node:crypto';
import * as http from 'node:http';
import { promisify } from 'node:util';

// RSA key generation runs in the thread pool while the package loads.
const signingKey = promisify(crypto.generateKeyPair)('rsa', { modulusLength: 2048 });
const { default: Provider, errors } = await import('oidc-provider');

const cfg = JSON.parse(process.env.PORTCULLIS_OP_CONFIG || '{}');
const port = Number(cfg.port);
if (!Number.isInteger(port) || port <= 0 || port > 65535) {
  console.error(`server.mjs: bad port ${JSON.stringify(cfg.port)}`);
  process.exit(2);
}
const issuer = `http://127.0.0.1:${port}`;
const ttl = Number(cfg.accessTokenTTL) > 0 ? Math.floor(Number(cfg.accessTokenTTL)) : 3600;
const resource = cfg.resource || null;

function clientMetadata(c) {
  const code = Array.isArray(c.redirect_uris) && c.redirect_uris.length > 0;
  const m = {
    client_id: c.client_id,
    client_secret: c.client_secret,
    token_endpoint_auth_method: 'client_secret_basic',
    grant_types: code ? ['authorization_code', 'refresh_token', 'client_credentials'] : ['client_credentials'],
    response_types: code ? ['code'] : [],
    redirect_uris: code ? c.redirect_uris : [],
    post_logout_redirect_uris: c.post_logout_redirect_uris || [],
  };
  if (c.userinfo_signed_response_alg) {
    m.userinfo_signed_response_alg = c.userinfo_signed_response_alg;
  }
  if (c.backchannel_logout_uri) {
    m.backchannel_logout_uri = c.backchannel_logout_uri;
    m.backchannel_logout_session_required = true;
  }
  return m;
}

// The account of a dev-interaction login: the login name is the subject.
function account(login) {
  return {
    email: `${login}@example.com`,
    email_verified: true,
    groups: login.startsWith('admin') ? ['admins'] : ['staff'],
    name: login,
    preferred_username: login,
  };
}

function resourceServer(indicator) {
  if (!resource || indicator !== resource.indicator) {
    throw new errors.InvalidTarget();
  }
  return {
    audience: resource.audience,
    scope: (resource.scopes || []).join(' '),
    accessTokenTTL: ttl,
    accessTokenFormat: 'jwt',
    jwt: { sign: { alg: 'RS256' } },
  };
}

const configuration = {
  clients: (cfg.clients || []).map(clientMetadata),
  jwks: { keys: [{ ...(await signingKey).privateKey.export({ format: 'jwk' }), kid: crypto.randomUUID(), use: 'sig', alg: 'RS256' }] },
  cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
  scopes: ['openid', 'offline_access', 'email', 'profile'],
  claims: {
    openid: ['sub', 'groups'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // Put the scope's claims into the ID token of the code flow too, not only
  // into userinfo, so that relying parties see email and groups at once.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  async findAccount(ctx, sub) {
    return {
      accountId: sub,
      async claims() { return { sub, ...account(sub) }; },
    };
  },
  // JWT access tokens of a user carry the user's email and groups as well.
  async extraTokenClaims(ctx, token) {
    if (!token.accountId) return undefined;
    const { email, groups } = account(token.accountId);
    return { email, groups };
  },
  // Refresh tokens for every code exchange of a client allowed the
  // refresh_token grant, with or without offline_access (which the provider
  // drops unless prompt=consent is requested).
  async issueRefreshToken(ctx, client) {
    return client.grantTypeAllowed('refresh_token');
  },
  rotateRefreshToken: cfg.rotateRefreshTokens ? () => true : undefined,
  ttl: {
    AccessToken: ttl,
    ClientCredentials: ttl,
    IdToken: 3600,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
    RefreshToken: 3600,
  },
  features: {
    devInteractions: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    // Only clients registered with userinfo_signed_response_alg get signed
    // userinfo (application/jwt); the others keep plain JSON.
    jwtUserinfo: { enabled: true },
    backchannelLogout: { enabled: true },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      // client_credentials without a resource parameter gets the configured
      // resource; the authorization endpoint gets none unless asked.
      async defaultResource(ctx) {
        if (resource && ctx.oidc.params?.grant_type === 'client_credentials') return resource.indicator;
        return undefined;
      },
      // Code exchange and refresh use the resource granted at authorization.
      async useGrantedResource() { return true; },
      async getResourceServerInfo(ctx, indicator) { return resourceServer(indicator); },
    },
  },
  // The package refuses outgoing requests to special-use addresses (SSRF
  // protection); the back-channel logout receivers of the tests live on
  // 127.0.0.1, so outgoing requests use the plain dispatcher.
  fetch(url, options) {
    const { dispatcher, ...rest } = options;
    return globalThis.fetch(url, rest);
  },
};
if (!configuration.rotateRefreshToken) delete configuration.rotateRefreshToken;

const provider = new Provider(issuer, configuration);
provider.on('server_error', (ctx, err) => console.error(`server_error: ${err.message}`));
provider.on('backchannel.error', (ctx, err, client) => {
  console.error(`backchannel.error: client ${client.clientId}: ${err.message}`);
});

const server = http.createServer(provider.callback());
server.listen(port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});
for (const sig of ['SIGTERM', 'SIGINT']) {
  process.on(sig, () => server.close(() => process.exit(0)));
}
