/** SRV records (RFC 2782) as server discovery uses them: looked up, then put in the order to try them. */
import type { SrvRecord } from 'node:dns';
import type { ConnectTarget } from '../../server/net/connector';

/** Looks up the SRV records of a name; rejects with code ENODATA or ENOTFOUND when there are none. */
export type SrvLookup = (name: string) => Promise<SrvRecord[]>;

/**
 * The records' targets in the order to try them: lowest priority first, and
 * within a priority a weighted random order (RFC 2782). A target of "." means
 * the service is not offered there, and is left out.
 */
export function orderSrvRecords(records: readonly SrvRecord[], random: () => number = Math.random): ConnectTarget[] {
  const usable = records.filter((r) => r.name !== '' && r.name !== '.');
  const priorities = [...new Set(usable.map((r) => r.priority))].sort((a, b) => a - b);
  const ordered: ConnectTarget[] = [];
  for (const priority of priorities) {
    // Zero-weight records first, so that they keep a small chance of being picked (RFC 2782).
    const left = usable.filter((r) => r.priority === priority).sort((a, b) => (a.weight === 0 ? 0 : 1) - (b.weight === 0 ? 0 : 1));
    while (left.length > 0) {
      const total = left.reduce((sum, r) => sum + r.weight, 0);
      const pick = Math.floor(random() * (total + 1));
      let running = 0;
      let index = left.findIndex((r) => (running += r.weight) >= pick);
      if (index < 0) index = left.length - 1;
      const [chosen] = left.splice(index, 1);
      ordered.push({ hostname: chosen.name.replace(/\.$/, ''), port: chosen.port });
    }
  }
  return ordered;
}
