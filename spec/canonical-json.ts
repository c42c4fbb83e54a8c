/**
 * Canonical JSON (appendices, "Canonical JSON"): the shortest UTF-8 encoding,
 * object keys sorted by Unicode code point, only the escapes the grammar
 * requires. Strict mode (room versions 6+, fragment v6-canonical-json) also
 * refuses numbers that are not integers in [-(2**53)+1, (2**53)-1]; lenient
 * mode (v1-v5, fragment v1-canonical-json) encodes them the way the reference
 * implementation (Python's json) would.
 */
import { badJson } from './errors';

export interface CanonicalJsonOptions {
  /** Refuse floats and integers outside [-(2**53)+1, (2**53)-1]. */
  readonly strict: boolean;
}

const STRICT: CanonicalJsonOptions = { strict: true };

/** Canonical JSON text of `value`; throws M_BAD_JSON for anything it cannot encode. */
export function canonicalJson(value: unknown, options: CanonicalJsonOptions = STRICT): string {
  try {
    return encode(value, options.strict);
  } catch (err) {
    if (err instanceof RangeError) throw badJson('JSON is nested too deeply');
    throw err;
  }
}

/** The UTF-8 bytes of canonicalJson(value): what gets hashed, signed and size-checked. */
export function canonicalJsonBytes(value: unknown, options: CanonicalJsonOptions = STRICT): Buffer {
  return Buffer.from(canonicalJson(value, options), 'utf8');
}

/** Orders strings by Unicode code point (equivalently, by their UTF-8 bytes). */
export function compareCodePoints(a: string, b: string): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) return x >= 0xd800 && y >= 0xd800 ? codePointOrder(x) - codePointOrder(y) : x - y;
  }
  return a.length - b.length;
}

/**
 * UTF-16 puts surrogates (code points above U+FFFF) before U+E000-U+FFFF;
 * code point order puts them after. Only units from U+D800 up need moving.
 */
function codePointOrder(unit: number): number {
  return unit >= 0xe000 ? unit - 0x800 : unit + 0x2000;
}

function encode(value: unknown, strict: boolean): string {
  switch (typeof value) {
    case 'string':
      return encodeString(value);
    case 'number':
      return encodeNumber(value, strict);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'bigint':
      return encodeBigInt(value, strict);
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return encodeArray(value, strict);
      return encodeObject(value, strict);
    default:
      throw badJson(`a ${typeof value} cannot be encoded as JSON`);
  }
}

function encodeArray(array: readonly unknown[], strict: boolean): string {
  let out = '[';
  for (let i = 0; i < array.length; i++) {
    const item = array[i];
    if (item === undefined) throw badJson('arrays cannot hold undefined');
    if (i > 0) out += ',';
    out += encode(item, strict);
  }
  return out + ']';
}

/** Keys whose value is undefined are left out, as JSON.stringify leaves them out. */
function encodeObject(object: object, strict: boolean): string {
  const prototype = Object.getPrototypeOf(object);
  if (prototype !== Object.prototype && prototype !== null) {
    throw badJson(`a ${prototype?.constructor?.name ?? 'non-plain'} object cannot be encoded as JSON`);
  }
  const record = object as Record<string, unknown>;
  const keys = Object.keys(record).sort();
  if (keys.some(hasHighUnit)) keys.sort(compareCodePoints);
  let out = '{';
  let first = true;
  for (const key of keys) {
    const item = record[key];
    if (item === undefined) continue;
    if (!first) out += ',';
    first = false;
    out += encodeString(key) + ':' + encode(item, strict);
  }
  return out + '}';
}

const HIGH_UNIT = /[\ud800-\uffff]/;
const hasHighUnit = (key: string): boolean => HIGH_UNIT.test(key);

/**
 * JSON.stringify already escapes exactly what the grammar requires: `"`, `\`,
 * \b \t \n \f \r, and other controls below U+0020 as lowercase \u00XX; all else,
 * DEL and U+2028/U+2029 included, goes out as UTF-8. Lone surrogates have no
 * UTF-8 encoding, so they are refused.
 */
function encodeString(text: string): string {
  if (!NEEDS_CARE.test(text)) return '"' + text + '"';
  if (!(text as unknown as WellFormedString).isWellFormed()) throw badJson('strings must be valid Unicode (lone surrogate)');
  return JSON.stringify(text);
}

/** Characters to escape, and surrogates (which may be lone); most strings have none. */
const NEEDS_CARE = /["\\\u0000-\u001f\ud800-\udfff]/;

interface WellFormedString {
  isWellFormed(): boolean;
}

function encodeNumber(n: number, strict: boolean): string {
  if (Number.isSafeInteger(n)) return String(n); // String(-0) is '0', as the spec's example requires
  if (strict) {
    throw badJson(Number.isInteger(n) ? `integer ${n} is outside [-(2**53)+1, (2**53)-1]` : `number ${n} is not an integer`);
  }
  if (!Number.isFinite(n)) throw badJson(`${n} cannot be encoded as JSON`);
  if (Number.isInteger(n)) return BigInt(n).toString();
  return pythonFloat(n);
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

function encodeBigInt(n: bigint, strict: boolean): string {
  if (strict && (n > MAX_SAFE || n < -MAX_SAFE)) throw badJson(`integer ${n} is outside [-(2**53)+1, (2**53)-1]`);
  return n.toString();
}

/**
 * A non-integral number as Python's float repr writes it (the reference
 * encoder for rooms that predate strict canonical JSON): the shortest
 * round-trip digits, positional for exponents -4..15, otherwise `d.ddde±XX`.
 */
function pythonFloat(n: number): string {
  const [mantissa, exponentText] = n.toExponential().split('e');
  const exponent = Number(exponentText);
  if (exponent >= -4 && exponent < 16) return String(n);
  const sign = exponent < 0 ? '-' : '+';
  return `${mantissa}e${sign}${String(Math.abs(exponent)).padStart(2, '0')}`;
}
