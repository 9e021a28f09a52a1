import { CONFIG_VARIABLES, ConfigError, loadConfig } from './config.js';

/** Runs `fn`, asserts it throws a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  let thrown: unknown;
  try {
    fn();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  return thrown as ConfigError;
}

/** The variable names the problems are about (`NAME: message`). */
function problemVariables(e: ConfigError): string[] {
  return e.problems.map((p) => p.slice(0, p.indexOf(':')));
}

describe('loadConfig', () => {
  it('fills the spec defaults from an empty environment', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      WS_HOST: '0.0.0.0',
      WS_PORT: 8080,
      HEALTH_PORT: 8081,
      MAX_CONCURRENT_JOBS: 4,
      FFMPEG_TIMEOUT_SECONDS: 600,
      FFMPEG_THREADS: 0,
      TEMP_DIR: '/tmp/ffmpeg-jobs',
      MAX_FILE_SIZE_MB: 500,
      WS_MAX_SIZE: 67_108_864,
      LOG_LEVEL: 'info',
      STORAGE_DRIVER: 'fs',
      S3_FORCE_PATH_STYLE: true,
    });
    expect(c.S3_BUCKET).toBeUndefined();
  });

  it('coerces numbers from strings and lower-cases the spec-style LOG_LEVEL', () => {
    const c = loadConfig({ WS_PORT: '9000', MAX_CONCURRENT_JOBS: '2', LOG_LEVEL: 'INFO', TEMP_DIR: '/var/tmp/jobs' });
    expect(c.WS_PORT).toBe(9000);
    expect(c.MAX_CONCURRENT_JOBS).toBe(2);
    expect(c.LOG_LEVEL).toBe('info');
    expect(c.TEMP_DIR).toBe('/var/tmp/jobs');
  });

  it.each([
    ['DEBUG', 'debug'],
    ['WARNING', 'warn'],
    ['CRITICAL', 'fatal'],
    ['error', 'error'],
  ])('maps LOG_LEVEL=%s to %s', (input, level) => {
    expect(loadConfig({ LOG_LEVEL: input }).LOG_LEVEL).toBe(level);
  });

  it('treats empty strings as unset', () => {
    const c = loadConfig({ WS_PORT: '', LOG_LEVEL: '', MAX_CONCURRENT_JOBS: '', S3_BUCKET: '', S3_ENDPOINT: '', TEMP_DIR: '' });
    expect(c.WS_PORT).toBe(8080);
    expect(c.LOG_LEVEL).toBe('info');
    expect(c.MAX_CONCURRENT_JOBS).toBe(4);
    expect(c.TEMP_DIR).toBe('/tmp/ffmpeg-jobs');
    expect(c.S3_BUCKET).toBeUndefined();
    expect(c.S3_ENDPOINT).toBeUndefined();
  });

  it('ignores variables it does not know (the real process.env is full of them)', () => {
    const c = loadConfig({ PATH: '/usr/bin', HOME: '/root', WS_PORT: '1234' });
    expect(c.WS_PORT).toBe(1234);
    expect(c).not.toHaveProperty('PATH');
  });

  it.each([
    ['false', false],
    ['true', true],
    ['0', false],
    ['1', true],
  ])('parses S3_FORCE_PATH_STYLE=%s as %s', (input, expected) => {
    expect(loadConfig({ S3_FORCE_PATH_STYLE: input }).S3_FORCE_PATH_STYLE).toBe(expected);
  });

  it('reports several bad values in one ConfigError naming each variable', () => {
    const e = configError(() =>
      loadConfig({
        WS_PORT: 'abc',
        HEALTH_PORT: '70000',
        MAX_CONCURRENT_JOBS: '0',
        FFMPEG_TIMEOUT_SECONDS: '1.5',
        LOG_LEVEL: 'loud',
        AMQP_URL: 'http://rabbit:5672',
        STORAGE_DRIVER: 'gcs',
        S3_FORCE_PATH_STYLE: 'maybe',
      }),
    );
    expect(problemVariables(e).sort()).toEqual(
      [
        'AMQP_URL',
        'FFMPEG_TIMEOUT_SECONDS',
        'HEALTH_PORT',
        'LOG_LEVEL',
        'MAX_CONCURRENT_JOBS',
        'S3_FORCE_PATH_STYLE',
        'STORAGE_DRIVER',
        'WS_PORT',
      ].sort(),
    );
    expect(e.name).toBe('ConfigError');
    for (const p of e.problems) expect(e.message).toContain(p);
    expect(e.message.startsWith('Invalid configuration:\n')).toBe(true);
  });

  it('requires S3_BUCKET when STORAGE_DRIVER=s3', () => {
    const e = configError(() => loadConfig({ STORAGE_DRIVER: 's3' }));
    expect(e.problems).toEqual(['S3_BUCKET: is required when STORAGE_DRIVER=s3']);
  });

  it('accepts STORAGE_DRIVER=s3 with a bucket', () => {
    const c = loadConfig({ STORAGE_DRIVER: 's3', S3_BUCKET: 'media', S3_ENDPOINT: 'http://minio:9000' });
    expect(c).toMatchObject({ STORAGE_DRIVER: 's3', S3_BUCKET: 'media', S3_ENDPOINT: 'http://minio:9000', S3_REGION: 'us-east-1' });
  });

  it('names a missing S3_BUCKET together with the other bad variables ("every bad variable at once")', () => {
    const e = configError(() => loadConfig({ STORAGE_DRIVER: 's3', WS_PORT: 'abc' }));
    expect(problemVariables(e).sort()).toEqual(['S3_BUCKET', 'WS_PORT']);
  });
});

