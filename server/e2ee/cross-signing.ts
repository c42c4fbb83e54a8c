/**
 * Cross-signing (end_to_end_encryption.md, "Cross-signing"; cross_signing.yaml):
 * uploading a user's master, self-signing and user-signing keys, and
 * signatures of devices and master keys. Every signature is verified before
 * it is stored; the changes are device list changes (docs/e2ee.md).
 */
import { forbidden, invalidParam, MatrixError, notFound } from '../../spec/errors';
import {
  crossSigningPublicKey, keyJson, sameSignedContent, signatureBy, withSignatures,
  type CrossSigningUsage, type JsonObject,
} from '../../spec/e2e-keys';
import type { CrossSigningKey, UploadCrossSigningKeysBody, UploadSignaturesBody } from '../../spec/schemas/keys';
import { verifyJsonSignature } from '../../spec/signing';
import type { Stores } from '../../storage';
import type { CrossSigningKeyRow, MasterKeySignature, UserCrossSigningKeys } from '../../storage/cross-signing';
import type { DeviceKeySignature } from '../../storage/device-keys';
import { PASSWORD, type Uia } from '../services/uia';
import type { DeviceLists } from './device-lists';

const BODY_FIELDS: Record<CrossSigningUsage, keyof UploadCrossSigningKeysBody> = {
  master: 'master_key',
  self_signing: 'self_signing_key',
  user_signing: 'user_signing_key',
};

const invalidSignature = (message: string) => new MatrixError(400, 'M_INVALID_SIGNATURE', message);

/** A failed signature in POST /keys/signatures/upload's `failures`. */
export interface SignatureFailure {
  errcode: string;
  error: string;
}

export interface UploadRequest {
  requester: { userId: string };
  /** The concrete request path, which the UIA session is bound to. */
  path: string;
  body: UploadCrossSigningKeysBody;
}

export class CrossSigning {
  constructor(
    private readonly stores: Stores,
    private readonly deviceLists: DeviceLists,
    private readonly uia: Uia,
  ) {}

  /**
   * POST /keys/device_signing/upload. User-interactive authentication is needed
   * unless the user has no master key yet, or the request only repeats the keys
   * stored (cross_signing.yaml).
   */
  async uploadKeys({ requester, path, body }: UploadRequest): Promise<void> {
    const { userId } = requester;
    const stored = await this.stores.crossSigning.keysOfUser(userId);
    if (stored.master && !repeatsStoredKeys(stored, body)) {
      body = (await this.uia.authenticate({ method: 'POST', path, requester, body }, [[PASSWORD]])).body;
    }
    const uploads = checkUpload(userId, body, stored);
    const deviceIds = new Set((await this.stores.devices.list(userId)).map((d) => d.deviceId));
    for (const [usage, key] of uploads) {
      if (deviceIds.has(key.publicKey)) throw forbidden(`The ${usage} key's public key is in use as a device ID`);
    }
    const changed = uploads.filter(([usage, key]) => !sameKey(stored[usage], key.key));
    if (changed.length === 0) return;
    await this.stores.db.transaction(async (trx) => {
      for (const [usage, key] of changed) await this.stores.crossSigning.put(userId, usage, key, trx);
      // Only the user sees their user-signing key; the other keys concern everyone they share a room with.
      if (changed.some(([usage]) => usage !== 'user_signing')) await this.deviceLists.changed(userId, trx, { crossSigning: true });
      else await this.deviceLists.changedFor(userId, userId, trx);
    });
  }

