/**
 * Deployment consistency: the Dockerfile, docker-compose.yml and the k8s/ base
 * are parsed and checked against the config schema and against each other, so
 * a renamed variable, a moved port or a new image target fails here instead of
 * at deploy time. Nothing is built or started.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import {
  CONFIG_VARIABLES,
  configSchema,
  topology,
  type Config,
  minimumConsumerTimeoutMs,
  RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS,
} from '@media-foundry/shared';

/** The compiled file runs from test/dist/. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

const SERVICES = ['gateway', 'worker'] as const;
type Service = (typeof SERVICES)[number];
const imageName = (service: Service): string => `media-foundry-${service}`;

type Env = Record<string, unknown>;

/** Parses an environment as loadConfig does (empty strings count as unset); fails the test with the problems. */
function parseConfig(env: Env, where: string): Config {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = configSchema.safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
    throw new Error(`${where} does not parse with configSchema:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data;
}

/** Names that are not config variables, so the failure message lists them. */
function unknownVariables(names: Iterable<string>): string[] {
  const known = new Set<string>(CONFIG_VARIABLES);
  return [...names].filter((n) => !known.has(n));
}

/** Values YAML would not deliver as strings (`true`, `30`): k8s rejects them, compose coerces them. */
function nonStringValues(env: Env): string[] {
  return Object.entries(env)
    .filter(([, v]) => typeof v !== 'string')
    .map(([k]) => k);
}

// ---------------------------------------------------------------- Dockerfile

interface Stage {
  base: string;
  /** Instructions with continuations joined, comments dropped. */
  instructions: string[];
}

function dockerStages(src: string): Map<string, Stage> {
  const logical: string[] = [];
  let pending = '';
  for (const raw of src.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#') || (line === '' && pending === '')) continue;
    if (line.endsWith('\\')) {
      pending += `${line.slice(0, -1)} `;
      continue;
    }
    logical.push((pending + line).trim());
    pending = '';
  }
  const stages = new Map<string, Stage>();
  let current: Stage | undefined;
  for (const instruction of logical) {
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction);
    if (from) {
      current = { base: from[1] ?? '', instructions: [] };
      stages.set(from[2] ?? `#${stages.size}`, current);
    } else if (current && instruction !== '') {
      current.instructions.push(instruction);
    }
  }
  return stages;
}

/** The arguments of the stage's last `KEYWORD` instruction, or undefined. */
function lastInstruction(stage: Stage, keyword: string): string | undefined {
  const prefix = new RegExp(`^${keyword}\\s+`, 'i');
  return stage.instructions
    .filter((i) => prefix.test(i))
    .map((i) => i.replace(prefix, ''))
    .at(-1);
}

const stages = dockerStages(read('Dockerfile'));
const dockerTargets = new Set(stages.keys());
const rootPackage = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
const DEFAULTS = configSchema.parse({});

function stage(name: Service): Stage {
  const s = stages.get(name);
  if (!s) throw new Error(`Dockerfile has no stage "FROM ... AS ${name}"`);
  return s;
}

describe('Dockerfile', () => {
  it.each(SERVICES)('has a %s target on node:20-bookworm-slim', (service) => {
    expect(dockerTargets.has(service)).toBe(true);
    expect(stage(service).base).toBe('node:20-bookworm-slim');
  });

  it.each(SERVICES)('%s runs its package.json start script, as the node user', (service) => {
    const cmd = JSON.parse(lastInstruction(stage(service), 'CMD') ?? 'null') as unknown;
    expect(cmd).toEqual(rootPackage.scripts[`start:${service}`]?.split(' '));
    expect(lastInstruction(stage(service), 'USER')).toBe('node');
    expect(stage(service).instructions).toContain('ENV NODE_ENV=production');
  });

  it.each(SERVICES)('%s has a HEALTHCHECK on /health at HEALTH_PORT (default as in the schema)', (service) => {
    const check = lastInstruction(stage(service), 'HEALTHCHECK') ?? '';
    expect(check).toContain('/health');
    expect(check).toContain(`process.env.HEALTH_PORT||${DEFAULTS.HEALTH_PORT}`);
  });

  it('installs ffmpeg in the worker image only', () => {
    const installsFfmpeg = (s: Stage) => s.instructions.some((i) => /apt-get install .*\bffmpeg\b/.test(i));
    expect(installsFfmpeg(stage('worker'))).toBe(true);
    expect(installsFfmpeg(stage('gateway'))).toBe(false);
  });
});

