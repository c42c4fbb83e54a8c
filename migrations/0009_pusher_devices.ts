/**
 * A pusher goes with the device that set it: logging out, deleting the device
 * or deactivating the account stops its notifications.
 */
import type { Knex } from 'knex';

export async function up(db: Knex): Promise<void> {
  // Pushers of devices already gone would never be deleted otherwise.
  await db('pushers')
    .whereNotNull('device_id')
    .whereNotExists(db('devices').select(db.raw('1')).whereRaw('devices.user_id = pushers.user_id').andWhereRaw('devices.device_id = pushers.device_id'))
    .delete();
  await db.schema.alterTable('pushers', (t) => {
    t.foreign(['user_id', 'device_id']).references(['user_id', 'device_id']).inTable('devices').onDelete('CASCADE');
  });
}
