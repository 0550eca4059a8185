// The comparison server of bench/token_load.py: panva/oidc-provider 9, one Node.js process.
//
//   PORT=0 CLIENT_ID=... CLIENT_SECRET=... node server.mjs   -> prints one stdout line "READY http://127.0.0.1:<port>"
//
// - client credentials enabled for one confidential client (client_secret_basic), scope "api.read";
// - resource indicators (RFC 8707) with a default resource whose access tokens are JWTs signed
//   RS256 (accessTokenFormat 'jwt'), like ours; a fresh 2048-bit RSA key per process;
// - introspection enabled (the same client may introspect);
// - the default in-memory adapter (oidc-provider keeps no record of JWT access tokens it issues;
//   ours records a hash of each one so that it can be revoked and introspected).
// SIGTERM / SIGINT close the server and exit 0.

import { generateKeyPairSync } from 'node:crypto';
import process from 'node:process';

import Provider from 'oidc-provider';

console.log = console.error; // stdout is for the READY line only
console.info = console.error;

const HOST = '127.0.0.1';
const RESOURCE = 'https://api.bench.test/';
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-rs256', alg: 'RS256', use: 'sig' };

const port = Number(process.env.PORT || 0);
const server = (await import('node:http')).createServer();
await new Promise((resolve) => server.listen(port, HOST, resolve));
const issuer = `http://${HOST}:${server.address().port}`;

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: process.env.CLIENT_ID || 'bench',
      client_secret: process.env.CLIENT_SECRET || 'bench-secret',
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      scope: 'api.read',
    },
  ],
  jwks: { keys: [jwk] },
  scopes: ['api.read'],
  features: {
    clientCredentials: { enabled: true },
    introspection: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api.read',
        audience: RESOURCE,
        accessTokenTTL: 3600,
        accessTokenFormat: 'jwt',
        jwt: { sign: { alg: 'RS256' } },
      }),
    },
  },
});
provider.proxy = false;
server.on('request', provider.callback());

process.stdout.write(`READY ${issuer}\n`);
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
