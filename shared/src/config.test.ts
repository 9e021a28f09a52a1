import { thrownBy } from '@media-foundry/test-support';
import { ConfigError } from './config.js';
import { loadGatewayConfig } from './config/gateway.js';
import { MiB } from './config/values.js';
import { CONFIG_VARIABLES, GATEWAY_VARIABLES, WORKER_VARIABLES } from './config/variables.js';
import { loadWorkerConfig } from './config/worker.js';

/** Runs `fn`, asserts it throws a ConfigError, and returns it. */
function configError(fn: () => unknown): ConfigError {
  return thrownBy(ConfigError, fn);
}

/** The variable names the problems are about (`NAME: message`). */
function problemVariables(e: ConfigError): string[] {
  return e.problems.map((p) => p.slice(0, p.indexOf(':')));
}

describe('loadGatewayConfig and loadWorkerConfig', () => {
  it('fill the spec defaults from an empty environment, sizes in bytes and durations in ms', () => {
    const base = {
      wsHost: '0.0.0.0',
      healthPort: 8081,
      logLevel: 'info',
      maxFileSizeBytes: 500 * MiB,
      transientRetryMs: 60_000,
      publishTimeoutMs: 10_000,
      queuePrefix: 'media',
      storage: { driver: 'fs', dir: '/tmp/media-foundry/storage' },
    };
    expect(loadGatewayConfig({})).toMatchObject({
      ...base,
      wsPort: 8080,
      wsMaxSizeBytes: 67_108_864,
      gatewayBufferBudgetBytes: 1024 * MiB,
      resultUrlTtlMs: 3_600_000,
      uploadIdleTimeoutMs: 60_000,
      uploadMinBytesPerSecond: 4096,
      uploadMinRateWindowMs: 30_000,
      shutdownLeadMs: 5000,
    });
    expect(loadWorkerConfig({})).toMatchObject({
      ...base,
      maxConcurrentJobs: 4,
      ffmpegTimeoutMs: 600_000,
      ffmpegThreads: 0,
      ffmpegMaxMemoryBytes: 4096 * MiB,
      tempDir: '/tmp/ffmpeg-jobs',
      maxJobInputBytes: 1000 * MiB,
      shutdownGraceMs: 30_000,
      ffmpegPrestart: true,
    });
    expect(loadWorkerConfig({ FFMPEG_PRESTART: 'false' }).ffmpegPrestart).toBe(false);
  });

  it('convert each _MB variable to bytes and each _SECONDS one to ms', () => {
    const g = loadGatewayConfig({
      MAX_FILE_SIZE_MB: '3',
      GATEWAY_BUFFER_BUDGET_MB: '5',
      RESUME_TTL_SECONDS: '7',
      S3_CONNECT_TIMEOUT_SECONDS: '2',
    });
    expect([g.maxFileSizeBytes, g.gatewayBufferBudgetBytes, g.resumeTtlMs]).toEqual([3 * MiB, 5 * MiB, 7000]);
    const w = loadWorkerConfig({ FFMPEG_MAX_MEMORY_MB: '64', FFMPEG_TIMEOUT_SECONDS: '90', WEBHOOK_RETRY_BASE_SECONDS: '0.5' });
    expect([w.ffmpegMaxMemoryBytes, w.ffmpegTimeoutMs, w.webhookRetryBaseMs]).toEqual([64 * MiB, 90_000, 500]);
  });

  it('keep only normalised names: no environment variable name reaches the code', () => {
    for (const c of [loadGatewayConfig({}), loadWorkerConfig({})])
      for (const key of Object.keys(c)) expect(key).toMatch(/^[a-z][A-Za-z]*$/);
  });

  it("parse only their own service's variables: a bad worker variable does not stop a gateway, nor the reverse", () => {
    expect(loadGatewayConfig({ FFMPEG_TIMEOUT_SECONDS: 'soon', MAX_JOB_INPUT_MB: '1', TENANT_WEIGHTS: 'x' }).wsPort).toBe(8080);
    expect(loadWorkerConfig({ WS_PORT: 'abc', API_KEYS: 'short', UPLOAD_WINDOW_BYTES: '0' }).maxConcurrentJobs).toBe(4);
    expect(loadGatewayConfig({})).not.toHaveProperty('ffmpegTimeoutMs');
    expect(loadWorkerConfig({})).not.toHaveProperty('wsPort');
  });

  it('coerce numbers from strings and lower-case the spec-style LOG_LEVEL', () => {
    const c = loadWorkerConfig({ HEALTH_PORT: '9000', MAX_CONCURRENT_JOBS: '2', LOG_LEVEL: 'INFO', TEMP_DIR: '/var/tmp/jobs' });
    expect(c.healthPort).toBe(9000);
    expect(c.maxConcurrentJobs).toBe(2);
    expect(c.logLevel).toBe('info');
    expect(c.tempDir).toBe('/var/tmp/jobs');
  });

  it.each([
    ['DEBUG', 'debug'],
    ['WARNING', 'warn'],
    ['CRITICAL', 'fatal'],
    ['error', 'error'],
  ])('map LOG_LEVEL=%s to %s', (input, level) => {
    expect(loadGatewayConfig({ LOG_LEVEL: input }).logLevel).toBe(level);
  });

  it('treat empty strings as unset', () => {
    const c = loadWorkerConfig({ HEALTH_PORT: '', LOG_LEVEL: '', MAX_CONCURRENT_JOBS: '', S3_BUCKET: '', S3_ENDPOINT: '', TEMP_DIR: '' });
    expect(c.healthPort).toBe(8081);
    expect(c.logLevel).toBe('info');
    expect(c.maxConcurrentJobs).toBe(4);
    expect(c.tempDir).toBe('/tmp/ffmpeg-jobs');
    expect(c.storage).toEqual({ driver: 'fs', dir: '/tmp/media-foundry/storage' });
    expect(loadGatewayConfig({ WS_PORT: '' }).wsPort).toBe(8080);
  });

  it('ignore variables they do not know (the real process.env is full of them)', () => {
    const c = loadGatewayConfig({ PATH: '/usr/bin', HOME: '/root', WS_PORT: '1234' });
    expect(c.wsPort).toBe(1234);
    expect(c).not.toHaveProperty('PATH');
  });

  it.each([
    ['false', false],
    ['true', true],
    ['0', false],
    ['1', true],
  ])('parse S3_FORCE_PATH_STYLE=%s as %s', (input, expected) => {
    expect(loadGatewayConfig({ STORAGE_DRIVER: 's3', S3_BUCKET: 'b', S3_FORCE_PATH_STYLE: input }).storage).toMatchObject({
      forcePathStyle: expected,
    });
  });

  it('report several bad values in one ConfigError naming each variable', () => {
    const bad = {
      WS_PORT: 'abc',
      HEALTH_PORT: '70000',
      MAX_CONCURRENT_JOBS: '0',
      FFMPEG_TIMEOUT_SECONDS: '1.5',
      LOG_LEVEL: 'loud',
      AMQP_URL: 'http://rabbit:5672',
      STORAGE_DRIVER: 'gcs',
      S3_FORCE_PATH_STYLE: 'maybe',
    };
    const base = ['AMQP_URL', 'HEALTH_PORT', 'LOG_LEVEL', 'S3_FORCE_PATH_STYLE', 'STORAGE_DRIVER'];
    const g = configError(() => loadGatewayConfig(bad));
    expect(problemVariables(g).sort()).toEqual([...base, 'WS_PORT'].sort());
    const w = configError(() => loadWorkerConfig(bad));
    expect(problemVariables(w).sort()).toEqual([...base, 'FFMPEG_TIMEOUT_SECONDS', 'MAX_CONCURRENT_JOBS'].sort());
    expect(w.name).toBe('ConfigError');
    for (const p of w.problems) expect(w.message).toContain(p);
    expect(w.message.startsWith('Invalid configuration:\n')).toBe(true);
  });
});

