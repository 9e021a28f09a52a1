import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import {
  AppError,
  type CompletedReply,
  type WorkerConfig,
  errors,
  INLINE_OUTPUT_MAX_BYTES,
  type JobMessage,
  outputFileName,
  type OutputMetadata,
  type OutputsByKey,
  type ProgressReply,
  retryTransient,
  storageKeys,
} from '@media-foundry/shared';
import type { Logger, Storage, UrlAllowlist } from '@media-foundry/shared/node';
import { resolutionTooLarge } from './ffmpeg/hardening.js';
import { describeAudio } from './ffmpeg/audio-info.js';
import { describeGifInput } from './ffmpeg/gif-info.js';
import { stillImageInfo } from './ffmpeg/image-info.js';
import { type MediaInfo, toOutputMetadata } from './ffmpeg/media-info.js';
import { describeMp4, describeMp4File, type ReadBytes, readingFile } from './ffmpeg/mp4-info.js';
import { buildPlan } from './ffmpeg/operations/index.js';
import { probe } from './ffmpeg/probe.js';
import { formatProgressLine, planProgress } from './ffmpeg/progress.js';
import { runFfmpeg } from './ffmpeg/run.js';
import { type BudgetAttempt, InputBudget } from './input-budget.js';
import type { ProcessRunner } from './launcher/process-runner.js';
import { mapLimited } from './map-limited.js';
import { StageClock } from './stage-clock.js';
import { RunDeadline } from './run-deadline.js';
import type { InputServer, ServedInput } from './input-server.js';
import {
  fetchInput,
  type InputLimits,
  openRangedInput,
  openStreamedInput,
  PARTIAL_READ_OPERATIONS,
  type RangedInput,
  STREAMED_READ_OPERATIONS,
  type StreamedInput,
  storageFailure,
} from './inputs.js';
import { jobScrubber, publicError } from './public-errors.js';

/** Whether an output is nothing without a video or audio stream: audio, video and GIFs (not stills, not subtitle files). */
function isStreamOutput(output: { contentType: string; format: string }): boolean {
  return /^(video|audio)\//.test(output.contentType) || output.format === 'gif';
}

/**
 * A short container name from ffprobe's list ("mov,mp4,m4a,3gp,3g2,mj2"):
 * the file's extension when the list names it, else the first entry.
 */
export function containerName(formatName: string, path: string): string {
  const names = formatName.split(',');
  const ext = /\.([a-z0-9]+)$/i.exec(path)?.[1]?.toLowerCase();
  return ext && names.includes(ext) ? ext : (names[0] ?? formatName);
}

/** Refuses inputs beyond MAX_INPUT_DURATION_SECONDS / MAX_INPUT_PIXELS before any ffmpeg runs. */
export function checkInputLimits(
  info: MediaInfo,
  limits: Pick<WorkerConfig, 'maxInputDurationSeconds' | 'maxInputPixels'>,
  which: string,
): void {
  if (info.duration !== null && info.duration > limits.maxInputDurationSeconds)
    throw errors.jobFailed(
      'Input is too long',
      `${which} lasts ${Math.round(info.duration)}s; MAX_INPUT_DURATION_SECONDS allows ${limits.maxInputDurationSeconds}`,
    );
  const video = info.video;
  if (video && video.width * video.height > limits.maxInputPixels)
    throw resolutionTooLarge(which, video.width, video.height, limits.maxInputPixels);
}

/** The first `bytes` of a file (fewer when it is shorter), and its size. */
async function readHead(path: string, bytes: number): Promise<{ head: Buffer; size: number }> {
  const file = await open(path);
  try {
    const { size } = await file.stat();
    const { buffer, bytesRead } = await file.read(Buffer.alloc(Math.min(bytes, size)), 0, Math.min(bytes, size), 0);
    return { head: buffer.subarray(0, bytesRead), size };
  } finally {
    await file.close();
  }
}

/** Outputs of a streaming ladder stored at once. */
const LADDER_STORE_CONCURRENCY = 8;

/** How long probing a job's inputs may take in all, ms. */
const PROBING_MS = 60_000;

export type ProgressUpdate = Omit<ProgressReply, 'type' | 'job_id'>;

