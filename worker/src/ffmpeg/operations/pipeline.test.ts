import { ErrorCode, pipelineOptions, type PipelineStepInput } from '@media-foundry/shared';
import { guardInputs } from '../hardening.js';
import { END_MARGIN_FRAMES } from '../plan.js';
import { argv, h264Video, mediaInfoFixture, multiInputContext, thrownBy } from './test-fixtures.js';
import { buildPipeline } from './pipeline.js';

const ctx = multiInputContext('/job/input.mp4');

/** A probed 10-second 1280x720 25 fps H.264/AAC (48 kHz stereo) MP4; override any part. */
const mediaInfo = mediaInfoFixture({
  formatName: 'mp4',
  sizeBytes: 1,
  bitrate: 1,
  video: h264Video('1280x720', 25),
});

function plan(steps: PipelineStepInput[], info = mediaInfo()) {
  return buildPipeline(pipelineOptions.parse({ steps }), info, ctx);
}

/** The steps most pairs below combine with another: a text watermark, and doubling the speed. */
const HELLO_WATERMARK: PipelineStepInput = { operation: 'watermark', options: { type: 'text', text: 'hello' } };
const DOUBLE_SPEED: PipelineStepInput = { operation: 'speed', options: { speed_factor: 2 } };

/**
 * Every pair of step kinds that compose differently: the argument lists
 * (one string per ffmpeg run), the seconds each run writes, the output files.
 */
