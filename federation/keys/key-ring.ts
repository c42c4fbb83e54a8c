/**
 * Other servers' public keys: which key of a server may have made a signature
 * at a given time (server-server-api, "Retrieving server keys"). Looks in
 * memory, then the database, then asks the server itself
 * (GET /_matrix/key/v2/server) and, failing that, each trusted notary
 * (POST /_matrix/key/v2/query).
 */
import type { Logger } from 'pino';
import type { Config } from '../../server/config/schema';
import type { Pdu } from '../../spec/pdu';
import type { RoomVersion } from '../../spec/room-versions';
import { keyQueryResponse, type KeyCriteria, type KeyQueryBody, type ServerKeysDocument } from '../../spec/schemas/server-keys';
import { verifyJsonSignature } from '../../spec/signing';
import type { ResponseKey, ServerKeyRow, ServerKeyStore } from '../../storage/server-keys';
import { checkEventSignatures, EventSignatureError } from './event-signatures';
import { checkKeyDocument } from './key-document';
import { REQUEST_SIGNATURE, usableAt, worthRefetching, type KeyUse, type KnownKey } from './key-validity';
import type { OwnServerKeys } from './server-keys';

/**
 * The outbound requests the key ring makes; the federation HTTP client
 * implements it. Both resolve with the parsed JSON body of a 200 response and
 * reject on anything else (unreachable, timeout, another status, not JSON).
 */
export interface KeyFetch {
  /** An unsigned GET /_matrix/key/v2/server to `serverName`. */
  serverKeys(serverName: string): Promise<unknown>;
  /** A signed POST /_matrix/key/v2/query to the notary `notary`. */
  notaryQuery(notary: string, body: KeyQueryBody): Promise<unknown>;
}

export type TrustedKeyServer = Config['federation']['trusted_key_servers'][number];

export interface KeyRingOptions {
  own: OwnServerKeys;
  store: ServerKeyStore;
  fetch: KeyFetch;
  trustedKeyServers: readonly TrustedKeyServer[];
  now(): number;
  log?: Logger;
  /** How long a server whose keys could not be had is not asked again. */
  failureBackoffMs?: number;
  /** The least time between two fetches of one server's keys that succeeded. */
  refetchIntervalMs?: number;
}

const DEFAULT_FAILURE_BACKOFF_MS = 60_000;
const DEFAULT_REFETCH_INTERVAL_MS = 30_000;
/** Servers whose keys are kept in memory; the database holds the rest. */
const MAX_SERVERS_IN_MEMORY = 10_000;

type Keys = ReadonlyMap<string, KnownKey>;

/** What a fetch is for: the criteria sent to notaries, and whether what we have now will do. */
interface KeyRequest {
  criteria: Record<string, KeyCriteria>;
  satisfiedBy(keys: Keys): boolean;
}

/** Runs one fetch per server at a time, and none again too soon after the last (a dead server is not hammered). */
class FetchGate {
  private readonly running = new Map<string, Promise<void>>();
  private readonly last = new Map<string, { ts: number; ok: boolean }>();

  constructor(
    private readonly now: () => number,
    private readonly failureBackoffMs: number,
    private readonly refetchIntervalMs: number,
    private readonly log: Logger | undefined,
  ) {}

  /** Joins the fetch of `serverName` under way, else starts `fetch` unless it ran too recently. */
  run(serverName: string, fetch: () => Promise<boolean>): Promise<void> {
    const running = this.running.get(serverName);
    if (running !== undefined) return running;
    const last = this.last.get(serverName);
    if (last !== undefined && this.now() - last.ts < (last.ok ? this.refetchIntervalMs : this.failureBackoffMs)) return Promise.resolve();
    const started = fetch()
      .catch((err: unknown) => {
        this.log?.warn({ server: serverName, err }, 'fetching server keys failed');
        return false;
      })
      .then((ok) => {
        this.last.delete(serverName); // re-inserted last: the oldest entry is the first evicted
        this.last.set(serverName, { ts: this.now(), ok });
        if (this.last.size > MAX_SERVERS_IN_MEMORY) this.last.delete(this.last.keys().next().value!);
      })
      .finally(() => this.running.delete(serverName));
    this.running.set(serverName, started);
    return started;
  }
}

export class KeyRing {
  private readonly own: OwnServerKeys;
  private readonly store: ServerKeyStore;
  private readonly fetcher: KeyFetch;
  private readonly notaries: readonly TrustedKeyServer[];
  private readonly now: () => number;
  private readonly log: Logger | undefined;
  private readonly memory = new Map<string, Keys>();
  /** Fetches that may go through notaries. */
  private readonly fetches: FetchGate;
  /** Fetches of a notary's own keys, from the notary only: they never wait on another fetch, so none can wait on itself. */
  private readonly directFetches: FetchGate;

