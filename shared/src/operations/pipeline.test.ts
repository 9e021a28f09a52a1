import { z } from 'zod';
import { formatIssues } from '../validation.js';
import { operationOptions } from './index.js';
import { PIPELINE_OUTPUT_STEPS, PIPELINE_STEP_NAMES, PIPELINE_STEP_OPTIONS, pipelineOptions } from './pipeline.js';

/** The client-facing error details for `options`. */
function details(options: unknown): string {
  const r = z.object({ options: pipelineOptions }).safeParse({ options });
  if (r.success) throw new Error(`expected a failure, parsed ${JSON.stringify(r.data)}`);
  return formatIssues(r.error);
}

describe('pipelineOptions', () => {
  it('parses each step with its operation’s own schema, defaults filled', () => {
    expect(
      pipelineOptions.parse({
        steps: [
          { operation: 'trim', options: { start_time: 1 } },
          { operation: 'speed', options: { speed_factor: 2 } },
          { operation: 'compress' },
        ],
      }),
    ).toEqual({
      steps: [
        { operation: 'trim', options: { start_time: 1, stream_copy: false } },
        { operation: 'speed', options: { speed_factor: 2, maintain_pitch: true } },
        { operation: 'compress', options: { preset: 'medium', target_format: 'mp4' } },
      ],
    });
  });

  it('uses the very schemas of the operations (one list to extend, e.g. with watermark)', () => {
    for (const name of PIPELINE_STEP_NAMES) expect(PIPELINE_STEP_OPTIONS[name]).toBe(operationOptions[name]);
    expect(PIPELINE_STEP_NAMES).not.toContain('concat');
    expect(PIPELINE_STEP_NAMES).not.toContain('pipeline');
  });

  it('parses a text watermark step with the watermark operation’s defaults', () => {
    expect(pipelineOptions.parse({ steps: [{ operation: 'watermark', options: { type: 'text', text: 'hi' } }] }).steps[0]).toEqual({
      operation: 'watermark',
      options: { type: 'text', text: 'hi', position: 'bottom_right', margin: 16, opacity: 1, scale: 0.04, color: '#ffffff' },
    });
    expect(details({ steps: [{ operation: 'watermark', options: { type: 'text', text: '' } }] })).toMatch(
      /^options\.steps\[0\]\.options\.text: /,
    );
  });

  it('names the step and the field of a bad option', () => {
    expect(
      details({
        steps: [
          { operation: 'trim' },
          { operation: 'speed', options: { speed_factor: 2 } },
          { operation: 'compress', options: { crf: 60 } },
        ],
      }),
    ).toMatch(/^options\.steps\[2\]\.options\.crf: Too big/);
    expect(details({ steps: [{ operation: 'filter', options: { filters: [{ type: 'scale', width: 1 }] } }] })).toMatch(
      /^options\.steps\[0\]\.options\.filters\[0\]\.width: /,
    );
    expect(details({ steps: [{ operation: 'speed', options: { speed_factor: 2, pitch: 1 } }] })).toMatch(
      /^options\.steps\[0\]\.options: .*pitch/,
    );
  });

  it('refuses operations that are not steps, and empty or overlong lists', () => {
    expect(details({ steps: [{ operation: 'concat' }] })).toMatch(/^options\.steps\[0\]\.operation: /);
    expect(details({ steps: [{ operation: 'pipeline' }] })).toMatch(/^options\.steps\[0\]\.operation: /);
    expect(details({ steps: [] })).toMatch(/^options\.steps: /);
    expect(details({ steps: Array.from({ length: 11 }, () => ({ operation: 'trim' })) })).toMatch(/^options\.steps: /);
    expect(details({})).toMatch(/^options\.steps: /);
  });

  it.each([
    [
      [{ operation: 'thumbnail' }, { operation: 'trim' }],
      'options.steps[1]: trim cannot come after thumbnail (steps[0]), which decides the output and must be the last step',
    ],
    [
      [{ operation: 'compress' }, { operation: 'convert', options: { target_format: 'mkv' } }],
      'options.steps[1]: convert would decide the output a second time after compress (steps[0]); a pipeline has one output step, the last',
    ],
    [
      [{ operation: 'extract_audio' }, { operation: 'filter', options: { filters: [{ type: 'scale', width: 320 }] } }],
      'options.steps[1]: filter cannot come after extract_audio (steps[0]), which decides the output and must be the last step',
    ],
    [
      [{ operation: 'remove_audio' }, { operation: 'extract_audio' }],
      'options.steps[1]: extract_audio needs the audio that remove_audio (steps[0]) drops',
    ],
    [
      [{ operation: 'remove_audio' }, { operation: 'filter', options: { filters: [{ type: 'normalize' }] } }],
      'options.steps[1]: filter needs the audio that remove_audio (steps[0]) drops',
    ],
    [
      [{ operation: 'trim' }, { operation: 'watermark', options: { type: 'image' } }, { operation: 'compress' }],
      'options.steps[1]: image watermarks are not supported as pipeline steps: the image would be a second input and a pipeline has one; use type "text", or a watermark job on the pipeline\'s output',
    ],
  ])('refuses the chain %j, saying why', (steps, why) => {
    expect(details({ steps })).toBe(why);
  });

  it('accepts chains that make sense', () => {
    for (const steps of [
      [{ operation: 'remove_audio' }, { operation: 'filter', options: { filters: [{ type: 'scale', width: 320 }] } }, { operation: 'gif' }],
      [
        { operation: 'speed', options: { speed_factor: 2 } },
        { operation: 'trim', options: { start_time: 1 } },
        { operation: 'speed', options: { speed_factor: 0.5 } },
      ],
      [{ operation: 'thumbnail' }],
      [
        { operation: 'trim', options: { start_time: 1, end_time: 4 } },
        { operation: 'watermark', options: { type: 'text', text: '© media-foundry' } },
        { operation: 'compress' },
      ],
    ])
      expect(pipelineOptions.safeParse({ steps }).success).toBe(true);
  });

  it('lists the output steps among the steps', () => {
    for (const name of PIPELINE_OUTPUT_STEPS) expect(PIPELINE_STEP_NAMES).toContain(name);
  });
});
