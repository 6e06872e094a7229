/**
 * Resolves the S3 client settings of a store from explicit options and the environment.
 *
 * Environment (explicit options win):
 *   DAGCTL_S3_ENDPOINT, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL   custom endpoint (MinIO, versitygw…)
 *   AWS_REGION, else AWS_DEFAULT_REGION, else us-east-1
 *   DAGCTL_S3_FORCE_PATH_STYLE=1|0    path-style addressing; defaults to on when an endpoint is set,
 *                                     because S3-compatible servers on loopback have no bucket DNS.
 * Credentials are not read here: the SDK's standard provider chain (env, profile, IMDS…) does that.
 */

export interface S3StoreOptions {
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Attempts per request in dagctl's own retry loop (the SDK's retries are turned off). */
  maxAttempts?: number;
  /** Full-jitter backoff: attempt n sleeps uniform(0, min(capMs, baseMs·2^n)). */
  retryBaseMs?: number;
  retryCapMs?: number;
  /** putIfAbsent switches to a multipart upload at this body size. */
  multipartThreshold?: number;
  /** Part size of multipart uploads (S3 minimum 5 MiB except the last part). */
  partSize?: number;
  /** Per-request socket timeout; a hung request becomes a retryable error. */
  requestTimeoutMs?: number;
  /** MaxKeys of one ListObjectsV2 page (server default 1000); small values exercise pagination. */
  listPageSize?: number;
  /** Environment to read (tests pass their own). */
  env?: NodeJS.ProcessEnv;
}

export interface ResolvedS3Config {
  endpoint: string | undefined;
  region: string;
  forcePathStyle: boolean;
  credentials: S3StoreOptions['credentials'];
  maxAttempts: number;
  retryBaseMs: number;
  retryCapMs: number;
  multipartThreshold: number;
  partSize: number;
  requestTimeoutMs: number;
  listPageSize: number | undefined;
}

const MiB = 1024 * 1024;

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

export function resolveS3Config(opts: S3StoreOptions = {}): ResolvedS3Config {
  const env = opts.env ?? process.env;
  const endpoint =
    nonEmpty(opts.endpoint) ??
    nonEmpty(env.DAGCTL_S3_ENDPOINT) ??
    nonEmpty(env.AWS_ENDPOINT_URL_S3) ??
    nonEmpty(env.AWS_ENDPOINT_URL);
  const pathStyleEnv = nonEmpty(env.DAGCTL_S3_FORCE_PATH_STYLE);
  const forcePathStyle =
    opts.forcePathStyle ?? (pathStyleEnv !== undefined ? pathStyleEnv === '1' || pathStyleEnv === 'true' : endpoint !== undefined);
  const partSize = Math.max(opts.partSize ?? 8 * MiB, 5 * MiB);
  return {
    endpoint,
    region: nonEmpty(opts.region) ?? nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION) ?? 'us-east-1',
    forcePathStyle,
    credentials: opts.credentials,
    maxAttempts: Math.max(1, opts.maxAttempts ?? 8),
    retryBaseMs: opts.retryBaseMs ?? 50,
    retryCapMs: opts.retryCapMs ?? 5000,
    multipartThreshold: Math.max(opts.multipartThreshold ?? 32 * MiB, partSize),
    partSize,
    requestTimeoutMs: opts.requestTimeoutMs ?? 60_000,
    listPageSize: opts.listPageSize,
  };
}
