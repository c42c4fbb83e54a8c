/**
 * A stored event as it goes over federation: the full PDU with its hashes and
 * signatures, without `unsigned` (data the origin adds outside the signatures:
 * what Weft keeps there is for its own clients, not for other servers).
 */
import type { Pdu, RoomEvent } from '../../spec/pdu';

export function federationPdu(event: RoomEvent): Pdu {
  const { unsigned: _unsigned, ...pdu } = event.pdu;
  return pdu as Pdu;
}
