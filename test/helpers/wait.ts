/** The tests' one polling wait lives in shared (its unit tests use it too); the integration tests import it from here. */
export { waitFor } from '@media-foundry/shared/node';