export interface JobRunnerDeps {
  config: Pick<
    WorkerConfig,
    | 'tempDir'
    | 'ffmpegPath'
    | 'ffmpegPrestart'
    | 'ffprobePath'
    | 'inputProbe'
    | 'ffmpegThreads'
    | 'ffmpegTimeoutMs'
    | 'ffmpegMaxMemoryBytes'
    | 'ffmpegStallMs'
    | 'maxFileSizeBytes'
    | 'urlFetchTimeoutMs'
    | 'urlConnectTimeoutMs'
    | 'urlMinBytesPerSecond'
    | 'urlMinRateWindowMs'
    | 'maxJobInputBytes'
    | 'maxOutputBytes'
    | 'transientRetryMs'
    | 'maxInputDurationSeconds'
    | 'maxInputPixels'
    | 'watermarkFontFile'
  >;
  storage: Storage;
  /** URL_ALLOWLIST, parsed once. */
  allowlist: UrlAllowlist;
  /** Serves inputs to ffmpeg by range (input-server.ts); absent: every input is downloaded. */
  inputServer?: InputServer;
  /** Spawns ffmpeg and ffprobe: the worker's launcher process (launcher/launcher.ts); absent: this process. */
  processes?: ProcessRunner;
}

/** What a retried step tells the client and the logs: `stage: retrying`, and why. */
export function retryMessage(what: string, err: unknown, retry: number, delayMs: number): string {
  const e = AppError.from(err);
  const why = e.details ? `${e.message}: ${e.details}` : e.message;
  return `${what} failed (${why}); retry ${retry} in ${(delayMs / 1000).toFixed(1)}s`;
}

/** A job's result: the reply, and the bytes of an output small enough to ride along with it (see `relayedCompletedReply`). */
export interface JobOutcome {
  reply: CompletedReply;
  /** Base64 by storage key. */
  inline: OutputsByKey;
  /** The result is stored already, holding the inline output, which has no object of its own (`storeInResult`). */
  resultStored: boolean;
}

/**
 * Runs one job: input into a private temp dir, probe, ffmpeg, outputs into
 * storage. Returns the completed reply; throws AppError. Each step that
 * talks to the network (fetching inputs, storing outputs) retries transient
 * failures with backoff for TRANSIENT_RETRY_SECONDS, reporting `retrying`;
 * what still fails is thrown with its kind for the consumer to decide, its
 * server paths and internal ids scrubbed (public-errors.ts). The temp dir is
 * always removed, after every download and process of the job has ended.
 */
