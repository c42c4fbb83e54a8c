/**
 * The acceptance test for /sync: two matrix-js-sdk clients, each running the
 * SDK's own sync loop against the server over HTTP as Element does, exchange an
 * invite, messages, typing notifications and read receipts, and see each of
 * them arrive through their own /sync. The SDK is ESM only, so it is loaded
 * with a dynamic import().
 */
import assert from 'node:assert/strict';
import type { EventEmitter } from 'node:events';
import type { MatrixClient, MatrixEvent, Room, RoomMember } from 'matrix-js-sdk' with { 'resolution-mode': 'import' };
import { Agent, fetch as undiciFetch } from 'undici';
import { createUser, startServer, type TestServer, type TestUser } from './helpers/server';

const loadSdk = () => import('matrix-js-sdk');
type Sdk = Awaited<ReturnType<typeof loadSdk>>;

const quiet = {
  trace() {}, debug() {}, info() {}, warn() {}, error() {},
  getChild: () => quiet,
};

/** The longest any step may take to show up on the other side. */
const WAIT_MS = 5_000;

/** A user with their own running client, and the transaction IDs their /sync responses carried, by event ID. */
interface Peer extends TestUser {
  name: string;
  client: MatrixClient;
  syncedTransactionIds: Map<string, string>;
}

/**
 * Resolves with the arguments of the first `event` from `emitter` that `matches`,
 * or rejects after `ms`, naming what it waited for.
 */
