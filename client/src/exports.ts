/** The public surface both entry points (node.ts, browser.ts) share. */
export type {
  ClientEvents,
  ConnectOptions,
  MediaFoundryConnector,
  OperationMethods,
  OperationOptionsInput,
  ReconnectOptions,
} from './client.js';
export { MediaFoundryClient, requestProblem } from './client.js';
export { ClientErrorCode, MediaFoundryError, type MediaFoundryErrorCode } from './errors.js';
export type { FileInput, JobInputSpec, NamedData } from './inputs.js';
export type { JobEvent, JobEvents, JobOptions, JobOutput, ProgressEvent, StartJobExtras } from './job.js';
export { Job } from './job.js';
export { inputRange, OPERATION_NAMES, operationOptions, type OperationName, type OutputMetadata } from '@media-foundry/shared';
export { describeField, type FieldKind, operationFields, type OptionField, parseFieldValue } from './fields.js';
