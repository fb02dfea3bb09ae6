/**
 * The peer of bench/sso.bench.ts: the service provider a team would write by hand instead of running this
 * product — Express + passport + @node-saml/passport-saml and nothing else: no user store, no JIT, no audit, no
 * database. It validates what our server validates with node-saml's own checks and our server's settings (the
 * IdP's certificate, assertions signed, SHA-256, 60 s clock skew, audience, InResponseTo against the request ids
 * of its AuthnRequests, kept in node-saml's in-memory cache as node-saml fills it), then keeps a session in memory
 * and answers 303 to /myprofile with its cookie, as ours does.
 *
 * It stands in for our server at the same public address: its entity id (the audience) and ACS URL are ours, so
 * that both are sent the very same signed responses (node-saml does not check Destination or Recipient). It
 * answers at our ACS path, `/fed/v1/sp/sso`, with our session cookie's name, `idd_session`.
 *
 * `POST /bench/authn-requests` (one request id a line) stores ids as node-saml does when it makes an AuthnRequest
 * (`cacheProvider.saveAsync(id, instant)`), so that the bench need not make thousands of signed AuthnRequests;
 * there is no such shortcut in our server either, whose ids the bench inserts into its table.
 *
 * Started by the bench with `fork` (its own process, so its CPU and RSS are its own); configuration in the
 * environment: PEER_PORT, PEER_ENTITY_ID, PEER_ACS_URL, PEER_IDP_CERT (PEM). Sends `{ type: 'ready' }` over IPC
 * when it listens, and ends with its parent.
 */
import { InMemoryCacheProvider } from '@node-saml/node-saml/lib/in-memory-cache-provider';
import { Profile, Strategy, ValidateInResponseTo } from '@node-saml/passport-saml';
import express, { NextFunction, Request, Response } from 'express';
import passport from 'passport';
import { randomBytes } from 'node:crypto';

const ACS_PATH = '/fed/v1/sp/sso';
const PRELOAD_PATH = '/bench/authn-requests';
const SESSION_COOKIE = 'idd_session';
/** Our server's values for the same things (CLOCK_SKEW_MS, REQUEST_ID_TTL_MS, its session lifetime). */
const CLOCK_SKEW_MS = 60_000;
const REQUEST_ID_TTL_MS = 15 * 60 * 1000;
const SESSION_TTL_MS = 8 * 60 * 60 * 1000;

/** What passport needs of a session (express-session's `regenerate` and `save`), kept in a Map keyed by the cookie. */
interface PeerSession {
  [key: string]: unknown;
  regenerate(done: (err?: unknown) => void): void;
  save(done: (err?: unknown) => void): void;
}

type SessionRequest = Request & { session: PeerSession };

interface StoredSession {
  data: Record<string, unknown>;
  expiresAt: number;
}

