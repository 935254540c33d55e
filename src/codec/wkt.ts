/**
 * The text forms proto3 JSON gives well-known types and bytes: RFC 3339
 * Timestamps, `"1.5s"` Durations, lowerCamelCase FieldMask paths, base64.
 * Shared by the JSON printer, the JSON parser and the single-pass decoder.
 * @module
 */
import { base64FromBytes, bytesFromBase64, nodeBuffer } from '../platform.js';
import { CodecError } from './schema.js';

/**
 * Standard base64 (with padding) of some bytes.
 *
 * @example
 * ```ts
 * base64Encode(new Uint8Array([1, 2, 3])); // 'AQID'
 * ```
 */
export function base64Encode(bytes: Uint8Array): string {
  return nodeBuffer ? nodeBuffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64') : base64FromBytes(bytes);
}

const BASE64_RE = /^[A-Za-z0-9+/_-]*={0,2}$/;

/**
 * Decodes standard or URL-safe base64, with or without padding; undefined
 * when the text is not base64.
 *
 * @example
 * ```ts
 * base64Decode('AQID'); // Uint8Array [1, 2, 3]
 * ```
 */
export function base64Decode(text: string): Uint8Array | undefined {
  if (!BASE64_RE.test(text)) return undefined;
  const bare = text.replace(/=+$/, '');
  if (bare.length % 4 === 1) return undefined;
  if (text.length !== bare.length && text.length % 4 !== 0) return undefined;
  return nodeBuffer ? new Uint8Array(nodeBuffer.from(bare, 'base64')) : bytesFromBase64(bare);
}

const DURATION_RE = /^(-)?(\d{1,12})(?:\.(\d{1,9}))?s$/;
/** The largest Duration, in seconds (10,000 years). */
export const MAX_DURATION_SECONDS = 315_576_000_000n;

/**
 * Parses a proto3 JSON Duration (`"1.5s"`, `"-0.001s"`); undefined when the
 * text is not one or is out of range.
 *
 * @example
 * ```ts
 * parseDuration('1.500s'); // { seconds: 1n, nanos: 500000000 }
 * ```
 */
export function parseDuration(text: string): { seconds: bigint; nanos: number } | undefined {
  const m = DURATION_RE.exec(text);
  if (!m) return undefined;
  let seconds = BigInt(m[2]);
  let nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  if (seconds > MAX_DURATION_SECONDS) return undefined;
  if (m[1]) {
    seconds = -seconds;
    nanos = nanos === 0 ? 0 : -nanos;
  }
  return { seconds, nanos };
}

const TIMESTAMP_RE =
  /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;
/** Seconds of 0001-01-01T00:00:00Z, the earliest Timestamp. */
export const MIN_TIMESTAMP_SECONDS = -62_135_596_800; // 0001-01-01T00:00:00Z
/** Seconds of 9999-12-31T23:59:59Z, the latest Timestamp. */
export const MAX_TIMESTAMP_SECONDS = 253_402_300_799; // 9999-12-31T23:59:59Z

/** The fractional seconds of a Timestamp or Duration: none, 3, 6 or 9 digits. */
export function fraction(nanos: number): string {
  if (nanos === 0) return '';
  if (nanos % 1_000_000 === 0) return `.${String(nanos / 1_000_000).padStart(3, '0')}`;
  if (nanos % 1_000 === 0) return `.${String(nanos / 1_000).padStart(6, '0')}`;
  return `.${String(nanos).padStart(9, '0')}`;
}

const DAY_SECONDS = 86_400;

/** Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const doy = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146_097 + doe - 719_468;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

/** The RFC 3339 form of a Timestamp; CodecError when it is out of range. */
export function formatTimestamp(seconds: bigint, nanos: number): string {
  if (seconds < BigInt(MIN_TIMESTAMP_SECONDS) || seconds > BigInt(MAX_TIMESTAMP_SECONDS)) {
    throw new CodecError(`Timestamp seconds out of range: ${seconds}`);
  }
  if (!Number.isInteger(nanos) || nanos < 0 || nanos > 999_999_999) {
    throw new CodecError(`Timestamp nanos out of range: ${nanos}`);
  }
  const total = Number(seconds);
  const days = Math.floor(total / DAY_SECONDS);
  let rest = total - days * DAY_SECONDS;
  const hour = Math.floor(rest / 3600);
  rest -= hour * 3600;
  const minute = Math.floor(rest / 60);
  const second = rest - minute * 60;
  return `${civilDate(days)}T${pad2(hour)}:${pad2(minute)}:${pad2(second)}${fraction(nanos)}Z`;
}

/** `YYYY-MM-DD` of a day counted from 1970-01-01 (H. Hinnant's civil-from-days). */
export function civilDate(days: number): string {
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  const year = yoe + era * 400 + (month <= 2 ? 1 : 0);
  return `${String(year).padStart(4, '0')}-${pad2(month)}-${pad2(day)}`;
}

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Parses an RFC 3339 Timestamp (any offset, normalised to UTC): undefined when
 * the text is not one, CodecError when it is out of range.
 */
export function parseTimestamp(text: string): { seconds: bigint; nanos: number } | undefined {
  const m = TIMESTAMP_RE.exec(text);
  if (!m) return undefined;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  const hour = Number(m[4]);
  const minute = Number(m[5]);
  const second = Number(m[6]);
  if (
    year < 1 || month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) ||
    hour > 23 || minute > 59 || second > 59
  ) {
    return undefined;
  }
  let seconds = daysFromCivil(year, month, day) * DAY_SECONDS + hour * 3600 + minute * 60 + second;
  if (m[9]) {
    const offsetHours = Number(m[10]);
    const offsetMinutes = Number(m[11]);
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    const offset = (offsetHours * 3600 + offsetMinutes * 60) * (m[9] === '-' ? -1 : 1);
    seconds -= offset;
  }
  if (seconds < MIN_TIMESTAMP_SECONDS || seconds > MAX_TIMESTAMP_SECONDS) {
    throw new CodecError(`Timestamp out of range: ${text}`);
  }
  return { seconds: BigInt(seconds), nanos: m[7] ? Number(m[7].padEnd(9, '0')) : 0 };
}

/** The proto3 JSON form of a Duration (`"-1.5s"`); CodecError when it is out of range or its signs differ. */
export function formatDuration(seconds: bigint, nanos: number): string {
  if (seconds < -MAX_DURATION_SECONDS || seconds > MAX_DURATION_SECONDS) {
    throw new CodecError(`Duration seconds out of range: ${seconds}`);
  }
  if (!Number.isInteger(nanos) || nanos < -999_999_999 || nanos > 999_999_999) {
    throw new CodecError(`Duration nanos out of range: ${nanos}`);
  }
  if ((seconds < 0n && nanos > 0) || (seconds > 0n && nanos < 0)) {
    throw new CodecError('Duration seconds and nanos have different signs');
  }
  const negative = seconds < 0n || nanos < 0;
  const abs = seconds < 0n ? -seconds : seconds;
  return `${negative ? '-' : ''}${abs}${fraction(Math.abs(nanos))}s`;
}

/** A FieldMask path in JSON form: each segment lowerCamelCase. */
export function camelPath(path: string): string {
  return path.split('.').map((segment) => segment.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase())).join('.');
}
