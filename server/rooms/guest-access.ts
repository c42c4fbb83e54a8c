/**
 * Guests may join only rooms whose m.room.guest_access is `can_join`
 * (modules/guest_access.md, "Server behaviour"). Whether an account is a guest
 * is known only to its own server, so this is checked here, not by the auth rules.
 */
import { forbidden } from '../../spec/errors';
import type { Stores } from '../../storage';

export async function requireGuestMayJoin(stores: Stores, roomId: string): Promise<void> {
  const guestAccess = await stores.roomState.currentStateEvent(roomId, 'm.room.guest_access', '');
  if (guestAccess?.pdu.content.guest_access !== 'can_join') {
    throw forbidden('Guests may not join this room');
  }
}
