// The WebSocket protocol of media-foundry in one small module, for the
// examples beside it (the README's protocol section is the full description). Plain
// JavaScript on Node 20 with the `ws` package (Node 20 has no WebSocket
// client built in); no build step.
import { open, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import WebSocket from 'ws';

/** Where the service is, and the API key if it asks for one (API_KEYS / JWT_SECRET set). */
export const SERVICE_URL = process.env.MEDIA_FOUNDRY_URL ?? 'ws://localhost:8080';
const TOKEN = process.env.MEDIA_FOUNDRY_TOKEN;

/** Upload chunk size; the gateway allows UPLOAD_WINDOW_BYTES (8 MiB by default) beyond its last `upload_ack`. */
const CHUNK_BYTES = 1024 * 1024;
const WINDOW_BYTES = 8 * 1024 * 1024;

/** `[4-byte big-endian header length][header JSON][payload]`: every binary frame, both directions. */
export function encodeFrame(header, payload) {
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json, payload]);
}

export function decodeFrame(frame) {
  const length = frame.readUInt32BE(0);
  return { header: JSON.parse(frame.subarray(4, 4 + length).toString('utf8')), payload: frame.subarray(4 + length) };
}

export function connect(url = SERVICE_URL) {
  const ws = new WebSocket(url, TOKEN ? { headers: { Authorization: `Bearer ${TOKEN}` } } : {});
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

/**
 * Runs jobs on one connection and saves every output under `outDir/<job_id>/`.
 * Each job is `{ job_id, operation, options, input, file? }`; with
 * `input: {source: "upload"}`, `file` is the local path sent after `ack`.
 * Resolves with `{ [job_id]: { completed, files: [paths] } }` once every job
 * has its `completed` message and all of its output bytes (outputs over 16 MiB
 * come as 1 MiB chunks); rejects on the first `error`.
 */
export function runJobs(ws, jobs, outDir, log = console.log) {
  const state = new Map(jobs.map((job) => [job.job_id, { job, completed: null, pending: new Map(), files: [] }]));
  return new Promise((resolve, reject) => {
    const finishIfDone = () => {
      for (const s of state.values()) if (!s.completed || s.pending.size > 0) return;
      resolve(Object.fromEntries([...state].map(([id, s]) => [id, { completed: s.completed, files: s.files }])));
    };
    const fail = (err) => {
      ws.close();
      reject(err);
    };

    // frames are written one after another, in the order they came
    let writing = Promise.resolve();
    ws.on('message', (data, isBinary) => {
      if (isBinary) {
        const frame = decodeFrame(data);
        writing = writing.then(() => receiveFile(frame)).catch(fail);
        return;
      }
      const message = JSON.parse(data.toString('utf8'));
      const s = state.get(message.job_id);
      switch (message.type) {
        case 'ack':
          log(`${message.job_id}: accepted`);
          if (s?.job.input.source === 'upload') void upload(s.job).catch(fail);
          break;
        case 'progress':
          log(`${message.job_id}: ${message.stage} ${message.percentage.toFixed(0)}%`);
          break;
        case 'upload_ack':
          s?.onUploadAck?.(message.received_bytes);
          break;
        case 'completed':
          log(`${message.job_id}: completed, ${message.outputs.length} output(s)`);
          s.completed = message;
          // the files follow as binary frames, in the order of `outputs`
          for (const o of message.outputs) s.pending.set(o.filename, { size: o.size_bytes, received: 0, handle: null });
          finishIfDone();
          break;
        case 'error':
          fail(
            new Error(
              `${message.job_id ?? '(no job)'}: ${message.code}: ${message.message}${message.details ? ` (${message.details})` : ''}`,
            ),
          );
          break;
      }
    });
    ws.once('close', (code, reason) => {
      if ([...state.values()].some((s) => !s.completed || s.pending.size > 0)) reject(new Error(`connection closed (${code} ${reason})`));
    });

    /** One output frame: the whole file, or a chunk `{offset, total_size, final}` written where it belongs. */
    async function receiveFile({ header, payload }) {
      const s = state.get(header.job_id);
      const file = s?.pending.get(header.filename);
      if (!file) throw new Error(`unexpected file ${header.filename} for ${header.job_id}`);
      const dir = join(outDir, header.job_id);
      const path = join(dir, header.filename);
      if (!file.handle) {
        await mkdir(dir, { recursive: true });
        file.handle = await open(path, 'w');
      }
      const handle = file.handle;
      await handle.write(payload, 0, payload.length, header.offset ?? 0);
      file.received += payload.length;
      if (header.offset === undefined || header.final) {
        await handle.close();
        if (file.received !== file.size) throw new Error(`${path}: got ${file.received} bytes of ${file.size}`);
        s.pending.delete(header.filename);
        s.files.push(path);
        log(`${header.job_id}: saved ${path} (${file.size} bytes${header.offset === undefined ? '' : ', in chunks'})`);
        finishIfDone();
      }
    }

    /** A chunked upload: 1 MiB frames, never more than the window ahead of the gateway's `upload_ack`. */
    async function upload(job) {
      const s = state.get(job.job_id);
      const handle = await open(job.file, 'r');
      const { size } = await handle.stat();
      const filename = job.file.split('/').pop();
      let acked = 0;
      let wake = () => {};
      s.onUploadAck = (received) => {
        acked = received;
        wake();
      };
      try {
        for (let offset = 0; offset < size;) {
          while (offset - acked + CHUNK_BYTES > WINDOW_BYTES) await new Promise((r) => (wake = r));
          const buffer = Buffer.alloc(Math.min(CHUNK_BYTES, size - offset));
          await handle.read(buffer, 0, buffer.length, offset);
          const final = offset + buffer.length === size;
          ws.send(encodeFrame({ job_id: job.job_id, filename, offset, final }, buffer));
          offset += buffer.length;
        }
      } finally {
        await handle.close();
      }
      log(`${job.job_id}: uploaded ${filename} (${size} bytes)`);
    }

    for (const { file: _file, ...job } of jobs) ws.send(JSON.stringify({ type: 'start_job', ...job }));
  });
}
