/**
 * list (ListObjectsV2, paginated, recursive) and listDirs (ListObjectsV2 with Delimiter '/', the
 * CommonPrefixes of one level). listDirs is what makes partition pruning cheap on S3: a caller lists
 * the `date=` folders and then lists only the ones it needs.
 */
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { ListObjectsV2CommandOutput } from '@aws-sdk/client-s3';
import { DagctlError } from '../../core/errors.js';
import type { ObjectInfo } from '../types.js';
import { checkPrefix } from '../uri.js';
import { fullKey, objectInfo, retried } from './context.js';
import type { S3Ctx } from './context.js';

async function* pages(ctx: S3Ctx, prefix: string, delimiter: string | undefined): AsyncGenerator<ListObjectsV2CommandOutput> {
  let token: string | undefined;
  do {
    const page = await retried(ctx, 'list', prefix, () =>
      ctx.client.send(
        new ListObjectsV2Command({
          Bucket: ctx.bucket,
          Prefix: fullKey(ctx, prefix),
          ...(delimiter !== undefined ? { Delimiter: delimiter } : {}),
          ...(ctx.cfg.listPageSize !== undefined ? { MaxKeys: ctx.cfg.listPageSize } : {}),
          ...(token !== undefined ? { ContinuationToken: token } : {}),
        }),
      ),
    );
    yield page;
    token = page.IsTruncated === true ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
}

const byKey = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Keys the store could have written (storage/uri.ts rules): skips folder markers ('a/') that
 * consoles create and '.'-segments (server temp dirs, other stores' temps and locks).
 */
function isStoreKey(rel: string): boolean {
  return rel !== '' && rel.split('/').every((seg) => seg !== '' && !seg.startsWith('.'));
}

export async function list(ctx: S3Ctx, prefix: string): Promise<ObjectInfo[]> {
  checkPrefix(prefix);
  const out: ObjectInfo[] = [];
  for await (const page of pages(ctx, prefix, undefined)) {
    for (const o of page.Contents ?? []) {
      const k = o.Key;
      if (k === undefined || !k.startsWith(ctx.prefix)) continue;
      const rel = k.slice(ctx.prefix.length);
      if (!isStoreKey(rel)) continue;
      out.push(objectInfo(rel, o.Size, o.ETag, o.LastModified));
    }
  }
  // S3 orders by UTF-8 bytes; sort again so every store agrees on JS string order.
  return out.sort((a, b) => byKey(a.key, b.key));
}

/** The immediate child folders of prefix, as key prefixes ending in '/' (`date=2024-01-01/`). */
export async function listDirs(ctx: S3Ctx, prefix: string): Promise<string[]> {
  checkPrefix(prefix);
  if (prefix !== '' && !prefix.endsWith('/')) {
    throw new DagctlError('STORAGE_URI_INVALID', `listDirs prefix must be '' or end with '/': ${prefix}`, { prefix });
  }
  const start = fullKey(ctx, prefix).length;
  const out = new Set<string>();
  for await (const page of pages(ctx, prefix, '/')) {
    for (const p of page.CommonPrefixes ?? []) {
      const name = p.Prefix?.slice(start, -1);
      if (name !== undefined && name !== '' && !name.includes('/') && !name.startsWith('.')) out.add(`${prefix}${name}/`);
    }
  }
  return [...out].sort(byKey);
}
