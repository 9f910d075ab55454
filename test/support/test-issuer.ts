import { exportJWK, generateKeyPair, type JWK, type JWTPayload, type KeyLike, SignJWT } from 'jose';
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';

/**
 * A token issuer for tests: an ES256 key pair, tokens signed with it, and its JWKS either inline
 * (for ISSUERS) or served on 127.0.0.1 by a tiny HTTP server.
 */
export class TestIssuer {
  private server: Server | null = null;

  private constructor(
    readonly issuer: string,
    readonly kid: string,
    private readonly privateKey: KeyLike,
    readonly publicJwk: JWK,
  ) {}

  /** `issuer` defaults to a unique URL, so tests never see each other's rules. */
  static async create(
    issuer = `https://idp-${randomUUID()}.test`,
    kid = 'key-1',
  ): Promise<TestIssuer> {
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid, alg: 'ES256', use: 'sig' };
    return new TestIssuer(issuer, kid, privateKey, jwk);
  }

  /** A forger: same issuer name and kid, another private key. */
  static forgerOf(genuine: TestIssuer): Promise<TestIssuer> {
    return TestIssuer.create(genuine.issuer, genuine.kid);
  }

  get jwks(): { keys: JWK[] } {
    return { keys: [this.publicJwk] };
  }

  /** Entry of ISSUERS with the keys inline. */
  inlineConfig(maxTokenLifetimeSeconds = 3600) {
    return { issuer: this.issuer, jwks: this.jwks, algorithms: ['ES256'], maxTokenLifetimeSeconds };
  }

  /** Serves the JWKS on 127.0.0.1 and returns the ISSUERS entry pointing at it. */
  async servedConfig(maxTokenLifetimeSeconds = 3600) {
    this.server = createServer((_, response) => {
      response.writeHead(200, { 'content-type': 'application/jwk-set+json' });
      response.end(JSON.stringify(this.jwks));
    });
    const server = this.server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') {
      throw new Error('JWKS server has no TCP address');
    }
    const jwksUri = `http://127.0.0.1:${address.port}/jwks.json`;
    return { issuer: this.issuer, jwksUri, algorithms: ['ES256'], maxTokenLifetimeSeconds };
  }

  /**
   * A JWT of this issuer: `iat` a minute ago and `exp` in ten minutes unless `claims` says
   * otherwise (a claim set to undefined is left out).
   */
  sign(claims: JWTPayload = {}): Promise<string> {
    const now = Math.floor(Date.now() / 1000);
    const payload = Object.fromEntries(
      Object.entries({ iss: this.issuer, iat: now - 60, exp: now + 600, ...claims }).filter(
        ([, v]) => v !== undefined,
      ),
    );
    return new SignJWT(payload)
      .setProtectedHeader({ alg: 'ES256', kid: this.kid })
      .sign(this.privateKey);
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }
}

/** The ISSUERS variable for the writer. */
export const issuersEnv = (...issuers: object[]): { ISSUERS: string } => ({
  ISSUERS: JSON.stringify(issuers),
});