// ---------------------------------------------------------------- docker-compose.yml

interface ComposeService {
  image?: string;
  build?: string | { context?: string; target?: string };
  environment?: Env | string[];
  ports?: (string | number | { target: number; published?: string | number })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  stop_grace_period?: string;
  command?: string | string[];
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };

function composeService(name: string): ComposeService {
  const s = compose.services[name];
  if (!s) throw new Error(`docker-compose.yml has no service ${name}`);
  return s;
}

function composeEnv(name: string): Env {
  const env = composeService(name).environment ?? {};
  if (!Array.isArray(env)) return env;
  return Object.fromEntries(
    env.map((entry) => {
      const eq = entry.indexOf('=');
      return eq < 0 ? [entry, undefined] : [entry.slice(0, eq), entry.slice(eq + 1)];
    }),
  );
}

/** Compose durations: `45s`, `1m30s`, `500ms`. */
function durationSeconds(d: string): number {
  const units: Record<string, number> = { us: 1e-6, ms: 1e-3, s: 1, m: 60, h: 3600 };
  let total = 0;
  for (const [, n, unit] of d.matchAll(/(\d+(?:\.\d+)?)(us|ms|s|m|h)/g)) total += Number(n) * (units[unit ?? ''] ?? NaN);
  return total;
}

describe('docker-compose.yml', () => {
  it.each(SERVICES)('%s sets only config variables, as strings', (service) => {
    const env = composeEnv(service);
    expect(Object.keys(env).length).toBeGreaterThan(0);
    expect(unknownVariables(Object.keys(env))).toEqual([]);
    expect(nonStringValues(env)).toEqual([]);
  });

  it.each(SERVICES)('%s environment parses with configSchema and uses the compose services', (service) => {
    const config = parseConfig(composeEnv(service), `compose ${service}`);
    expect(config.STORAGE_DRIVER).toBe('s3');
    expect(compose.services).toHaveProperty(new URL(config.AMQP_URL).hostname);
    expect(compose.services).toHaveProperty(new URL(config.S3_ENDPOINT ?? 'http://missing').hostname);
  });

  it.each(SERVICES)('%s is built from the Dockerfile target of the same name', (service) => {
    const s = composeService(service);
    const target = typeof s.build === 'object' ? s.build.target : undefined;
    expect(target).toBe(service);
    expect(dockerTargets.has(target ?? '')).toBe(true);
    expect(s.image).toBe(imageName(service));
  });

  it.each(SERVICES)('%s waits for a healthy broker and a created bucket', (service) => {
    expect(composeService(service).depends_on).toMatchObject({
      rabbitmq: { condition: 'service_healthy' },
      'minio-init': { condition: 'service_completed_successfully' },
    });
  });

  it('publishes the gateway WS_PORT and HEALTH_PORT on the same host ports', () => {
    const config = parseConfig(composeEnv('gateway'), 'compose gateway');
    const ports = (composeService('gateway').ports ?? []).map(String);
    expect(ports).toContain(`${config.WS_PORT}:${config.WS_PORT}`);
    expect(ports).toContain(`${config.HEALTH_PORT}:${config.HEALTH_PORT}`);
  });

  it("sets RabbitMQ's consumer_timeout above the worker's longest job", () => {
    const config = parseConfig(composeEnv('worker'), 'compose worker');
    const args = String(
      (compose.services.rabbitmq as { environment?: Record<string, string> }).environment?.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS ?? '',
    );
    const timeout = Number(/-rabbit consumer_timeout (\d+)/.exec(args)?.[1] ?? RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS);
    expect(timeout).toBeGreaterThan(minimumConsumerTimeoutMs(config));
  });

  it('publishes no worker ports, so it scales', () => {
    expect(composeService('worker').ports ?? []).toEqual([]);
  });

  it('gives the gateway longer than SHUTDOWN_LEAD_SECONDS to stop', () => {
    const config = parseConfig(composeEnv('gateway'), 'compose gateway');
    expect(durationSeconds(composeService('gateway').stop_grace_period ?? '10s')).toBeGreaterThan(config.SHUTDOWN_LEAD_SECONDS + 5);
  });

  it('gives the worker longer than SHUTDOWN_GRACE_SECONDS to stop', () => {
    const config = parseConfig(composeEnv('worker'), 'compose worker');
    expect(durationSeconds(composeService('worker').stop_grace_period ?? '10s')).toBeGreaterThan(config.SHUTDOWN_GRACE_SECONDS);
  });

  it('creates the configured bucket with the configured credentials', () => {
    const config = parseConfig(composeEnv('gateway'), 'compose gateway');
    const minioEnv = composeService('minio').environment as Env;
    expect(config.S3_ACCESS_KEY_ID).toBe(minioEnv.MINIO_ROOT_USER);
    expect(config.S3_SECRET_ACCESS_KEY).toBe(minioEnv.MINIO_ROOT_PASSWORD);
    expect([composeService('minio-init').command].flat().join(' ')).toContain(`local/${config.S3_BUCKET}`);
  });
});

