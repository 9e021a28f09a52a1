import {
  formatProgressLine,
  planPercentage,
  planProgress,
  ProgressParser,
  ProgressThrottle,
  weightedPercentage,
  type ProgressBlock,
} from './progress.js';

/**
 * What `ffmpeg -progress pipe:1` prints for a short encode (ffmpeg 5/6), including a start-up block full of N/A:
 * one block a row here, its `key=value` lines joined by ", " (ffmpeg prints one a line).
 */
const TRANSCRIPT = [
  'frame=0, fps=0.00, stream_0_0_q=0.0, bitrate=N/A, total_size=48, out_time_us=N/A, out_time_ms=N/A, out_time=N/A, dup_frames=0, drop_frames=0, speed=N/A, progress=continue',
  'frame=61, fps=60.52, stream_0_0_q=28.0, bitrate= 195.3kbits/s, total_size=50000, out_time_us=2048000, out_time_ms=2048000, out_time=00:00:02.048000, dup_frames=0, drop_frames=0, speed=1.5x, progress=continue',
  'frame=120, fps=59.8, stream_0_0_q=28.0, bitrate= 204.8kbits/s, total_size=102400, out_time_us=N/A, out_time_ms=4000000, out_time=00:00:04.000000, dup_frames=0, drop_frames=0, speed=1.98x, progress=continue',
  'frame=150, fps=60.00, stream_0_0_q=-1.0, bitrate= 210.1kbits/s, total_size=131072, out_time_us=5005000, out_time_ms=5005000, out_time=00:00:05.005000, dup_frames=0, drop_frames=0, speed=2x, progress=end',
]
  .map((block) => `${block.split(', ').join('\n')}\n`)
  .join('');

function parseAll(text: string): ProgressBlock[] {
  const parser = new ProgressParser();
  const blocks: ProgressBlock[] = [];
  for (const line of text.split('\n')) {
    const b = parser.push(line);
    if (b) blocks.push(b);
  }
  return blocks;
}

describe('ProgressParser', () => {
  it('turns a multi-block transcript into one block per progress= line', () => {
    expect(parseAll(TRANSCRIPT)).toEqual([
      { outTimeSeconds: null, frame: 0, fps: 0, totalSizeBytes: 48, speed: null, end: false },
      { outTimeSeconds: 2.048, frame: 61, fps: 60.52, totalSizeBytes: 50000, speed: 1.5, end: false },
      // out_time_us N/A: falls back to out_time_ms, which is microseconds too
      { outTimeSeconds: 4, frame: 120, fps: 59.8, totalSizeBytes: 102400, speed: 1.98, end: false },
      { outTimeSeconds: 5.005, frame: 150, fps: 60, totalSizeBytes: 131072, speed: 2, end: true },
    ]);
  });

  it('returns null for every line inside a block and for lines without a key', () => {
    const parser = new ProgressParser();
    for (const line of ['frame=1', 'out_time_us=1000', '', 'garbage', '=value', 'speed=1x']) expect(parser.push(line)).toBeNull();
    expect(parser.push('progress=continue')).toEqual({
      outTimeSeconds: 0.001,
      frame: 1,
      fps: null,
      totalSizeBytes: null,
      speed: 1,
      end: false,
    });
  });

  it('starts every block afresh (fields do not leak into the next block)', () => {
    const parser = new ProgressParser();
    parser.push('frame=10');
    parser.push('out_time_us=3000000');
    parser.push('progress=continue');
    expect(parser.push('progress=end')).toEqual({
      outTimeSeconds: null,
      frame: null,
      fps: null,
      totalSizeBytes: null,
      speed: null,
      end: true,
    });
  });

  it('prefers out_time_us over out_time_ms', () => {
    const parser = new ProgressParser();
    parser.push('out_time_ms=9000000');
    parser.push('out_time_us=1500000');
    expect(parser.push('progress=continue')!.outTimeSeconds).toBe(1.5);
  });

  it('clamps the negative times ffmpeg reports before the first packet to 0', () => {
    const parser = new ProgressParser();
    parser.push('out_time_us=-23220');
    expect(parser.push('progress=continue')!.outTimeSeconds).toBe(0);
  });

  it('tolerates CRLF line endings and spaces around values', () => {
    const parser = new ProgressParser();
    parser.push('frame=  42\r');
    parser.push('speed= 0.75x\r');
    expect(parser.push('progress=end\r')).toMatchObject({ frame: 42, speed: 0.75, end: true });
  });
});

