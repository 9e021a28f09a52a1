import { z } from 'zod';
import { formatIssues } from '../validation.js';
import { COMPRESS_FORMATS, COMPRESS_PRESET_NAMES, COMPRESS_PRESETS, compressOptions } from './compress.js';
import { failedParse } from '../test-fixtures.js';

const issues = (input: unknown) => failedParse(compressOptions, input);

describe('compressOptions', () => {
  it('fills the defaults: preset medium, target_format mp4, nothing else', () => {
    expect(compressOptions.parse({})).toEqual({ preset: 'medium', target_format: 'mp4' });
  });

  it('accepts the spec example and every field at once', () => {
    expect(compressOptions.parse({ preset: 'low', max_width: 1280, max_height: 720 })).toEqual({
      preset: 'low',
      max_width: 1280,
      max_height: 720,
      target_format: 'mp4',
    });
    const all = {
      preset: 'custom',
      crf: 30,
      video_bitrate_kbps: 2500,
      audio_bitrate_kbps: 96,
      max_width: 640,
      max_height: 480,
      target_format: 'webm',
    };
    expect(compressOptions.parse(all)).toEqual(all);
  });

  it.each(COMPRESS_PRESET_NAMES)('accepts preset %s', (preset) => {
    expect(compressOptions.parse({ preset }).preset).toBe(preset);
  });

  it.each(COMPRESS_FORMATS)('accepts target_format %s', (target_format) => {
    expect(compressOptions.parse({ target_format }).target_format).toBe(target_format);
  });

  it('rejects unknown presets and formats, naming the field', () => {
    expect(issues({ preset: 'ultra' }).map((i) => i.path)).toEqual(['preset']);
    expect(issues({ target_format: 'avi' }).map((i) => i.path)).toEqual(['target_format']);
  });

  it.each([
    ['crf', 0, 51, [-1, 52, 23.5]],
    ['video_bitrate_kbps', 50, 200_000, [49, 200_001, 1000.5]],
    ['audio_bitrate_kbps', 8, 640, [7, 641, 128.5]],
    ['max_width', 2, 8192, [1, 8193, 640.5]],
    ['max_height', 2, 8192, [0, 9000, 360.1]],
  ] as const)('%s: accepts %p and %p, rejects %p', (field, min, max, bad) => {
    expect(compressOptions.parse({ [field]: min })[field]).toBe(min);
    expect(compressOptions.parse({ [field]: max })[field]).toBe(max);
    for (const value of bad) expect(issues({ [field]: value }).map((i) => i.path)).toEqual([field]);
  });

  it('rejects non-numbers and unknown fields', () => {
    expect(issues({ crf: '23' }).map((i) => i.path)).toEqual(['crf']);
    expect(issues({ quality: 'high' })[0]!.message).toContain('quality');
  });

  it('names the field under options when part of a message', () => {
    const r = z.object({ options: compressOptions }).safeParse({ options: { crf: 60 } });
    expect(r.success).toBe(false);
    expect(formatIssues(r.error!)).toMatch(/^options\.crf: /);
  });
});

describe('COMPRESS_PRESETS', () => {
  it('has an entry for every preset name', () => {
    expect(Object.keys(COMPRESS_PRESETS).sort()).toEqual([...COMPRESS_PRESET_NAMES].sort());
  });

  it('gets better (lower CRF, more audio bits) from low to high', () => {
    const { low, medium, high } = COMPRESS_PRESETS;
    expect(low.crf).toBeGreaterThan(medium.crf);
    expect(medium.crf).toBeGreaterThan(high.crf);
    expect(low.audioKbps).toBeLessThan(medium.audioKbps);
    expect(medium.audioKbps).toBeLessThan(high.audioKbps);
  });

  it('holds only values the schema itself would accept', () => {
    for (const p of Object.values(COMPRESS_PRESETS))
      expect(() => compressOptions.parse({ crf: p.crf, audio_bitrate_kbps: p.audioKbps })).not.toThrow();
  });

  it('documents custom as CRF 23', () => {
    expect(COMPRESS_PRESETS.custom.crf).toBe(23);
  });
});

describe('compressOptions target_size_mb', () => {
  it('takes a size instead of a CRF or a bitrate, with a preset and an audio bitrate', () => {
    expect(compressOptions.parse({ target_size_mb: 7.5, preset: 'low', audio_bitrate_kbps: 64 })).toMatchObject({ target_size_mb: 7.5 });
  });

  it('refuses it with crf or video_bitrate_kbps, and out of range', () => {
    expect(issues({ target_size_mb: 8, crf: 20 })).toEqual([
      { path: 'crf', message: '`crf` cannot be combined with `target_size_mb` (the size decides the bitrate)' },
    ]);
    expect(issues({ target_size_mb: 8, video_bitrate_kbps: 900 }).map((i) => i.path)).toEqual(['video_bitrate_kbps']);
    expect(issues({ target_size_mb: 0.05 }).map((i) => i.path)).toEqual(['target_size_mb']);
    expect(issues({ target_size_mb: 10_001 }).map((i) => i.path)).toEqual(['target_size_mb']);
  });
});