// ---------------------------------------------------------------- k8s/

interface K8sObject {
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
}
interface ConfigMap extends K8sObject {
  data?: Env;
}
interface Secret extends K8sObject {
  stringData?: Env;
}
interface Probe {
  httpGet?: { path: string; port: number | string };
}
interface Container {
  name: string;
  image: string;
  envFrom?: { configMapRef?: { name: string }; secretRef?: { name: string } }[];
  env?: { name: string; value?: unknown }[];
  ports?: { name?: string; containerPort: number }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  resources?: { requests?: Env; limits?: Env };
}
interface Deployment extends K8sObject {
  spec: {
    replicas?: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: { terminationGracePeriodSeconds?: number; containers: Container[] };
    };
  };
}
interface K8sService extends K8sObject {
  spec: { selector: Record<string, string>; ports: { name?: string; port: number; targetPort?: number | string }[] };
}

const kustomization = parse(read('k8s/kustomization.yaml')) as { resources?: string[] };
const resources = kustomization.resources ?? [];
const loadDocs = (path: string): K8sObject[] =>
  parseAllDocuments(read(path))
    .map((doc) => doc.toJS() as K8sObject)
    .filter((o) => o !== null);
const k8sObjects = resources.filter((r) => existsSync(join(ROOT, 'k8s', r))).flatMap((r) => loadDocs(`k8s/${r}`));
const exampleSecret = loadDocs('k8s/secret.example.yaml').find((o): o is Secret => o.kind === 'Secret');

function k8s<T extends K8sObject>(kind: string, name: string): T {
  const found = k8sObjects.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`k8s/ has no ${kind} ${name} among the kustomization resources`);
  return found as T;
}
const configMaps = k8sObjects.filter((o): o is ConfigMap => o.kind === 'ConfigMap');
const container = (service: Service): Container => {
  const c = k8s<Deployment>('Deployment', service).spec.template.spec.containers[0];
  if (!c) throw new Error(`Deployment ${service} has no container`);
  return c;
};

/** The container's environment as the kubelet builds it: envFrom in order, then env on top. */
function containerEnv(c: Container): Env {
  const env: Env = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = configMaps.find((m) => m.metadata.name === from.configMapRef?.name);
      if (!cm) throw new Error(`container ${c.name}: no ConfigMap ${from.configMapRef.name}`);
      Object.assign(env, cm.data);
    }
    if (from.secretRef) {
      if (exampleSecret?.metadata.name !== from.secretRef.name)
        throw new Error(`container ${c.name}: secretRef ${from.secretRef.name} is not the Secret of secret.example.yaml`);
      Object.assign(env, exampleSecret.stringData);
    }
  }
  for (const e of c.env ?? []) if ('value' in e) env[e.name] = e.value;
  return env;
}

