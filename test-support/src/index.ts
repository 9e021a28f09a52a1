/**
 * @media-foundry/test-support — fixtures the unit tests of several workspaces
 * share. It depends on none of our packages (any of them may use it without a
 * cycle) and is a dev dependency only: the images never hold it (Dockerfile).
 */
export { thrownBy } from './thrown.js';
export { useTempDir } from './temp-dir.js';
export { outputMetadata, type OutputMetadataFields, thumbnailResult } from './replies.js';
