/**
 * The undici connector every outbound client uses (federation, push
 * gateways): it looks the hostname up itself, drops the addresses the IP
 * range policy denies, and connects to the first allowed one that answers.
 * Checking the address actually connected to, not the name, is what stops a
 * DNS name (or a redirect, or an SRV record) from leading a request into a
 * private network.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, type Socket } from 'node:net';
import { buildConnector } from 'undici';
import type { IpRangePolicy } from './ip-ranges';

/** All addresses of a hostname (A and AAAA, following CNAMEs). */
export type HostLookup = (hostname: string) => Promise<{ address: string; family: number }[]>;

export const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true });

/** Every address of the destination is one the IP range policy denies. */
export class AddressDeniedError extends Error {
  readonly code = 'WEFT_ADDRESS_DENIED';
  override readonly name = 'AddressDeniedError';
}

export interface ConnectTarget {
  hostname: string;
  port: number;
}

export interface GuardedConnectorOptions {
  policy: IpRangePolicy;
  /** How long connecting to one address may take, in milliseconds. */
  timeout?: number;
  /** Whether the TLS certificate is verified (default true). */
  rejectUnauthorized?: boolean;
  lookup?: HostLookup;
  /**
   * The name the TLS certificate must be valid for, sent as SNI; null when it
   * must be valid for the IP address connected to (no SNI then). Default: the
   * request's host.
   */
  servername?: string | null;
  /** Where to connect, tried in order, instead of the dispatcher origin's host and port. */
  targets?: readonly ConnectTarget[];
}

export function guardedConnector(options: GuardedConnectorOptions): buildConnector.connector {
  const { policy, lookup = systemLookup } = options;
  const base = buildConnector({ timeout: options.timeout, rejectUnauthorized: options.rejectUnauthorized ?? true });
  const connectTo = (params: buildConnector.Options, address: string, port: number, servername: string | null) =>
    new Promise<Socket>((resolve, reject) => {
      // `host` only feeds undici's own servername fallback: the address gives none, so `servername` decides.
      base({ ...params, hostname: address, host: address, port: String(port), servername: servername ?? undefined }, (err, socket) =>
        err ? reject(err) : resolve(socket!),
      );
    });

  return (params, callback) => {
    const servername =
      options.servername !== undefined ? options.servername : params.servername || (isIP(params.hostname) ? null : params.hostname);
    const defaultPort = params.protocol === 'https:' ? 443 : 80;
    const targets = options.targets ?? [{ hostname: params.hostname, port: Number(params.port) || defaultPort }];
    connectFirst(targets, policy, lookup, (address, port) => connectTo(params, address, port, servername)).then(
      (socket) => callback(null, socket),
      (err: Error) => callback(err, null),
    );
  };
}

/** Connects to the first allowed address of the first target that answers. */
async function connectFirst(
  targets: readonly ConnectTarget[],
  policy: IpRangePolicy,
  lookup: HostLookup,
  connect: (address: string, port: number) => Promise<Socket>,
): Promise<Socket> {
  let connectError: Error | undefined;
  let lookupError: Error | undefined;
  const denied: string[] = [];
  for (const { hostname, port } of targets) {
    let addresses: string[];
    try {
      addresses = isIP(hostname) ? [hostname] : (await lookup(hostname)).map((a) => a.address);
    } catch (err) {
      lookupError = err as Error;
      continue;
    }
    for (const address of addresses) {
      if (!policy.allows(address)) {
        denied.push(`${hostname} → ${address}`);
        continue;
      }
      try {
        return await connect(address, port);
      } catch (err) {
        connectError = err as Error;
      }
    }
  }
  if (connectError) throw connectError;
  if (denied.length > 0) {
    throw new AddressDeniedError(`refusing to connect: ${denied.join(', ')} ${denied.length === 1 ? 'is' : 'are'} in ip_range_denylist`);
  }
  throw lookupError ?? new Error(`no address found for ${targets.map((t) => t.hostname).join(', ')}`);
}
