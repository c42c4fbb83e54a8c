/**
 * User-Interactive Authentication: the 401 dance of /register, /account/password,
 * /account/deactivate and device deletion.
 *
 * A session is created on the first request and bound to it (method, path and
 * requesting user), so it cannot be replayed against another endpoint or
 * account. It keeps the stages completed so far and the request body, so fields
 * sent on an earlier request carry over to a later one that omits them; a new
 * password in the body is kept only as a hash. Sessions expire after
 * `auth.uia_session_lifetime_ms`; until one completes a flow, `authenticate`
 * throws UiaRequired, whose JSON is the spec's 401 body.
 */
import { randomBytes } from 'node:crypto';
import { forbidden, MatrixError, missingParam, type ErrCode } from '../../spec/errors';
import { passwordAuth, registrationTokenAuth, type AuthData } from '../../spec/schemas/uia';
import { checkBody } from '../../spec/validate';
import type { Db } from '../../storage/db';
import type { RegistrationTokenStore } from '../../storage/registration-tokens';
import type { UiaSessionRow, UiaSessionStore } from '../../storage/uia-sessions';
import type { Config } from '../config/schema';
import type { Accounts } from './accounts';

export const DUMMY = 'm.login.dummy';
export const PASSWORD = 'm.login.password';
export const REGISTRATION_TOKEN = 'm.login.registration_token';

/** Stage types, to be completed in order. */
export type Flow = string[];

export interface AuthResponse {
  flows: { stages: string[] }[];
  params: Record<string, Record<string, unknown>>;
  session: string;
  completed: string[];
}

/**
 * The 401 of an endpoint whose flows are not yet complete (definitions/auth_response.yaml),
 * with `errcode` and `error` when the stage just attempted failed.
 */
export class UiaRequired extends MatrixError {
  constructor(
    readonly response: AuthResponse,
    readonly failure?: StageFailure,
  ) {
    super(401, failure?.errcode ?? 'M_UNAUTHORIZED', failure?.message ?? 'Additional authentication is required');
  }

  override toJSON(): Record<string, unknown> {
    return this.failure ? { errcode: this.failure.errcode, error: this.failure.message, ...this.response } : { ...this.response };
  }
}

/** A stage attempt that failed but may be tried again: reported inside the 401 body. */
class StageFailure extends MatrixError {
  constructor(errcode: ErrCode, message: string) {
    super(401, errcode, message);
  }
}

export interface UiaRequest<B extends object> {
  method: string;
  /** The concrete request path, e.g. `/_matrix/client/v3/devices/ABCDEF`. */
  path: string;
  /** The access token's user, when the request carried one. */
  requester?: { userId: string };
  /** The whole request body, `auth` included. */
  body: B;
}

export interface UiaOptions {
  /**
   * A body field holding a new password: never stored in the session, only its
   * hash, so that a later request may omit it.
   */
  secretField?: string;
}

export interface UiaResult<B extends object> {
  sessionId: string;
  /** The user the request acts for: the requester, else the user a password stage authenticated. */
  userId?: string;
  /** The request body, with fields sent earlier in the session filled in. */
  body: B;
  /** The hash of the secret field as sent earlier in the session, for when this request omits it. */
  secretHash?: string;
  /** The account this session already registered (a retried /register). */
  registeredUserId?: string;
}

/** What a session keeps (the params_json column). */
interface SessionState {
  body: Record<string, unknown>;
  userId?: string;
  secretHash?: string;
  /** A registration token one of whose pending uses this session holds. */
  registrationToken?: string;
  registeredUserId?: string;
}

const stateOf = (session: UiaSessionRow) => session.params as unknown as SessionState;

const SWEEP_INTERVAL_MS = 60_000;
const MAX_WRITE_ATTEMPTS = 3;

const newSessionId = () => randomBytes(24).toString('base64url');

function without(body: Record<string, unknown>, key?: string): Record<string, unknown> {
  if (key === undefined || !(key in body)) return body;
  const { [key]: _omitted, ...rest } = body;
  return rest;
}

