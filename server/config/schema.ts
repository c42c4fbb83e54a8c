/**
 * The configuration file's JSON schema. Every key has its default here; ajv fills
 * them in, so the rest of the server reads a complete, typed Config.
 * config.sample.yaml documents the same keys.
 */
import { DEFAULT_ROOM_VERSION, ROOM_VERSIONS } from '../../spec/room-versions';

export type ApiResource = 'client' | 'federation' | 'metrics';

export interface ListenerConfig {
  bind_address: string;
  port: number;
  tls?: { certificate_path: string; key_path: string };
  resources: ApiResource[];
}

export interface RateLimitBucket {
  per_second: number;
  burst: number;
}

export type RegistrationMode = 'open' | 'closed' | 'token';

export interface Config {
  server_name: string;
  public_baseurl?: string;
  signing_key: string;
  listeners: ListenerConfig[];
  database: { url: string; sqlite_busy_timeout_ms: number };
  log_level: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  max_request_body_bytes: number;
  /** The room version of new rooms when the client names none. */
  default_room_version: string;
  registration: {
    mode: RegistrationMode;
    shared_secret?: string;
    guest_access: boolean;
    password_policy: {
      min_length: number;
      require_digit: boolean;
      require_symbol: boolean;
      require_lowercase: boolean;
      require_uppercase: boolean;
    };
  };
  auth: {
    password_hash_cost: number;
    refreshable_access_token_lifetime_ms: number;
    refresh_token_lifetime_ms: number | null;
    uia_session_lifetime_ms: number;
  };
  rate_limits: {
    enabled: boolean;
    per_user: RateLimitBucket;
    per_ip: RateLimitBucket;
    login: RateLimitBucket;
  };
  well_known: { client_base_url?: string; server?: string };
  room_directory: {
    /** Who may publish rooms: moderators of the room (and admins), or server admins only. */
    publish: 'members_with_power' | 'admins_only';
    /** Whether GET /publicRooms needs an access token. */
    require_auth_for_public_rooms: boolean;
  };
  presence: {
    /** Off: PUT /presence is accepted and ignored, everyone reads as offline, /sync sends none. */
    enabled: boolean;
    /** Online users without activity for this long become unavailable. */
    idle_timeout_ms: number;
    /** Users with no sync request for this long (after the last one ended) become offline. */
    offline_timeout_ms: number;
  };
  /**
   * Signing keys this server used before, by key ID: published as
   * old_verify_keys so that what they signed can still be checked.
   * `weft rotate-signing-key` adds the key it replaces.
   */
  old_signing_keys: Record<string, { key: string; expired_ts: number }>;
  /**
   * Where outbound requests (federation, push gateways) may not connect: IP
   * ranges in CIDR notation. An address in ip_range_allowlist is allowed
   * whatever the denylist says.
   */
  ip_range_denylist: string[];
  ip_range_allowlist: string[];
  /** The Server-Server API (docs/federation.md). */
  federation: {
    /** Whether peers' TLS certificates are verified. Off only on private test networks with self-signed certificates. */
    verify_tls: boolean;
    /** How long our published server keys stay valid (valid_until_ts), from when they are fetched. */
    key_validity_ms: number;
    /** Servers trusted to notarise other servers' keys, tried when a server cannot be reached for its own. */
    trusted_key_servers: { server_name: string; verify_keys?: Record<string, string> }[];
    /** How long one outbound federation request may take. */
    request_timeout_ms: number;
    /** Backoff for a destination that failed: the first delay, doubled per failure... */
    retry_initial_ms: number;
    /** ...up to this. */
    retry_max_ms: number;
    /**
     * Whether this process sends our events and EDUs to other servers. With
     * several processes on one database, exactly one should.
     */
    send_outbound: boolean;
  };
  /** Delivery to push gateways (docs/push.md). */
  push: {
    /** How long a push gateway may take to connect, answer and send its body. */
    gateway_timeout_ms: number;
    /** The first retry's delay after a failure; each further retry waits twice as long... */
    retry_initial_ms: number;
    /** ...but never longer than this. */
    retry_max_ms: number;
    /** Attempts at one notification before it is dropped. */
    max_attempts: number;
  };
}

const bucket = (per_second: number, burst: number) => ({
  type: 'object',
  additionalProperties: false,
  default: { per_second, burst },
  required: ['per_second', 'burst'],
  properties: {
    per_second: { type: 'number', exclusiveMinimum: 0, default: per_second },
    burst: { type: 'number', minimum: 1, default: burst },
  },
});

const ROOM_VERSION_IDS = Object.keys(ROOM_VERSIONS.available);

/** Addresses no outbound request goes to unless allowlisted: private, loopback, link-local, shared, reserved and documentation ranges. */
export const DEFAULT_IP_RANGE_DENYLIST = [
  '0.0.0.0/8', '10.0.0.0/8', '100.64.0.0/10', '127.0.0.0/8', '169.254.0.0/16', '172.16.0.0/12', '192.0.0.0/24', '192.0.2.0/24',
  '192.88.99.0/24', '192.168.0.0/16', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '224.0.0.0/4', '240.0.0.0/4',
  '::/128', '::1/128', '::ffff:0:0/96', '64:ff9b:1::/48', '100::/64', '2001:db8::/32', 'fc00::/7', 'fe80::/10', 'ff00::/8',
];