describe('storage', () => {
  it.each([loadGatewayConfig, loadWorkerConfig])('requires S3_BUCKET when STORAGE_DRIVER=s3, at start-up (%#)', (load) => {
    const e = configError(() => load({ STORAGE_DRIVER: 's3' }));
    expect(e.problems).toEqual(['S3_BUCKET: is required when STORAGE_DRIVER=s3']);
  });

  it('refuses a ping interval and timeout uWebSockets.js would abort the process for (over 960 s together)', () => {
    expect(loadGatewayConfig({ WS_PING_INTERVAL: '900', WS_PING_TIMEOUT: '60' }).wsPingIntervalSeconds).toBe(900);
    const e = configError(() => loadGatewayConfig({ WS_PING_INTERVAL: '1000' }));
    expect(e.problems).toEqual([expect.stringMatching(/^WS_PING_INTERVAL: plus WS_PING_TIMEOUT must be at most 960 seconds/)]);
  });

  it('refuses download URLs S3 cannot sign (RESULT_URL_TTL_SECONDS over 7 days) with STORAGE_DRIVER=s3 only', () => {
    const s3 = { STORAGE_DRIVER: 's3', S3_BUCKET: 'b' };
    expect(loadGatewayConfig({ ...s3, RESULT_URL_TTL_SECONDS: '604800' }).resultUrlTtlMs).toBe(604_800_000);
    const e = configError(() => loadGatewayConfig({ ...s3, RESULT_URL_TTL_SECONDS: '604801' }));
    expect(e.problems).toEqual([
      expect.stringMatching(/^RESULT_URL_TTL_SECONDS: must be at most 604800 \(7 days\) with STORAGE_DRIVER=s3/),
    ]);
    expect(loadGatewayConfig({ RESULT_URL_TTL_SECONDS: '2000000' }).resultUrlTtlMs).toBe(2_000_000_000); // fs: the gateway signs its own
  });

  it('is the s3 variant, with its bucket and timeouts in ms, for STORAGE_DRIVER=s3', () => {
    const c = loadWorkerConfig({ STORAGE_DRIVER: 's3', S3_BUCKET: 'media', S3_ENDPOINT: 'http://minio:9000', STORAGE_DIR: '/ignored' });
    expect(c.storage).toEqual({
      driver: 's3',
      bucket: 'media',
      region: 'us-east-1',
      endpoint: 'http://minio:9000',
      accessKeyId: undefined,
      secretAccessKey: undefined,
      forcePathStyle: true,
      connectTimeoutMs: 5000,
      requestTimeoutMs: 30_000,
    });
  });

  it('is the fs variant, with no S3 settings, for STORAGE_DRIVER=fs', () => {
    expect(loadGatewayConfig({ STORAGE_DIR: '/srv/media', S3_BUCKET: 'unused' }).storage).toEqual({ driver: 'fs', dir: '/srv/media' });
  });

  it('names a missing S3_BUCKET together with the other bad variables ("every bad variable at once")', () => {
    const e = configError(() => loadGatewayConfig({ STORAGE_DRIVER: 's3', WS_PORT: 'abc' }));
    expect(problemVariables(e).sort()).toEqual(['S3_BUCKET', 'WS_PORT']);
  });
});