export async function runJob(
  job: JobMessage,
  deps: JobRunnerDeps,
  report: (update: ProgressUpdate) => void,
  signal: AbortSignal,
  log: Logger,
  {
    clock = new StageClock(),
    onRunSpeed = () => {},
    cleared = Promise.resolve(true),
    storeInResult,
  }: {
    /** Where the job's time goes, stage by stage. */
    clock?: StageClock;
    /** ffmpeg's final speed of each run (for the encode-speed metric). */
    onRunSpeed?: (speed: number) => void;
    /**
     * Whether the job may run (it had not ended or been cancelled already:
     * JobHandler.handle). Reading and describing the input go on meanwhile;
     * no ffmpeg starts before it is true, and false stops the job.
     */
    cleared?: Promise<boolean>;
    /**
     * Given when only gateways read the job's result (INLINE_OUTPUT_HEADER, no `reply_to`, no webhook): a lone
     * small output delivered as binary is kept in the result instead of an object of its own, and the result
     * is stored with it here (one attempt, JobStore.writeResult), retried as storing the output would be.
     */
    storeInResult?: ((reply: CompletedReply, inline: OutputsByKey) => Promise<void>) | undefined;
  } = {},
): Promise<JobOutcome> {
  const { config, storage } = deps;
  // the job's own temp dir, made while its input is opened (an fs call waits behind the job's first storage
  // requests): only a download or an output writes to it, each after `made`
  const dir = join(config.tempDir, `${job.job_id}-${randomBytes(8).toString('hex')}`);
  const made = mkdir(dir, { recursive: true }).then(() => dir);
  made.catch(() => {}); // its failure is the first use's
  const scrub = jobScrubber(job, dir);
  let ranged: ServedInput | null = null;
  let streamed: StreamedInput | null = null;
  let deadline: RunDeadline | null = null;
  const retrying = <T>(what: string, step: () => Promise<T>, stepSignal = signal): Promise<T> =>
    retryTransient(step, {
      budgetMs: config.transientRetryMs,
      signal: stepSignal,
      onRetry: (err, retry, delayMs) => {
        const message = retryMessage(what, publicError(err, scrub), retry, delayMs);
        log.warn({ err: AppError.from(err).cause ?? err, retry, delay_ms: delayMs }, message);
        report({ stage: 'retrying', percentage: 0, message });
      },
    });
  /**
   * A still image is described from its header; with INPUT_PROBE auto an
   * MP4/MOV/M4A from its boxes, as its input was, a GIF from its blocks and
   * an MP3 or WAV from its header (no ffprobe process on the way to the
   * reply); anything else, or anything those do not map, by ffprobe.
   */
  const describeOutput = async (path: string, format: string, size: number): Promise<OutputMetadata> => {
    const { head, size: fileSize } = await readHead(path, 64 * 1024);
    const still = stillImageInfo(head);
    // a still has no duration, bitrate or frame rate (ffprobe would report image2's made-up 25 fps)
    if (still) {
      const { codec, width, height } = still;
      return { format, duration: null, size_bytes: size, video_codec: codec, audio_codec: null, width, height, bitrate: null, fps: null };
    }
    if (config.inputProbe === 'auto') {
      const reader = outputReader(format);
      const described = await reader.read(path, head, fileSize).catch((err: unknown) => {
        log.debug({ err }, 'could not read the output header in-process; running ffprobe');
        return null;
      });
      if (described) {
        log.debug(`output described from its ${reader.what}, without ffprobe`);
        return toOutputMetadata(described, format, size);
      }
    }
    const info = await probe(config.ffprobePath, path, { runner: deps.processes, maxMemoryBytes: config.ffmpegMaxMemoryBytes, signal });
    return toOutputMetadata(info, format, size);
  };
  try {
    report({ stage: 'downloading', percentage: 0 });
    const limits = {
      maxBytes: config.maxFileSizeBytes,
      timeoutMs: config.urlFetchTimeoutMs,
      connectTimeoutMs: config.urlConnectTimeoutMs,
      stallMs: config.ffmpegStallMs,
      minBytesPerSecond: config.urlMinBytesPerSecond,
      rateWindowMs: config.urlMinRateWindowMs,
      allowlist: deps.allowlist,
    };
    const budget = new InputBudget(config.maxJobInputBytes);
    const single = job.inputs.length === 1;
    // each input used for planning (not the `probe` operation's, whose answer is ffprobe's) is first
    // described in-process, a GIF from its blocks (gif-info.ts), anything else from its MP4 header boxes
    // (mp4-info.ts): no ffprobe process on the critical path
    const inProcess = config.inputProbe === 'auto' && job.operation !== 'probe';
    // the one input opened for ffmpeg to read where it is or as it arrives, under the job's retries; an attempt
    // that fails or opens nothing (the caller downloads) gives its bytes back to the budget
    const openSingle = <T>(open: (attempt: BudgetAttempt) => Promise<T | null>): Promise<T | null> =>
      clock.time('input_fetch', () =>
        retrying('fetching the input', async () => {
          const attempt = budget.attempt();
          const result = await open(attempt).catch((err: unknown) => {
            attempt.release();
            throw err;
          });
          if (!result) attempt.release();
          return result;
        }),
      );
    const server = deps.inputServer;
    const only = job.inputs[0]!;
    // a single input of an operation that reads only part of it is read by range where it is, when it can be
    let opened: RangedInput | StreamedInput | null = null;
    if (server && single && PARTIAL_READ_OPERATIONS.has(job.operation))
      opened = await openSingle((attempt) => openRangedInput(only, made, server, storage, limits, signal, attempt, retrying));
    // a single input of an operation that reads all of it is read by ffmpeg while it downloads (growing-file.ts);
    // the in-process description is what lets ffmpeg start early: without it, the download is waited for
    if (server && single && inProcess && STREAMED_READ_OPERATIONS.has(job.operation)) {
      opened = await openSingle((attempt) => openStreamedInput(only, made, server, storage, limits, signal, attempt, retrying));
      if (opened && 'downloaded' in opened) streamed = opened;
    }
    let inputPaths: string[];
    if (opened && 'served' in opened) {
      ranged = opened.served;
      inputPaths = [ranged.url];
      log.debug({ size: ranged.reader.size }, streamed ? 'reading the input as it downloads' : 'reading the input by range');
    } else if (opened)
      inputPaths = [opened.path]; // the origin answered with the whole file: downloaded
    else inputPaths = await clock.time('input_fetch', async () => fetchInputs(job, await made, storage, limits, budget, signal, retrying));
    // a read that failed under ffprobe or ffmpeg is the cause, whatever they made of the cut-short input
    const readFailed = () => {
      const failure = ranged?.failure();
      if (failure) throw failure;
    };

    report({ stage: 'probing', percentage: 0 });
    // one input at a time, each checked before the next is probed: a job of
    // bombs costs at most one bounded ffprobe at once, and stops at the first
    // — within one minute for all of them, the probing share of the consumer timeout (topology.ts)
    const infos: MediaInfo[] = [];
    const probingEnds = Date.now() + PROBING_MS;
    const describeBytes = async (read: ReadBytes, size: number): Promise<{ info: MediaInfo; what: string } | null> => {
      const gif = await describeGifInput(read, size);
      if (gif) return { info: gif, what: 'GIF blocks' };
      const mp4 = await describeMp4(read, size);
      return mp4 ? { info: mp4, what: 'MP4 header' } : null;
    };
    const describeInProcess = async (path: string): Promise<{ info: MediaInfo; what: string } | null> => {
      try {
        return ranged
          ? await describeBytes((start, end) => ranged!.reader.bytes(start, end, signal), ranged.reader.size)
          : await readingFile(path, describeBytes);
      } catch (err) {
        if (signal.aborted) throw errors.jobCancelled();
        // a read that failed here fails ffprobe's read the same way, which records it as the job's answer
        log.debug({ err }, 'could not read the input header in-process; running ffprobe');
        return null;
      }
    };
    for (const [i, listed] of inputPaths.entries()) {
      const which = single ? 'the input' : `input ${i + 1}`;
      let path = listed;
      const described = inProcess ? await clock.time('probe', () => describeInProcess(path)) : null;
      if (described) log.debug(`input described from its ${described.what}, without ffprobe`);
      else if (streamed) {
        // an input not described from its header: ffprobe, and then ffmpeg, read the file once it is whole
        await clock.time('input_fetch', () => streamed!.downloaded);
        ranged = null;
        path = inputPaths[i] = streamed.path;
      }
      const info =
        described?.info ??
        (await clock.time('probe', () =>
          probe(config.ffprobePath, path, {
            runner: deps.processes,
            timeoutMs: Math.max(1, probingEnds - Date.now()),
            maxMemoryBytes: config.ffmpegMaxMemoryBytes,
            maxPixels: config.maxInputPixels,
            signal,
            which,
          }),
        ));
      readFailed();
      checkInputLimits(info, config, which);
      infos.push(info);
    }
    const outputDir = join(await made, 'out');
    await mkdir(outputDir);
    const plan = buildPlan(job, infos, {
      inputPath: inputPaths[0]!,
      inputPaths,
      workDir: dir,
      outputDir,
      threads: config.ffmpegThreads,
      fontFile: config.watermarkFontFile,
    });
    for (const file of plan.files ?? []) await writeFile(file.path, file.content);

    if (!(await cleared)) throw errors.jobCancelled('the job had ended or been cancelled before it started');
    // ffmpeg's time counts from its input's arrival when it reads the input while it downloads (run-deadline.ts)
    const runs = (deadline = new RunDeadline(config.ffmpegTimeoutMs, streamed, config.urlFetchTimeoutMs));
    const percentage = planProgress(plan);
    for (const [i, args] of plan.runs.entries()) {
      if (signal.aborted) throw errors.jobCancelled();
      // the media seconds this run writes (a pipeline's runs differ)
      const expected = plan.runSeconds ? plan.runSeconds[i] : plan.expectedSeconds;
      report({ stage: 'processing', percentage: percentage(i, 0) });
      log.debug({ args }, 'running ffmpeg');
      await clock.time('ffmpeg', () =>
        runFfmpeg(args, {
          ffmpegPath: config.ffmpegPath,
          runner: deps.processes,
          prestart: config.ffmpegPrestart,
          maxMemoryBytes: config.ffmpegMaxMemoryBytes,
          maxOutputBytes: config.maxOutputBytes,
          timeoutMs: runs.remainingMs(),
          deadline: runs.signal,
          jobTimeoutMs: config.ffmpegTimeoutMs,
          // a process started before its job: its CPU ceiling covers the longest any run may take (RunDeadline)
          prestartCeilingMs: config.ffmpegTimeoutMs + config.urlFetchTimeoutMs,
          stallMs: config.ffmpegStallMs,
          maxPixels: config.maxInputPixels,
          signal,
          onProgress: (block) => {
            if (block.end && block.speed !== null) onRunSpeed(block.speed);
            const fraction = expected && block.outTimeSeconds !== null ? block.outTimeSeconds / expected : 0;
            report({
              stage: 'processing',
              percentage: percentage(i, block.end ? 1 : fraction),
              ffmpeg_log: formatProgressLine(block),
            });
          },
        }),
      );
    }
    if (signal.aborted) throw errors.jobCancelled();
    readFailed();
    if (ranged) log.debug({ fetched_bytes: ranged.reader.fetchedBytes, size: ranged.reader.size }, 'input read by range');
    report({ stage: 'uploading', percentage: 100 });

    const plannedOutputs = plan.collectOutputs ? plan.collectOutputs(await filesUnder(outputDir)) : plan.outputs;
    // names become storage keys and client paths: only the one safe relative form passes
    const unsafe = plannedOutputs.find((planned) => !outputFileName.safeParse(planned.filename).success);
    if (unsafe) throw errors.jobFailed('FFmpeg produced an output with an unsafe name', JSON.stringify(unsafe.filename));
    // a ladder has hundreds of segments: a few are stored at once, so storage latency is not paid once per
    // file (other plans, a few files, one at a time as always); timed as one stage: wall time, not a sum of overlaps
    const inline: OutputsByKey = {};
    const relayable = job.delivery_method === 'binary' && plannedOutputs.length === 1;
    let inlineOnly = false;
    const outputs: CompletedReply['outputs'] = await clock.time('store', () =>
      mapLimited(plannedOutputs, plan.collectOutputs ? LADDER_STORE_CONCURRENCY : 1, async (planned) => {
        const path = join(outputDir, planned.filename);
        const size = await stat(path).then(
          (s) => s.size,
          () => 0,
        );
        if (size === 0) throw errors.jobFailed('FFmpeg produced no output', `${planned.filename} is missing or empty`);
        if (planned.maxBytes !== undefined && size > planned.maxBytes)
          throw errors.jobFailed(
            'Could not reach the target size',
            `${planned.filename} is ${size} bytes; the target allows ${planned.maxBytes}`,
          );
        const key = storageKeys.output(job.job_id, planned.filename);
        // a lone small output delivered as binary is read once and relayed with the reply; stored from memory,
        // or, when only gateways read the result, in the result itself (one storage write less)
        const bytes = size <= INLINE_OUTPUT_MAX_BYTES && relayable ? await readFile(path) : null;
        if (bytes) inline[key] = bytes.toString('base64');
        inlineOnly = bytes !== null && storeInResult !== undefined;
        if (!inlineOnly)
          await retrying(`storing ${planned.filename}`, () =>
            (bytes ? storage.put(key, bytes, { contentType: planned.contentType }) : storage.putFile(key, path, planned.contentType)).catch(
              (err: unknown) => {
                throw storageFailure(`storing ${key}`, err);
              },
            ),
          );
        return { filename: planned.filename, size_bytes: size, content_type: planned.contentType, key };
      }),
    );
    const first = plannedOutputs[0];
    const describeAs = plan.describeAs;
    // `output_metadata` describes the first output (or the one describeAs names); with none (probe), the input itself
    const metadata = describeAs
      ? await clock.time('output_probe', async () => ({
          ...(await describeOutput(join(outputDir, describeAs.filename), describeAs.format, 0)),
          format: describeAs.format,
          duration: describeAs.duration,
          size_bytes: outputs.reduce((sum, o) => sum + o.size_bytes, 0),
        }))
      : first
        ? await clock.time('output_probe', () => describeOutput(join(outputDir, first.filename), first.format, outputs[0]!.size_bytes))
        : toOutputMetadata(
            infos[0]!,
            containerName(infos[0]!.formatName, inputPaths[0]!),
            ranged ? ranged.reader.size : (await stat(inputPaths[0]!)).size,
          );
    // a media file with no stream in it (a trim that starts within the last frame) is no result, however ffmpeg exited
    if (!describeAs && first && isStreamOutput(first) && metadata.video_codec === null && metadata.audio_codec === null)
      throw errors.jobFailed('FFmpeg produced no output', `${first.filename} holds no video or audio stream`);
    const reply: CompletedReply = { type: 'completed', job_id: job.job_id, output_metadata: metadata, outputs };
    if (inlineOnly && storeInResult) {
      // the output's one copy in storage is in the result: stored (and retried, and failed) as the output would be
      const key = storageKeys.result(job.job_id);
      await clock.time('store', () =>
        retrying(`storing ${outputs[0]!.filename}`, () =>
          storeInResult(reply, inline).catch((err: unknown) => {
            throw storageFailure(`storing ${key}`, err);
          }),
        ),
      );
    }
    return { reply, inline, resultStored: inlineOnly };
  } catch (err) {
    throw publicError((signal.aborted ? null : ranged?.failure()) ?? err, scrub);
  } finally {
    deadline?.dispose();
    ranged?.close();
    await streamed?.stop();
    await made.catch(() => {}); // a job that ended before its dir was made: the dir would outlive it
    // every download, probe and ffmpeg of the job has settled by now; a removal
    // that still fails is logged (the temp sweeper retries), never the job's answer
    await rm(dir, { recursive: true, force: true, maxRetries: 3 }).catch((err: unknown) =>
      log.warn({ err, dir }, 'could not remove the job temp dir'),
    );
  }
}

