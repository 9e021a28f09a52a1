import WebSocket from 'ws';
import { encodeBinaryFrame, MiB, splitBinaryFrame } from '@media-foundry/shared';

export type Received =
  { kind: 'json'; data: Record<string, unknown> & { type: string } } | { kind: 'binary'; header: Record<string, unknown>; payload: Buffer };

/** A test client the way the spec's example uses the protocol: JSON out, JSON and binary frames in. */
export class TestClient {
  readonly received: Received[] = [];
  private waiters: (() => void)[] = [];
  closeCode: number | null = null;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        const { header, payload } = splitBinaryFrame(new Uint8Array(data));
        this.received.push({ kind: 'binary', header: header as Record<string, unknown>, payload: Buffer.from(payload) });
      } else this.received.push({ kind: 'json', data: JSON.parse(data.toString('utf8')) });
      this.wake();
    });
    ws.on('close', (code) => {
      this.closeCode = code;
      this.wake();
    });
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { maxPayload: 1024 * MiB, headers });
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    return new TestClient(ws);
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /**
   * Sends `start_job`: `input` is the input object, or a URL for `{ source: 'url', url }`;
   * `extra` holds the other top-level fields (delivery_method, webhook, priority, ...).
   */
  startJob(
    jobId: string,
    operation: string,
    input: string | Record<string, unknown>,
    options?: Record<string, unknown>,
    extra: Record<string, unknown> = {},
  ): void {
    this.send(startJobMessage(jobId, operation, input, options, extra));
  }

  sendRaw(data: Buffer | Uint8Array): void {
    this.ws.send(data, { binary: true });
  }

  upload(jobId: string, filename: string, bytes: Uint8Array): void {
    this.sendRaw(encodeBinaryFrame({ job_id: jobId, filename }, bytes));
  }

  /** JSON messages received so far (optionally for one job). */
  messages(jobId?: string): (Record<string, unknown> & { type: string })[] {
    return this.received.flatMap((r) => (r.kind === 'json' && (jobId === undefined || r.data.job_id === jobId) ? [r.data] : []));
  }

  /** Waits until `done(received)` is true. */
  async until(done: (received: Received[]) => boolean, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.received)) {
      if (this.closeCode !== null) throw new Error(`socket closed (${this.closeCode}) while waiting`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received: ${JSON.stringify(this.messages()).slice(0, 2000)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** The next JSON message (after `after` received items) matching `pred`. */
  async next(
    pred: (m: Record<string, unknown> & { type: string }) => boolean,
    timeoutMs = 30_000,
  ): Promise<Record<string, unknown> & { type: string }> {
    let found: (Record<string, unknown> & { type: string }) | undefined;
    await this.until(() => (found = this.messages().find(pred)) !== undefined, timeoutMs);
    return found!;
  }

  /**
   * Waits for a job's end: `error`, or `completed` plus one binary frame per
   * listed output. Returns everything received for it, in order.
   */
  async result(
    jobId: string,
    timeoutMs = 90_000,
    /** Error codes that do not end the job (e.g. BINARY_ERROR for one bad frame). */
    nonFinalCodes: string[] = [],
  ): Promise<{ items: Received[]; files: Map<string, Buffer>; final: Record<string, unknown> }> {
    const forJob = () => this.received.filter((r) => (r.kind === 'json' ? r.data.job_id === jobId : r.header.job_id === jobId));
    const isFinal = (r: Received) =>
      r.kind === 'json' && (r.data.type === 'completed' || (r.data.type === 'error' && !nonFinalCodes.includes(String(r.data.code))));
    await this.until(() => {
      const items = forJob();
      const final = items.find(isFinal);
      if (!final || final.kind !== 'json') return false;
      if (final.data.type === 'error') return true;
      if (final.data.delivery_method === 'url') return true;
      const outputs = final.data.outputs as unknown[];
      // a file is complete with its single frame, or with the chunk marked final
      return (
        items.filter((r) => r.kind === 'binary' && (r.header.offset === undefined || r.header.final === true)).length >= outputs.length
      );
    }, timeoutMs);
    const items = forJob();
    const parts = new Map<string, Buffer[]>();
    for (const r of items)
      if (r.kind === 'binary') {
        const name = String(r.header.filename);
        parts.set(name, [...(r.header.offset ? (parts.get(name) ?? []) : []), r.payload]);
      }
    const files = new Map([...parts].map(([name, chunks]) => [name, Buffer.concat(chunks)] as const));
    const final = items.find(isFinal);
    return { items, files, final: (final as { data: Record<string, unknown> }).data };
  }

  async close(): Promise<void> {
    if (this.ws.readyState === WebSocket.CLOSED) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

/** The HTTP status the server answers a WebSocket upgrade with (101 when it upgrades). */
export async function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  const ws = new WebSocket(url, { headers });
  return new Promise((resolve, reject) => {
    ws.once('open', () => {
      ws.close();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      res.resume();
    });
    ws.once('error', (err) => reject(err));
  });
}

/**
 * Uploads `bytes` as chunked frames `{job_id, filename, offset, final}`,
 * never more than `windowBytes` beyond the gateway's last `upload_ack`.
 */
export async function uploadInChunks(
  client: TestClient,
  jobId: string,
  filename: string,
  bytes: Uint8Array,
  chunkBytes = MiB,
  windowBytes = 8 * MiB,
): Promise<void> {
  const acked = () =>
    Math.max(
      0,
      ...client
        .messages(jobId)
        .filter((m) => m.type === 'upload_ack' && m.filename === filename)
        .map((m) => m.received_bytes as number),
    );
  for (let offset = 0; offset < bytes.length || offset === 0; offset += chunkBytes) {
    const chunk = bytes.subarray(offset, offset + chunkBytes);
    if (offset + chunk.length - acked() > windowBytes) await client.until(() => offset + chunk.length - acked() <= windowBytes, 60_000);
    const final = offset + chunk.length >= bytes.length;
    client.sendRaw(encodeBinaryFrame({ job_id: jobId, filename, offset, final }, chunk));
    if (final) break;
  }
}

/** Reassembles a chunked (or single-frame) download of `filename` from what the client received. */
export function downloaded(client: TestClient, jobId: string, filename: string): Buffer {
  const frames = client.received.flatMap((r) =>
    r.kind === 'binary' && r.header.job_id === jobId && r.header.filename === filename ? [r] : [],
  );
  return Buffer.concat(frames.map((f) => f.payload));
}

/**
 * A `start_job` message, as TestClient.startJob sends it: for the tests that
 * send it otherwise (raw, to several clients, straight to RabbitMQ).
 */
export function startJobMessage(
  jobId: string,
  operation: string,
  input: string | Record<string, unknown>,
  options?: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Record<string, unknown> & { type: 'start_job'; job_id: string } {
  return {
    type: 'start_job',
    job_id: jobId,
    operation,
    input: typeof input === 'string' ? { source: 'url', url: input } : input,
    options,
    ...extra,
  };
}
