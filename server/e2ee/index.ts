/** The end-to-end encryption services (docs/e2ee.md), built together. */
import type { Stores } from '../../storage';
import type { Uia } from '../services/uia';
import type { Notifier } from '../sync/notifier';
import { CrossSigning } from './cross-signing';
import { DeviceLists } from './device-lists';
import { KeyBackups } from './key-backup';
import { E2eKeys } from './keys';

export interface E2ee {
  /** Device list changes: recorded on every device and key change, read by /sync and /keys/changes. */
  deviceLists: DeviceLists;
  /** /keys/upload, /keys/query, /keys/claim. */
  keys: E2eKeys;
  /** /keys/device_signing/upload, /keys/signatures/upload. */
  crossSigning: CrossSigning;
  /** /room_keys/*. */
  keyBackups: KeyBackups;
}

export function createE2ee(stores: Stores, notifier: Notifier, uia: Uia, serverName: string): E2ee {
  const deviceLists = new DeviceLists(stores, notifier, serverName);
  return {
    deviceLists,
    keys: new E2eKeys(stores, deviceLists, serverName),
    crossSigning: new CrossSigning(stores, deviceLists, uia),
    keyBackups: new KeyBackups(stores),
  };
}
