// Test-only OAuth 2.1 / OpenID Connect authorization server for the interop tests of
// mcp-oauth-dynamicclient, built on the npm package `oidc-provider` (pinned in package.json).
//
// NEVER expose this server: it logs every user in without a password and grants every
// consent it is asked for. It only listens on 127.0.0.1.
//
// Usage:
//   node server.mjs [--port N] [--issuer URL] [--default-resource URL]
//                   [--device-interval SECONDS] [--access-token-format opaque|jwt]
//                   [--max-lifetime SECONDS] [--interactions headless|pages]
//
// Every option can also come from the environment (argv wins):
//   OIDC_PROVIDER_PORT, OIDC_PROVIDER_ISSUER, OIDC_PROVIDER_DEFAULT_RESOURCE,
//   OIDC_PROVIDER_DEVICE_INTERVAL, OIDC_PROVIDER_ACCESS_TOKEN_FORMAT, OIDC_PROVIDER_MAX_LIFETIME,
//   OIDC_PROVIDER_INTERACTIONS,
//   OIDC_PROVIDER_IGNORE_STDIN=1 (do not exit when stdin reaches EOF).
//
// Port 0 (the default) lets the kernel pick a free port; the issuer then defaults to
// http://127.0.0.1:<actual port>. Once listening, the ONLY line ever written to stdout is
//   READY <issuer>
// Everything else (oidc-provider notices, request errors) goes to stderr.
//
// The process exits on SIGTERM/SIGINT, when stdin closes, or after --max-lifetime seconds
// (default 3600) so that a forgotten server cannot live forever.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import { parseArgs } from 'node:util';

import Provider, { errors } from 'oidc-provider';

// oidc-provider prints its notices with console.info, i.e. on stdout. Keep stdout for the
// READY line alone so that the Python helper can parse it without guessing.
console.info = (...args) => console.error(...args);

const TEST_ACCOUNT_ID = 'test-user';
const MCP_SCOPES = ['mcp:read', 'mcp:write'];
// A login_hint with this value makes the headless interaction refuse the request, so a test
// can get a real `error=access_denied` authorization response.
const DENY_LOGIN_HINT = 'deny';
// Account ids a test may pick through login_hint (anything else falls back to test-user).
const ACCOUNT_ID_PATTERN = /^[A-Za-z0-9._@-]{1,64}$/;

// ---------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------

const { values: argv } = parseArgs({
  options: {
    port: { type: 'string' },
    issuer: { type: 'string' },
    'default-resource': { type: 'string' },
    'device-interval': { type: 'string' },
    'access-token-format': { type: 'string' },
    'max-lifetime': { type: 'string' },
    interactions: { type: 'string' },
  },
  strict: true,
});

/** Reads an option from argv first, then from the environment, then the fallback. */
function option(name, envName, fallback) {
  return argv[name] ?? process.env[envName] ?? fallback;
}

