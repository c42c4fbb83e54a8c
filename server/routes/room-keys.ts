/** Server-side key backups (key_backup.yaml): backup versions, and the keys in them. */
import { missingParam, notFound } from '../../spec/errors';
import {
  createBackupBody, keyBackupDataBody, roomKeyBackupBody, roomKeysBody, updateBackupBody,
  type CreateBackupBody, type KeyBackupData, type RoomKeyBackup, type RoomKeysBody, type UpdateBackupBody,
} from '../../spec/schemas/keys';
import type { BackedUpSession, SessionScope } from '../../storage/key-backup';
import type { RoomKeys } from '../e2ee/key-backup';
import { authed, type AuthedRequest, type Route } from '../http/route';
import type { Services } from '../services';

const V3 = '/_matrix/client/v3';

/** The `version` query parameter the key endpoints require. */
function versionParam(req: AuthedRequest<unknown>): string {
  const { version } = req.query;
  if (version === undefined) throw missingParam("Missing required parameter 'version'");
  return version;
}

const scopeOf = (req: AuthedRequest<unknown>): SessionScope => ({ roomId: req.params.roomId, sessionId: req.params.sessionId });

const keyData = ({ first_message_index, forwarded_count, is_verified, session_data }: BackedUpSession): KeyBackupData =>
  ({ first_message_index, forwarded_count, is_verified, session_data });

function sessionsOf(keys: BackedUpSession[]): Record<string, KeyBackupData> {
  return Object.fromEntries(keys.map((key) => [key.sessionId, keyData(key)]));
}

function roomsOf(keys: BackedUpSession[]): Record<string, RoomKeyBackup> {
  const rooms: Record<string, RoomKeyBackup> = {};
  for (const key of keys) (rooms[key.roomId] ??= { sessions: {} }).sessions[key.sessionId] = keyData(key);
  return rooms;
}

export function roomKeyRoutes(s: Services): Route<any>[] {
  const backups = s.e2ee.keyBackups;
  const rateLimit = 'request' as const;
  const keysPath = `${V3}/room_keys/keys`;
  const roomPath = `${keysPath}/:roomId`;
  const sessionPath = `${roomPath}/:sessionId`;
  const put = (req: AuthedRequest<unknown>, rooms: RoomKeys) => backups.put(req.requester.userId, versionParam(req), rooms);
  const remove = (req: AuthedRequest<unknown>) => backups.deleteKeys(req.requester.userId, versionParam(req), scopeOf(req));
  const read = (req: AuthedRequest<unknown>) => backups.keys(req.requester.userId, versionParam(req), scopeOf(req));

  return [
    authed<CreateBackupBody>({
      method: 'POST',
      path: `${V3}/room_keys/version`,
      rateLimit,
      body: createBackupBody,
      handler: ({ requester, body }) => backups.create(requester.userId, body),
    }),
    authed({
      method: 'GET',
      path: `${V3}/room_keys/version`,
      rateLimit,
      handler: ({ requester }) => backups.info(requester.userId),
    }),
    authed({
      method: 'GET',
      path: `${V3}/room_keys/version/:version`,
      rateLimit,
      handler: ({ requester, params }) => backups.info(requester.userId, params.version),
    }),
    authed<UpdateBackupBody>({
      method: 'PUT',
      path: `${V3}/room_keys/version/:version`,
      rateLimit,
      body: updateBackupBody,
      handler: async ({ requester, params, body }) => {
        await backups.update(requester.userId, params.version, body);
        return {};
      },
    }),
    authed({
      method: 'DELETE',
      path: `${V3}/room_keys/version/:version`,
      rateLimit,
      handler: async ({ requester, params }) => {
        await backups.delete(requester.userId, params.version);
        return {};
      },
    }),

    authed<RoomKeysBody>({
      method: 'PUT',
      path: keysPath,
      rateLimit,
      body: roomKeysBody,
      handler: (req) => put(req, Object.fromEntries(Object.entries(req.body.rooms).map(([roomId, room]) => [roomId, room.sessions]))),
    }),
    authed<RoomKeyBackup>({
      method: 'PUT',
      path: roomPath,
      rateLimit,
      body: roomKeyBackupBody,
      handler: (req) => put(req, { [req.params.roomId]: req.body.sessions }),
    }),
    authed<KeyBackupData>({
      method: 'PUT',
      path: sessionPath,
      rateLimit,
      body: keyBackupDataBody,
      handler: (req) => put(req, { [req.params.roomId]: { [req.params.sessionId]: req.body } }),
    }),

    authed({ method: 'GET', path: keysPath, rateLimit, handler: async (req) => ({ rooms: roomsOf(await read(req)) }) }),
    authed({ method: 'GET', path: roomPath, rateLimit, handler: async (req) => ({ sessions: sessionsOf(await read(req)) }) }),
    authed({
      method: 'GET',
      path: sessionPath,
      rateLimit,
      handler: async (req) => {
        const [key] = await read(req);
        if (!key) throw notFound('No key backed up for this session');
        return keyData(key);
      },
    }),

    authed({ method: 'DELETE', path: keysPath, rateLimit, handler: remove }),
    authed({ method: 'DELETE', path: roomPath, rateLimit, handler: remove }),
    authed({ method: 'DELETE', path: sessionPath, rateLimit, handler: remove }),
  ];
}
