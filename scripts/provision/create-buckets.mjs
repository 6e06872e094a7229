// Creates the named buckets on the S3 endpoint in AWS_ENDPOINT_URL (used by scripts/provision/s3.sh).
// Preconditions: AWS_* credentials in the environment; run from the repo so @aws-sdk/client-s3 resolves.
// Existing buckets are fine (BucketAlreadyOwnedByYou), so re-running is harmless.
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';

const client = new S3Client({
  endpoint: process.env.AWS_ENDPOINT_URL,
  region: process.env.AWS_REGION ?? 'us-east-1',
  forcePathStyle: true,
});
for (const bucket of process.argv.slice(2)) {
  try {
    await client.send(new CreateBucketCommand({ Bucket: bucket }));
    console.error(`created bucket ${bucket}`);
  } catch (e) {
    if (e?.name !== 'BucketAlreadyOwnedByYou' && e?.name !== 'BucketAlreadyExists') throw e;
  }
}
