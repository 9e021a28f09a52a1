import { z } from 'zod';
import { audioKbps } from './common.js';

export const AUDIO_FORMATS = ['mp3', 'aac', 'wav', 'opus', 'm4a', 'flac', 'ogg'] as const;
export const SAMPLE_RATES = [8000, 16000, 22050, 44100, 48000, 96000] as const;

/** Sample rates (of the spec's set) an encoder cannot produce: Opus runs at 8/12/16/24/48 kHz, MP3 tops out at 48 kHz. */
export const UNSUPPORTED_SAMPLE_RATES: Partial<Record<(typeof AUDIO_FORMATS)[number], readonly number[]>> = {
  opus: [22050, 44100, 96000],
  mp3: [96000],
};

/** `extract_audio`: the audio track alone, re-encoded to `format`. */
export const extractAudioOptions = z
  .strictObject({
    format: z.enum(AUDIO_FORMATS).default('mp3'),
    bitrate_kbps: audioKbps.optional(),
    sample_rate: z.union(SAMPLE_RATES.map((rate) => z.literal(rate))).optional(),
  })
  .refine((o) => o.sample_rate === undefined || !UNSUPPORTED_SAMPLE_RATES[o.format]?.includes(o.sample_rate), {
    path: ['sample_rate'],
    message: 'this sample rate is not available for this format (opus: 8000, 16000 or 48000; mp3: up to 48000)',
  });
export type ExtractAudioOptions = z.infer<typeof extractAudioOptions>;