/** Stages that may come next: the next stage of every flow the completed stages begin. */
function nextStages(flows: Flow[], completed: string[]): Set<string> {
  const next = new Set<string>();
  for (const flow of flows) {
    if (flow.length > completed.length && completed.every((stage, i) => flow[i] === stage)) next.add(flow[completed.length]);
  }
  return next;
}

export class Uia {
  private lastSweepMs = 0;

  constructor(
    private readonly db: Db,
    private readonly sessions: UiaSessionStore,
    private readonly tokens: RegistrationTokenStore,
    private readonly accounts: Accounts,
    private readonly config: Config,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Returns once the session (new, or the one named in `auth.session`) has
   * completed one of `flows`; until then throws UiaRequired. Also throws 400 for
   * an unknown or expired session, 403 for a session of another request, and the
   * usual 400s for a malformed stage.
   */
  async authenticate<B extends object>(request: UiaRequest<B>, flows: Flow[], options: UiaOptions = {}): Promise<UiaResult<B>> {
    for (let attempt = 1; ; attempt++) {
      const result = await this.tryAuthenticate(request, flows, options);
      if (result || attempt === MAX_WRITE_ATTEMPTS) {
        if (!result) throw new MatrixError(409, 'M_UNKNOWN', 'The authentication session is busy; try again');
        return result;
      }
    }
  }

  /** One pass of `authenticate`; undefined when a concurrent request changed the session first. */
  private async tryAuthenticate<B extends object>(
    request: UiaRequest<B>, flows: Flow[], options: UiaOptions,
  ): Promise<UiaResult<B> | undefined> {
    const now = this.now();
    const { auth, ...fields } = request.body as Record<string, unknown>;
    const authDict = (typeof auth === 'object' && auth !== null ? auth : {}) as AuthData;
    const requestKey = JSON.stringify([request.method, request.path, request.requester?.userId ?? null]);
    const given = without(fields, options.secretField);

    const stored = authDict.session === undefined ? undefined : await this.live(authDict.session, now);
    if (authDict.session !== undefined && !stored) {
      throw new MatrixError(400, 'M_UNKNOWN', `Unknown session ID: ${authDict.session}`);
    }
    if (stored && stored.requestKey !== requestKey) {
      throw forbidden('Requested operation has changed during the UI authentication session');
    }
    const sessionId = stored?.sessionId ?? newSessionId();
    const prior = stored && stateOf(stored);
    const state: SessionState = { ...prior, body: { ...prior?.body, ...given } };
    const completed = [...(stored?.completed ?? [])];

    let failure: StageFailure | undefined;
    let reservedToken: string | undefined;
    const type = authDict.type;
    if (type !== undefined && !completed.includes(type)) {
      try {
        if (!nextStages(flows, completed).has(type)) {
          throw new StageFailure('M_FORBIDDEN', `'${type}' is not the next stage of any offered flow`);
        }
        await this.attemptStage(type, authDict, request, state, now);
        if (type === REGISTRATION_TOKEN) reservedToken = state.registrationToken;
        completed.push(type);
      } catch (err) {
        if (!(err instanceof StageFailure)) throw err;
        failure = err;
      }
    }

    const done = flows.some((flow) => flow.every((stage) => completed.includes(stage)));
    const secret = options.secretField === undefined ? undefined : fields[options.secretField];
    if (!done && typeof secret === 'string' && state.secretHash === undefined) {
      state.secretHash = await this.accounts.hashPassword(secret);
    }

    const params = state as unknown as Record<string, unknown>;
    if (stored) {
      if (!(await this.sessions.update(sessionId, { completed, params }, stored))) {
        if (reservedToken !== undefined) await this.tokens.release(reservedToken);
        return undefined;
      }
    } else {
      await this.sessions.insert({ sessionId, requestKey, completed, params, createdTs: now });
      await this.sweepExpired(now);
    }

    if (!done) {
      throw new UiaRequired(
        { flows: flows.map((stages) => ({ stages })), params: {}, session: sessionId, completed },
        failure,
      );
    }
    return {
      sessionId,
      userId: request.requester?.userId ?? state.userId,
      body: { ...state.body, ...(secret === undefined ? {} : { [options.secretField!]: secret }), auth } as B,
      secretHash: state.secretHash,
      registeredUserId: state.registeredUserId,
    };
  }

  /**
   * Records that a /register session created `userId`: its registration token's
   * pending use becomes a completed one, and a retry of the request logs in again.
   */
  async completeRegistration(sessionId: string, userId: string): Promise<void> {
    await this.db.transaction(async (trx) => {
      const session = await this.sessions.get(sessionId, trx);
      if (!session) return;
      const { registrationToken, ...state } = stateOf(session);
      if (registrationToken !== undefined) await this.tokens.consume(registrationToken, trx);
      const params = { ...state, registeredUserId: userId };
      await this.sessions.update(sessionId, { completed: session.completed, params }, undefined, trx);
    });
  }

  /** The account a live session already registered, if any. */
  async registeredUserId(sessionId: string): Promise<string | undefined> {
    const session = await this.live(sessionId, this.now());
    return session && stateOf(session).registeredUserId;
  }

  /** The session, unless it is unknown or expired. */
  private async live(sessionId: string, now: number): Promise<UiaSessionRow | undefined> {
    const session = await this.sessions.get(sessionId);
    return session && session.createdTs + this.config.auth.uia_session_lifetime_ms > now ? session : undefined;
  }

  /** Checks one stage; on success records its result in `state`, else throws StageFailure (or a 400). */
  private async attemptStage(type: string, auth: AuthData, request: UiaRequest<object>, state: SessionState, now: number): Promise<void> {
    switch (type) {
      case DUMMY:
        return;
      case PASSWORD:
        state.userId = await this.checkPassword(auth, request.requester?.userId);
        return;
      case REGISTRATION_TOKEN: {
        const { token } = checkBody(registrationTokenAuth, auth);
        if (!(await this.tokens.reserve(token, now))) throw new StageFailure('M_UNAUTHORIZED', 'Invalid registration token');
        state.registrationToken = token;
        return;
      }
      default:
        throw new StageFailure('M_FORBIDDEN', `Unsupported authentication type '${type}'`);
    }
  }

  /** m.login.password: the named user's password; when a token was sent, that user must be its owner. */
  private async checkPassword(auth: AuthData, requesterId: string | undefined): Promise<string> {
    const dict = checkBody(passwordAuth, auth);
    let user: string | undefined = dict.user;
    if (dict.identifier) {
      if (dict.identifier.type !== 'm.id.user') throw new StageFailure('M_FORBIDDEN', 'Unknown third-party identifier');
      user = dict.identifier.user;
    }
    if (user === undefined) throw missingParam("Missing required field 'identifier.user'");
    const userId = this.accounts.localUserId(user);
    if (requesterId !== undefined && userId !== requesterId) {
      throw new StageFailure('M_FORBIDDEN', 'Authentication must be for the account making the request');
    }
    if (userId === null || !(await this.accounts.checkPassword(userId, dict.password))) {
      throw new StageFailure('M_FORBIDDEN', 'Invalid username or password');
    }
    return userId;
  }

  /**
   * Deletes expired sessions, giving back the registration-token uses they held.
   * Runs when a session is created, at most once a minute (or once a lifetime, if shorter).
   */
  private async sweepExpired(now: number): Promise<void> {
    const lifetime = this.config.auth.uia_session_lifetime_ms;
    if (now - this.lastSweepMs < Math.min(SWEEP_INTERVAL_MS, lifetime)) return;
    this.lastSweepMs = now;
    await this.db.transaction(async (trx) => {
      const expired = await this.sessions.deleteCreatedBefore(now - lifetime, trx);
      for (const session of expired) {
        const token = stateOf(session).registrationToken;
        if (token !== undefined) await this.tokens.release(token, trx);
      }
    });
  }
}
