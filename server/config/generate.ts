/**
 * Writes a complete, commented YAML configuration: every key of the schema,
 * with its default (read from the schema itself, so the two cannot drift).
 * `weft generate-config` and config.sample.yaml both come from here.
 */
import { randomBytes } from 'node:crypto';
import { configSchema, type RegistrationMode } from './schema';
import { generateSigningKey } from './signing-key';

export interface GenerateOptions {
  serverName: string;
  /** Folder for the SQLite database; default ./data. */
  dataDir?: string;
  /** Default: the schema's default (closed). */
  registration?: RegistrationMode;
  /** Default: a fresh key. */
  signingKey?: string;
  /** Default: 32 fresh random bytes; null leaves the key commented out. */
  sharedSecret?: string | null;
  /**
   * The sample for a local trial server: says so at the top and next to its
   * signing key, and explains why it opens registration.
   */
  trial?: boolean;
}

export const freshSharedSecret = () => randomBytes(32).toString('base64url');

/** The schema's default for a dotted key path (array items are looked through). */
export function schemaDefault(path: string): unknown {
  let node: any = configSchema;
  for (const key of path.split('.')) {
    node = node.properties?.[key] ?? node.items?.properties?.[key];
    if (!node) throw new Error(`no config key ${path}`);
  }
  return node.default;
}

/** A YAML scalar or flow sequence; strings are always double-quoted (JSON is valid YAML). */
const v = (value: unknown) => JSON.stringify(value).replace(/","/g, '", "');
const d = (path: string) => v(schemaDefault(path));

