/**
 * Limits on what ffmpeg and ffprobe may open. Uploads are attacker-controlled
 * files: a "video" can be an HLS or concat playlist that makes ffmpeg fetch
 * URLs or read local files (the HLS attacks behind CVE-2016-1897/1898 and
 * CVE-2017-9993). Every input therefore gets
 * - `-protocol_whitelist file,pipe`: no network protocols at all, and
 * - `-format_whitelist <media demuxers>`: playlist demuxers (hls, dash,
 *   concat, …) are refused at probe time, so such an upload fails cleanly.
 * The concat demuxer is allowed only for the list the worker wrote itself.
 */

/** Demuxers for real media files: containers, elementary streams, still images and subtitle files. */
export const MEDIA_DEMUXERS = [
  // containers
  'mov',
  'mp4',
  'm4a',
  '3gp',
  '3g2',
  'mj2',
  'matroska',
  'webm',
  'avi',
  'flv',
  'mpegts',
  'mpeg',
  'asf',
  'ogg',
  'mxf',
  'nut',
  'wtv',
  'rm',
  'ivf',
  'caf',
  'w64',
  'dv',
  'gif',
  'apng',
  // audio
  'mp3',
  'aac',
  'wav',
  'flac',
  'ac3',
  'eac3',
  'dts',
  'aiff',
  'amr',
  'wv',
  'ape',
  'tta',
  'loas',
  'au',
  'mlp',
  'truehd',
  // elementary video
  'h264',
  'hevc',
  'm4v',
  'mpegvideo',
  'obu',
  'vc1',
  'yuv4mpegpipe',
  'mjpeg',
  // still images
  'image2',
  'png_pipe',
  'jpeg_pipe',
  'webp_pipe',
  'bmp_pipe',
  'tiff_pipe',
  // subtitle files
  'srt',
  'ass',
  'webvtt',
  'subviewer',
  'microdvd',
  'sami',
  'mpl2',
  'jacosub',
  'realtext',
  'stl',
  'vobsub',
  'sup',
] as const;

const MEDIA = MEDIA_DEMUXERS.join(',');

/** The options placed before an input: local files only, media demuxers only (plus concat for our own list). */
export function inputGuards(forcedFormat: string | undefined): string[] {
  const formats = forcedFormat === 'concat' ? `concat,${MEDIA}` : MEDIA;
  return ['-protocol_whitelist', 'file,pipe', '-format_whitelist', formats];
}

/** Inserts the input guards before every `-i` of an ffmpeg argument list. */
export function guardInputs(args: readonly string[]): string[] {
  const out: string[] = [];
  // the `-f` given since the previous input forces this input's demuxer
  let forced: string | undefined;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '-f') forced = args[i + 1];
    if (args[i] === '-i') {
      out.push(...inputGuards(forced));
      forced = undefined;
    }
    out.push(args[i]!);
  }
  return out;
}