describe('CONFIG_VARIABLES', () => {
  it('lists every variable the schema knows', () => {
    expect(CONFIG_VARIABLES).toEqual(expect.arrayContaining(['WS_PORT', 'HEALTH_PORT', 'TEMP_DIR', 'LOG_LEVEL', 'S3_BUCKET']));
    expect(
      Object.keys(
        loadConfig({
          STORAGE_DRIVER: 's3',
          S3_BUCKET: 'b',
          S3_ENDPOINT: 'http://x',
          S3_ACCESS_KEY_ID: 'k',
          S3_SECRET_ACCESS_KEY: 's',
          JWT_SECRET: 'x'.repeat(32),
          PUBLIC_BASE_URL: 'https://m.example',
          URL_SIGNING_SECRET: 'y'.repeat(32),
          WEBHOOK_SECRET: 'w'.repeat(32),
        }),
      ).sort(),
    ).toEqual([...CONFIG_VARIABLES].sort());
  });
});

describe('TENANT_WEIGHTS', () => {
  it('is empty (every tenant weighs 1) when unset', () => {
    expect(loadConfig({}).TENANT_WEIGHTS).toEqual({});
    expect(loadConfig({ TENANT_WEIGHTS: ' , ' }).TENANT_WEIGHTS).toEqual({});
  });

  it('parses comma-separated tenant=weight pairs', () => {
    expect(loadConfig({ TENANT_WEIGHTS: 'key:abc=3,jwt:acme=2' }).TENANT_WEIGHTS).toEqual({ 'key:abc': 3, 'jwt:acme': 2 });
  });

  it('ignores spaces around entries and empty entries', () => {
    expect(loadConfig({ TENANT_WEIGHTS: ' key:abc=3 , ,jwt:acme=2, ' }).TENANT_WEIGHTS).toEqual({ 'key:abc': 3, 'jwt:acme': 2 });
  });

  it('splits a tenant name that contains "=" at the last "="', () => {
    expect(loadConfig({ TENANT_WEIGHTS: 'jwt:a=b=4,x==2' }).TENANT_WEIGHTS).toEqual({ 'jwt:a=b': 4, 'x=': 2 });
  });

  it('accepts whole weights from 1 to 100', () => {
    expect(loadConfig({ TENANT_WEIGHTS: 'a=1,b=100' }).TENANT_WEIGHTS).toEqual({ a: 1, b: 100 });
  });

  it.each(['x=0', 'x=1.5', 'x', '=3', 'x=', 'x=-2', 'x=101', 'x=three'])('reports %s as a config error', (entry) => {
    const e = configError(() => loadConfig({ TENANT_WEIGHTS: `ok=2,${entry}` }));
    expect(e.problems).toEqual([`TENANT_WEIGHTS: "${entry}" is not tenant=weight with a whole weight of 1-100`]);
  });

  it('reports every bad entry at once, together with other bad variables', () => {
    const e = configError(() => loadConfig({ TENANT_WEIGHTS: 'x=0,y=2,=3', WS_PORT: 'abc' }));
    expect(problemVariables(e).sort()).toEqual(['TENANT_WEIGHTS', 'TENANT_WEIGHTS', 'WS_PORT']);
    expect(e.message).toContain('"x=0"');
    expect(e.message).toContain('"=3"');
    expect(e.message).not.toContain('"y=2"');
  });

  it.each(['a=1e1', 'b=0x10', 'c=+3', 'd= 3'])('takes only plain digits as a weight, not %s', (entry) => {
    expect(() => loadConfig({ TENANT_WEIGHTS: entry })).toThrow('is not tenant=weight');
  });

  it('refuses a tenant listed twice rather than keeping one weight silently', () => {
    const e = configError(() => loadConfig({ TENANT_WEIGHTS: 'c=3,c=5' }));
    expect(e.problems).toEqual(['TENANT_WEIGHTS: tenant "c" is listed twice']);
  });
});