describe('CONFIG_VARIABLES', () => {
  it("lists every variable of either service; each service's list has the shared ones", () => {
    expect(CONFIG_VARIABLES).toEqual(expect.arrayContaining(['WS_PORT', 'HEALTH_PORT', 'TEMP_DIR', 'LOG_LEVEL', 'S3_BUCKET']));
    expect([...CONFIG_VARIABLES].sort()).toEqual([...new Set([...GATEWAY_VARIABLES, ...WORKER_VARIABLES])].sort());
    for (const shared of ['AMQP_URL', 'QUEUE_PREFIX', 'STORAGE_DRIVER', 'MAX_FILE_SIZE_MB', 'LOG_LEVEL', 'HEALTH_PORT'] as const) {
      expect(GATEWAY_VARIABLES).toContain(shared);
      expect(WORKER_VARIABLES).toContain(shared);
    }
    expect(GATEWAY_VARIABLES).not.toContain('FFMPEG_TIMEOUT_SECONDS');
    expect(WORKER_VARIABLES).not.toContain('WS_PORT');
  });
});

describe('TENANT_WEIGHTS', () => {
  it('is empty (every tenant weighs 1) when unset', () => {
    expect(loadWorkerConfig({}).tenantWeights).toEqual({});
    expect(loadWorkerConfig({ TENANT_WEIGHTS: ' , ' }).tenantWeights).toEqual({});
  });

  it('parses comma-separated tenant=weight pairs', () => {
    expect(loadWorkerConfig({ TENANT_WEIGHTS: 'key:abc=3,jwt:acme=2' }).tenantWeights).toEqual({ 'key:abc': 3, 'jwt:acme': 2 });
  });

  it('ignores spaces around entries and empty entries', () => {
    expect(loadWorkerConfig({ TENANT_WEIGHTS: ' key:abc=3 , ,jwt:acme=2, ' }).tenantWeights).toEqual({ 'key:abc': 3, 'jwt:acme': 2 });
  });

  it('splits a tenant name that contains "=" at the last "="', () => {
    expect(loadWorkerConfig({ TENANT_WEIGHTS: 'jwt:a=b=4,x==2' }).tenantWeights).toEqual({ 'jwt:a=b': 4, 'x=': 2 });
  });

  it('accepts whole weights from 1 to 100', () => {
    expect(loadWorkerConfig({ TENANT_WEIGHTS: 'a=1,b=100' }).tenantWeights).toEqual({ a: 1, b: 100 });
  });

  it.each(['x=0', 'x=1.5', 'x', '=3', 'x=', 'x=-2', 'x=101', 'x=three'])('reports %s as a config error', (entry) => {
    const e = configError(() => loadWorkerConfig({ TENANT_WEIGHTS: `ok=2,${entry}` }));
    expect(e.problems).toEqual([`TENANT_WEIGHTS: "${entry}" is not tenant=weight with a whole weight of 1-100`]);
  });

  it('reports every bad entry at once, together with other bad variables', () => {
    const e = configError(() => loadWorkerConfig({ TENANT_WEIGHTS: 'x=0,y=2,=3', HEALTH_PORT: 'abc' }));
    expect(problemVariables(e).sort()).toEqual(['HEALTH_PORT', 'TENANT_WEIGHTS', 'TENANT_WEIGHTS']);
    expect(e.message).toContain('"x=0"');
    expect(e.message).toContain('"=3"');
    expect(e.message).not.toContain('"y=2"');
  });

  it.each(['a=1e1', 'b=0x10', 'c=+3', 'd= 3'])('takes only plain digits as a weight, not %s', (entry) => {
    expect(() => loadWorkerConfig({ TENANT_WEIGHTS: entry })).toThrow('is not tenant=weight');
  });

  it('refuses a tenant listed twice rather than keeping one weight silently', () => {
    const e = configError(() => loadWorkerConfig({ TENANT_WEIGHTS: 'c=3,c=5' }));
    expect(e.problems).toEqual(['TENANT_WEIGHTS: tenant "c" is listed twice']);
  });
});

