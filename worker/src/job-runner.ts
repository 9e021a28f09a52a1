import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type CompletedReply,
  type Config,
  errors,
  type JobMessage,
  type ProgressReply,
  storageKeys,
} from '@media-foundry/shared';
import type { Storage } from '@media-foundry/shared/node';
import { toOutputMetadata } from './ffmpeg/media-info.js';
import { buildPlan } from './ffmpeg/operations/index.js';
import { probe } from './ffmpeg/probe.js';
import { formatProgressLine, planPercentage } from './ffmpeg/progress.js';
import { runFfmpeg } from './ffmpeg/run.js';
import { fetchInput } from './inputs.js';

export type ProgressUpdate = Omit<ProgressReply, 'type' | 'job_id'>;

export interface JobRunnerDeps {
  config: Pick<
    Config,
    'TEMP_DIR' | 'FFMPEG_PATH' | 'FFPROBE_PATH' | 'FFMPEG_THREADS' | 'FFMPEG_TIMEOUT_SECONDS' | 'MAX_FILE_SIZE_MB' | 'URL_FETCH_TIMEOUT_SECONDS'
  >;
  storage: Storage;
}

/**
 * Runs one job: input into a private temp dir, probe, ffmpeg, outputs into
 * storage. Returns the completed reply; throws AppError. The temp dir is
 * always removed.
 */
export async function runJob(
  job: JobMessage,
  deps: JobRunnerDeps,
  report: (update: ProgressUpdate) => void,
  signal: AbortSignal,
): Promise<CompletedReply> {
  const { config, storage } = deps;
  await mkdir(config.TEMP_DIR, { recursive: true });
  const dir = await mkdtemp(join(config.TEMP_DIR, `${job.job_id}-`));
  try {
    report({ stage: 'downloading', percentage: 0 });
    const inputPath = await fetchInput(job.input, dir, storage, {
      maxBytes: config.MAX_FILE_SIZE_MB * 1024 * 1024,
      timeoutMs: config.URL_FETCH_TIMEOUT_SECONDS * 1000,
    }, signal);

    if (signal.aborted) throw errors.jobCancelled();
    report({ stage: 'probing', percentage: 0 });
    const info = await probe(config.FFPROBE_PATH, inputPath);
    const outputDir = join(dir, 'out');
    await mkdir(outputDir);
    const plan = buildPlan(job, info, { inputPath, outputDir, threads: config.FFMPEG_THREADS });

    const deadline = Date.now() + config.FFMPEG_TIMEOUT_SECONDS * 1000;
    for (const [i, args] of plan.runs.entries()) {
      if (signal.aborted) throw errors.jobCancelled();
      report({ stage: 'processing', percentage: planPercentage(i, plan.runs.length, 0) });
      await runFfmpeg(args, {
        ffmpegPath: config.FFMPEG_PATH,
        timeoutMs: Math.max(1, deadline - Date.now()),
        signal,
        onProgress: (block) => {
          const fraction =
            plan.expectedSeconds && block.outTimeSeconds !== null ? block.outTimeSeconds / plan.expectedSeconds : 0;
          report({
            stage: 'processing',
            percentage: planPercentage(i, plan.runs.length, block.end ? 1 : fraction),
            ffmpeg_log: formatProgressLine(block),
          });
        },
      });
    }
    if (signal.aborted) throw errors.jobCancelled();
    report({ stage: 'uploading', percentage: 100 });

    const outputs = [];
    for (const planned of plan.outputs) {
      const path = join(outputDir, planned.filename);
      const size = await stat(path).then((s) => s.size, () => 0);
      if (size === 0) throw errors.jobFailed('FFmpeg produced no output', `${planned.filename} is missing or empty`);
      const key = storageKeys.output(job.job_id, planned.filename);
      await storage.putFile(key, path, planned.contentType);
      outputs.push({ filename: planned.filename, size_bytes: size, content_type: planned.contentType, key });
    }
    const first = plan.outputs[0]!;
    const firstInfo = await probe(config.FFPROBE_PATH, join(outputDir, first.filename));
    return {
      type: 'completed',
      job_id: job.job_id,
      output_metadata: toOutputMetadata(firstInfo, first.format, outputs[0]!.size_bytes),
      outputs,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
