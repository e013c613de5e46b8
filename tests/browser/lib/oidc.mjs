// An OpenID provider for the single sign-on tests: npm's `oidc-provider` (panva's, OpenID
// certified), on a free port of this machine, with its development sign-in pages (any login,
// any password) and people in groups. The ID tokens it issues carry `email`, `name` and
// `groups`. It is reached through a proxy of the test's that passes everything as it is, but
// can spoil the next ID token issued: tampered (a claim changed after signing) or expired
// (issued for one second, handed over two seconds later).

import { createServer, request } from 'node:http';

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

/** @typedef {'tampered' | 'expired' | null} Spoil what the next ID token suffers */

/**
 * `token` (a JWT) with its payload's `email` changed and its signature kept: no longer the
 * provider's.
 * @param {string} token
 */
function tampered(token) {
  const [header, payload, signature] = token.split('.');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
  claims.email = 'mallory@example.com';
  return [header, Buffer.from(JSON.stringify(claims)).toString('base64url'), signature].join('.');
}

/**
 * A proxy on `port` to the provider on `inner`: every request and answer passed as they are,
 * but the token endpoint's answer spoiled as `spoil()` says (then back to none).
 * @param {number} port
 * @param {number} inner
 * @param {{ next: Spoil }} spoil
 */
async function startProxy(port, inner, spoil) {
  const server = createServer((incoming, outgoing) => {
    const upstream = request({ host: '127.0.0.1', port: inner, method: incoming.method, path: incoming.url, headers: incoming.headers }, (answer) => {
      const spoiling = incoming.url?.startsWith('/token') ? spoil.next : null;
      if (!spoiling) {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
        return;
      }
      spoil.next = null;
      const chunks = [];
      answer.on('data', (c) => chunks.push(c));
      answer.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString());
        if (spoiling === 'tampered') body.id_token = tampered(body.id_token);
        const text = JSON.stringify(body);
        const send = () => {
          outgoing.writeHead(answer.statusCode ?? 502, { ...answer.headers, 'content-length': Buffer.byteLength(text) });
          outgoing.end(text);
        };
        // Issued for a second: handed over when it has expired.
        setTimeout(send, spoiling === 'expired' ? 2_200 : 0);
      });
    });
    upstream.on('error', () => outgoing.destroy());
    incoming.pipe(upstream);
  });
  await new Promise((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
}

/**
 * Starts the provider behind its proxy; resolves with `{ issuer, clientId, clientSecret,
 * spoilNext(spoil), stop() }`.
 * @param {{ redirectUri: string }} options
 */
export async function startProvider({ redirectUri }) {
  const [port, inner] = [await freePort(), await freePort()];
  const issuer = `http://127.0.0.1:${port}`;
  /** @type {{ next: Spoil }} */
  const spoil = { next: null };
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
    // An hour; a second for the token the proxy is to hand over expired.
    ttl: { IdToken: () => (spoil.next === 'expired' ? 1 : 3600) },
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
  await new Promise((resolve) => server.listen(inner, '127.0.0.1', resolve));
  const front = await startProxy(port, inner, spoil);
  return {
    issuer,
    clientId,
    clientSecret,
    /** @param {Spoil} how */
    spoilNext(how) {
      spoil.next = how;
    },
    async stop() {
      for (const s of [front, server]) {
        s.closeAllConnections();
        await new Promise((resolve) => s.close(resolve));
      }
    },
  };
}
