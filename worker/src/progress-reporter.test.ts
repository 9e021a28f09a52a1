import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { PROGRESS_INTERVAL_MS, type ProgressReply } from '@media-foundry/shared';
import type { Logger } from '@media-foundry/shared/node';
import type { ProgressUpdate } from './job-runner.js';
import { ProgressReporter, STATE_INTERVAL_MS, type ProgressDeps } from './progress-reporter.js';

const logger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, child: () => logger } as unknown as Logger;
const route = { jobId: 'j1', replyTo: 'replies.gw1' };
const at = (percentage: number, stage: ProgressUpdate['stage'] = 'processing'): ProgressUpdate => ({ stage, percentage });

/** Lets the reporter's promise callbacks run (fake timers leave microtasks alone). */
const settle = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

describe('ProgressReporter', () => {
  let sent: ProgressReply[];
  let states: { percentage: number; stage: string }[];
  let stages: { stage: string; seq: number }[];
  let deps: ProgressDeps;

  beforeEach(() => {
    jest.useFakeTimers();
    sent = [];
    states = [];
    stages = [];
    deps = {
      replies: {
        send: (_route, reply) => {
          sent.push(reply as ProgressReply);
          return Promise.resolve();
        },
      },
      store: {
        writeState: (_id, state) => {
          states.push(state);
          return Promise.resolve();
        },
      },
      webhooks: { stageChanged: (_webhook, reply, seq) => void stages.push({ stage: reply.stage, seq }) },
    };
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  it('sends the first update at once, holds the next ones to four a second, and sends the last one held', () => {
    const progress = new ProgressReporter(route, deps, logger);
    progress.report(at(10));
    progress.report(at(20));
    progress.report(at(30));
    expect(sent.map((r) => r.percentage)).toEqual([10]);
    jest.advanceTimersByTime(PROGRESS_INTERVAL_MS);
    expect(sent.map((r) => r.percentage)).toEqual([10, 30]);
    expect(sent.every((r) => r.type === 'progress' && r.job_id === 'j1')).toBe(true);
  });

  it('stores the state at once (a resume knows the job runs), then at most every STATE_INTERVAL_MS', () => {
    const progress = new ProgressReporter(route, deps, logger);
    progress.report(at(1));
    for (let t = PROGRESS_INTERVAL_MS; t < STATE_INTERVAL_MS; t += PROGRESS_INTERVAL_MS) {
      jest.advanceTimersByTime(PROGRESS_INTERVAL_MS);
      progress.report(at(t / 100));
    }
    expect(states).toEqual([{ stage: 'processing', percentage: 1 }]);
    jest.advanceTimersByTime(PROGRESS_INTERVAL_MS);
    progress.report(at(60));
    expect(states.map((s) => s.percentage)).toEqual([1, 60]);
  });

  it('sends a retry and every change of stage at once, and tells the webhook of each change', () => {
    const progress = new ProgressReporter(route, deps, logger);
    progress.report(at(0, 'downloading'));
    progress.report(at(0, 'processing'));
    progress.report(at(0, 'retrying'));
    progress.report(at(0, 'retrying'));
    expect(sent.map((r) => r.stage)).toEqual(['downloading', 'processing', 'retrying', 'retrying']);
    expect(stages).toEqual([
      { stage: 'downloading', seq: 1 },
      { stage: 'processing', seq: 2 },
      { stage: 'retrying', seq: 3 },
    ]);
  });

  it('holds what a run reports before it is cleared, then sends the latest step and tells the webhook of every stage', async () => {
    let clear!: (go: boolean) => void;
    const progress = new ProgressReporter(route, deps, logger, undefined, new Promise((r) => (clear = r)));
    progress.report(at(0, 'downloading'));
    progress.report(at(0, 'probing'));
    progress.report(at(5, 'processing'));
    await settle();
    expect(sent).toEqual([]);
    expect(states).toEqual([]);
    expect(stages).toEqual([]);
    clear(true);
    await settle();
    expect(sent.map((r) => [r.stage, r.percentage])).toEqual([['processing', 5]]);
    expect(states).toEqual([{ stage: 'processing', percentage: 5 }]);
    expect(stages).toEqual([
      { stage: 'downloading', seq: 1 },
      { stage: 'probing', seq: 2 },
      { stage: 'processing', seq: 3 },
    ]);
    // what follows goes as before
    progress.report(at(0, 'uploading'));
    expect(sent.map((r) => r.stage)).toEqual(['processing', 'uploading']);
  });

  it('reports nothing of a run that is not cleared (its job ended or was cancelled before), even later', async () => {
    let clear!: (go: boolean) => void;
    const progress = new ProgressReporter(route, deps, logger, undefined, new Promise((r) => (clear = r)));
    progress.report(at(0, 'downloading'));
    clear(false);
    await settle();
    progress.report(at(10, 'processing')); // made before the run noticed its abort
    jest.advanceTimersByTime(STATE_INTERVAL_MS);
    expect(sent).toEqual([]);
    expect(states).toEqual([]);
    expect(stages).toEqual([]);
  });

  it('drops the held steps of a run that ended before it was cleared, but sends what follows its end', async () => {
    let clear!: (go: boolean) => void;
    const progress = new ProgressReporter(route, deps, logger, undefined, new Promise((r) => (clear = r)));
    progress.report(at(0, 'downloading'));
    progress.close(); // its input could not be read
    clear(true);
    await settle();
    expect(sent).toEqual([]);
    expect(states).toEqual([]);
    progress.report({ stage: 'retrying', percentage: 0, message: 'handing the job to another worker' });
    expect(sent.map((r) => r.stage)).toEqual(['retrying']);
  });

  it('sends nothing held once closed', () => {
    const progress = new ProgressReporter(route, deps, logger);
    progress.report(at(10));
    progress.report(at(20));
    progress.close();
    jest.advanceTimersByTime(PROGRESS_INTERVAL_MS * 2);
    expect(sent.map((r) => r.percentage)).toEqual([10]);
  });
});