  constructor(options: KeyRingOptions) {
    this.own = options.own;
    this.store = options.store;
    this.fetcher = options.fetch;
    this.notaries = options.trustedKeyServers;
    this.now = options.now;
    this.log = options.log;
    const failure = options.failureBackoffMs ?? DEFAULT_FAILURE_BACKOFF_MS;
    const refetch = options.refetchIntervalMs ?? DEFAULT_REFETCH_INTERVAL_MS;
    this.fetches = new FetchGate(this.now, failure, refetch, this.log);
    this.directFetches = new FetchGate(this.now, failure, refetch, this.log);
  }

  /**
   * The public key (unpadded Base64) of `serverName`'s key `keyId` if it may
   * have made a signature at `atTs` for `use`, fetching the server's keys when
   * we do not know it or no longer trust what we know; undefined otherwise.
   */
  publicKey(serverName: string, keyId: string, atTs: number, use: KeyUse): Promise<string | undefined> {
    return this.lookUp(serverName, keyId, atTs, use, true);
  }

  /**
   * Resolves if the event is signed by every server that must sign it, with
   * keys valid at its origin_server_ts (event-signatures.ts), fetching keys as
   * needed; rejects with EventSignatureError saying what is wrong.
   */
  checkEventSignatures(pdu: Pdu, version: RoomVersion): Promise<void> {
    return checkEventSignatures(pdu, version, (server, keyId, atTs, use) => this.publicKey(server, keyId, atTs, use));
  }

  /** checkEventSignatures as a yes or no. */
  async verifyEventSignatures(pdu: Pdu, version: RoomVersion): Promise<boolean> {
    try {
      await this.checkEventSignatures(pdu, version);
      return true;
    } catch (err) {
      if (err instanceof EventSignatureError) return false;
      throw err;
    }
  }

  /**
   * For a notary: the signed key documents we hold for `serverName` (ours for
   * our own name), fetched anew first when the newest is not valid until
   * `minimumValidUntilTs`, is past half its lifetime (keys_server.yaml), or
   * lacks one of `keyIds`. What we hold is served even when that fetch fails.
   */
  async documentsOf(serverName: string, keyIds: readonly string[], minimumValidUntilTs: number): Promise<ServerKeysDocument[]> {
    if (serverName === this.own.serverName) return [this.own.document()];
    const fresh = (keys: Keys): boolean => {
      if (!keyIds.every((keyId) => keys.has(keyId))) return false;
      const now = this.now();
      return [...keys.values()].some(
        (k) => k.expiredTs === null && k.validUntilTs >= minimumValidUntilTs && now < k.fetchedTs + (k.validUntilTs - k.fetchedTs) / 2,
      );
    };
    if (!fresh(await this.load(serverName))) {
      await this.refresh(serverName, {
        // No key IDs asks a notary for every key (keys_query.yaml).
        criteria: Object.fromEntries(keyIds.map((keyId) => [keyId, { minimum_valid_until_ts: minimumValidUntilTs }])),
        satisfiedBy: fresh,
      });
    }
    const rows = await this.store.keysOf(serverName);
    const distinct = new Set(rows.map((row) => row.keyJson));
    return [...distinct].map((json) => JSON.parse(json) as ServerKeysDocument);
  }

  private async lookUp(serverName: string, keyId: string, atTs: number, use: KeyUse, viaNotaries: boolean): Promise<string | undefined> {
    if (serverName === this.own.serverName) return this.own.publicKey(keyId, atTs, use);
    const usable = (keys: Keys | undefined): string | undefined => {
      const key = keys?.get(keyId);
      return key !== undefined && usableAt(key, atTs, use) ? key.publicKey : undefined;
    };
    const remembered = usable(this.memory.get(serverName));
    if (remembered !== undefined) return remembered;
    const stored = await this.load(serverName);
    if (usable(stored) !== undefined || !worthRefetching(stored.get(keyId), atTs, use)) return usable(stored);
    const request: KeyRequest = {
      criteria: { [keyId]: { minimum_valid_until_ts: atTs } },
      satisfiedBy: (keys) => usable(keys) !== undefined,
    };
    if (viaNotaries) await this.refresh(serverName, request);
    else await this.directFetches.run(serverName, () => this.fetchDirect(serverName));
    return usable(await this.load(serverName));
  }

