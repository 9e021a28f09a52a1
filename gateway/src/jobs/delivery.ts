/**
 * A finished job's result to its client: `completed` first, then each output
 * as binary frames (one per file up to 16 MiB, chunks beyond); or, with
 * `delivery_method: "url"`, download URLs in `completed` and no frames.
 * Reading the outputs from storage retries transient failures for
 * TRANSIENT_RETRY_SECONDS, resuming a chunked file where it stopped, so a
 * storage blip costs a pause, not OUTPUT_SEND_FAILED.
 */
import { AppError, type DeliveryMethod, type GatewayConfig, type RelayedCompletedReply, retryTransient } from '@media-foundry/shared';
import type { Logger, Storage } from '@media-foundry/shared/node';
import type { ByteBudget } from '../byte-budget.js';
import type { ClientSocket } from '../client-socket.js';
import type { DownloadUrls } from '../download-urls.js';
import { sendOutput, storageReadFailed } from '../downloads.js';
import { keptUntil } from '../storage-sweeper.js';

export interface DeliveryDeps {
  config: Pick<GatewayConfig, 'downloadChunkBytes' | 'resultUrlTtlMs' | 'resumeTtlMs' | 'transientRetryMs'>;
  /** When the result was stored (ms): the sweeper counts from then, so download URLs end by keptUntil() of it. */
  finishedAt: number;
  storage: Storage;
  urls: DownloadUrls;
  /** GATEWAY_BUFFER_BUDGET_MB: each frame or chunk waits for room in it before it is read. */
  budget: Pick<ByteBudget, 'acquire'>;
  /** Output bytes sent (metrics). */
  onBytes(bytes: number): void;
  /** False once the job was resumed on another connection: the sending stops before its next message. */
  wanted?: () => boolean;
}

/**
 * Sends the result. Resolves `sent` when the files went out, their last
 * byte handed to the network (they may be deleted now), `linked` when the
 * client got URLs (the files must stay for RESULT_URL_TTL_SECONDS); throws
 * OUTPUT_SEND_FAILED otherwise.
 */
export async function deliverResult(
  socket: ClientSocket,
  clientJobId: string,
  deliveryMethod: DeliveryMethod,
  reply: RelayedCompletedReply,
  deps: DeliveryDeps,
  log: Logger,
): Promise<'sent' | 'linked'> {
  const { config, urls, storage } = deps;
  const byUrl = deliveryMethod === 'url';
  // URLs expire on whole seconds (S3 presigning, the gateway's `expires`). A job resumed late in RESUME_TTL_SECONDS
  // gets URLs that end when the sweeper removes its files, not a full RESULT_URL_TTL_SECONDS after the resume
  const left = keptUntil(deps.finishedAt, { resumeTtlMs: config.resumeTtlMs, urlTtlMs: config.resultUrlTtlMs }) - Date.now();
  const ttl = Math.max(1, Math.min(config.resultUrlTtlMs / 1000, Math.floor(left / 1000)));
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
  const retrying = (file: string) => ({
    budgetMs: config.transientRetryMs,
    onRetry: (err: unknown, retry: number, delayMs: number) =>
      log.warn({ err, retry, delay_ms: delayMs, file }, 'reading an output failed; retrying'),
  });
  for (const stored of reply.outputs) {
    const output = { ...stored, relayed: reply.inline?.[stored.key] };
    let sent = 0;
    try {
      await retryTransient(
        () =>
          sendOutput(socket, storage, deps.budget, clientJobId, output, config.downloadChunkBytes, {
            from: sent,
            onSent: (bytes) => {
              sent += bytes;
              deps.onBytes(bytes);
            },
            retry: (read) => retryTransient(read, retrying(output.filename)),
            wanted: deps.wanted,
          }),
        retrying(output.filename),
      );
    } catch (err) {
      if (err instanceof AppError) throw err; // the socket closed, or will not take more
      throw storageReadFailed(output.filename, err);
    }
  }
  // Delivered once the last byte has left the gateway: a connection that drops while its send buffer still
  // holds the tail of an output (up to the high-water mark and a chunk, or a whole frame) leaves the result
  // in storage for a resume, as a drop earlier in the delivery does.
  await socket.flushed();
  log.info({ outputs: reply.outputs.length }, 'job delivered');
  return 'sent';
}