/** A probe or targetPort may name a container port. */
function resolvePort(c: Container, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

describe('k8s/', () => {
  it('lists only resources that exist', () => {
    expect(resources.length).toBeGreaterThan(0);
    expect(resources.filter((r) => !existsSync(join(ROOT, 'k8s', r)))).toEqual([]);
  });

  it('keeps the example Secret out of the base, so applying it never overwrites real credentials', () => {
    expect(exampleSecret).toBeDefined();
    expect(resources).not.toContain('secret.example.yaml');
  });

  it('sets only config variables, as strings, in the ConfigMap, the Secret and the Deployments', () => {
    expect(configMaps.length).toBeGreaterThan(0);
    for (const cm of configMaps) {
      expect(unknownVariables(Object.keys(cm.data ?? {}))).toEqual([]);
      expect(nonStringValues(cm.data ?? {})).toEqual([]);
    }
    expect(unknownVariables(Object.keys(exampleSecret?.stringData ?? {}))).toEqual([]);
    expect(nonStringValues(exampleSecret?.stringData ?? {})).toEqual([]);
    for (const service of SERVICES) {
      const env = container(service).env ?? [];
      expect(unknownVariables(env.map((e) => e.name))).toEqual([]);
      expect(nonStringValues(Object.fromEntries(env.map((e) => [e.name, e.value])))).toEqual([]);
    }
  });

  it('the ConfigMap with the Secret parses with configSchema', () => {
    for (const cm of configMaps) parseConfig({ ...cm.data, ...exampleSecret?.stringData }, `ConfigMap ${cm.metadata.name} + Secret`);
  });

  it.each(SERVICES)('%s: its full environment parses with configSchema', (service) => {
    const config = parseConfig(containerEnv(container(service)), `Deployment ${service}`);
    expect(config.STORAGE_DRIVER).toBe('s3');
  });

  it.each(SERVICES)('%s: runs the image of the Dockerfile target and of compose', (service) => {
    const image = container(service).image;
    // Strip a registry and a tag or digest: overlays may add them.
    const name = image.split('/').at(-1)?.split(/[:@]/)[0];
    expect(name).toBe(imageName(service));
    expect(dockerTargets.has(service)).toBe(true);
    expect(composeService(service).image).toBe(name);
  });

  it.each(SERVICES)('%s: selector matches its pod labels', (service) => {
    const d = k8s<Deployment>('Deployment', service);
    expect(d.spec.template.metadata.labels).toMatchObject(d.spec.selector.matchLabels);
  });

  it.each(SERVICES)('%s: probes liveness on GET /health and readiness on GET /ready, at HEALTH_PORT', (service) => {
    const c = container(service);
    const config = parseConfig(containerEnv(c), `Deployment ${service}`);
    expect(c.livenessProbe?.httpGet?.path).toBe('/health');
    if (c.readinessProbe) expect(c.readinessProbe.httpGet?.path).toBe('/ready');
    const probes = [c.livenessProbe, c.readinessProbe, c.startupProbe].filter((p) => p !== undefined);
    for (const probe of probes) expect(resolvePort(c, probe.httpGet?.port)).toBe(config.HEALTH_PORT);
  });

  it('gateway: readiness-probed, and its containerPort and Service serve WS_PORT', () => {
    const c = container('gateway');
    const config = parseConfig(containerEnv(c), 'Deployment gateway');
    expect(c.readinessProbe).toBeDefined();
    expect(c.ports?.map((p) => p.containerPort)).toContain(config.WS_PORT);

    const svc = k8s<K8sService>('Service', 'gateway');
    expect(k8s<Deployment>('Deployment', 'gateway').spec.template.metadata.labels).toMatchObject(svc.spec.selector);
    const ws = svc.spec.ports.find((p) => p.name === 'ws');
    expect(ws?.port).toBe(config.WS_PORT);
    expect(resolvePort(c, ws?.targetPort ?? ws?.port)).toBe(config.WS_PORT);
    const health = svc.spec.ports.find((p) => p.name === 'health');
    expect(resolvePort(c, health?.targetPort ?? health?.port)).toBe(config.HEALTH_PORT);
  });

  it('worker: terminationGracePeriodSeconds exceeds SHUTDOWN_GRACE_SECONDS', () => {
    const config = parseConfig(containerEnv(container('worker')), 'Deployment worker');
    // The Kubernetes default when unset.
    const grace = k8s<Deployment>('Deployment', 'worker').spec.template.spec.terminationGracePeriodSeconds ?? 30;
    expect(grace).toBeGreaterThan(config.SHUTDOWN_GRACE_SECONDS);
  });

  it('worker: has resource requests and limits', () => {
    const c = container('worker');
    expect(c.resources?.requests).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
    expect(c.resources?.limits).toEqual(expect.objectContaining({ cpu: expect.anything(), memory: expect.anything() }));
  });
});

// ---------------------------------------------------------------- k8s/: availability and autoscaling

interface ScaleTargetRef {
  apiVersion?: string;
  kind?: string;
  name: string;
}
interface PodDisruptionBudget extends K8sObject {
  spec: { minAvailable?: number | string; maxUnavailable?: number | string; selector: { matchLabels: Record<string, string> } };
}
interface ScaledObject extends K8sObject {
  spec: {
    scaleTargetRef: ScaleTargetRef;
    minReplicaCount?: number;
    maxReplicaCount?: number;
    triggers: { type: string; metadata: Record<string, string>; authenticationRef?: { name: string; kind?: string } }[];
  };
}
interface TriggerAuthentication extends K8sObject {
  spec: { secretTargetRef?: { parameter: string; name: string; key: string }[] };
}
interface HorizontalPodAutoscaler extends K8sObject {
  spec: { scaleTargetRef: ScaleTargetRef; minReplicas?: number; maxReplicas: number };
}

const HPA_FALLBACK = 'worker-hpa-fallback.yaml';

describe('k8s/ availability and autoscaling', () => {
  const workerDeployment = () => k8s<Deployment>('Deployment', 'worker');
  const scaledObject = () => {
    const found = k8sObjects.filter((o): o is ScaledObject => o.kind === 'ScaledObject');
    expect(found).toHaveLength(1);
    return found[0]!;
  };

  it('gateway: the PodDisruptionBudget selects the gateway pods, and only them, and lets a drain proceed', () => {
    const pdbs = k8sObjects.filter((o): o is PodDisruptionBudget => o.kind === 'PodDisruptionBudget');
    const gatewayLabels = k8s<Deployment>('Deployment', 'gateway').spec.template.metadata.labels;
    const pdb = pdbs.find((p) => Object.entries(p.spec.selector.matchLabels).every(([k, v]) => gatewayLabels[k] === v));
    expect(pdb).toBeDefined();
    expect(Object.keys(pdb?.spec.selector.matchLabels ?? {}).length).toBeGreaterThan(0);
    expect(workerDeployment().spec.template.metadata.labels).not.toMatchObject(pdb?.spec.selector.matchLabels ?? {});
    expect(pdb?.spec.minAvailable).toBe(1);
    // minAvailable equal to the replicas would block every node drain.
    expect(k8s<Deployment>('Deployment', 'gateway').spec.replicas ?? 1).toBeGreaterThan(1);
  });

  it('worker: the ScaledObject targets the worker Deployment by name', () => {
    const ref = scaledObject().spec.scaleTargetRef;
    expect(ref.name).toBe(workerDeployment().metadata.name);
    expect(ref.kind ?? 'Deployment').toBe('Deployment');
    expect(ref.apiVersion ?? 'apps/v1').toBe('apps/v1');
    expect(scaledObject().spec).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 20 });
  });

  it("worker: the ScaledObject sums the intake and every tenant queue of the worker's QUEUE_PREFIX, running jobs included", () => {
    const config = parseConfig(containerEnv(container('worker')), 'Deployment worker');
    const configMapPrefix = configMaps.map((cm) => cm.data?.QUEUE_PREFIX).find((p) => p !== undefined);
    expect(configMapPrefix).toBe(config.QUEUE_PREFIX);
    const triggers = scaledObject().spec.triggers;
    expect(triggers.map((t) => t.type)).toEqual(['rabbitmq']);
    const metadata = triggers[0]!.metadata;
    // only the management API counts unacked (running) jobs and matches queues by regex
    expect(metadata).toMatchObject({ protocol: 'http', mode: 'QueueLength', useRegex: 'true', operation: 'sum' });
    expect(metadata.excludeUnacknowledged ?? 'false').toBe('false');
    const t = topology(config.QUEUE_PREFIX);
    const pattern = new RegExp(metadata.queueName!);
    for (const queue of [t.jobsQueue, t.tenantQueue('9f86d081884c7d65'), t.tenantQueue('0000000000000000')]) expect(queue).toMatch(pattern);
    for (const queue of [t.deadLetterQueue, t.gatewayReplyQueue('5e2a91c0'), `other.${t.jobsQueue}`, `${t.jobsQueue}.x`])
      expect(queue).not.toMatch(pattern);
    // a worker's share of the backlog is what it runs at once
    expect(Number(metadata.value)).toBe(config.MAX_CONCURRENT_JOBS);
  });

  it('worker: the ScaledObject reads the management API from a Secret of its own, kept out of the services', () => {
    const trigger = scaledObject().spec.triggers[0];
    expect(trigger?.metadata.host).toBeUndefined(); // no credentials in the manifest
    const auth = k8s<TriggerAuthentication>('TriggerAuthentication', trigger?.authenticationRef?.name ?? '(none)');
    const [ref] = auth.spec.secretTargetRef ?? [];
    expect(ref?.parameter).toBe('host');
    const kedaSecret = loadDocs('k8s/secret.example.yaml').find((o): o is Secret => o.kind === 'Secret' && o.metadata.name === ref?.name);
    expect(kedaSecret?.stringData?.[ref!.key]).toMatch(/^http:\/\/[^@]+@[^/]+:15672\//);
    for (const service of SERVICES)
      expect(container(service).envFrom?.map((f) => f.secretRef?.name)).not.toContain(kedaSecret?.metadata.name);
  });

  it('gateway: a rolling update starts a new pod before it stops one, and the grace period covers the lead time', () => {
    const d = k8s<Deployment & { spec: { strategy?: { type?: string; rollingUpdate?: { maxUnavailable?: number; maxSurge?: number } } } }>(
      'Deployment',
      'gateway',
    );
    expect(d.spec.strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    expect(d.spec.strategy?.rollingUpdate?.maxSurge).toBeGreaterThanOrEqual(1);
    const config = parseConfig(containerEnv(container('gateway')), 'Deployment gateway');
    // the lead time, then closing sockets and channels: seconds
    expect(d.spec.template.spec.terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(config.SHUTDOWN_LEAD_SECONDS + 10);
    expect(config.SHUTDOWN_LEAD_SECONDS).toBeGreaterThan(0);
  });

  it(`worker: ${HPA_FALLBACK} is an alternative that targets the worker, kept out of the kustomization`, () => {
    expect(existsSync(join(ROOT, 'k8s', HPA_FALLBACK))).toBe(true);
    expect(resources).not.toContain(HPA_FALLBACK);
    const hpas = loadDocs(`k8s/${HPA_FALLBACK}`).filter((o): o is HorizontalPodAutoscaler => o.kind === 'HorizontalPodAutoscaler');
    expect(hpas).toHaveLength(1);
    const hpa = hpas[0]!;
    expect(hpa.spec.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: workerDeployment().metadata.name });
    // Applied by hand or from an overlay, so it names the base's namespace itself.
    expect((hpa.metadata as { namespace?: string }).namespace).toBe(
      loadDocs('k8s/namespace.yaml').find((o) => o.kind === 'Namespace')?.metadata.name,
    );
    expect({ min: hpa.spec.minReplicas, max: hpa.spec.maxReplicas }).toEqual({
      min: scaledObject().spec.minReplicaCount,
      max: scaledObject().spec.maxReplicaCount,
    });
    // Two autoscalers on one Deployment fight over its replicas.
    expect(k8sObjects.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
  });
});