function main(): void {
  const env = (name: string) => process.env[name] ?? fail(`${name} is not set`);
  const port = Number(env('PEER_PORT'));
  const entityId = env('PEER_ENTITY_ID');

  const requestIds = new InMemoryCacheProvider({ keyExpirationPeriodMs: REQUEST_ID_TTL_MS });
  const strategy = new Strategy(
    {
      issuer: entityId,
      audience: entityId,
      callbackUrl: env('PEER_ACS_URL'),
      idpCert: env('PEER_IDP_CERT'),
      wantAssertionsSigned: true,
      // As ours by default (requireSignedResponse off): a signed Response is verified, an unsigned one accepted.
      wantAuthnResponseSigned: false,
      signatureAlgorithm: 'sha256',
      digestAlgorithm: 'sha256',
      acceptedClockSkewMs: CLOCK_SKEW_MS,
      validateInResponseTo: ValidateInResponseTo.always,
      requestIdExpirationPeriodMs: REQUEST_ID_TTL_MS,
      cacheProvider: requestIds,
    },
    // No user store: the profile is the user.
    (profile: Profile | null, done: (err: Error | null, user?: Record<string, unknown>) => void) =>
      profile ? done(null, { nameID: profile.nameID, nameIDFormat: profile.nameIDFormat, issuer: profile.issuer, attributes: profile.attributes }) : done(new Error('no profile')),
    (_profile: Profile | null, done: (err: Error | null) => void) => done(null),
  );
  // passport-saml is typed against its own copy of @types/express 4, passport here against ours (5).
  passport.use(strategy as unknown as passport.Strategy);
  passport.serializeUser((user, done) => done(null, user));
  passport.deserializeUser((user: Express.User, done) => done(null, user));

  const sessions = new Map<string, StoredSession>();
  setInterval(() => {
    const now = Date.now();
    for (const [k, s] of sessions) if (s.expiresAt <= now) sessions.delete(k);
  }, 60_000).unref();

  const app = express();
  app.disable('x-powered-by');
  app.use(memorySession(sessions));
  app.use(passport.initialize());
  app.use(passport.session());

  app.post(PRELOAD_PATH, express.text({ limit: '10mb' }), (req: Request, res: Response, next: NextFunction) => {
    const instant = new Date().toISOString();
    const ids = String(req.body ?? '').split('\n').filter(Boolean);
    Promise.all(ids.map((id) => requestIds.saveAsync(id, instant))).then(() => res.status(204).end(), next);
  });

  app.post(ACS_PATH, express.urlencoded({ extended: false }), (req: Request, res: Response, next: NextFunction) => {
    passport.authenticate('saml', (err: Error | null, user: Express.User | false) => {
      if (err || !user) return refuse(res, err ? err.message : 'no user');
      req.logIn(user, (e) => (e ? next(e) : res.set('Cache-Control', 'no-store').redirect(303, '/myprofile')));
    })(req, res, next);
  });

  app.use((err: Error, _req: Request, res: Response, _next: NextFunction) => {
    console.error(`saml peer: ${err.stack ?? err}`);
    if (!res.headersSent) res.status(500).end();
  });

  const server = app.listen(port, '127.0.0.1', () => process.send?.({ type: 'ready' }));
  server.keepAliveTimeout = 65_000;
  process.on('disconnect', () => process.exit(0));
}

/** Sessions in a Map keyed by an HttpOnly cookie, with the two methods passport's logIn calls. */
function memorySession(sessions: Map<string, StoredSession>) {
  return (req: Request, res: Response, next: NextFunction) => {
    const make = (id: string, data: Record<string, unknown>): PeerSession => {
      const session: PeerSession = Object.assign(Object.create(null) as object, data, {
        regenerate(done: (err?: unknown) => void) {
          // Against session fixation: a new id, and nothing carried over.
          sessions.delete(id);
          (req as SessionRequest).session = make(randomBytes(32).toString('base64url'), {});
          done();
        },
        save(done: (err?: unknown) => void) {
          const { regenerate: _r, save: _s, ...rest } = session;
          sessions.set(id, { data: rest, expiresAt: Date.now() + SESSION_TTL_MS });
          res.append('Set-Cookie', `${SESSION_COOKIE}=${id}; Path=/; Max-Age=${SESSION_TTL_MS / 1000}; HttpOnly; SameSite=Lax`);
          done();
        },
      });
      return session;
    };
    const id = cookieValue(req.headers.cookie, SESSION_COOKIE);
    const stored = id ? sessions.get(id) : undefined;
    (req as SessionRequest).session = stored && stored.expiresAt > Date.now() ? make(id!, stored.data) : make(randomBytes(32).toString('base64url'), {});
    next();
  };
}

let refusals = 0;
/** One generic answer to the browser; the first few reasons to stderr (the bench counts the failures). */
function refuse(res: Response, why: string): void {
  if (++refusals <= 5) console.error(`saml peer: sign-in refused: ${why}`);
  res.status(401).set('Cache-Control', 'no-store').type('text/plain').send('Sign-in failed');
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim() || undefined;
  }
  return undefined;
}

function fail(message: string): never {
  throw new Error(message);
}

main();
