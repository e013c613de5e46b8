// An OpenID provider for the single sign-on tests: npm's `oidc-provider` (panva's, OpenID
// certified), on a free port of this machine, with its development sign-in pages (any login,
// any password) and people in groups. The ID tokens it issues carry `email`, `name` and
// `groups`.

import { createServer } from 'node:http';

import Provider from 'oidc-provider';

/** The people the provider knows, by login: their groups. */
export const PEOPLE = {
  ada: ['eng'],
  bob: ['ops'],
  eve: ['sales'],
};

/** A port free now, for a server to listen on next. */
export async function freePort() {
  const server = createServer();
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = /** @type {import('node:net').AddressInfo} */ (server.address());
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts the provider; resolves with `{ issuer, clientId, clientSecret, stop() }`.
 * @param {{ redirectUri: string }} options
 */
export async function startProvider({ redirectUri }) {
  const port = await freePort();
  const issuer = `http://127.0.0.1:${port}`;
  const clientId = 'agentrace';
  const clientSecret = 'sso-test-secret-0123456789';
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: clientId,
        client_secret: clientSecret,
        redirect_uris: [redirectUri],
        response_types: ['code'],
        grant_types: ['authorization_code'],
      },
    ],
    scopes: ['openid', 'email', 'profile', 'groups'],
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name'], groups: ['groups'] },
    // The claims in the ID token itself, not only from the userinfo endpoint.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    cookies: { keys: ['agentrace-sso-tests'] },
    async findAccount(_ctx, id) {
      return {
        accountId: id,
        async claims() {
          return { sub: id, email: `${id}@example.com`, email_verified: true, name: id[0].toUpperCase() + id.slice(1), groups: PEOPLE[id] ?? [] };
        },
      };
    },
  });
  const server = createServer(provider.callback());
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    issuer,
    clientId,
    clientSecret,
    async stop() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