/** Kept in step with the Config interface above by the config tests. */
export const configSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['server_name', 'signing_key'],
  properties: {
    server_name: { type: 'string', minLength: 1 },
    public_baseurl: { type: 'string', nullable: true },
    signing_key: { type: 'string', pattern: '^ed25519 [A-Za-z0-9_]+ [A-Za-z0-9+/=]+$' },
    listeners: {
      type: 'array',
      minItems: 1,
      default: [{ bind_address: '127.0.0.1', port: 8008, resources: ['client', 'federation'] }],
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['port'],
        properties: {
          bind_address: { type: 'string', default: '127.0.0.1' },
          port: { type: 'integer', minimum: 0, maximum: 65535 },
          tls: {
            type: 'object',
            nullable: true,
            additionalProperties: false,
            required: ['certificate_path', 'key_path'],
            properties: { certificate_path: { type: 'string' }, key_path: { type: 'string' } },
          },
          resources: {
            type: 'array',
            minItems: 1,
            default: ['client', 'federation'],
            items: { type: 'string', enum: ['client', 'federation', 'metrics'] },
          },
        },
      },
    },
    database: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        url: { type: 'string', default: 'sqlite:./data/weft.db' },
        sqlite_busy_timeout_ms: { type: 'integer', minimum: 0, default: 5000 },
      },
    },
    log_level: {
      type: 'string',
      enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
      default: 'info',
    },
    max_request_body_bytes: { type: 'integer', minimum: 1024, default: 10 * 1024 * 1024 },
    default_room_version: { type: 'string', enum: ROOM_VERSION_IDS, default: DEFAULT_ROOM_VERSION },
    registration: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        mode: { type: 'string', enum: ['open', 'closed', 'token'], default: 'closed' },
        shared_secret: { type: 'string', nullable: true, minLength: 1 },
        guest_access: { type: 'boolean', default: false },
        password_policy: {
          type: 'object',
          additionalProperties: false,
          default: {},
          required: [],
          properties: {
            min_length: { type: 'integer', minimum: 1, default: 1 },
            require_digit: { type: 'boolean', default: false },
            require_symbol: { type: 'boolean', default: false },
            require_lowercase: { type: 'boolean', default: false },
            require_uppercase: { type: 'boolean', default: false },
          },
        },
      },
    },
    auth: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        password_hash_cost: { type: 'integer', minimum: 10, maximum: 20, default: 15 },
        refreshable_access_token_lifetime_ms: { type: 'integer', minimum: 1000, default: 5 * 60 * 1000 },
        refresh_token_lifetime_ms: { type: 'integer', nullable: true, minimum: 1000, default: null },
        uia_session_lifetime_ms: { type: 'integer', minimum: 1000, default: 15 * 60 * 1000 },
      },
    },
    rate_limits: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        enabled: { type: 'boolean', default: true },
        per_user: bucket(5, 50),
        per_ip: bucket(10, 100),
        login: bucket(0.17, 5),
      },
    },
    well_known: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        client_base_url: { type: 'string', nullable: true },
        server: { type: 'string', nullable: true },
      },
    },
    room_directory: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        publish: { type: 'string', enum: ['members_with_power', 'admins_only'], default: 'members_with_power' },
        require_auth_for_public_rooms: { type: 'boolean', default: false },
      },
    },
    presence: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        enabled: { type: 'boolean', default: true },
        idle_timeout_ms: { type: 'integer', minimum: 100, default: 5 * 60 * 1000 },
        offline_timeout_ms: { type: 'integer', minimum: 100, default: 30 * 1000 },
      },
    },
    old_signing_keys: {
      type: 'object',
      default: {},
      required: [],
      propertyNames: { pattern: '^ed25519:[A-Za-z0-9_]+$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        required: ['key', 'expired_ts'],
        properties: { key: { type: 'string', pattern: '^[A-Za-z0-9+/]{43}=?$' }, expired_ts: { type: 'integer', minimum: 0 } },
      },
    },
    ip_range_denylist: { type: 'array', items: { type: 'string' }, default: DEFAULT_IP_RANGE_DENYLIST },
    ip_range_allowlist: { type: 'array', items: { type: 'string' }, default: [] },
    federation: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        verify_tls: { type: 'boolean', default: true },
        key_validity_ms: { type: 'integer', minimum: 60_000, default: 24 * 60 * 60 * 1000 },
        trusted_key_servers: {
          type: 'array',
          default: [],
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['server_name'],
            properties: {
              server_name: { type: 'string', minLength: 1 },
              verify_keys: { type: 'object', nullable: true, required: [], additionalProperties: { type: 'string' } },
            },
          },
        },
        request_timeout_ms: { type: 'integer', minimum: 100, default: 60_000 },
        retry_initial_ms: { type: 'integer', minimum: 1, default: 5000 },
        retry_max_ms: { type: 'integer', minimum: 1, default: 24 * 60 * 60 * 1000 },
        send_outbound: { type: 'boolean', default: true },
      },
    },
    push: {
      type: 'object',
      additionalProperties: false,
      default: {},
      required: [],
      properties: {
        gateway_timeout_ms: { type: 'integer', minimum: 100, default: 10_000 },
        retry_initial_ms: { type: 'integer', minimum: 1, default: 1000 },
        retry_max_ms: { type: 'integer', minimum: 1, default: 10 * 60 * 1000 },
        max_attempts: { type: 'integer', minimum: 1, default: 10 },
      },
    },
  },
};
