/**
 * A finished job's result to its client: `completed` first, then each output
 * as binary frames (one per file up to 16 MiB, chunks beyond); or, with
 * `delivery_method: "url"`, download URLs in `completed` and no frames.
 * Reading the outputs from storage retries transient failures for
 * TRANSIENT_RETRY_SECONDS, resuming a chunked file where it stopped, so a
 * storage blip costs a pause, not OUTPUT_SEND_FAILED.
 */
import {
  AppError,
  type CompletedReply,
  type Config,
  type DeliveryMethod,
  errors,
  failureKind,
  retryTransient,
} from '@media-foundry/shared';
import { isNotFound, type Logger, type Storage } from '@media-foundry/shared/node';
import type { ByteBudget } from '../byte-budget.js';
import type { ClientSocket } from '../client-socket.js';
import type { DownloadUrls } from '../download-urls.js';
import { sendOutput } from '../downloads.js';

export interface DeliveryDeps {
  config: Pick<Config, 'DOWNLOAD_CHUNK_BYTES' | 'RESULT_URL_TTL_SECONDS' | 'TRANSIENT_RETRY_SECONDS'>;
  storage: Storage;
  urls: DownloadUrls;
  /** GATEWAY_BUFFER_BUDGET_MB: each frame or chunk waits for room in it before it is read. */
  budget: Pick<ByteBudget, 'acquire'>;
  /** Output bytes sent (metrics). */
  onBytes(bytes: number): void;
}

/**
 * Sends the result. Resolves `sent` when the files went out (they may be
 * deleted now), `linked` when the client got URLs (the files must stay for
 * RESULT_URL_TTL_SECONDS); throws OUTPUT_SEND_FAILED otherwise.
 */
export async function deliverResult(
  socket: ClientSocket,
  clientJobId: string,
  deliveryMethod: DeliveryMethod,
  reply: CompletedReply,
  deps: DeliveryDeps,
  log: Logger,
): Promise<'sent' | 'linked'> {
  const { config, urls, storage } = deps;
  const byUrl = deliveryMethod === 'url';
  const ttl = config.RESULT_URL_TTL_SECONDS;
  const outputs = await Promise.all(
    reply.outputs.map(async ({ filename, size_bytes, content_type, key }) => ({
      filename,
      size_bytes,
      content_type,
      ...(byUrl ? { url: await urls.urlFor(key, filename, ttl, content_type) } : {}),
    })),
  );
  socket.sendJson({
    type: 'completed',
    job_id: clientJobId,
    output_metadata: reply.output_metadata,
    outputs,
    delivery_method: deliveryMethod,
    message: 'Job completed successfully',
  });
  if (byUrl) {
    log.info({ outputs: outputs.length, ttl_seconds: ttl }, 'job delivered as URLs');
    return 'linked';
  }
  for (const output of reply.outputs) {
    let sent = 0;
    try {
      await retryTransient(
        () =>
          sendOutput(socket, storage, deps.budget, clientJobId, output, config.DOWNLOAD_CHUNK_BYTES, sent, (bytes) => {
            sent += bytes;
            deps.onBytes(bytes);
          }),
        {
          budgetMs: config.TRANSIENT_RETRY_SECONDS * 1000,
          onRetry: (err, retry, delayMs) =>
            log.warn({ err, retry, delay_ms: delayMs, file: output.filename }, 'reading an output failed; retrying'),
        },
      );
    } catch (err) {
      if (err instanceof AppError) throw err; // the socket closed, or will not take more
      const why = isNotFound(err)
        ? `${output.filename} is no longer in storage`
        : `${output.filename} could not be read from storage${failureKind(err) === 'transient' ? ' (still unavailable after retries)' : ''}: ${(err as Error).message}`;
      throw errors.outputSendFailed(why, err);
    }
  }
  log.info({ outputs: reply.outputs.length }, 'job delivered');
  return 'sent';
}