  /** Reads the server's keys from the database into memory. */
  private async load(serverName: string): Promise<Keys> {
    const keys = new Map((await this.store.keysOf(serverName)).map((row) => [row.keyId, knownKey(row)]));
    this.memory.delete(serverName);
    this.memory.set(serverName, keys);
    if (this.memory.size > MAX_SERVERS_IN_MEMORY) this.memory.delete(this.memory.keys().next().value!);
    return keys;
  }

  /** Fetches the server's keys from itself, then from each notary until `request` is satisfied; leaves what it got in memory. */
  private refresh(serverName: string, request: KeyRequest): Promise<void> {
    return this.fetches.run(serverName, async () => {
      let ok = await this.fetchDirect(serverName);
      if (ok && request.satisfiedBy(await this.load(serverName))) return true;
      for (const notary of this.notaries) {
        // A notary vouching for itself is only the server again, and checking its signature would wait on this very fetch.
        if (notary.server_name === serverName) continue;
        if (!(await this.fetchFromNotary(notary, serverName, request.criteria))) continue;
        ok = true;
        if (request.satisfiedBy(await this.load(serverName))) return true;
      }
      await this.load(serverName);
      return ok;
    });
  }

  /** GET /_matrix/key/v2/server from the server itself; whether it answered with a valid document (now stored). */
  private async fetchDirect(serverName: string): Promise<boolean> {
    try {
      const checked = checkKeyDocument(await this.fetcher.serverKeys(serverName), serverName);
      await this.remember(serverName, checked.document, checked.keys);
      return true;
    } catch (err) {
      this.log?.info({ server: serverName, err: describe(err) }, 'could not fetch server keys');
      return false;
    }
  }

  /** POST /_matrix/key/v2/query to a notary; whether it vouched for at least one valid document (now stored). */
  private async fetchFromNotary(notary: TrustedKeyServer, serverName: string, criteria: Record<string, KeyCriteria>): Promise<boolean> {
    let response: unknown;
    try {
      response = await this.fetcher.notaryQuery(notary.server_name, { server_keys: { [serverName]: criteria } });
      if (!keyQueryResponse(response)) throw new Error('the answer has no server_keys array');
    } catch (err) {
      this.log?.info({ server: serverName, notary: notary.server_name, err: describe(err) }, 'could not fetch server keys from notary');
      return false;
    }
    let stored = false;
    for (const json of response.server_keys) {
      try {
        const checked = checkKeyDocument(json, serverName);
        if (!(await this.notarySigned(json as ServerKeysDocument, notary))) throw new Error(`not signed by the notary ${notary.server_name}`);
        await this.remember(serverName, checked.document, checked.keys);
        stored = true;
      } catch (err) {
        // Another server's document is simply not what we asked for.
        if ((json as { server_name?: unknown } | null)?.server_name === serverName) {
          this.log?.info({ server: serverName, notary: notary.server_name, err: describe(err) }, 'refused a key document from notary');
        }
      }
    }
    return stored;
  }

  /**
   * Whether the notary signed `document`: with the keys pinned in the config
   * if there are any (each pinned key that signed must verify), else with its
   * current keys as it publishes them itself.
   */
  private async notarySigned(document: ServerKeysDocument, notary: TrustedKeyServer): Promise<boolean> {
    const signatures = Object.hasOwn(document.signatures, notary.server_name) ? document.signatures[notary.server_name] : {};
    const keyIds = Object.keys(signatures).filter((keyId) => keyId.startsWith('ed25519:'));
    const pinned = notary.verify_keys;
    if (pinned) {
      const signedWithPinned = keyIds.filter((keyId) => Object.hasOwn(pinned, keyId));
      return signedWithPinned.length > 0 && signedWithPinned.every((keyId) => verifyJsonSignature(document, notary.server_name, keyId, pinned[keyId]));
    }
    let verified = 0;
    for (const keyId of keyIds) {
      const key = await this.lookUp(notary.server_name, keyId, this.now(), REQUEST_SIGNATURE, false);
      if (key === undefined) continue;
      if (!verifyJsonSignature(document, notary.server_name, keyId, key)) return false;
      verified++;
    }
    return verified > 0;
  }

  private async remember(serverName: string, document: ServerKeysDocument, keys: ResponseKey[]): Promise<void> {
    await this.store.storeResponse({
      serverName,
      validUntilTs: document.valid_until_ts,
      fetchedTs: this.now(),
      keyJson: JSON.stringify(document),
      keys,
    });
  }
}

function knownKey(row: ServerKeyRow): KnownKey {
  return { publicKey: row.publicKey, validUntilTs: row.validUntilTs, expiredTs: row.expiredTs, fetchedTs: row.fetchedTs };
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