describe('formatProgressLine', () => {
  it('leaves out rates of 0 (ffmpeg\'s "speed=   0x" before it has measured anything)', () => {
    const parser = new ProgressParser();
    for (const line of ['frame=1', 'fps=0.00', 'total_size=N/A', 'out_time_us=0', 'speed=   0x']) parser.push(line);
    expect(formatProgressLine(parser.push('progress=continue')!)).toBe('frame=1 time=00:00:00.00');
  });

  it('formats the spec ffmpeg_log line', () => {
    expect(formatProgressLine({ frame: 123, fps: 45, totalSizeBytes: 1_048_576, outTimeSeconds: 5, speed: 1.5, end: false })).toBe(
      'frame=123 fps=45 size=1024kB time=00:00:05.00 speed=1.5x',
    );
  });

  it('formats hours, minutes and hundredths', () => {
    expect(formatProgressLine({ frame: null, fps: null, totalSizeBytes: null, outTimeSeconds: 3725.5, speed: null, end: false })).toBe(
      'time=01:02:05.50',
    );
  });

  it('leaves out unknown fields', () => {
    expect(formatProgressLine({ frame: null, fps: null, totalSizeBytes: null, outTimeSeconds: null, speed: null, end: true })).toBe('');
    expect(formatProgressLine({ frame: 0, fps: 0, totalSizeBytes: 48, outTimeSeconds: null, speed: null, end: false })).toBe(
      'frame=0 size=0kB',
    );
  });

  it('formats the parsed transcript', () => {
    expect(parseAll(TRANSCRIPT).map(formatProgressLine)).toEqual([
      'frame=0 size=0kB',
      'frame=61 fps=60.52 size=49kB time=00:00:02.04 speed=1.5x',
      'frame=120 fps=59.8 size=100kB time=00:00:04.00 speed=1.98x',
      'frame=150 fps=60 size=128kB time=00:00:05.00 speed=2x',
    ]);
  });

  it('truncates to centiseconds like ffmpeg, never printing 60 seconds', () => {
    const line = (t: number) =>
      formatProgressLine({ frame: null, fps: null, totalSizeBytes: null, outTimeSeconds: t, speed: null, end: false });
    expect(line(59.999)).toBe('time=00:00:59.99');
    expect(line(60)).toBe('time=00:01:00.00');
    expect(line(3599.999)).toBe('time=00:59:59.99');
  });
});

describe('planPercentage', () => {
  it('spreads runs evenly and rounds to one decimal', () => {
    expect(planPercentage(0, 1, 0)).toBe(0);
    expect(planPercentage(0, 1, 0.5)).toBe(50);
    expect(planPercentage(1, 3, 0.5)).toBe(50);
    expect(planPercentage(0, 3, 0.1)).toBe(3.3);
    expect(planPercentage(2, 4, 0)).toBe(50);
  });

  it('stays at or below 99.9 until the job is really finished', () => {
    expect(planPercentage(0, 1, 1)).toBe(99.9);
    expect(planPercentage(2, 3, 1)).toBe(99.9);
    expect(planPercentage(0, 1, 0.9999)).toBe(99.9);
  });

  it('clamps fractions outside 0..1 (out_time overshooting the expected duration)', () => {
    expect(planPercentage(0, 2, 1.7)).toBe(50);
    expect(planPercentage(1, 2, -0.3)).toBe(50);
  });

  it('never decreases as runs progress', () => {
    const runs = 5;
    let previous = -1;
    for (let run = 0; run < runs; run++) {
      for (let f = 0; f <= 1.0001; f += 0.05) {
        const pct = planPercentage(run, runs, f);
        expect(pct).toBeGreaterThanOrEqual(previous);
        expect(pct).toBeLessThanOrEqual(99.9);
        previous = pct;
      }
    }
    expect(previous).toBe(99.9);
  });
});

