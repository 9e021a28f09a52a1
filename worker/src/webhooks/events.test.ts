import type { CompletedReply, ErrorReply, ProgressReply } from '@media-foundry/shared';
import { outputMetadata } from '@media-foundry/test-support';
import { eventId, finalEvent, finalTask, stageTask, webhookOf, webhookTask } from './events.js';

const completed: CompletedReply = {
  type: 'completed',
  job_id: 'internal-1',
  output_metadata: outputMetadata({
    format: 'mp4',
    duration: 1,
    size_bytes: 10,
    video_codec: 'h264',
    width: 2,
    height: 2,
    bitrate: 80,
    fps: 25,
  }),
  outputs: [],
};
const failed: ErrorReply = { type: 'error', job_id: 'internal-1', code: 'JOB_FAILED', message: 'no' };
const cancelled: ErrorReply = { type: 'error', job_id: 'internal-1', code: 'JOB_CANCELLED', message: 'cancelled' };
const progress: ProgressReply = { type: 'progress', job_id: 'internal-1', percentage: 10, stage: 'processing' };
const now = new Date('2026-01-01T00:00:00Z');

describe('finalEvent', () => {
  it('names completed, failed and cancelled', () => {
    expect(finalEvent(completed)).toBe('completed');
    expect(finalEvent(failed)).toBe('failed');
    expect(finalEvent(cancelled)).toBe('cancelled');
  });
});

describe('finalTask', () => {
  it('is nothing without a webhook', () => {
    expect(finalTask(undefined, completed)).toBeNull();
  });

  it('posts the reply under the id the submitter knows', () => {
    const task = finalTask({ url: 'https://hooks.example.com/x', job_id: 'clip-42' }, completed, now)!;
    expect(webhookTask.parse(task)).toEqual(task);
    expect(task).toMatchObject({ event: 'completed', job_id: 'clip-42', url: 'https://hooks.example.com/x', attempts: 0 });
    expect(JSON.parse(task.body)).toEqual({ ...completed, job_id: 'clip-42' });
  });

  it('defaults to every end, and honours `events`', () => {
    const hook = { url: 'https://hooks.example.com/x' };
    for (const reply of [completed, failed, cancelled]) expect(finalTask(hook, reply)).not.toBeNull();
    const onlyCompleted = { ...hook, events: ['completed' as const] };
    expect(finalTask(onlyCompleted, completed)).not.toBeNull();
    expect(finalTask(onlyCompleted, failed)).toBeNull();
    expect(finalTask(onlyCompleted, cancelled)).toBeNull();
  });

  it('has the same id however often the same end is sent, another for another job', () => {
    const hook = { url: 'https://hooks.example.com/x' };
    expect(finalTask(hook, completed)!.id).toBe(finalTask(hook, failed)!.id);
    expect(finalTask(hook, completed)!.id).not.toBe(finalTask(hook, { ...completed, job_id: 'internal-2' })!.id);
    expect(eventId('a', 'final')).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  });
});

describe('stageTask', () => {
  it('only when `stage` was asked for', () => {
    expect(stageTask({ url: 'https://h.example.com' }, progress, 1)).toBeNull();
    const task = stageTask({ url: 'https://h.example.com', events: ['stage'] }, progress, 1)!;
    expect(task.event).toBe('stage');
    expect(JSON.parse(task.body)).toEqual(progress);
    expect(task.id).not.toBe(stageTask({ url: 'https://h.example.com', events: ['stage'] }, progress, 2)!.id);
  });
});

describe('webhookOf', () => {
  it('reads the webhook of a raw job message, or nothing', () => {
    const hook = { url: 'https://h.example.com/a', events: ['failed'] };
    expect(webhookOf(Buffer.from(JSON.stringify({ job_id: 'x', webhook: hook, inputs: 'broken' })))).toEqual(hook);
    expect(webhookOf(Buffer.from('{"job_id":"x"}'))).toBeUndefined();
    expect(webhookOf(Buffer.from('{"webhook":{"url":"ftp://x"}}'))).toBeUndefined();
    expect(webhookOf(Buffer.from('not json'))).toBeUndefined();
  });
});