function nextEvent<Args extends any[]>(emitter: EventEmitter, event: string, matches: (...args: Args) => boolean, what: string, ms = WAIT_MS): Promise<Args> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out after ${ms} ms waiting for ${what}`));
    }, ms);
    const listener = (...args: Args) => {
      if (!matches(...args)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(args);
    };
    emitter.on(event, listener);
  });
}

/** Resolves once `holds()` is true: at once, or after some `event` from `emitter`. */
async function until(emitter: EventEmitter, event: string, holds: () => boolean, what: string): Promise<void> {
  if (!holds()) await nextEvent(emitter, event, holds, what);
}

/** Resolves once `holds()` is true, checking every few milliseconds; rejects after `ms`. */
async function polled(holds: () => boolean, what: string, ms = WAIT_MS): Promise<void> {
  const deadline = Date.now() + ms;
  while (!holds()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/**
 * A fetch over `connections` that notes the transaction IDs in the /sync
 * timelines it fetched. The SDK passes a URL or a string and a plain init.
 */
function recordingFetch(connections: Agent, syncedTransactionIds: Map<string, string>): typeof fetch {
  return async (input, init) => {
    const url = new URL(String(input));
    const res = await undiciFetch(url, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: connections });
    if (res.ok && url.pathname.endsWith('/sync')) {
      const body: any = await res.clone().json();
      for (const room of Object.values<any>(body.rooms?.join ?? {})) {
        for (const event of room.timeline?.events ?? []) {
          const txnId = event.unsigned?.transaction_id;
          if (txnId !== undefined) syncedTransactionIds.set(event.event_id, txnId);
        }
      }
    }
    return res as unknown as Response;
  };
}

/**
 * Collects the timers matrix-js-sdk arms from now on, to clear once the clients
 * have stopped. The SDK arms one for every request with a local timeout (each
 * /sync: its poll timeout plus 80 s, through its AbortSignal.timeout ponyfill in
 * http-api/utils.js) and never clears it, stopped client or not.
 */
function collectSdkTimers(): { clear(): void } {
  const original = globalThis.setTimeout;
  const armed = new Set<NodeJS.Timeout>();
  const collecting = (...args: Parameters<typeof setTimeout>) => {
    const timer = original(...args);
    if (new Error().stack?.includes('/node_modules/matrix-js-sdk/')) armed.add(timer);
    return timer;
  };
  globalThis.setTimeout = Object.assign(collecting, original);
  return {
    clear() {
      globalThis.setTimeout = original;
      for (const timer of armed) clearTimeout(timer);
    },
  };
}

describe('matrix-js-sdk clients syncing with each other', () => {
  let sdk: Sdk;
  let server: TestServer;
  /**
   * The clients' HTTP connections, a pool of their own closed once they stop:
   * stopClient() leaves them open, and the server's stop waits for an open
   * connection that has not sent a request.
   */
  const connections = new Agent();
  const peers: Peer[] = [];
  let sdkTimers: { clear(): void } | undefined;
  let transactions = 0;

  before(async () => {
    sdk = await loadSdk();
    // Clients get the quiet logger; this silences the SDK's global one, and the
    // MatrixRTC child logger made when the SDK loaded, which reports the state
    // events of a room it sees invited before the client stores the room.
    const { logger } = await import('matrix-js-sdk/lib/logger.js');
    logger.disableAll();
    (logger.getChild('MatrixRTCSessionManager') as typeof logger).disableAll();
    server = await startServer();
    sdkTimers = collectSdkTimers();
  });
  after(async () => {
    for (const peer of peers) peer.client.stopClient();
    sdkTimers?.clear();
    await connections.close();
    await server?.stop();
  });

  /** Creates the user, starts their client and waits until its first sync is done. */
  async function startPeer(localpart: string): Promise<Peer> {
    const user = await createUser(server, localpart);
    const syncedTransactionIds = new Map<string, string>();
    const client = sdk.createClient({
      baseUrl: server.baseUrl,
      accessToken: user.accessToken,
      userId: user.userId,
      deviceId: user.deviceId,
      logger: quiet,
      fetchFn: recordingFetch(connections, syncedTransactionIds),
    });
    const peer = { ...user, name: localpart, client, syncedTransactionIds };
    peers.push(peer);
    const prepared = nextEvent(client, sdk.ClientEvent.Sync, (state: string) => state === 'PREPARED', `${localpart}'s first sync`);
    // As Element starts it: lazy-loaded members, threads (threaded receipts and per-thread counts), local echoes kept apart until sent.
    await client.startClient({ initialSyncLimit: 20, lazyLoadMembers: true, threadSupport: true, pendingEventOrdering: sdk.PendingEventOrdering.Detached });
    await prepared;
    return peer;
  }

  function roomOf(peer: Peer, roomId: string): Room {
    const room = peer.client.getRoom(roomId);
    assert.ok(room, `${peer.name}'s client has no room ${roomId}`);
    return room;
  }

  /** Resolves with the room once `peer`'s client has synced their membership `membership` of it. */
  async function membershipSeen(peer: Peer, roomId: string, membership: string): Promise<Room> {
    const [room] = await nextEvent(
      peer.client,
      sdk.RoomEvent.MyMembership,
      (room: Room, now: string) => room.roomId === roomId && now === membership,
      `${peer.name}'s membership '${membership}' in ${roomId}`,
    );
    return room;
  }

  /**
   * `from` sends `body`; it must reach `to`'s live timeline, and `from`'s local
   * echo must become the server's event, matched by the transaction ID that
   * came back in `from`'s /sync. Returns the event as `to` sees it.
   */
  async function sendMessage(from: Peer, to: Peer, roomId: string, body: string): Promise<MatrixEvent> {
    const txnId = `sdk-e2e-${++transactions}`;
    const remoteEcho = nextEvent(
      from.client,
      sdk.RoomEvent.LocalEchoUpdated,
      (event: MatrixEvent) => event.getTxnId() === txnId && event.status === null,
      `${from.name}'s remote echo of "${body}"`,
    );
    const delivered = nextEvent(
      to.client,
      sdk.RoomEvent.Timeline,
      (event: MatrixEvent, room: Room | undefined, toStart: boolean | undefined) =>
        room?.roomId === roomId && !toStart && event.getType() === 'm.room.message' && event.getContent().body === body,
      `"${body}" in ${to.name}'s timeline`,
    );
    const { event_id: eventId } = await from.client.sendTextMessage(roomId, body, txnId);

    const [received] = await delivered;
    assert.equal(received.getId(), eventId);
    assert.equal(received.getSender(), from.userId);
    assert.equal(received.getContent().msgtype, 'm.text');

    const [echo] = await remoteEcho;
    assert.equal(echo.getId(), eventId);
    assert.equal(from.syncedTransactionIds.get(eventId), txnId, `${from.name}'s /sync did not carry unsigned.transaction_id for ${eventId}`);
    const copies = roomOf(from, roomId).getLiveTimeline().getEvents().filter((event) => event.getId() === eventId);
    assert.equal(copies.length, 1, `${from.name}'s timeline holds ${copies.length} copies of ${eventId}`);
    assert.equal(copies[0], echo, `${from.name}'s timeline holds a new event, not the local echo, for ${eventId}`);
    assert.deepEqual(roomOf(from, roomId).getPendingEvents(), []);
    return received;
  }

  function typingSeen(watcher: Peer, typist: Peer, roomId: string, typing: boolean): Promise<unknown> {
    return nextEvent(
      watcher.client,
      sdk.RoomMemberEvent.Typing,
      (_event: MatrixEvent, member: RoomMember) => member.roomId === roomId && member.userId === typist.userId && member.typing === typing,
      `${watcher.name} seeing ${typist.name} ${typing ? 'start' : 'stop'} typing`,
    );
  }

  it('invite, join, messages both ways, typing and read receipts reach the other client through its sync', async () => {
    const [alice, bob] = [await startPeer('alice'), await startPeer('bob')];
    for (const peer of [alice, bob]) assert.ok(['PREPARED', 'SYNCING'].includes(peer.client.getSyncState()!), `${peer.name}: ${peer.client.getSyncState()}`);

    const { room_id: roomId } = await alice.client.createRoom({ name: 'SDK sync' });
    const invited = membershipSeen(bob, roomId, 'invite');
    const bobJoinedAsAliceSees = nextEvent(
      alice.client,
      sdk.RoomStateEvent.Members,
      (_event: MatrixEvent, _state: unknown, member: RoomMember) => member.roomId === roomId && member.userId === bob.userId && member.membership === 'join',
      `alice seeing bob join`,
    );
    await alice.client.invite(roomId, bob.userId);
    const invite = await invited;
    assert.equal(invite.getMyMembership(), 'invite');
    assert.equal(invite.getMember(bob.userId)?.events.member?.getSender(), alice.userId);
    assert.equal(bob.client.getSyncState(), 'SYNCING');

    const joined = membershipSeen(bob, roomId, 'join');
    await bob.client.joinRoom(roomId);
    await Promise.all([joined, bobJoinedAsAliceSees]);
    assert.equal(roomOf(bob, roomId).name, 'SDK sync');
    assert.equal(alice.client.getSyncState(), 'SYNCING');

    await sendMessage(alice, bob, roomId, 'Hello Bob');
    await sendMessage(bob, alice, roomId, 'Hello Alice');

    const startsTyping = typingSeen(bob, alice, roomId, true);
    await alice.client.sendTyping(roomId, true, 20_000);
    await startsTyping;
    assert.equal(roomOf(bob, roomId).getMember(alice.userId)?.typing, true);
    const stopsTyping = typingSeen(bob, alice, roomId, false);
    await alice.client.sendTyping(roomId, false, 0);
    await stopsTyping;

    // In an unencrypted room the SDK takes unread counts as /sync's unread_notifications give them.
    const bobsRoom = roomOf(bob, roomId);
    const question = await sendMessage(alice, bob, roomId, 'Did you read this?');
    await until(bobsRoom, sdk.RoomEvent.UnreadNotifications, () => bobsRoom.getUnreadNotificationCount() === 2, 'an unread notification count of 2 for bob');

    const alicesRoom = roomOf(alice, roomId);
    const questionAsAliceSees = alicesRoom.findEventById(question.getId()!)!;
    const receiptSeen = nextEvent(
      alice.client,
      sdk.RoomEvent.Receipt,
      (_event: MatrixEvent, room: Room) => room.roomId === roomId && room.getEventReadUpTo(bob.userId, true) === question.getId(),
      `alice seeing bob's read receipt`,
    );
    await bob.client.sendReadReceipt(question, sdk.ReceiptType.Read);
    await receiptSeen;
    assert.ok(alicesRoom.getUsersReadUpTo(questionAsAliceSees).includes(bob.userId));
    assert.equal(alicesRoom.hasUserReadEvent(bob.userId, question.getId()!), true);
    await until(bobsRoom, sdk.RoomEvent.UnreadNotifications, () => bobsRoom.getUnreadNotificationCount() === 0, "bob's unread count falling to 0");

    for (const peer of [alice, bob]) peer.client.stopClient();
    await polled(() => server.hs.services.notifier.waiters === 0, 'the stopped clients\' long-polls to end on the server');
  });
});
