/**
 * Classifies errors thrown by @aws-sdk/client-s3 (service errors with $metadata.httpStatusCode and
 * a `name`, or bare Node network errors) into what the store needs: not-found, precondition failed,
 * retryable, and the DagctlError to surface when retries are exhausted.
 */
import { DagctlError, errorMessage, isDagctlError } from '../../core/errors.js';

interface SdkErrorShape {
  name?: unknown;
  code?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { statusCode?: unknown };
}

function shape(e: unknown): SdkErrorShape {
  return typeof e === 'object' && e !== null ? (e) : {};
}

export function httpStatusOf(e: unknown): number | undefined {
  const s = shape(e);
  const status = s.$metadata?.httpStatusCode ?? s.$response?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

export function errorNameOf(e: unknown): string {
  const n = shape(e).name;
  return typeof n === 'string' ? n : '';
}

export function isNotFound(e: unknown): boolean {
  const name = errorNameOf(e);
  return httpStatusOf(e) === 404 || name === 'NoSuchKey' || name === 'NotFound';
}

export function isNoSuchBucket(e: unknown): boolean {
  return errorNameOf(e) === 'NoSuchBucket';
}

export function isPreconditionFailed(e: unknown): boolean {
  return httpStatusOf(e) === 412 || errorNameOf(e) === 'PreconditionFailed';
}

const THROTTLE_NAMES = new Set([
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestThrottled',
  'RequestTimeout',
  'RequestTimeoutException',
  'InternalError',
  'ServiceUnavailable',
  // AWS: concurrent conditional writes to one key; the documented answer is to retry.
  'ConditionalRequestConflict',
]);

/** Programming errors are never retried; everything without an HTTP status is a transport failure. */
const NON_TRANSPORT = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError']);

/**
 * 5xx, 429, 408, throttling names, and transport failures (no HTTP status: reset, refused, timeout,
 * socket dropped after the request was sent). Writes stay safe to retry because every write is
 * conditional and a 412 after a retry is checked against our own checksum / write id.
 */
export function isRetryable(e: unknown): boolean {
  if (isDagctlError(e)) return false;
  const status = httpStatusOf(e);
  const name = errorNameOf(e);
  if (THROTTLE_NAMES.has(name)) return true;
  if (status !== undefined) return status >= 500 || status === 429 || status === 408;
  return !NON_TRANSPORT.has(name);
}

/** The error to surface once a request is given up on: DagctlErrors pass through, the rest is IO. */
export function toStorageError(e: unknown, op: string, details: Record<string, unknown>): DagctlError {
  if (isDagctlError(e)) return e;
  return new DagctlError(
    'STORAGE_IO',
    `s3 ${op} failed: ${errorNameOf(e) || 'Error'}: ${errorMessage(e)}`,
    { ...details, op, httpStatus: httpStatusOf(e) ?? null, awsError: errorNameOf(e) || null },
    { cause: e },
  );
}
