import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Removes job temp dirs in TEMP_DIR that no running job owns and that are
 * older than `maxAgeMs` (left by a worker that was killed). Dirs are named
 * `<job_id>-<random>`; `isActive` says whether a job id is running here.
 */
export async function sweepTempDir(tempDir: string, maxAgeMs: number, isActive: (jobId: string) => boolean): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(tempDir, { withFileTypes: true });
  } catch {
    return [];
  }
  const removed: string[] = [];
  const now = Date.now();
  for (const entry of entries) {
    if (!entry.isDirectory()) continue;
    const jobId = entry.name.replace(/-[^-]+$/, '');
    if (isActive(jobId)) continue;
    const path = join(tempDir, entry.name);
    const info = await stat(path).catch(() => null);
    if (!info || now - info.mtimeMs < maxAgeMs) continue;
    await rm(path, { recursive: true, force: true });
    removed.push(entry.name);
  }
  return removed;
}