  /**
   * POST /keys/signatures/upload: the requester's self-signing key signing
   * their devices, their devices signing their master key, and their
   * user-signing key signing other users' master keys. Valid signatures are
   * stored; the others are reported per key in `failures`.
   */
  async uploadSignatures(requester: { userId: string }, body: UploadSignaturesBody): Promise<{ failures: Record<string, Record<string, SignatureFailure>> }> {
    const me = requester.userId;
    const failures: Record<string, Record<string, SignatureFailure>> = {};
    const deviceSignatures: DeviceKeySignature[] = [];
    const masterSignatures: MasterKeySignature[] = [];
    const attempt = (userId: string, keyId: string, check: () => void) => {
      try {
        check();
      } catch (err) {
        if (!(err instanceof MatrixError)) throw err;
        (failures[userId] ??= {})[keyId] = { errcode: err.errcode, error: err.message };
      }
    };

    const users = Object.keys(body);
    const keys = await this.stores.crossSigning.keysOf([me, ...users]);
    const masters = await this.mastersWithSignatures(keys, me);
    const mine = keys.get(me) ?? {};

    if (body[me] !== undefined) {
      const devices = new Map((await this.stores.deviceKeys.forUsers([me])).map((d) => [d.deviceId, d.keys]));
      const myMaster = masters.get(me);
      for (const [keyId, signed] of Object.entries(body[me])) {
        attempt(me, keyId, () => {
          if (myMaster && keyId === myMaster.publicKey) masterSignatures.push(...devicesSigningMaster(me, myMaster, signed, devices));
          else deviceSignatures.push(...selfSigningDevice(me, mine.self_signing, keyId, signed, devices));
        });
      }
    }
    for (const [target, signedKeys] of Object.entries(body)) {
      if (target === me) continue;
      for (const [keyId, signed] of Object.entries(signedKeys)) {
        attempt(target, keyId, () => masterSignatures.push(...userSigningMaster(me, mine.user_signing, target, masters.get(target), keyId, signed)));
      }
    }

    const signedOthers = new Set(masterSignatures.filter((s) => s.userId !== me).map((s) => s.userId));
    const signedOwn = deviceSignatures.length > 0 || masterSignatures.some((s) => s.userId === me);
    if (signedOwn || signedOthers.size > 0) {
      await this.stores.db.transaction(async (trx) => {
        await this.stores.deviceKeys.addSignatures(deviceSignatures, trx);
        await this.stores.crossSigning.addMasterKeySignatures(masterSignatures, trx);
        if (signedOwn) {
          await this.deviceLists.changed(me, trx, {
            devices: deviceSignatures.map((s) => s.deviceId),
            crossSigning: masterSignatures.some((s) => s.userId === me),
          });
        }
        for (const target of signedOthers) await this.deviceLists.changedFor(target, me, trx);
      });
    }
    return { failures };
  }

  /** Each user's master key with the signatures of it `viewer` may see merged in. */
  private async mastersWithSignatures(keys: Map<string, UserCrossSigningKeys>, viewer: string): Promise<Map<string, CrossSigningKeyRow>> {
    const signatures = await this.stores.crossSigning.masterKeySignatures([...keys.keys()], viewer);
    const masters = new Map<string, CrossSigningKeyRow>();
    for (const [userId, { master }] of keys) {
      if (!master) continue;
      const extra = signatures.filter((s) => s.userId === userId && s.publicKey === master.publicKey);
      masters.set(userId, { publicKey: master.publicKey, key: withSignatures(master.key, extra) });
    }
    return masters;
  }
}

/** Whether the request carries the stored master key and otherwise only keys already stored. */
function repeatsStoredKeys(stored: UserCrossSigningKeys, body: UploadCrossSigningKeysBody): boolean {
  if (body.master_key === undefined) return false;
  return (Object.keys(BODY_FIELDS) as CrossSigningUsage[]).every((usage) => {
    const key = body[BODY_FIELDS[usage]];
    return key === undefined || sameKey(stored[usage], key);
  });
}

/** Whether an upload repeats the stored key exactly. */
const sameKey = (stored: CrossSigningKeyRow | undefined, uploaded: JsonObject): boolean =>
  stored !== undefined && keyJson(stored.key) === keyJson(uploaded);

/**
 * The keys a device_signing/upload sets, checked: each is the user's, has the
 * usage it is uploaded as, holds one ed25519 key, and (but the master key) is
 * signed by the master key uploaded with it or else the stored one.
 */
function checkUpload(userId: string, body: UploadCrossSigningKeysBody, stored: UserCrossSigningKeys): [CrossSigningUsage, CrossSigningKeyRow][] {
  const uploads: [CrossSigningUsage, CrossSigningKeyRow][] = [];
  for (const usage of Object.keys(BODY_FIELDS) as CrossSigningUsage[]) {
    const key = body[BODY_FIELDS[usage]] as CrossSigningKey | undefined;
    if (key !== undefined) uploads.push([usage, { publicKey: checkKey(userId, usage, key), key }]);
  }
  const masterKey = uploads.find(([usage]) => usage === 'master')?.[1].publicKey ?? stored.master?.publicKey;
  if (masterKey === undefined) throw new MatrixError(400, 'M_MISSING_PARAM', 'No master signing key is available');
  for (const [usage, { key }] of uploads) {
    if (usage !== 'master' && !verifyJsonSignature(key, userId, `ed25519:${masterKey}`, masterKey)) {
      throw invalidSignature(`The ${usage} key must be signed by the master signing key`);
    }
  }
  return uploads;
}

