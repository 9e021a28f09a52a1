import { AppError, errors } from '@media-foundry/shared';
import { jobScrubber, publicError } from './public-errors.js';

const id = '6f1c2b9e-3d4a-4b5c-8d7e-9f0a1b2c3d4e';
const dir = `/tmp/ffmpeg-jobs/${id}-Ab12Cd`;

describe('jobScrubber', () => {
  const multi = jobScrubber(
    {
      job_id: id,
      inputs: [
        { source: 'url', url: 'https://example.com/a.mp4' },
        { source: 'storage', key: `jobs/${id}/input/clip two.mp4`, filename: 'clip two.mp4' },
      ],
    },
    dir,
  );

  it.each([
    [`${dir}/input_0.mp4: Invalid data found when processing input`, 'input 1: Invalid data found when processing input'],
    [`Error opening input file ${dir}/input_1.mp4.`, 'Error opening input file input 2.'],
    [
      `storage key jobs/${id}/input/clip two.mp4: ENOENT: no such file or directory, copyfile '/srv/mf/storage/jobs/${id}/input/clip two.mp4' -> '${dir}/input_1.mp4'`,
      "storage key input 2: ENOENT: no such file or directory, copyfile 'input 2' -> 'input 2'",
    ],
    [`${dir}/out/output.mp4 is missing or empty`, 'output.mp4 is missing or empty'],
    [
      `[mov,mp4,m4a,3gp,3g2,mj2 @ 0x5642fa6f7440] moov atom not found\n${dir}/input_0.mp4: Invalid data found when processing input`,
      '[mov,mp4,m4a,3gp,3g2,mj2] moov atom not found\ninput 1: Invalid data found when processing input',
    ],
    [`storing jobs/${id}/output/output.mp4: HTTP 503`, 'storing output.mp4: HTTP 503'],
    [`ENOTEMPTY: directory not empty, rmdir '${dir}'`, "ENOTEMPTY: directory not empty, rmdir 'the job's working directory'"],
    [`ENAMETOOLONG: name too long, lstat '/srv/mf/storage/other/thing.bin'`, "ENAMETOOLONG: name too long, lstat '<path>'"],
  ])('%s', (text, expected) => {
    expect(multi(text)).toBe(expected);
  });

  it('leaves URLs, ratios and plain words alone', () => {
    const text = 'HTTP 404 Not Found (redirect to http://example.com/a/b.mp4); 30000/1001 fps; and/or';
    expect(multi(text)).toBe(text);
  });

  it('names a single input "the input"', () => {
    expect(jobScrubber({ job_id: id, inputs: [{ source: 'url', url: 'https://x/y' }] }, dir)(`${dir}/input.png: bad`)).toBe(
      'the input: bad',
    );
  });

  it('names an input read by range "the input", hiding the input server\'s port and path', () => {
    const served = 'http://127.0.0.1:41233/0123456789abcdef0123456789abcdef/input.mp4';
    expect(jobScrubber({ job_id: id, inputs: [{ source: 'url', url: 'https://x/y' }] }, dir)(`${served}: Invalid data found`)).toBe(
      'the input: Invalid data found',
    );
  });
});

describe('publicError', () => {
  const scrub = jobScrubber({ job_id: id, inputs: [{ source: 'url', url: 'https://x/y' }] }, dir);

  it('keeps code, kind and cause, and scrubs message and details', () => {
    const cause = new Error('x');
    const e = publicError(errors.transient('Storage is unavailable', `storing jobs/${id}/output/a.mp4: timeout`, cause), scrub);
    expect(e).toMatchObject({ code: 'JOB_FAILED', kind: 'transient', details: 'storing a.mp4: timeout', cause });
  });

  it('turns anything else into INTERNAL_ERROR without paths', () => {
    const e = publicError(new Error(`EACCES: permission denied, open '${dir}/out/output.mp4'`), scrub);
    expect(e).toBeInstanceOf(AppError);
    expect(e).toMatchObject({ code: 'INTERNAL_ERROR', details: "EACCES: permission denied, open 'output.mp4'" });
  });

  it('returns an error without server names as it is', () => {
    const e = errors.jobFailed('Input is too long', 'the input lasts 20000s');
    expect(publicError(e, scrub)).toBe(e);
  });
});
