/**
 * The compiled test helpers (test/dist/helpers) and the worker's pure
 * argument builder and probe (its public `lib` entry, worker/dist/lib.js),
 * loaded by URL: this code runs from bench/dist/lib, and the type-only
 * imports keep it typed.
 */
import type * as MediaHelpers from '../../test/helpers/media.js';
import type * as S3Helpers from '../../test/helpers/s3.js';
import type * as StackHelpers from '../../test/helpers/stack.js';
import type * as WsHelpers from '../../test/helpers/ws-client.js';
import type * as WorkerLib from '@media-foundry/worker/lib';

/** The repository root (this file runs from bench/dist/lib/). */
export const ROOT = new URL('../../../', import.meta.url);

const load = async <T>(path: string): Promise<T> => (await import(new URL(path, ROOT).href)) as T;

export const loadTestHelpers = async () => ({
  media: await load<typeof MediaHelpers>('test/dist/helpers/media.js'),
  s3: await load<typeof S3Helpers>('test/dist/helpers/s3.js'),
  stack: await load<typeof StackHelpers>('test/dist/helpers/stack.js'),
  ws: await load<typeof WsHelpers>('test/dist/helpers/ws-client.js'),
});

/** The worker's own `buildPlan` and `probe`: the reference runs the arguments the worker would. */
export const loadWorkerBuilders = async () => {
  const lib = await load<typeof WorkerLib>('worker/dist/lib.js');
  return { operations: { buildPlan: lib.buildPlan }, probe: { probe: lib.probe } };
};

/** The worker's reading of a `Range` header: the bench's origin answers ranges as the worker's input server reads them. */
export const loadHttpRange = () => load<typeof WorkerLib>('worker/dist/lib.js');

export type TestClient = WsHelpers.TestClient;
export type Stack = StackHelpers.Stack;