export function generateConfig(options: GenerateOptions): string {
  const dataDir = (options.dataDir ?? './data').replace(/(.)\/+$/, '$1');
  const registration = options.registration ?? (schemaDefault('registration.mode') as RegistrationMode);
  const signingKey = options.signingKey ?? generateSigningKey();
  const sharedSecret = options.sharedSecret === undefined ? freshSharedSecret() : options.sharedSecret;
  const [listener] = schemaDefault('listeners') as { bind_address: string; port: number; resources: string[] }[];
  const bucket = (name: string) => `per_second: ${d(`rate_limits.${name}.per_second`)}, burst: ${d(`rate_limits.${name}.burst`)}`;

  const header = options.trial
    ? `# Weft sample configuration, for a local trial server on this machine only.
# \`npm start\` runs Weft with this file. For a real server, run
#   weft generate-config --server-name YOUR.DOMAIN -o config.yaml
# which writes a file like this one with a fresh signing key and secret.`
    : `# Weft homeserver configuration, written by \`weft generate-config\`.`;

  const registrationNote = options.trial
    ? `  # The default is closed. This sample opens registration because it is for a
  # local trial server that only this machine can reach (listening on 127.0.0.1).
`
    : '';

  const signingKeyNote = options.trial
    ? `# For local trial only; run weft generate-config for a real server.
# This key is public: anyone can read it in Weft's repository.
`
    : `# Keep it secret, and keep it: other servers remember it.
`;

  const sharedSecretLine = sharedSecret === null
    ? `  # shared_secret: "a long random string"`
    : `  shared_secret: ${v(sharedSecret)}`;

  return `${header}
#
# Every key is listed with its default. Keys that are commented out are optional
# and unset by default. Some keys can be overridden by environment variables when
# Weft starts:
#   WEFT_DATABASE_URL                 database.url
#   WEFT_BIND=HOST:PORT               bind_address and port of the first listener without TLS
#   WEFT_LOG_LEVEL                    log_level
#   WEFT_REGISTRATION_SHARED_SECRET   registration.shared_secret

# The domain part of this server's user IDs (@alice:SERVER_NAME). It cannot be
# changed once users exist. It may carry a port, e.g. example.com:8448.
server_name: ${v(options.serverName)}

# The URL clients reach this server at, when it is not https://SERVER_NAME/.
# Also the default for well_known.client_base_url.
# public_baseurl: "https://matrix.example.com/"

# This server's ed25519 signing key: "ed25519 VERSION BASE64_SEED".
${signingKeyNote}signing_key: ${v(signingKey)}

# The addresses to listen on (at least one). Default: one listener on
# ${listener.bind_address}:${listener.port} serving ${listener.resources.join(' and ')}.
listeners:
  - # Address to bind; default ${d('listeners.bind_address')}. "0.0.0.0" or "::" listens on every interface.
    bind_address: ${v(listener.bind_address)}
    # TCP port (required); 0 picks a free one.
    port: ${v(listener.port)}
    # The APIs this listener serves: any of client, federation, metrics.
    # Default ${d('listeners.resources')}.
    resources: ${v(listener.resources)}
    # Serve HTTPS directly (rather than behind a reverse proxy); unset by default.
    # tls:
    #   certificate_path: /etc/weft/fullchain.pem
    #   key_path: /etc/weft/privkey.pem

database:
  # "sqlite:PATH" for an embedded SQLite file (a relative PATH is relative to the
  # folder Weft starts in; the folder is created if missing), or
  # "postgres://USER[:PASSWORD]@HOST:PORT/DATABASE" for PostgreSQL, optionally with
  # "?schema=NAME" to keep Weft's tables in that schema (created if missing).
  # Default ${d('database.url')}.
  url: ${v(`sqlite:${dataDir}/weft.db`)}
  # How long SQLite waits for a locked database before giving up, in milliseconds.
  sqlite_busy_timeout_ms: ${d('database.sqlite_busy_timeout_ms')}

# One of fatal, error, warn, info, debug, trace, silent. Logs are JSON lines on stdout.
log_level: ${d('log_level')}

# The largest request body accepted, in bytes (default 10 MiB).
max_request_body_bytes: ${d('max_request_body_bytes')}

# The room version of rooms created without one named (1 to 12; 12 is what the spec recommends).
default_room_version: ${d('default_room_version')}

registration:
  # Who may create an account through the client API's /register:
  #   open    anyone who can reach the server
  #   closed  nobody (the administrator creates accounts with \`weft register-user\`)
  #   token   only people holding a registration token
${registrationNote}  mode: ${v(registration)}
  # Secret for shared-secret registration (POST /_synapse/admin/v1/register, as
  # used by Synapse's register_new_matrix_user), which works whatever the mode.
  # Anyone who knows it can create admin accounts. Unset by default: disabled.
${sharedSecretLine}
  # Whether guests may register (kind=guest).
  guest_access: ${d('registration.guest_access')}
  # Rules every new password must follow (M_WEAK_PASSWORD otherwise).
  password_policy:
    min_length: ${d('registration.password_policy.min_length')}
    require_digit: ${d('registration.password_policy.require_digit')}
    require_symbol: ${d('registration.password_policy.require_symbol')}
    require_lowercase: ${d('registration.password_policy.require_lowercase')}
    require_uppercase: ${d('registration.password_policy.require_uppercase')}

auth:
  # scrypt cost for new password hashes, as log2 of N (10 to 20). Each step up
  # doubles the time and memory a hash takes; old hashes keep their own cost.
  password_hash_cost: ${d('auth.password_hash_cost')}
  # Lifetime of an access token issued with a refresh token, in milliseconds.
  refreshable_access_token_lifetime_ms: ${d('auth.refreshable_access_token_lifetime_ms')}
  # Lifetime of a refresh token in milliseconds; null: it does not expire (each
  # refresh replaces it with a new one anyway).
  refresh_token_lifetime_ms: ${d('auth.refresh_token_lifetime_ms')}
  # How long a user-interactive authentication session lasts, in milliseconds.
  uia_session_lifetime_ms: ${d('auth.uia_session_lifetime_ms')}

# Token buckets: per_second requests refill the bucket, burst is its size.
# A client past its limit gets 429 M_LIMIT_EXCEEDED with retry_after_ms.
rate_limits:
  enabled: ${d('rate_limits.enabled')}
  # Each signed-in user.
  per_user: { ${bucket('per_user')} }
  # Each client IP address, for requests without an access token.
  per_ip: { ${bucket('per_ip')} }
  # Login attempts, per IP address.
  login: { ${bucket('login')} }

# What /.well-known/matrix/client and /.well-known/matrix/server answer. Unset by
# default: then the first answers with public_baseurl if that is set, and both
# answer 404 otherwise.
# well_known:
#   client_base_url: "https://matrix.example.com/"
#   server: "matrix.example.com:443"

# The published room directory (GET /publicRooms).
room_directory:
  # Who may publish a room in the directory (PUT /directory/list/room/{roomId},
  # or createRoom with visibility public):
  #   members_with_power  members who may set the room's m.room.canonical_alias, and server admins
  #   admins_only         server admins only
  # Unpublishing always needs only the first.
  publish: ${d('room_directory.publish')}
  # Whether listing the directory with GET /publicRooms needs an access token.
  require_auth_for_public_rooms: ${d('room_directory.require_auth_for_public_rooms')}

# Presence: whether users are online, idle (unavailable) or offline, shown to
# the users they share a room with.
presence:
  # Off: clients may still set their presence, but everyone reads as offline.
  enabled: ${d('presence.enabled')}
  # An online user with no activity (syncing, sending) for this long, in
  # milliseconds, becomes unavailable.
  idle_timeout_ms: ${d('presence.idle_timeout_ms')}
  # A user whose clients have stopped syncing for this long, in milliseconds,
  # becomes offline.
  offline_timeout_ms: ${d('presence.offline_timeout_ms')}

# Signing keys this server used before (key ID: public key and when it was
# retired), published so that what they signed can still be checked.
# \`weft rotate-signing-key\` moves the current key here.
old_signing_keys: {}

# Outbound requests (to other servers, push gateways) never connect to these
# IP ranges, unless an address is also in ip_range_allowlist. The default
# denies private, loopback, link-local and reserved ranges.
ip_range_denylist: ${d('ip_range_denylist')}
ip_range_allowlist: ${d('ip_range_allowlist')}

# The Server-Server API: talking to other homeservers.
federation:
  # Verify other servers' TLS certificates. Turn off only on a private test
  # network whose servers use self-signed certificates.
  verify_tls: ${d('federation.verify_tls')}
  # How long other servers may cache this server's signing keys, in milliseconds.
  key_validity_ms: ${d('federation.key_validity_ms')}
  # Servers trusted to vouch for other servers' keys (notaries), asked when a
  # server cannot be reached for its own; verify_keys pins their keys, e.g.
  #   - server_name: "notary.example.org"
  #     verify_keys: { "ed25519:a_key": "<the unpadded Base64 public key>" }
  trusted_key_servers: ${d('federation.trusted_key_servers')}
  # How long one request to another server may take, in milliseconds.
  request_timeout_ms: ${d('federation.request_timeout_ms')}
  # A server that cannot be reached is retried after this many milliseconds,
  retry_initial_ms: ${d('federation.retry_initial_ms')}
  # then twice as long after each failure, up to this.
  retry_max_ms: ${d('federation.retry_max_ms')}
  # Whether this process sends our events to other servers. Leave it on; with
  # several Weft processes on one database, exactly one should have it.
  send_outbound: ${d('federation.send_outbound')}

# Delivery of notifications to push gateways (the http pushers clients set).
# A failed notification is retried with exponential backoff, then dropped; what
# waits to be retried is kept in memory only and lost on restart.
push:
  # How long a gateway may take to connect, and then to answer, in milliseconds.
  gateway_timeout_ms: ${d('push.gateway_timeout_ms')}
  # The delay before the first retry; each further retry waits twice as long,
  retry_initial_ms: ${d('push.retry_initial_ms')}
  # but never longer than this.
  retry_max_ms: ${d('push.retry_max_ms')}
  # Attempts at one notification (the first included) before it is dropped.
  max_attempts: ${d('push.max_attempts')}
`;
}
