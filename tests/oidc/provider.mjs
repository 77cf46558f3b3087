// A real OpenID Connect provider (node-oidc-provider, a certified implementation) on
// 127.0.0.1, for cml-fleet's single sign-on tests and for trying SSO by hand
// (notes/SSO.md). Not for production: accounts are fixed, any password is accepted.
//
//   node tests/oidc/provider.mjs [--port 9400] [--keys FILE] [--rotate]
//       [--redirect http://127.0.0.1:8000] [--access-ttl 300]
//
// Prints one JSON line on stdout when it listens: {"issuer": ..., "kid": ...}.
// --keys keeps the signing keys in FILE (made on first start); --rotate puts a new
// key first (it signs from then on) and drops the oldest beyond two.
import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import Provider from 'oidc-provider';

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '9400' },
    keys: { type: 'string' },
    rotate: { type: 'boolean', default: false },
    redirect: { type: 'string', multiple: true, default: ['http://127.0.0.1:8000'] },
    'access-ttl': { type: 'string', default: '300' },
  },
});

// People who sign in through the login page (any password). Their claims come in
// the shapes real providers use: Entra ID's `roles`, Keycloak's `realm_access.roles`,
// and a `groups` claim for the team.
export const PEOPLE = {
  ada: { name: 'Ada Admin', roles: ['fleet-admin'], groups: ['red'] },
  olga: { name: 'Olga Operator', roles: ['fleet-operator'], groups: ['red'] },
  otto: { name: 'Otto Operator', roles: ['fleet-operator'], groups: ['blue'] },
  vera: { name: 'Vera Viewer', roles: ['fleet-viewer'], groups: ['blue'] },
  nobody: { name: 'No Role', roles: [], groups: ['red'] },
};

// Machines that take a JWT access token with client_credentials: each acts as one of
// the people above, so API tests present the provider's own tokens.
const ROBOTS = Object.fromEntries(
  Object.keys(PEOPLE).map((who) => [`robot-${who}`, who]),
);

function claimsOf(who) {
  const person = PEOPLE[who] ?? { name: who, roles: [], groups: [] };
  return {
    sub: who,
    name: person.name,
    preferred_username: who,
    roles: person.roles,
    realm_access: { roles: person.roles },
    groups: person.groups,
  };
}

function signingKeys() {
  const fresh = () => {
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    return { ...privateKey.export({ format: 'jwk' }), kid: randomUUID(), use: 'sig', alg: 'RS256' };
  };
  if (!args.keys) return [fresh()];
  let keys = existsSync(args.keys) ? JSON.parse(readFileSync(args.keys, 'utf8')) : [];
  if (keys.length === 0 || args.rotate) keys = [fresh(), ...keys].slice(0, 2);
  writeFileSync(args.keys, JSON.stringify(keys), { mode: 0o600 });
  return keys;
}

const port = Number(args.port);
const issuer = `http://127.0.0.1:${port}`;
const keys = signingKeys();
const redirects = args.redirect.map((base) => base.replace(/\/$/, ''));
const AUDIENCE = 'cml-fleet';

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: 'cml-fleet',
      client_secret: 'cml-fleet-test-secret',
      redirect_uris: redirects.map((base) => `${base}/auth/callback`),
      post_logout_redirect_uris: redirects.map((base) => `${base}/login?reason=signed-out`),
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    },
    ...Object.keys(ROBOTS).map((id) => ({
      client_id: id,
      client_secret: `${id}-secret`,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
    })),
  ],
  jwks: { keys },
  pkce: { required: () => true },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'roles', 'realm_access', 'groups'],
  },
  findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => claimsOf(sub) }),
  conformIdTokenClaims: false, // the ID token carries the profile claims
  features: {
    devInteractions: { enabled: true },
    clientCredentials: { enabled: true },
    rpInitiatedLogout: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => `urn:${AUDIENCE}`,
      useGrantedResource: () => true,
      getResourceServerInfo: (_ctx, resource) => ({
        scope: 'openid profile',
        audience: resource === `urn:${AUDIENCE}` ? AUDIENCE : resource.replace(/^urn:/, ''),
        accessTokenFormat: 'jwt',
        accessTokenTTL: Number(args['access-ttl']),
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
  extraTokenClaims: (_ctx, token) => {
    const who = token.accountId ?? ROBOTS[token.clientId];
    if (!who) return undefined;
    const { sub, ...rest } = claimsOf(who);
    return token.accountId ? rest : { ...rest, act_as: sub };
  },
  issueRefreshToken: (_ctx, client) => client.grantTypeAllowed('refresh_token'),
  // First-party: no consent screen, the grant covers what the client asked for.
  loadExistingGrant: async (ctx) => {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile offline_access');
    grant.addResourceScope(`urn:${AUDIENCE}`, 'openid profile');
    await grant.save();
    return grant;
  },
  ttl: {
    AccessToken: Number(args['access-ttl']),
    ClientCredentials: Number(args['access-ttl']),
    IdToken: Number(args['access-ttl']),
    RefreshToken: 24 * 3600,
    Session: 24 * 3600,
    Grant: 24 * 3600,
    Interaction: 600,
    AuthorizationCode: 60,
  },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ issuer, kid: keys[0].kid })}\n`);
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => server.close(() => process.exit(0)));