describe('TENANT_QUEUE_IDLE_SECONDS', () => {
  it('defaults to a day', () => {
    expect(loadConfig({}).TENANT_QUEUE_IDLE_SECONDS).toBe(86_400);
  });

  it('accepts two minutes when the longest job is shorter than that', () => {
    // 30 + 20 + 4 × 0 + 60 = 110 s
    const short = { FFMPEG_TIMEOUT_SECONDS: '30', URL_FETCH_TIMEOUT_SECONDS: '20', TRANSIENT_RETRY_SECONDS: '0' };
    expect(loadConfig({ ...short, TENANT_QUEUE_IDLE_SECONDS: '120' }).TENANT_QUEUE_IDLE_SECONDS).toBe(120);
  });

  it.each(['59', '0', '-60', '90.5', 'hour'])('reports %s as a config error, once', (value) => {
    const e = configError(() => loadConfig({ TENANT_QUEUE_IDLE_SECONDS: value }));
    expect(problemVariables(e)).toEqual(['TENANT_QUEUE_IDLE_SECONDS']);
    expect(e.problems).toHaveLength(1);
  });

  it('refuses an idle time a job can outlast: the queue would be deleted with the jobs behind it', () => {
    // 600 + 300 + 4 × 60 + 60 = 1200 s is the longest a job may hold its slot by default
    const e = configError(() => loadConfig({ TENANT_QUEUE_IDLE_SECONDS: '1200' }));
    expect(e.problems).toEqual([expect.stringMatching(/^TENANT_QUEUE_IDLE_SECONDS: must outlast the longest job/)]);
    expect(loadConfig({ TENANT_QUEUE_IDLE_SECONDS: '1201' }).TENANT_QUEUE_IDLE_SECONDS).toBe(1201);
  });
});

describe('worker input limits', () => {
  it('default to a 1000 MiB job budget and 32 KiB/s over 10 s', () => {
    expect(loadConfig({})).toMatchObject({ MAX_JOB_INPUT_MB: 1000, URL_MIN_BYTES_PER_SECOND: 32768, URL_MIN_RATE_WINDOW_SECONDS: 10 });
    expect(loadConfig({ URL_MIN_BYTES_PER_SECOND: '0' }).URL_MIN_BYTES_PER_SECOND).toBe(0);
  });

  it('refuses a job budget smaller than one largest input', () => {
    const e = configError(() => loadConfig({ MAX_FILE_SIZE_MB: '2000' }));
    expect(e.problems).toEqual([expect.stringMatching(/^MAX_JOB_INPUT_MB: must be at least MAX_FILE_SIZE_MB/)]);
    expect(loadConfig({ MAX_FILE_SIZE_MB: '2000', MAX_JOB_INPUT_MB: '2000' }).MAX_JOB_INPUT_MB).toBe(2000);
  });
});

describe('timer variables', () => {
  it.each(['UPLOAD_IDLE_TIMEOUT_SECONDS', 'URL_MIN_RATE_WINDOW_SECONDS'])(
    'refuses %s past what a Node timer can wait (it would fire at once)',
    (name) => {
      expect(problemVariables(configError(() => loadConfig({ [name]: '2147484' })))).toEqual([name]);
      expect(loadConfig({ [name]: '2147483' })[name as 'UPLOAD_IDLE_TIMEOUT_SECONDS']).toBe(2_147_483);
    },
  );
});

describe('webhook retries', () => {
  it("refuses a schedule whose last wait is over RabbitMQ's longest message TTL (each wait is a queue with that TTL)", () => {
    // 20 s × 2^18 ≈ 60 days
    expect(problemVariables(configError(() => loadConfig({ WEBHOOK_MAX_ATTEMPTS: '20' })))).toEqual(['WEBHOOK_MAX_ATTEMPTS']);
    // 1 s × 2^18 ≈ 3 days
    expect(loadConfig({ WEBHOOK_MAX_ATTEMPTS: '20', WEBHOOK_RETRY_BASE_SECONDS: '1' }).WEBHOOK_MAX_ATTEMPTS).toBe(20);
    expect(loadConfig({}).WEBHOOK_MAX_ATTEMPTS).toBe(6);
  });
});
