import { execa } from 'execa';
import { errors } from '@media-foundry/shared';
import { inputGuards } from './hardening.js';
import { ffprobeOutput, toMediaInfo, type MediaInfo } from './media-info.js';

/** Runs ffprobe on a local file; unreadable or non-media input is a JOB_FAILED with ffprobe's words. */
export async function probe(ffprobePath: string, path: string, timeoutMs = 60_000): Promise<MediaInfo> {
  const result = await execa(
    ffprobePath,
    ['-v', 'error', ...inputGuards(undefined), '-print_format', 'json', '-show_format', '-show_streams', path],
    { reject: false, timeout: timeoutMs, stdin: 'ignore', maxBuffer: 16 * 1024 * 1024 },
  );
  if (result.timedOut) throw errors.jobFailed('Probing the input timed out', `ffprobe ran longer than ${timeoutMs / 1000}s`);
  if (result.exitCode !== 0)
    throw errors.jobFailed(
      'Input is not a readable media file',
      lastLines(String(result.stderr)) || `ffprobe exited with ${result.exitCode}`,
    );
  let json: unknown;
  try {
    json = JSON.parse(String(result.stdout));
  } catch {
    throw errors.jobFailed('Input is not a readable media file', 'ffprobe printed no JSON');
  }
  const parsed = ffprobeOutput.safeParse(json);
  if (!parsed.success) throw errors.jobFailed('Input is not a readable media file', 'unexpected ffprobe output');
  return toMediaInfo(parsed.data);
}

/** The last few lines of a tool's stderr: what the client gets as `details`. */
export function lastLines(text: string, lines = 5, maxChars = 2000): string {
  const tail = text.trim().split('\n').slice(-lines).join('\n');
  return tail.length > maxChars ? tail.slice(-maxChars) : tail;
}
