/**
 * The dataset layer's public API in one import (each concept lives in its own module).
 */
export { listSource, type ListSourceOptions } from './source.js';
export { decodeLive, readLines, readRows } from './read.js';
export { decodeDeletes, dropDeleted, encodeDeletes, liveRows, unionDeletes } from './deletes.js';
export { DataFileWriter, type DataFileWriterOptions } from './writer.js';
export { listCommitMarkers, readCommitMarker, writeCommitMarker } from './markers.js';
export { listVersions, publishVersion, readCurrent, readPointer, readPublished, type PublishOptions, type PublishResult } from './publish.js';
export { vacuum, type VacuumOptions, type VacuumReport } from './vacuum.js';
export * from './layout.js';
