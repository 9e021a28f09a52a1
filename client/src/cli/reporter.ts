/**
 * How the CLI shows a job: a progress bar on a terminal (cli-progress:
 * stage, percentage, transfer rate, ETA), plain lines otherwise, or one JSON
 * object per event with --json.
 */
import cliProgress from 'cli-progress';
import type { JobEvent } from '../job.js';

export interface Reporter {
  event(event: JobEvent): void;
  stop(): void;
}

interface Out {
  write(text: string): unknown;
}

/** One JSON line per event (output bytes left out: they go to files). */
export function jsonReporter(out: Out): Reporter {
  return {
    event(event) {
      const value =
        event.type === 'output'
          ? { type: 'output', output: { ...event.output, data: undefined } }
          : event.type === 'done'
            ? { type: 'done', outputs: event.outputs.map((o) => ({ ...o, data: undefined })) }
            : event.type === 'failed'
              ? { type: 'failed', error: { code: event.error.code, message: event.error.message, details: event.error.details } }
              : event;
      out.write(`${JSON.stringify(value)}\n`);
    },
    stop: () => undefined,
  };
}

/** Bytes per second over the current transfer. */
class Rate {
  private start = 0;
  private first = 0;
  update(bytes: number): number {
    const now = Date.now();
    if (this.start === 0 || bytes < this.first) {
      this.start = now;
      this.first = bytes;
      return 0;
    }
    const seconds = (now - this.start) / 1000;
    return seconds > 0 ? (bytes - this.first) / seconds : 0;
  }
}

const mbps = (bytesPerSecond: number) => (bytesPerSecond > 0 ? `${(bytesPerSecond / 1e6).toFixed(1)} MB/s` : '');

/** What stage and percentage an event stands for: uploads and downloads count their bytes, the rest the server's percentage. */
function position(event: JobEvent, rate: Rate): { stage: string; percentage: number; speed: string } | null {
  switch (event.type) {
    case 'upload':
      return {
        stage: 'uploading',
        percentage: event.totalBytes ? Math.min(100, (event.ackedBytes / event.totalBytes) * 100) : 0,
        speed: mbps(rate.update(event.ackedBytes)),
      };
    case 'progress':
      return { stage: event.stage, percentage: event.percentage, speed: '' };
    case 'download':
      return {
        stage: 'downloading output',
        percentage: event.totalBytes ? (event.receivedBytes / event.totalBytes) * 100 : 0,
        speed: mbps(rate.update(event.receivedBytes)),
      };
    default:
      return null;
  }
}

/** The terminal's bar; cli-progress redraws it in place at most ~10 times a second. */
export function barReporter(stream: NodeJS.WriteStream): Reporter {
  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: '{stage} |{bar}| {percentage}% {speed} | ETA {eta_formatted}',
      barCompleteChar: '\u2588',
      barIncompleteChar: '\u2591',
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const rate = new Rate();
  let started = false;
  let stage = '';
  return {
    event(event) {
      const at = position(event, rate);
      if (!at) {
        if (event.type === 'reconnecting' && started) bar.update({ stage: `reconnecting (attempt ${event.attempt})`, speed: '' });
        return;
      }
      if (!started) {
        bar.start(100, 0, { stage: at.stage, speed: '' });
        started = true;
      }
      // each stage runs its own 0–100: the ETA starts over with it
      if (at.stage !== stage) {
        stage = at.stage;
        bar.setTotal(100);
        bar.update(0, { stage: at.stage, speed: '' });
      }
      bar.update(Math.round(at.percentage), { stage: at.stage, speed: at.speed });
    },
    stop() {
      if (started) bar.stop();
    },
  };
}

/** Not a terminal: a line when the stage changes, and every 25 %. */
export function lineReporter(out: Out): Reporter {
  const rate = new Rate();
  let last = { stage: '', step: -1 };
  return {
    event(event) {
      if (event.type === 'reconnecting') out.write(`reconnecting (attempt ${event.attempt})\n`);
      const at = position(event, rate);
      if (!at) return;
      const step = Math.floor(at.percentage / 25);
      if (at.stage === last.stage && step === last.step) return;
      last = { stage: at.stage, step };
      out.write(`${at.stage} ${Math.round(at.percentage)}%${at.speed ? ` ${at.speed}` : ''}\n`);
    },
    stop: () => undefined,
  };
}