/** Parses a non-negative integer option or exits with a clear message. */
function integerOption(name, envName, fallback) {
  const raw = option(name, envName, undefined);
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`invalid --${name} / ${envName}: ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

const requestedPort = integerOption('port', 'OIDC_PROVIDER_PORT', 0);
const deviceInterval = integerOption('device-interval', 'OIDC_PROVIDER_DEVICE_INTERVAL', undefined);
const maxLifetime = integerOption('max-lifetime', 'OIDC_PROVIDER_MAX_LIFETIME', 3600);
// Opaque by default: oidc-provider refuses to introspect (and so to revoke) JWT access tokens.
const accessTokenFormat = option('access-token-format', 'OIDC_PROVIDER_ACCESS_TOKEN_FORMAT', 'opaque');
if (!['opaque', 'jwt'].includes(accessTokenFormat)) {
  console.error(`invalid --access-token-format / OIDC_PROVIDER_ACCESS_TOKEN_FORMAT: ${accessTokenFormat}`);
  process.exit(2);
}

// `headless` (default): our /interaction/<uid> route below signs in and consents without a
// page. `pages`: oidc-provider's own interactive login form (any login and password) and
// consent page (devInteractions), for the tests that drive a real browser.
const interactions = option('interactions', 'OIDC_PROVIDER_INTERACTIONS', 'headless');
if (!['headless', 'pages'].includes(interactions)) {
  console.error(`invalid --interactions / OIDC_PROVIDER_INTERACTIONS: ${interactions}`);
  process.exit(2);
}

// ---------------------------------------------------------------------------------------
// Shutdown handling (set up first so that nothing can outlive its parent)
// ---------------------------------------------------------------------------------------

let httpServer;

function shutdown(reason) {
  console.error(`oidc-provider test server: stopping (${reason})`);
  if (httpServer) {
    httpServer.close();
    httpServer.closeAllConnections?.();
  }
  // Do not wait for keep-alive sockets or timers: this is a throwaway test server.
  process.exit(0);
}

process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (process.env.OIDC_PROVIDER_IGNORE_STDIN !== '1') {
  // The parent keeps our stdin open (a pipe); when it exits or closes the pipe we stop.
  process.stdin.on('end', () => shutdown('stdin closed'));
  process.stdin.on('error', () => shutdown('stdin error'));
  process.stdin.resume();
}
if (maxLifetime > 0) {
  setTimeout(() => shutdown(`max lifetime of ${maxLifetime}s reached`), maxLifetime * 1000).unref();
}

// ---------------------------------------------------------------------------------------
// Small HTML helpers for the pages the provider lets us render (device flow, errors)
// ---------------------------------------------------------------------------------------

function escapeHtml(value) {
  return String(value)
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

// Pages carry a `data-page` marker (and `data-error` on failures) so the Python helper can
// tell where it is without scraping prose.
function page(ctx, pageId, content, error) {
  const errorAttr = error ? ` data-error="${escapeHtml(error)}"` : '';
  ctx.type = 'html';
  ctx.body = `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>${escapeHtml(pageId)}</title></head>
<body data-page="${escapeHtml(pageId)}"${errorAttr}>
${content}
</body></html>`;
}

// ---------------------------------------------------------------------------------------
// Provider configuration
// ---------------------------------------------------------------------------------------

/** A fresh RSA signing key per run: ID tokens and JWT access tokens are RS256. */
function signingJwks() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = privateKey.export({ format: 'jwk' });
  return { keys: [{ ...jwk, kid: `interop-${randomBytes(4).toString('hex')}`, use: 'sig', alg: 'RS256' }] };
}

function buildConfiguration(defaultResource) {
  return {
    jwks: signingJwks(),
    cookies: { keys: [randomBytes(32).toString('base64url')] },

    // Every account exists; its only claim is `sub`.
    async findAccount(_ctx, accountId) {
      return { accountId, async claims() { return { sub: accountId }; } };
    },

    // OIDC scopes plus the MCP scopes. The MCP scopes have to be listed here as well (not
    // only on the resource server below) because oidc-provider rejects a registration whose
    // `scope` metadata names a scope it does not list, and because this is what ends up in
    // discovery's scopes_supported.
    scopes: ['openid', 'offline_access', ...MCP_SCOPES],
    claims: { openid: ['sub'] },

    clientDefaults: {
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'RS256',
    },

    // OAuth 2.1: the code flow only (no implicit, no hybrid).
    responseTypes: ['code'],

    // PKCE for every client, public or confidential (oidc-provider only knows S256).
    pkce: { required: () => true },

    // A client that registered the refresh_token grant always gets a refresh token from the
    // code and device grants, whether or not it asked for offline_access (oidc-provider drops
    // offline_access unless prompt=consent is sent, as OpenID Connect Core says).
    async issueRefreshToken(_ctx, client) {
      return client.grantTypeAllowed('refresh_token');
    },
    // Rotate on every use. A rotated refresh token presented again revokes the whole grant.
    rotateRefreshToken: () => true,
    // Tokens do not die with the (headless) browser session.
    expiresWithSession: async () => false,

    ttl: {
      AccessToken: 3600,
      AuthorizationCode: 60,
      ClientCredentials: 600,
      DeviceCode: 600,
      Grant: 14 * 24 * 3600,
      IdToken: 3600,
      Interaction: 600,
      RefreshToken: 14 * 24 * 3600,
      Session: 14 * 24 * 3600,
    },

    // Instead of the provider's HTML error page, a small page with machine-readable data.
    async renderError(ctx, out) {
      const rows = Object.entries(out)
        .map(([key, value]) => `<p data-field="${escapeHtml(key)}">${escapeHtml(value)}</p>`)
        .join('\n');
      page(ctx, 'error', rows, out.error);
    },

    features: {
      // We mount our own (headless) interaction route instead of the dev login pages, unless
      // --interactions pages asks for those pages.
      devInteractions: { enabled: interactions === 'pages' },

      // RFC 7591 without an initial access token, and RFC 7592 with rotation of the
      // registration access token on every successful PUT (the server's default).
      registration: { enabled: true, initialAccessToken: false },
      registrationManagement: { enabled: true, rotateRegistrationAccessToken: true },

      clientCredentials: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },

      // RFC 8628. The user-facing pages are minimal and carry markers for the Python helper
      // (tests/interop/oidc_provider_server.py) that scripts them with httpx.
      deviceFlow: {
        enabled: true,
        charset: 'base-20',
        mask: '****-****',
        async userCodeInputSource(ctx, form, _out, err) {
          const error = err ? (err.name === 'AbortedError' ? 'aborted' : err.name || 'error') : undefined;
          const message = err ? `<p>${escapeHtml(err.message)}</p>` : '<p>Enter the code.</p>';
          page(ctx, 'device-input', `${message}\n${form}`, error);
        },
        async userCodeConfirmSource(ctx, form, client, _deviceInfo, userCode) {
          const name = escapeHtml(client.clientName || client.clientId);
          page(ctx, 'device-confirm', `<p>Allow ${name} (code ${escapeHtml(userCode)})?</p>\n${form}`);
        },
        async successSource(ctx) {
          page(ctx, 'device-success', '<p>Device approved.</p>');
        },
      },

      // RFC 8707. Any absolute URI is accepted as a resource; requests without one get the
      // default resource (<issuer>/mcp unless configured). Access tokens for a resource are
      // opaque by default (they can be introspected and revoked); with
      // --access-token-format jwt they are RFC 9068 JWTs (typ at+jwt, aud = the resource)
      // signed with the key in /jwks, which the introspection endpoint then refuses.
      resourceIndicators: {
        enabled: true,
        async defaultResource(_ctx, _client, oneOf) {
          // `oneOf` is set at the token endpoint when the grant covers several resources
          // and the request named none: leave the choice to the client (invalid_target).
          return oneOf ?? defaultResource;
        },
        // At the token endpoint, without a `resource` parameter, use the resource that was
        // granted at /auth even when `openid` was requested (otherwise the access token
        // would be a userinfo-only token without audience).
        useGrantedResource: async () => true,
        async getResourceServerInfo(_ctx, resource) {
          return {
            scope: MCP_SCOPES.join(' '),
            audience: resource,
            accessTokenFormat,
            accessTokenTTL: 3600,
            ...(accessTokenFormat === 'jwt' ? { jwt: { sign: { alg: 'RS256' } } } : {}),
          };
        },
      },

      // Left at the server defaults, listed so the surface is explicit.
      userinfo: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      pushedAuthorizationRequests: { enabled: true },
      dPoP: { enabled: true },
    },
  };
}

// ---------------------------------------------------------------------------------------
// Headless interactions: /interaction/<uid>
// ---------------------------------------------------------------------------------------

const INTERACTION_PATH = /^\/interaction\/([A-Za-z0-9_-]+)\/?$/;

/**
 * Completes whatever prompt the provider stopped at, without a page:
 * - login: the account from login_hint (or test-user) signs in;
 * - consent: a Grant covering every missing OIDC scope, claim and resource scope is saved.
 * Each call answers with a 303 back to the provider, which may then ask for the next prompt.
 */
async function completeInteraction(provider, req, res) {
  const interaction = await provider.interactionDetails(req, res);
  const { prompt, params } = interaction;
  const loginHint = typeof params.login_hint === 'string' ? params.login_hint : undefined;

  if (loginHint === DENY_LOGIN_HINT) {
    await provider.interactionFinished(
      req,
      res,
      { error: 'access_denied', error_description: 'denied by the test login_hint' },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  if (prompt.name === 'login') {
    const accountId = loginHint && ACCOUNT_ID_PATTERN.test(loginHint) ? loginHint : TEST_ACCOUNT_ID;
    await provider.interactionFinished(
      req,
      res,
      { login: { accountId } },
      { mergeWithLastSubmission: false },
    );
    return;
  }

  if (prompt.name === 'consent') {
    const grant = interaction.grantId
      ? await provider.Grant.find(interaction.grantId)
      : new provider.Grant({ accountId: interaction.session.accountId, clientId: params.client_id });
    const { missingOIDCScope = [], missingOIDCClaims = [], missingResourceScopes = {} } = prompt.details;
    if (missingOIDCScope.length > 0) grant.addOIDCScope(missingOIDCScope.join(' '));
    if (missingOIDCClaims.length > 0) grant.addOIDCClaims(missingOIDCClaims);
    for (const [resource, scopes] of Object.entries(missingResourceScopes)) {
      grant.addResourceScope(resource, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  throw new Error(`unsupported prompt ${prompt.name}`);
}

async function handleInteraction(provider, req, res) {
  try {
    await completeInteraction(provider, req, res);
  } catch (err) {
    // Typically an expired/unknown interaction (SessionNotFound) or a missing cookie.
    console.error('interaction failed:', err);
    const status = err instanceof errors.OIDCProviderError ? err.statusCode : 500;
    res.statusCode = status;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ error: err.error ?? 'server_error', error_description: err.message }));
  }
}

// ---------------------------------------------------------------------------------------
// Start-up
// ---------------------------------------------------------------------------------------

let provider;
let providerCallback;

httpServer = createServer((req, res) => {
  const { pathname } = new URL(req.url, 'http://127.0.0.1');
  if (interactions === 'headless' && req.method === 'GET' && INTERACTION_PATH.test(pathname)) {
    handleInteraction(provider, req, res);
    return;
  }
  providerCallback(req, res);
});

httpServer.on('error', (err) => {
  console.error('HTTP server error:', err);
  process.exit(1);
});

httpServer.listen(requestedPort, '127.0.0.1', () => {
  const { port } = httpServer.address();
  const issuer = option('issuer', 'OIDC_PROVIDER_ISSUER', `http://127.0.0.1:${port}`).replace(/\/+$/, '');
  const defaultResource = option('default-resource', 'OIDC_PROVIDER_DEFAULT_RESOURCE', `${issuer}/mcp`);

  provider = new Provider(issuer, buildConfiguration(defaultResource));

  // The spec default (RFC 8628) is a 5 s poll interval; the provider never sends
  // `interval`. With --device-interval we add it to the device authorization response.
  if (deviceInterval !== undefined) {
    provider.on('device_authorization.success', (_ctx, body) => {
      body.interval = deviceInterval;
    });
  }

  // The token endpoint answers every grant failure with a generic description; log the
  // real reason so a failing test can be understood from the server's stderr.
  for (const event of ['grant.error', 'server_error', 'registration_update.error', 'registration_read.error']) {
    provider.on(event, (ctx, err) => {
      const what = err.error ? `${err.error}: ${err.error_description}` : `${err.name}: ${err.message}`;
      const detail = err.error_detail ? ` (${err.error_detail})` : '';
      console.error(`[${event}] ${ctx?.method} ${ctx?.path}: ${what}${detail}`);
    });
  }

  providerCallback = provider.callback();
  process.stdout.write(`READY ${issuer}\n`);
});