const PAIRS: [string, PipelineStepInput[], string[], (number | null)[], string[]][] = [
  [
    'trim → speed',
    [{ operation: 'trim', options: { start_time: 2, end_time: 8 } }, DOUBLE_SPEED],
    [
      '-ss 2 -t 6 -i /job/input.mp4 -map 0:0 -vf setpts=PTS/2 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -af atempo=2 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [3],
    ['output.mp4'],
  ],
  [
    'speed → trim',
    [DOUBLE_SPEED, { operation: 'trim', options: { start_time: 1, end_time: 3 } }],
    [
      '-ss 2 -t 4 -i /job/input.mp4 -map 0:0 -vf setpts=PTS/2 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -af atempo=2 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [2],
    ['output.mp4'],
  ],
  [
    'trim → filter',
    [
      { operation: 'trim', options: { start_time: 1 } },
      {
        operation: 'filter',
        options: {
          filters: [
            { type: 'scale', width: 640 },
            { type: 'volume', volume: 2 },
          ],
        },
      },
    ],
    [
      '-ss 1 -i /job/input.mp4 -map 0:0 -vf scale=640:-2 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -af volume=2 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [9],
    ['output.mp4'],
  ],
  [
    'filter → trim',
    [
      { operation: 'filter', options: { filters: [{ type: 'crop', width: 640, height: 360 }] } },
      { operation: 'trim', options: { start_time: 1, end_time: 2 } },
    ],
    [
      '-ss 1 -t 1 -i /job/input.mp4 -map 0:0 -vf crop=640:360:0:0 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [1],
    ['output.mp4'],
  ],
  [
    'filter normalize → trim',
    [
      { operation: 'filter', options: { filters: [{ type: 'normalize' }] } },
      { operation: 'trim', options: { start_time: 1, end_time: 2 } },
    ],
    [
      '-i /job/input.mp4 -map 0:0 -c:v copy -map 0:1 -af loudnorm=I=-16:TP=-1.5:LRA=11,aformat=sample_rates=48000 -c:a aac -b:a 128k -sn -dn /job/pipeline-1.mkv',
      '-ss 1 -t 1 -i /job/pipeline-1.mkv -map 0:0 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [10, 1],
    ['output.mp4'],
  ],
  [
    'speed → filter',
    [
      { operation: 'speed', options: { speed_factor: 0.5 } },
      { operation: 'filter', options: { filters: [{ type: 'rotate', angle: 90 }] } },
    ],
    [
      '-i /job/input.mp4 -map 0:0 -vf setpts=PTS/0.5,transpose=1 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -af atempo=0.5 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [20],
    ['output.mp4'],
  ],
  [
    'filter → speed',
    [
      { operation: 'filter', options: { filters: [{ type: 'fps', fps: 10 }] } },
      { operation: 'speed', options: { speed_factor: 4, maintain_pitch: false } },
    ],
    [
      '-i /job/input.mp4 -map 0:0 -vf fps=10,setpts=PTS/4 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -af asetrate=192000,aresample=48000 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [2.5],
    ['output.mp4'],
  ],
  [
    'trim → remove_audio',
    [{ operation: 'trim', options: { start_time: 1 } }, { operation: 'remove_audio' }],
    [
      '-ss 1 -i /job/input.mp4 -map 0:0 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -an -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [9],
    ['output.mp4'],
  ],
  [
    'remove_audio → speed',
    [{ operation: 'remove_audio' }, DOUBLE_SPEED],
    [
      '-i /job/input.mp4 -map 0:0 -vf setpts=PTS/2 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -an -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [5],
    ['output.mp4'],
  ],
  [
    'trim copy → speed',
    [{ operation: 'trim', options: { start_time: 1, stream_copy: true } }, DOUBLE_SPEED],
    [
      '-ss 1 -i /job/input.mp4 -map 0:0 -c:v copy -map 0:1 -c:a copy -avoid_negative_ts make_zero -sn -dn /job/pipeline-1.mkv',
      '-i /job/pipeline-1.mkv -map 0:0 -vf setpts=PTS/2 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -af atempo=2 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [9, 4.5],
    ['output.mp4'],
  ],
  [
    'speed → trim copy',
    [DOUBLE_SPEED, { operation: 'trim', options: { start_time: 1, stream_copy: true } }],
    [
      '-i /job/input.mp4 -map 0:0 -vf setpts=PTS/2 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -af atempo=2 -c:a aac -b:a 128k -sn -dn /job/pipeline-1.mkv',
      '-ss 1 -i /job/pipeline-1.mkv -map 0:0 -c:v copy -map 0:1 -c:a copy -avoid_negative_ts make_zero -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [5, 4],
    ['output.mp4'],
  ],
  [
    'trim copy → remove_audio',
    [{ operation: 'trim', options: { start_time: 1, end_time: 4, stream_copy: true } }, { operation: 'remove_audio' }],
    ['-ss 1 -t 3 -i /job/input.mp4 -map 0:0 -c:v copy -an -avoid_negative_ts make_zero -sn -dn -movflags +faststart /job/out/output.mp4'],
    [3],
    ['output.mp4'],
  ],
  [
    'trim copy → convert copy',
    [
      { operation: 'trim', options: { start_time: 1, stream_copy: true } },
      { operation: 'convert', options: { target_format: 'mkv', stream_copy: true } },
    ],
    ['-ss 1 -i /job/input.mp4 -map 0:0 -c:v copy -map 0:1 -c:a copy -avoid_negative_ts make_zero -sn -dn /job/out/output.mkv'],
    [9],
    ['output.mkv'],
  ],
  [
    'trim → compress',
    [
      { operation: 'trim', options: { start_time: 1, end_time: 4 } },
      { operation: 'compress', options: { preset: 'low', max_width: 640 } },
    ],
    [
      '-ss 1 -t 3 -i /job/input.mp4 -map 0:0 -vf scale=640:360 -c:v libx264 -preset veryfast -crf 32 -pix_fmt yuv420p -map 0:1 -c:a aac -b:a 96k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [3],
    ['output.mp4'],
  ],
  [
    'speed → compress target',
    [DOUBLE_SPEED, { operation: 'compress', options: { target_size_mb: 2 } }],
    [
      '-i /job/input.mp4 -map 0:0 -vf setpts=PTS/2 -c:v libx264 -preset medium -b:v 2905k -x264-params ratetol=0.2 -pass 1 -passlogfile /job/passlog -pix_fmt yuv420p -fps_mode vfr -an -sn -dn -f null /dev/null',
      '-i /job/input.mp4 -map 0:0 -vf setpts=PTS/2 -c:v libx264 -preset medium -b:v 2905k -x264-params ratetol=0.2 -pass 2 -passlogfile /job/passlog -pix_fmt yuv420p -fps_mode vfr -map 0:1 -af atempo=2 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [5, 5],
    ['output.mp4'],
  ],
  [
    'filter → compress webm target',
    [
      { operation: 'filter', options: { filters: [{ type: 'scale', width: 640 }] } },
      { operation: 'compress', options: { target_size_mb: 1, target_format: 'webm' } },
    ],
    [
      '-i /job/input.mp4 -map 0:0 -vf scale=640:-2 -c:v libvpx-vp9 -b:v 624k -row-mt 1 -deadline good -cpu-used 4 -pass 1 -passlogfile /job/passlog -pix_fmt yuv420p -fps_mode vfr -an -sn -dn -f null /dev/null',
      '-i /job/input.mp4 -map 0:0 -vf scale=640:-2 -c:v libvpx-vp9 -b:v 624k -row-mt 1 -deadline good -cpu-used 4 -pass 2 -passlogfile /job/passlog -pix_fmt yuv420p -fps_mode vfr -map 0:1 -af aformat=channel_layouts=mono|stereo|3.0|quad|5.0|5.1|6.1|7.1 -c:a libopus -b:a 128k -sn -dn /job/out/output.webm',
    ],
    [10, 10],
    ['output.webm'],
  ],
  [
    'speed → convert',
    [DOUBLE_SPEED, { operation: 'convert', options: { target_format: 'webm' } }],
    [
      '-i /job/input.mp4 -map 0:0 -vf setpts=PTS/2 -c:v libvpx-vp9 -b:v 0 -crf 31 -row-mt 1 -deadline good -cpu-used 4 -pix_fmt yuv420p -map 0:1 -af atempo=2,aformat=channel_layouts=mono|stereo|3.0|quad|5.0|5.1|6.1|7.1 -c:a libopus -b:a 128k -sn -dn /job/out/output.webm',
    ],
    [5],
    ['output.webm'],
  ],
  [
    'filter → convert copy',
    [
      { operation: 'filter', options: { filters: [{ type: 'volume', volume: 0.5 }] } },
      { operation: 'convert', options: { target_format: 'mkv', stream_copy: true } },
    ],
    ['-i /job/input.mp4 -map 0:0 -c:v copy -map 0:1 -af volume=0.5 -c:a aac -b:a 128k -sn -dn /job/out/output.mkv'],
    [10],
    ['output.mkv'],
  ],
  [
    'speed → extract_audio',
    [
      { operation: 'speed', options: { speed_factor: 1.5 } },
      { operation: 'extract_audio', options: { format: 'opus' } },
    ],
    [
      '-i /job/input.mp4 -map 0:1 -vn -sn -dn -af atempo=1.5,aformat=channel_layouts=mono|stereo|3.0|quad|5.0|5.1|6.1|7.1 -c:a libopus -b:a 128k -f ogg /job/out/output.opus',
    ],
    [6.666666666666667],
    ['output.opus'],
  ],
  [
    'trim → gif',
    [
      { operation: 'trim', options: { start_time: 2 } },
      { operation: 'gif', options: { start_time: 1, duration: 3, optimize: false } },
    ],
    ['-ss 3 -t 3 -i /job/input.mp4 -map 0:0 -vf fps=10,scale=480:-1:flags=lanczos -an -sn -dn -loop 0 /job/out/output.gif'],
    [3],
    ['output.gif'],
  ],
  [
    'speed → gif',
    [DOUBLE_SPEED, { operation: 'gif', options: { duration: 30 } }],
    [
      '-ss 0 -t 10 -i /job/input.mp4 -filter_complex [0:0]setpts=PTS/2,fps=10,scale=480:-1:flags=lanczos,split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=5 -an -sn -dn -loop 0 /job/out/output.gif',
    ],
    [5],
    ['output.gif'],
  ],
  [
    'trim → thumbnail',
    [
      { operation: 'trim', options: { start_time: 4, end_time: 6 } },
      { operation: 'thumbnail', options: { timestamp: 1 } },
    ],
    ['-ss 5 -i /job/input.mp4 -map 0:0 -frames:v 1 -update 1 /job/out/thumbnail.png'],
    [null],
    ['thumbnail.png'],
  ],
  [
    'speed → thumbnail',
    [DOUBLE_SPEED, { operation: 'thumbnail', options: { count: 2, format: 'jpg', width: 320 } }],
    [
      '-ss 2.5 -i /job/input.mp4 -map 0:0 -frames:v 1 -vf setpts=PTS/2,scale=320:-2 -q:v 2 -update 1 /job/out/thumbnail_001.jpg',
      '-ss 7.5 -i /job/input.mp4 -map 0:0 -frames:v 1 -vf setpts=PTS/2,scale=320:-2 -q:v 2 -update 1 /job/out/thumbnail_002.jpg',
    ],
    [null, null],
    ['thumbnail_001.jpg', 'thumbnail_002.jpg'],
  ],
  [
    'trim → watermark',
    [{ operation: 'trim', options: { start_time: 2, end_time: 8 } }, HELLO_WATERMARK],
    [
      '-ss 2 -t 6 -i /job/input.mp4 -map 0:0 -vf drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/job/watermark-step1.txt:expansion=none:fontsize=51:fontcolor=0xffffff@1:x=w-tw-16:y=h-th-16 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [6],
    ['output.mp4'],
  ],
  [
    'watermark → trim',
    [
      { operation: 'watermark', options: { type: 'text', text: 'hello', position: 'top_left' } },
      { operation: 'trim', options: { start_time: 2, end_time: 8 } },
    ],
    [
      '-ss 2 -t 6 -i /job/input.mp4 -map 0:0 -vf drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/job/watermark-step0.txt:expansion=none:fontsize=51:fontcolor=0xffffff@1:x=16:y=16 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [6],
    ['output.mp4'],
  ],
  [
    'trim copy → watermark',
    [{ operation: 'trim', options: { start_time: 2, end_time: 8, stream_copy: true } }, HELLO_WATERMARK],
    [
      '-ss 2 -t 6 -i /job/input.mp4 -map 0:0 -c:v copy -map 0:1 -c:a copy -avoid_negative_ts make_zero -sn -dn /job/pipeline-1.mkv',
      '-i /job/pipeline-1.mkv -map 0:0 -vf drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/job/watermark-step1.txt:expansion=none:fontsize=51:fontcolor=0xffffff@1:x=w-tw-16:y=h-th-16 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -c:a copy -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [6, 6],
    ['output.mp4'],
  ],
  [
    'filter → watermark (the text sized to the scaled frame)',
    [{ operation: 'filter', options: { filters: [{ type: 'scale', width: 640 }] } }, HELLO_WATERMARK],
    [
      '-i /job/input.mp4 -map 0:0 -vf scale=640:-2,drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/job/watermark-step1.txt:expansion=none:fontsize=26:fontcolor=0xffffff@1:x=w-tw-16:y=h-th-16 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -c:a copy -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [10],
    ['output.mp4'],
  ],
  [
    'speed → watermark',
    [DOUBLE_SPEED, HELLO_WATERMARK],
    [
      '-i /job/input.mp4 -map 0:0 -vf setpts=PTS/2,drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/job/watermark-step1.txt:expansion=none:fontsize=51:fontcolor=0xffffff@1:x=w-tw-16:y=h-th-16 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -map 0:1 -af atempo=2 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [5],
    ['output.mp4'],
  ],
  [
    'remove_audio → watermark',
    [{ operation: 'remove_audio' }, HELLO_WATERMARK],
    [
      '-i /job/input.mp4 -map 0:0 -vf drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/job/watermark-step1.txt:expansion=none:fontsize=51:fontcolor=0xffffff@1:x=w-tw-16:y=h-th-16 -c:v libx264 -preset veryfast -crf 23 -pix_fmt yuv420p -an -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [10],
    ['output.mp4'],
  ],
  [
    'watermark → compress',
    [HELLO_WATERMARK, { operation: 'compress' }],
    [
      '-i /job/input.mp4 -map 0:0 -vf drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/job/watermark-step0.txt:expansion=none:fontsize=51:fontcolor=0xffffff@1:x=w-tw-16:y=h-th-16 -c:v libx264 -preset medium -crf 28 -pix_fmt yuv420p -map 0:1 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4',
    ],
    [10],
    ['output.mp4'],
  ],
  [
    'watermark → convert',
    [HELLO_WATERMARK, { operation: 'convert', options: { target_format: 'webm' } }],
    [
      '-i /job/input.mp4 -map 0:0 -vf drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/job/watermark-step0.txt:expansion=none:fontsize=51:fontcolor=0xffffff@1:x=w-tw-16:y=h-th-16 -c:v libvpx-vp9 -b:v 0 -crf 31 -row-mt 1 -deadline good -cpu-used 4 -pix_fmt yuv420p -map 0:1 -af aformat=channel_layouts=mono|stereo|3.0|quad|5.0|5.1|6.1|7.1 -c:a libopus -b:a 128k -sn -dn /job/out/output.webm',
    ],
    [10],
    ['output.webm'],
  ],
  [
    'watermark → gif',
    [HELLO_WATERMARK, { operation: 'gif', options: { duration: 2 } }],
    [
      '-ss 0 -t 2 -i /job/input.mp4 -filter_complex [0:0]drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/job/watermark-step0.txt:expansion=none:fontsize=51:fontcolor=0xffffff@1:x=w-tw-16:y=h-th-16,fps=10,scale=480:-1:flags=lanczos,split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=bayer:bayer_scale=5 -an -sn -dn -loop 0 /job/out/output.gif',
    ],
    [2],
    ['output.gif'],
  ],
  [
    'watermark → thumbnail',
    [HELLO_WATERMARK, { operation: 'thumbnail', options: { timestamp: 3 } }],
    [
      '-ss 3 -i /job/input.mp4 -map 0:0 -frames:v 1 -vf drawtext=fontfile=/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf:textfile=/job/watermark-step0.txt:expansion=none:fontsize=51:fontcolor=0xffffff@1:x=w-tw-16:y=h-th-16 -update 1 /job/out/thumbnail.png',
    ],
    [null],
    ['thumbnail.png'],
  ],
];

describe('buildPipeline, per pair of steps', () => {
  it.each(PAIRS)('%s', (_name, steps, runs, runSeconds, outputs) => {
    const built = plan(steps);
    expect(built.runs.map((r) => r.join(' '))).toEqual(runs);
    expect(built.runSeconds).toEqual(runSeconds);
    expect(built.outputs.map((o) => o.filename)).toEqual(outputs);
    expect(built.expectedSeconds).toEqual(runSeconds[runSeconds.length - 1]);
  });
});

describe('buildPipeline', () => {
  describe('a video ending before the file (the audio runs on to 10 s)', () => {
    const info = mediaInfo({ video: { ...h264Video('1280x720', 25), end: 6 } });
    const seekOf = (args: string[]) => Number(args[args.indexOf('-ss') + 1]);

    it('takes a thumbnail after a speed step from the last frames, in the input’s seconds', () => {
      // 2× leaves the picture 3 s long; 2.99 s of it is 5.98 s of input, inside its last two frames
      const built = plan([DOUBLE_SPEED, { operation: 'thumbnail', options: { timestamp: 2.99 } }], info);
      expect(seekOf(built.runs[0]!)).toBeCloseTo(6 - END_MARGIN_FRAMES / 25, 6);
    });

    it('follows a trim: the picture ends 4 s into a trim from 2 s', () => {
      const built = plan(
        [
          { operation: 'trim', options: { start_time: 2, end_time: 9 } },
          { operation: 'thumbnail', options: { count: 2 } },
        ],
        info,
      );
      expect(built.runs.map(seekOf)).toEqual([3, 5]);
    });

    it('refuses a GIF starting after the picture, naming the step', () => {
      const e = thrownBy(() => plan([{ operation: 'gif', options: { start_time: 7 } }], info));
      expect([e.message, e.details]).toEqual(['GIF start is past the end of the video', 'steps[0]: start_time 7s, the video ends at 6s']);
    });
  });

  it('fuses the sample of the issue (trim → speed → scale → compress) into one run, encoding once', () => {
    const built = plan([
      { operation: 'trim', options: { start_time: 2, end_time: 8 } },
      { operation: 'speed', options: { speed_factor: 1.5 } },
      { operation: 'filter', options: { filters: [{ type: 'scale', width: 640 }] } },
      { operation: 'compress', options: { preset: 'medium' } },
    ]);
    expect(built.runs).toEqual([
      [
        ...['-ss', '2', '-t', '6', '-i', '/job/input.mp4', '-map', '0:0', '-vf', 'setpts=PTS/1.5,scale=640:-2'],
        ...['-c:v', 'libx264', '-preset', 'medium', '-crf', '28', '-pix_fmt', 'yuv420p'],
        ...argv('-map 0:1 -af atempo=1.5 -c:a aac -b:a 128k -sn -dn -movflags +faststart /job/out/output.mp4'),
      ],
    ]);
    expect(built.runSeconds).toEqual([4]);
  });

  it('maps trims through every speed change before them', () => {
    // 2× then 0.5×: back to real time; the trim at 1–3 s of that is 1–3 s of the input
    expect(
      plan([
        { operation: 'speed', options: { speed_factor: 2 } },
        { operation: 'speed', options: { speed_factor: 0.5 } },
        { operation: 'trim', options: { start_time: 1, end_time: 3 } },
      ]).runs[0]!.slice(0, 4),
    ).toEqual(['-ss', '1', '-t', '2']);
    // two trims narrow one window: 2–8, then 1–3 of that → 3–5
    expect(
      plan([
        { operation: 'trim', options: { start_time: 2, end_time: 8 } },
        { operation: 'trim', options: { start_time: 1, end_time: 3 } },
      ]).runs[0]!.slice(0, 4),
    ).toEqual(['-ss', '3', '-t', '2']);
  });

  it('rounds an odd tracked size to even sides once, after the chain', () => {
    const built = plan(
      [{ operation: 'speed', options: { speed_factor: 2 } }],
      mediaInfo({ video: { index: 0, codec: 'h264', width: 641, height: 361, fps: 25 } }),
    );
    expect(built.runs[0]).toContain('setpts=PTS/2,scale=trunc(iw/2)*2:trunc(ih/2)*2');
  });

  it('copies H.264 into AVI with start codes, after a copying trim too', () => {
    const mp3 = mediaInfo({ audio: { index: 1, codec: 'mp3', sampleRate: 44100, channels: 2 } });
    const built = plan(
      [
        { operation: 'trim', options: { start_time: 1, stream_copy: true } },
        { operation: 'convert', options: { target_format: 'avi', stream_copy: true } },
      ],
      mp3,
    );
    expect(built.runs).toEqual([
      argv(
        '-ss 1 -i /job/input.mp4 -map 0:0 -c:v copy -bsf:v h264_mp4toannexb -map 0:1 -c:a copy -avoid_negative_ts make_zero -sn -dn /job/out/output.avi',
      ),
    ]);
  });

  it('copies MP3 under 16 kHz into no MP4: a copying trim writes Matroska, a video step re-encodes the audio', () => {
    const mp3At11k = mediaInfo({ audio: { index: 1, codec: 'mp3', sampleRate: 11025, channels: 1 } });
    const trimmed = plan([{ operation: 'trim', options: { start_time: 1, stream_copy: true } }], mp3At11k);
    expect(trimmed.outputs.map((o) => o.filename)).toEqual(['output.mkv']);
    const filtered = plan([{ operation: 'filter', options: { filters: [{ type: 'fps', fps: 10 }] } }], mp3At11k);
    expect(filtered.outputs.map((o) => o.filename)).toEqual(['output.mp4']);
    expect(filtered.runs[0]!.join(' ')).toContain('-map 0:1 -c:a aac -b:a 128k');
  });

  it('copies an odd-sized stream no step touched as it is: no rounding filter beside a stream copy', () => {
    const odd = mediaInfo({ video: { index: 0, codec: 'h264', width: 321, height: 241, fps: 25 } });
    const built = plan([{ operation: 'convert', options: { target_format: 'mkv', stream_copy: true } }], odd);
    expect(built.runs[0]!.join(' ')).toBe('-i /job/input.mp4 -map 0:0 -c:v copy -map 0:1 -c:a copy -sn -dn /job/out/output.mkv');
  });

  it('without audio, writes video only; with audio only, M4A', () => {
    expect(plan([{ operation: 'speed', options: { speed_factor: 2 } }], mediaInfo({ audio: null })).runs[0]).toContain('-an');
    const audioOnly = plan([{ operation: 'speed', options: { speed_factor: 2 } }], mediaInfo({ video: null }));
    expect(audioOnly.runs[0]).toContain('-vn');
    expect(audioOnly.outputs[0]!.filename).toBe('output.m4a');
  });

  it('keeps the size target as the output limit', () => {
    const built = plan([{ operation: 'compress', options: { target_size_mb: 2 } }]);
    expect(built.outputs[0]!.maxBytes).toBe(2_000_000);
  });

  it('names the step in errors about the media', () => {
    const past = thrownBy(() =>
      plan([
        { operation: 'speed', options: { speed_factor: 2 } },
        { operation: 'trim', options: { start_time: 6 } },
      ]),
    );
    expect(past.code).toBe(ErrorCode.JOB_FAILED);
    expect(past.details).toBe('steps[1]: start_time 6s, the steps before leave 5s');
    const end = thrownBy(() =>
      plan([
        { operation: 'trim', options: { start_time: 1, end_time: 5 } },
        { operation: 'trim', options: { start_time: 1, end_time: 6 } },
      ]),
    );
    expect(end.message).toBe('Trim end is past the end of the input');
    const noAudio = thrownBy(() =>
      plan(
        [
          {
            operation: 'filter',
            options: {
              filters: [
                { type: 'scale', width: 320 },
                { type: 'volume', volume: 2 },
              ],
            },
          },
        ],
        mediaInfo({ audio: null }),
      ),
    );
    expect(noAudio.details).toMatch(/^steps\[0\]\.options\.filters\[1\] \(volume\): there is no audio/);
    const noVideo = thrownBy(() => plan([{ operation: 'gif' }], mediaInfo({ video: null })));
    expect(noVideo.message).toBe('Input has no video stream');
    const copy = thrownBy(() =>
      plan([
        { operation: 'speed', options: { speed_factor: 2 } },
        { operation: 'convert', options: { target_format: 'webm', stream_copy: true } },
      ]),
    );
    expect(copy.message).toBe('Cannot stream-copy h264 video into webm');
    // FLV takes MP3 at 44.1, 22.05 or 11.025 kHz only, as a plain convert says
    const mp3At16k = mediaInfo({ audio: { index: 1, codec: 'mp3', sampleRate: 16000, channels: 1 } });
    const flv = thrownBy(() => plan([{ operation: 'convert', options: { target_format: 'flv', stream_copy: true } }], mp3At16k));
    expect([flv.message, flv.details]).toEqual([
      'Cannot stream-copy mp3 audio at 16000 Hz into flv',
      'steps[0]: flv takes MP3 at 44100, 22050, 11025 Hz; use stream_copy: false to re-encode',
    ]);
    // MP4 takes MP3 at 16 kHz and above only
    const mp3At11k = mediaInfo({ audio: { index: 1, codec: 'mp3', sampleRate: 11025, channels: 1 } });
    const mp4 = thrownBy(() =>
      plan(
        [
          { operation: 'trim', options: { start_time: 1, stream_copy: true } },
          { operation: 'convert', options: { target_format: 'mp4', stream_copy: true } },
        ],
        mp3At11k,
      ),
    );
    expect([mp4.message, mp4.details]).toEqual([
      'Cannot stream-copy mp3 audio at 11025 Hz into mp4',
      'steps[1]: mp4 takes MP3 at 16000 Hz and above; use stream_copy: false to re-encode',
    ]);
    const small = thrownBy(() =>
      plan([
        { operation: 'speed', options: { speed_factor: 0.5 } },
        { operation: 'compress', options: { target_size_mb: 0.1 } },
      ]),
    );
    expect(small.message).toBe('Target size is too small');
    expect(small.details).toMatch(/20s of 1280x720 output; the smallest reachable size is [\d.]+ MB$/);
  });

  it('clamps a trim end within a frame of the end, as trim does', () => {
    expect(plan([{ operation: 'trim', options: { start_time: 1, end_time: 10.04 } }]).runs[0]!.slice(0, 4)).toEqual(argv('-ss 1 -t 9'));
  });

  it('leaves every run, both passes and the runs on temp files included, to the input guards', () => {
    const built = plan([
      { operation: 'trim', options: { start_time: 1, stream_copy: true } },
      { operation: 'speed', options: { speed_factor: 2 } },
      { operation: 'compress', options: { target_size_mb: 2 } },
    ]);
    expect(built.runs).toHaveLength(3);
    for (const run of built.runs) {
      const guarded = guardInputs(run, 1_000_000);
      const input = guarded.indexOf('-i');
      expect(guarded.slice(input - 6, input)).toEqual([
        '-protocol_whitelist',
        'file,pipe',
        '-format_whitelist',
        expect.any(String),
        '-max_pixels',
        '1000000',
      ]);
    }
    // the pass log and the intermediate stay in the job's temp dir
    expect(built.runs[1]).toEqual(expect.arrayContaining(['-i', '/job/pipeline-1.mkv', '-passlogfile', '/job/passlog']));
  });

  it('writes each text watermark’s text to its own file in the job’s temp dir, never into the graph', () => {
    const text = "it's 100%: [a] ; b\\c %{pts}";
    const built = plan([
      { operation: 'watermark', options: { type: 'text', text, position: 'top_left' } },
      { operation: 'speed', options: { speed_factor: 2 } },
      { operation: 'watermark', options: { type: 'text', text: 'second' } },
    ]);
    expect(built.files).toEqual([
      { path: '/job/watermark-step0.txt', content: text },
      { path: '/job/watermark-step2.txt', content: 'second' },
    ]);
    expect(built.runs).toHaveLength(1);
    const graph = built.runs[0]![built.runs[0]!.indexOf('-vf') + 1]!;
    expect(graph).toContain('textfile=/job/watermark-step0.txt:expansion=none');
    expect(graph).toContain('textfile=/job/watermark-step2.txt:expansion=none');
    expect(graph).not.toContain('100%');
    // a pipeline without a text watermark writes no file
    expect(plan([{ operation: 'trim', options: { start_time: 1 } }]).files).toBeUndefined();
  });

  it('draws with the configured font', () => {
    const built = buildPipeline(
      pipelineOptions.parse({ steps: [{ operation: 'watermark', options: { type: 'text', text: 'x' } }] }),
      mediaInfo(),
      { ...ctx, fontFile: '/fonts/Mine.ttf' },
    );
    expect(built.runs[0]!.join(' ')).toContain('drawtext=fontfile=/fonts/Mine.ttf:');
  });

  it('refuses an image watermark step (it would need a second input) and a watermark without video', () => {
    const image = thrownBy(() =>
      buildPipeline(
        { steps: [{ operation: 'watermark', options: { type: 'image', position: 'center', margin: 0, opacity: 1, scale: 0.2 } }] },
        mediaInfo(),
        ctx,
      ),
    );
    expect(image.code).toBe(ErrorCode.VALIDATION_ERROR);
    expect(image.details).toMatch(/^steps\[0\]: image watermarks are not supported as pipeline steps/);
    const noVideo = thrownBy(() => plan([{ operation: 'watermark', options: { type: 'text', text: 'x' } }], mediaInfo({ video: null })));
    expect(noVideo.code).toBe(ErrorCode.JOB_FAILED);
    expect(noVideo.details).toBe('steps[0] (watermark): there is no video at that step');
  });
});

describe('buildPipeline: an MPEG-TS input (its demuxer seeks past the time)', () => {
  const ts = mediaInfo({ formatName: 'mpegts', duration: 60, video: { ...h264Video('1280x720', 25), end: 60 } });

  it('enters a re-encoded window early and decodes its way to the start, as trim does', () => {
    const built = plan(
      [
        { operation: 'trim', options: { start_time: 20, end_time: 30 } },
        { operation: 'filter', options: { filters: [{ type: 'scale', width: 640 }] } },
      ],
      ts,
    );
    expect(built.runs[0]!.slice(0, 8)).toEqual(argv('-ss 5 -t 25 -i /job/input.mp4 -ss 15'));
  });

  it('decodes a raw H.264 stream from its start (it cannot seek at all)', () => {
    const raw = mediaInfo({ formatName: 'h264', duration: 60, video: { ...h264Video('1280x720', 25), end: 60 }, audio: null });
    const built = plan([{ operation: 'trim', options: { start_time: 20, end_time: 30 } }], raw);
    expect(built.runs[0]!.slice(0, 6)).toEqual(argv('-t 30 -i /job/input.mp4 -ss 20'));
  });

  it("drops the pre-roll in the output's seconds: after the chain, whose speed steps change the time", () => {
    // 5-20 s of the input decoded, 15 s of it dropped: 7.5 s of output once doubled
    const built = plan([{ operation: 'trim', options: { start_time: 20, end_time: 30 } }, DOUBLE_SPEED], ts);
    expect(built.runs[0]!.slice(0, 8)).toEqual(argv('-ss 5 -t 25 -i /job/input.mp4 -ss 7.5'));
    const slowThenThumb = plan(
      [
        { operation: 'speed', options: { speed_factor: 0.5 } },
        { operation: 'thumbnail', options: { timestamp: 40 } },
      ],
      ts,
    );
    expect(slowThenThumb.runs[0]!.slice(0, 6)).toEqual(argv('-ss 5 -i /job/input.mp4 -ss 30'));
  });

  it('seeks on the input when the run copies the video, which starts at a keyframe anyway', () => {
    const built = plan([{ operation: 'trim', options: { start_time: 20, end_time: 30, stream_copy: true } }], ts);
    expect(built.runs[0]!.slice(0, 6)).toEqual(argv('-ss 20 -t 10 -i /job/input.mp4'));
  });

  it('takes a thumbnail and a GIF after a trim the same way', () => {
    const thumb = plan(
      [
        { operation: 'trim', options: { start_time: 20 } },
        { operation: 'thumbnail', options: { timestamp: 5 } },
      ],
      ts,
    );
    expect(thumb.runs[0]!.slice(0, 6)).toEqual(argv('-ss 10 -i /job/input.mp4 -ss 15'));
    const gif = plan(
      [
        { operation: 'trim', options: { start_time: 20 } },
        { operation: 'gif', options: { start_time: 1, duration: 2 } },
      ],
      ts,
    );
    expect(gif.runs[0]!.slice(0, 8)).toEqual(argv('-ss 6 -t 17 -i /job/input.mp4 -ss 15'));
  });

  it('reads the intermediate file of a later run by input seeking (Matroska seeks to the time)', () => {
    const built = plan(
      [
        { operation: 'filter', options: { filters: [{ type: 'normalize' }] } },
        { operation: 'trim', options: { start_time: 20, end_time: 30 } },
      ],
      ts,
    );
    expect(built.runs).toHaveLength(2);
    expect(built.runs[1]!.slice(0, 6)).toEqual(argv('-ss 20 -t 10 -i /job/pipeline-1.mkv'));
  });
});

describe('buildPipeline: a size that leaves no picture', () => {
  it('refuses a thumbnail or a GIF step under a pixel, naming the step', () => {
    const banner = mediaInfo({ video: h264Video('1280x100', 25) });
    expect(thrownBy(() => plan([DOUBLE_SPEED, { operation: 'thumbnail', options: { timestamp: 1, width: 2 } }], banner)).details).toBe(
      'steps[1] (thumbnail) width 2: scaling the 1280x100 picture gives 2x0',
    );
    expect(
      thrownBy(() =>
        plan(
          [DOUBLE_SPEED, { operation: 'gif', options: { start_time: 0, duration: 1, width: 2 } }],
          mediaInfo({ video: h264Video('2000x100', 25) }),
        ),
      ).details,
    ).toBe('steps[1] (gif) width 2: scaling the 2000x100 picture gives 2x0');
  });
});

describe('buildPipeline: normalize after a trim of an MPEG-TS input', () => {
  it('cuts the window in a run of its own, so loudnorm hears none of the pre-roll', () => {
    const ts = mediaInfo({ formatName: 'mpegts', duration: 60, video: { ...h264Video('1280x720', 25), end: 60 } });
    const built = plan(
      [
        { operation: 'trim', options: { start_time: 20, end_time: 30 } },
        { operation: 'filter', options: { filters: [{ type: 'normalize' }] } },
      ],
      ts,
    );
    expect(built.runs).toHaveLength(2);
    expect(built.runs[0]!.slice(0, 8)).toEqual(argv('-ss 5 -t 25 -i /job/input.mp4 -ss 15'));
    expect(built.runs[0]!.join(' ')).not.toContain('loudnorm');
    expect(built.runs[1]!.slice(0, 2)).toEqual(argv('-i /job/pipeline-1.mkv'));
    expect(built.runs[1]!.join(' ')).toContain('loudnorm');
    // an MP4 window is entered at its time: one run
    expect(
      plan(
        [
          { operation: 'trim', options: { start_time: 20, end_time: 30 } },
          { operation: 'filter', options: { filters: [{ type: 'normalize' }] } },
        ],
        mediaInfo({ duration: 60 }),
      ).runs,
    ).toHaveLength(1);
  });
});