/** Checks one cross-signing key's owner, usage and key; returns its public key. */
function checkKey(userId: string, usage: CrossSigningUsage, key: CrossSigningKey): string {
  const field = BODY_FIELDS[usage];
  if (key.user_id !== userId) throw invalidParam(`'${field}.user_id' must be the requester's user ID`);
  if (!key.usage.includes(usage)) throw invalidParam(`'${field}.usage' must include '${usage}'`);
  const publicKey = crossSigningPublicKey(key);
  if (publicKey === null) throw invalidParam(`'${field}.keys' must hold one key named 'ed25519:<public key>'`);
  return publicKey;
}

/** The uploaded copy must be the stored key, signatures aside. */
function checkSameKey(signed: JsonObject, stored: JsonObject): void {
  if (!sameSignedContent(signed, stored)) throw invalidParam('The signed object does not match the stored key');
}

/** New signatures of the user's master key by their own devices, each verified with the device's ed25519 key. */
function devicesSigningMaster(userId: string, master: CrossSigningKeyRow, signed: JsonObject, devices: Map<string, JsonObject>): MasterKeySignature[] {
  checkSameKey(signed, master.key);
  const bySigner = Object.entries((signed.signatures as Record<string, Record<string, string>> | undefined)?.[userId] ?? {});
  if (bySigner.length === 0) throw invalidSignature('No signature by the user was sent');
  const added: MasterKeySignature[] = [];
  for (const [signerKeyId, signature] of bySigner) {
    if (signatureBy(master.key, userId, signerKeyId) === signature) continue; // already stored
    const device = signerKeyId.startsWith('ed25519:') ? devices.get(signerKeyId.slice('ed25519:'.length)) : undefined;
    const publicKey = (device?.keys as Record<string, unknown> | undefined)?.[signerKeyId];
    if (typeof publicKey !== 'string') throw invalidSignature(`'${signerKeyId}' is not one of the user's device keys`);
    if (!verifyJsonSignature(signed, userId, signerKeyId, publicKey)) throw invalidSignature(`Invalid signature by '${signerKeyId}'`);
    added.push({ userId, publicKey: master.publicKey, signerUserId: userId, signerKeyId, signature });
  }
  return added;
}

/** The signature of one of the user's devices by their self-signing key, verified. */
function selfSigningDevice(
  userId: string, selfSigning: CrossSigningKeyRow | undefined, deviceId: string, signed: JsonObject, devices: Map<string, JsonObject>,
): DeviceKeySignature[] {
  const device = devices.get(deviceId);
  if (!device) throw notFound(`Unknown device or key '${deviceId}'`);
  if (!selfSigning) throw notFound('No self-signing key has been uploaded');
  checkSameKey(signed, device);
  const signerKeyId = `ed25519:${selfSigning.publicKey}`;
  const signature = signatureBy(signed, userId, signerKeyId);
  if (signature === undefined) throw invalidSignature('No signature by the self-signing key was sent');
  if (signatureBy(device, userId, signerKeyId) === signature) return [];
  if (!verifyJsonSignature(signed, userId, signerKeyId, selfSigning.publicKey)) throw invalidSignature('Invalid signature by the self-signing key');
  return [{ userId, deviceId, signerKeyId, signature }];
}

/** The signature of another user's master key by the requester's user-signing key, verified. */
function userSigningMaster(
  signer: string, userSigning: CrossSigningKeyRow | undefined, target: string, master: CrossSigningKeyRow | undefined, keyId: string, signed: JsonObject,
): MasterKeySignature[] {
  if (!userSigning) throw notFound('No user-signing key has been uploaded');
  if (!master || keyId !== master.publicKey) throw notFound(`Unknown master key '${keyId}' of ${target}`);
  checkSameKey(signed, master.key);
  const signerKeyId = `ed25519:${userSigning.publicKey}`;
  const signature = signatureBy(signed, signer, signerKeyId);
  if (signature === undefined) throw invalidSignature('No signature by the user-signing key was sent');
  if (signatureBy(master.key, signer, signerKeyId) === signature) return [];
  if (!verifyJsonSignature(signed, signer, signerKeyId, userSigning.publicKey)) throw invalidSignature('Invalid signature by the user-signing key');
  return [{ userId: target, publicKey: master.publicKey, signerUserId: signer, signerKeyId, signature }];
}