describe('TENANT_QUEUE_IDLE_SECONDS', () => {
  it('defaults to a day', () => {
    expect(loadWorkerConfig({}).tenantQueueIdleMs).toBe(86_400_000);
    expect(loadGatewayConfig({}).tenantQueueIdleMs).toBe(86_400_000);
  });

  it('accepts two minutes when the longest job is shorter than that', () => {
    // 30 + 20 + 4 × 0 + 60 = 110 s
    const short = { FFMPEG_TIMEOUT_SECONDS: '30', URL_FETCH_TIMEOUT_SECONDS: '20', TRANSIENT_RETRY_SECONDS: '0' };
    expect(loadWorkerConfig({ ...short, TENANT_QUEUE_IDLE_SECONDS: '120' }).tenantQueueIdleMs).toBe(120_000);
  });

  it.each(['59', '0', '-60', '90.5', 'hour'])('reports %s as a config error, once', (value) => {
    for (const load of [loadGatewayConfig, loadWorkerConfig]) {
      const e = configError(() => load({ TENANT_QUEUE_IDLE_SECONDS: value }));
      expect(problemVariables(e)).toEqual(['TENANT_QUEUE_IDLE_SECONDS']);
      expect(e.problems).toHaveLength(1);
    }
  });

  it('refuses an idle time a job can outlast: the queue would be deleted with the jobs behind it', () => {
    // 600 + 300 + 4 × 60 + 60 = 1200 s is the longest a job may hold its slot by default
    const e = configError(() => loadWorkerConfig({ TENANT_QUEUE_IDLE_SECONDS: '1200' }));
    expect(e.problems).toEqual([expect.stringMatching(/^TENANT_QUEUE_IDLE_SECONDS: must outlast the longest job/)]);
    expect(loadWorkerConfig({ TENANT_QUEUE_IDLE_SECONDS: '1201' }).tenantQueueIdleMs).toBe(1_201_000);
  });
});

