/** Every migration, in order. Forward only: never edit one that has shipped. */
import type { Knex } from 'knex';
import * as accounts from './0001_accounts';
import * as rooms from './0002_rooms';
import * as roomClient from './0003_room_client';
import * as relations from './0004_relations';
import * as presenceToDevice from './0005_presence_to_device';
import * as e2ee from './0006_e2ee';
import * as pushReceipts from './0007_push_receipts';
import * as sync from './0008_sync';
import * as pusherDevices from './0009_pusher_devices';
import * as serverKeys from './0010_server_keys';
import * as federationOutbox from './0011_federation_outbox';
import * as openidTokens from './0012_openid_tokens';
import * as roomStateAfter from './0013_room_state_after';
import * as backfill from './0014_backfill';
import * as remoteDevices from './0015_remote_devices';
import * as strippedState from './0016_stripped_state';

export interface Migration {
  name: string;
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
}

const forwardOnly = async () => {
  throw new Error('Weft migrations are forward only');
};

export const migrations: Migration[] = [
  { name: '0001_accounts', up: accounts.up, down: forwardOnly },
  { name: '0002_rooms', up: rooms.up, down: forwardOnly },
  { name: '0003_room_client', up: roomClient.up, down: forwardOnly },
  { name: '0004_relations', up: relations.up, down: forwardOnly },
  { name: '0005_presence_to_device', up: presenceToDevice.up, down: forwardOnly },
  { name: '0006_e2ee', up: e2ee.up, down: forwardOnly },
  { name: '0007_push_receipts', up: pushReceipts.up, down: forwardOnly },
  { name: '0008_sync', up: sync.up, down: forwardOnly },
  { name: '0009_pusher_devices', up: pusherDevices.up, down: forwardOnly },
  { name: '0010_server_keys', up: serverKeys.up, down: forwardOnly },
  { name: '0011_federation_outbox', up: federationOutbox.up, down: forwardOnly },
  { name: '0012_openid_tokens', up: openidTokens.up, down: forwardOnly },
  { name: '0013_room_state_after', up: roomStateAfter.up, down: forwardOnly },
  { name: '0014_backfill', up: backfill.up, down: forwardOnly },
  { name: '0015_remote_devices', up: remoteDevices.up, down: forwardOnly },
  { name: '0016_stripped_state', up: strippedState.up, down: forwardOnly },
];