/** Describes an output file, given its first bytes (`head`, up to 64 KiB, read already) and its size. */
type OutputRead = (path: string, head: Buffer, size: number) => Promise<MediaInfo | null>;

/**
 * How an output of `format` is described in-process (INPUT_PROBE=auto): what
 * the log calls the read, and the reader; a format without its own is tried
 * as MP4.
 */
function outputReader(format: string): { what: string; read: OutputRead } {
  // a GIF output is read as a GIF input is (its size checked first, then the whole file)
  if (format === 'gif') return { what: 'GIF blocks', read: (path) => readingFile(path, describeGifInput) };
  if (format === 'mp3' || format === 'wav')
    return { what: `${format.toUpperCase()} header`, read: async (_path, head, size) => describeAudio(format, head, size) };
  return { what: 'MP4 header', read: describeMp4File };
}

/** The relative paths (`/`-separated) of every file under `dir`, at any depth, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => relative(dir, join(e.parentPath, e.name)).split(sep).join('/'))
    .sort();
}

/**
 * Downloads every input of the job into `dir` at once; one failure stops the
 * others (a wait between retries included), and all have settled before it
 * is thrown, so the temp dir can go.
 */
async function fetchInputs(
  job: JobMessage,
  dir: string,
  storage: Storage,
  limits: InputLimits,
  budget: InputBudget,
  signal: AbortSignal,
  retrying: <T>(what: string, step: () => Promise<T>, stepSignal?: AbortSignal) => Promise<T>,
): Promise<string[]> {
  const single = job.inputs.length === 1;
  const siblings = new AbortController();
  const inputSignal = AbortSignal.any([signal, siblings.signal]);
  let firstFailure: unknown = null;
  const fetched = await Promise.allSettled(
    job.inputs.map((input, i) =>
      retrying(
        `fetching input ${i + 1}`,
        () => fetchInput(input, dir, single ? 'input' : `input_${i}`, storage, limits, inputSignal, budget),
        inputSignal,
      ).catch((err: unknown) => {
        firstFailure ??= err;
        siblings.abort();
        throw err;
      }),
    ),
  );
  // a cancel ends downloads with whatever error they were at: the cancel is the cause
  if (signal.aborted) throw errors.jobCancelled();
  if (firstFailure !== null) throw firstFailure;
  return fetched.map((r) => (r as PromiseFulfilledResult<string>).value);
}
