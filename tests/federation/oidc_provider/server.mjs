// A real upstream OpenID provider for the test suite (stands in for Okta / Auth0 / Cognito).
//
// panva/oidc-provider on 127.0.0.1, started by tests/support/oidc_provider.py:
//
//   PORT=0 node server.mjs          -> prints exactly one stdout line "READY http://127.0.0.1:<port>"
//
// - issuer http://127.0.0.1:<actual port>; a fresh RSA signing key per process (kid in the JWKS);
// - open dynamic client registration (RFC 7591, POST <registration_endpoint>), so each test registers
//   a client with its exact redirect_uris;
// - the built-in dev login form (GET/POST /interaction/<uid>): any login, any password. The account
//   id (hence `sub`) is "sub-<login>"; the other claims derive from the login (see accountClaims);
// - consent is granted automatically (no consent page), unless OP_AUTO_CONSENT=0 or the request says
//   prompt=consent: then the dev consent form (same URL, a "Continue" button) is shown;
// - ID tokens from the token endpoint carry the scope's claims (conformIdTokenClaims: false).
//
// Everything else (warnings, errors) goes to stderr; SIGTERM / SIGINT close the server and exit 0.
// With OP_EXIT_WITH_PARENT=1 the process also exits when its stdin reaches EOF (its parent died).

import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import process from 'node:process';

import Provider from 'oidc-provider';

// Keep stdout for the READY line only: oidc-provider prints notices with console.info.
console.log = console.error;
console.info = console.error;

const HOST = '127.0.0.1';
const SUB_PREFIX = 'sub-';
const AUTO_CONSENT = process.env.OP_AUTO_CONSENT !== '0';

function capitalize(word) {
  return word ? word[0].toUpperCase() + word.slice(1) : '';
}

// Claims of the account whose id is the typed login:
//   alice.smith@acme.test     -> sub "sub-alice.smith@acme.test", email, email_verified true,
//                                given_name Alice, family_name Smith, name "Alice Smith"
//   unverified.dave@acme.test -> email_verified false, given_name Dave
//   bob                       -> no email claims, given_name Bob
function accountClaims(login) {
  const claims = { sub: `${SUB_PREFIX}${login}` };
  const at = login.lastIndexOf('@');
  const local = at === -1 ? login : login.slice(0, at);
  const unverified = local.startsWith('unverified.');
  if (at !== -1) {
    claims.email = login;
    claims.email_verified = !unverified;
  }
  const [first, ...rest] = (unverified ? local.slice('unverified.'.length) : local)
    .split(/[._-]+/)
    .filter(Boolean);
  const givenName = capitalize(first);
  const familyName = rest.map(capitalize).join(' ');
  if (givenName) claims.given_name = givenName;
  if (familyName) claims.family_name = familyName;
  const name = [givenName, familyName].filter(Boolean).join(' ');
  if (name) claims.name = name;
  return claims;
}

// Grant what the request asks for, so the flow goes login -> redirect_uri with no consent page.
async function autoConsentGrant(ctx) {
  const { oidc } = ctx;
  const grantId = oidc.result?.consent?.grantId || oidc.session.grantIdFor(oidc.client.clientId);
  let grant = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
  if (!AUTO_CONSENT || oidc.prompts.has('consent')) {
    return grant;
  }
  grant ||= new oidc.provider.Grant({
    accountId: oidc.account.accountId,
    clientId: oidc.client.clientId,
  });
  grant.addOIDCScope([...oidc.requestParamOIDCScopes].join(' '));
  if (oidc.requestParamClaims.size) {
    grant.addOIDCClaims([...oidc.requestParamClaims]);
  }
  await grant.save();
  return grant;
}

function signingKey() {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return {
    ...privateKey.export({ format: 'jwk' }),
    kid: `test-op-${randomUUID()}`,
    alg: 'RS256',
    use: 'sig',
  };
}

const server = createServer();
server.listen(Number.parseInt(process.env.PORT || '0', 10), HOST);
await new Promise((resolve, reject) => {
  server.once('listening', resolve);
  server.once('error', reject);
});
const issuer = `http://${HOST}:${server.address().port}`;

const provider = new Provider(issuer, {
  jwks: { keys: [signingKey()] },
  cookies: { keys: [randomBytes(32).toString('base64url')] },
  features: {
    devInteractions: { enabled: true },
    registration: { enabled: true }, // open: no initial access token
    userinfo: { enabled: true },
    revocation: { enabled: true },
  },
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['given_name', 'family_name', 'name'],
  },
  conformIdTokenClaims: false,
  ttl: { AccessToken: 3600, AuthorizationCode: 600, Grant: 86400, IdToken: 3600, Interaction: 3600, Session: 86400 },
  // PKCE: S256 (the only method oidc-provider supports), accepted from every client, required only
  // from public ones (the default pkce.required). The nonce goes into the ID token as always.
  //
  // The account id is "sub-<login>" (see interactionFinished below); oidc-provider uses it as `sub`.
  async findAccount(ctx, id) {
    if (!id.startsWith(SUB_PREFIX)) return undefined;
    const login = id.slice(SUB_PREFIX.length);
    return {
      accountId: id,
      async claims() {
        return accountClaims(login);
      },
    };
  },
  loadExistingGrant: autoConsentGrant,
});

for (const event of ['server_error', 'authorization.error', 'grant.error', 'registration_create.error']) {
  provider.on(event, (ctx, error) => {
    console.error(`oidc-provider ${event}: ${error?.name}: ${error?.message} ${error?.error_description ?? ''}`);
  });
}

// The dev login form finishes its interaction with { login: { accountId: <typed login> } }; the
// account id is what oidc-provider puts in `sub`, so make it "sub-<login>" (sub is not the email).
const interactionFinished = provider.interactionFinished.bind(provider);
provider.interactionFinished = (req, res, result, options) => {
  const accountId = result?.login?.accountId;
  if (typeof accountId === 'string') {
    result = { ...result, login: { ...result.login, accountId: `${SUB_PREFIX}${accountId}` } };
  }
  return interactionFinished(req, res, result, options);
};

server.on('request', provider.callback());

let stopping = false;
function shutdown() {
  if (stopping) return;
  stopping = true;
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (process.env.OP_EXIT_WITH_PARENT === '1') {
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}

process.stdout.write(`READY ${issuer}\n`);
