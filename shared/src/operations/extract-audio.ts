import { z } from 'zod';
import { audioKbps } from './common.js';

export const AUDIO_FORMATS = ['mp3', 'aac', 'wav', 'opus', 'm4a', 'flac', 'ogg'] as const;
export const SAMPLE_RATES = [8000, 16000, 22050, 44100, 48000, 96000] as const;

/** `extract_audio`: the audio track alone, re-encoded to `format`. */
export const extractAudioOptions = z.strictObject({
  format: z.enum(AUDIO_FORMATS).default('mp3'),
  bitrate_kbps: audioKbps.optional(),
  sample_rate: z.union(SAMPLE_RATES.map((rate) => z.literal(rate))).optional(),
});
export type ExtractAudioOptions = z.infer<typeof extractAudioOptions>;