describe('worker input limits', () => {
  it('default to a 1000 MiB job budget and 32 KiB/s over 10 s', () => {
    expect(loadWorkerConfig({})).toMatchObject({ maxJobInputBytes: 1000 * MiB, urlMinBytesPerSecond: 32768, urlMinRateWindowMs: 10_000 });
    expect(loadWorkerConfig({ URL_MIN_BYTES_PER_SECOND: '0' }).urlMinBytesPerSecond).toBe(0);
  });

  it('refuses a job budget smaller than one largest input', () => {
    const e = configError(() => loadWorkerConfig({ MAX_FILE_SIZE_MB: '2000' }));
    expect(e.problems).toEqual([expect.stringMatching(/^MAX_JOB_INPUT_MB: must be at least MAX_FILE_SIZE_MB/)]);
    expect(loadWorkerConfig({ MAX_FILE_SIZE_MB: '2000', MAX_JOB_INPUT_MB: '2000' }).maxJobInputBytes).toBe(2000 * MiB);
  });
});

describe('timer variables', () => {
  it.each([
    [
      'UPLOAD_IDLE_TIMEOUT_SECONDS',
      () => loadGatewayConfig({ UPLOAD_IDLE_TIMEOUT_SECONDS: '2147483' }).uploadIdleTimeoutMs,
      loadGatewayConfig,
    ],
    [
      'UPLOAD_MIN_RATE_WINDOW_SECONDS',
      () => loadGatewayConfig({ UPLOAD_MIN_RATE_WINDOW_SECONDS: '2147483' }).uploadMinRateWindowMs,
      loadGatewayConfig,
    ],
    [
      'URL_MIN_RATE_WINDOW_SECONDS',
      () => loadWorkerConfig({ URL_MIN_RATE_WINDOW_SECONDS: '2147483' }).urlMinRateWindowMs,
      loadWorkerConfig,
    ],
  ] as const)('refuses %s past what a Node timer can wait (it would fire at once)', (name, longest, load) => {
    expect(problemVariables(configError(() => load({ [name]: '2147484' })))).toEqual([name]);
    expect(longest()).toBe(2_147_483_000);
  });
});

describe('webhook retries', () => {
  it("refuses a schedule whose last wait is over RabbitMQ's longest message TTL (each wait is a queue with that TTL)", () => {
    // 20 s × 2^18 ≈ 60 days
    expect(problemVariables(configError(() => loadWorkerConfig({ WEBHOOK_MAX_ATTEMPTS: '20' })))).toEqual(['WEBHOOK_MAX_ATTEMPTS']);
    // 1 s × 2^18 ≈ 3 days
    expect(loadWorkerConfig({ WEBHOOK_MAX_ATTEMPTS: '20', WEBHOOK_RETRY_BASE_SECONDS: '1' }).webhookMaxAttempts).toBe(20);
    expect(loadWorkerConfig({}).webhookMaxAttempts).toBe(6);
  });
});