describe('ProgressThrottle', () => {
  type Update = { job_id: string; percentage: number; stage: string; ffmpeg_log?: string };

  function throttle() {
    let now = 1_000;
    const t = new ProgressThrottle<Update>(250, () => now);
    return {
      at: (ms: number, percentage: number, stage = 'processing') => {
        now = 1_000 + ms;
        return t.offer({ job_id: 'j', percentage, stage });
      },
    };
  }

  it('passes the first update and drops same-stage updates within 250 ms', () => {
    const t = throttle();
    expect(t.at(0, 10)).toEqual({ job_id: 'j', percentage: 10, stage: 'processing' });
    expect(t.at(100, 20)).toBeNull();
    expect(t.at(249, 25)).toBeNull();
    expect(t.at(250, 30)).toEqual({ job_id: 'j', percentage: 30, stage: 'processing' });
    expect(t.at(400, 35)).toBeNull();
    expect(t.at(500, 40)).toEqual({ job_id: 'j', percentage: 40, stage: 'processing' });
  });

  it('passes a stage change at once', () => {
    const t = throttle();
    expect(t.at(0, 0, 'downloading')).not.toBeNull();
    expect(t.at(10, 5, 'probing')).toEqual({ job_id: 'j', percentage: 5, stage: 'probing' });
    expect(t.at(20, 6, 'processing')).toEqual({ job_id: 'j', percentage: 6, stage: 'processing' });
    expect(t.at(30, 7, 'processing')).toBeNull();
  });

  it('never lets the percentage go backwards, also across stages', () => {
    const t = throttle();
    expect(t.at(0, 50)!.percentage).toBe(50);
    expect(t.at(300, 40)!.percentage).toBe(50);
    expect(t.at(310, 0, 'uploading')!.percentage).toBe(50);
    expect(t.at(600, 80, 'uploading')!.percentage).toBe(80);
    expect(t.at(900, 70, 'finalizing')!.percentage).toBe(80);
  });

  it('keeps the other fields of the update and does not mutate it', () => {
    let now = 0;
    const t = new ProgressThrottle<Update>(250, () => now);
    t.offer({ job_id: 'j', percentage: 60, stage: 'processing' });
    now = 1000;
    const update = { job_id: 'j', percentage: 10, stage: 'processing', ffmpeg_log: 'frame=1' };
    expect(t.offer(update)).toEqual({ job_id: 'j', percentage: 60, stage: 'processing', ffmpeg_log: 'frame=1' });
    expect(update.percentage).toBe(10);
  });
});

describe('weightedPercentage', () => {
  it('weights each run by the seconds it writes, never resetting between runs', () => {
    // a 60 s intermediate, then two passes of 20 s each
    const seconds = [60, 20, 20];
    expect(weightedPercentage(seconds, 0, 0.5)).toBe(30);
    expect(weightedPercentage(seconds, 0, 1)).toBe(60);
    expect(weightedPercentage(seconds, 1, 0)).toBe(60);
    expect(weightedPercentage(seconds, 1, 0.5)).toBe(70);
    expect(weightedPercentage(seconds, 2, 1)).toBe(99.9);
  });

  it('counts a run of unknown length as the average of the others', () => {
    expect(weightedPercentage([10, null], 1, 0)).toBe(50);
    expect(weightedPercentage([null, null], 1, 0)).toBe(50);
  });
});

describe('planProgress', () => {
  it('uses runSeconds when a plan gives them, else equal runs', () => {
    expect(planProgress({ runs: [[], []], runSeconds: [30, 10] })(1, 0)).toBe(75);
    expect(planProgress({ runs: [[], []] })(1, 0)).toBe(50);
  });
});
