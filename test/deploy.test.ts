/**
 * Deployment consistency: the Dockerfile, docker-compose.yml and the rendered
 * k8s/ base are parsed and checked against the config schema, against the
 * Kubernetes and KEDA schemas and against each other, so a renamed variable,
 * a moved port, a limit that no longer fits what the config allows or an
 * unpinned image fails here instead of at deploy time. Nothing is built or
 * started (test/deploy.int.test.ts runs what needs a broker).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import {
  CONFIG_VARIABLES,
  gatewayConfigSchema,
  loadGatewayConfig,
  type GatewayConfig,
  topology,
  minimumConsumerTimeoutMs,
  workerConfigSchema,
  type WorkerConfig,
  RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS,
} from '@media-foundry/shared';
import { READINESS_CHECK } from '@media-foundry/shared/node';
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment';
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap';
import type { IContainer } from 'kubernetes-models/v1/Container';
import type { IProbe } from 'kubernetes-models/v1/Probe';
import type { ISecret } from 'kubernetes-models/v1/Secret';
import type { IService } from 'kubernetes-models/v1/Service';
import type { IScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import type { ITriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import { byId, HAS_KUBECTL, type K8sObject, kubectlKustomize, loadYamlObjects, renderKustomization } from './helpers/kustomize.js';
import { ROOT } from './helpers/paths.js';
import { validateK8sObject } from './helpers/k8s-schemas.js';

const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');
const rootPackage = JSON.parse(read('package.json')) as { version: string; engines: { node: string }; scripts: Record<string, string> };

const SERVICES = ['gateway', 'worker'] as const;
type Service = (typeof SERVICES)[number];
const imageName = (service: Service): string => `media-foundry-${service}`;

type Env = Record<string, unknown>;

type ServiceConfig<S extends Service> = S extends 'gateway' ? GatewayConfig : WorkerConfig;
const CONFIG_SCHEMAS = { gateway: gatewayConfigSchema, worker: workerConfigSchema };

/** Parses an environment as the service's main does (empty strings count as unset); fails the test with the problems. */
function parseConfig<S extends Service>(service: S, env: Env, where: string): ServiceConfig<S> {
  const present = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = CONFIG_SCHEMAS[service].safeParse(present);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.map(String).join('.')}: ${i.message}`);
    throw new Error(`${where} does not parse with the ${service} config schema:\n  ${problems.join('\n  ')}`);
  }
  return parsed.data as ServiceConfig<S>;
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
  /** ARGs declared before the first FROM, with their defaults: what FROM lines may use. */
  const args = new Map<string, string>();
  let current: Stage | undefined;
  for (const instruction of logical) {
    const arg = /^ARG\s+([A-Za-z_][A-Za-z0-9_]*)(?:=(\S*))?$/i.exec(instruction);
    if (arg && !current) {
      args.set(arg[1]!, arg[2] ?? '');
      continue;
    }
    const from = /^FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction);
    if (from) {
      const base = (from[1] ?? '').replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (_, name: string) => args.get(name) ?? '');
      current = { base, instructions: [] };
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
const DEFAULTS = loadGatewayConfig({});

function stage(name: Service): Stage {
  const s = stages.get(name);
  if (!s) throw new Error(`Dockerfile has no stage "FROM ... AS ${name}"`);
  return s;
}

describe('Dockerfile', () => {
  it.each(SERVICES)('has a %s target on a slim Node image of the major package.json "engines" asks for', (service) => {
    expect(dockerTargets.has(service)).toBe(true);
    const major = /(\d+)/.exec(rootPackage.engines.node)?.[1];
    expect(stage(service).base).toMatch(new RegExp(`^node:${major}(\\.\\d+)*-[a-z]+-slim$`));
  });

  it.each(SERVICES)('%s runs its package.json start script, as the node user (less the .env preload)', (service) => {
    const cmd = JSON.parse(lastInstruction(stage(service), 'CMD') ?? 'null') as unknown;
    // containers get their environment from compose or Kubernetes: the image has no scripts/ and reads no .env
    const script = rootPackage.scripts[`start:${service}`]?.replace(' --import ./scripts/load-env.js', '');
    expect(cmd).toEqual(script?.split(' '));
    expect(lastInstruction(stage(service), 'USER')).toBe('node');
    expect(stage(service).instructions).toContain('ENV NODE_ENV=production');
  });

  it.each(SERVICES)('%s has a HEALTHCHECK on liveness (/health) at HEALTH_PORT, its request cut off within the timeout', (service) => {
    const check = lastInstruction(stage(service), 'HEALTHCHECK') ?? '';
    expect(check).toContain("/health'");
    expect(check).not.toContain('/ready');
    expect(check).toContain(`process.env.HEALTH_PORT||${DEFAULTS.healthPort}`);
    const timeout = durationSeconds(/--timeout=(\S+)/.exec(check)?.[1] ?? '30s');
    const abortMs = Number(/AbortSignal\.timeout\((\d+)\)/.exec(check)?.[1]);
    expect(abortMs).toBeLessThan(timeout * 1000);
    expect(timeout).toBeGreaterThanOrEqual(3);
  });

  it('builds every stage on one NODE_IMAGE argument, so moving the runtime is one line', () => {
    const src = read('Dockerfile');
    expect(src.match(/^FROM \$\{NODE_IMAGE\} AS /gm)).toHaveLength(3);
    expect(src.match(/^ARG NODE_IMAGE=/gm)).toHaveLength(1);
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
  healthcheck?: { test?: string | string[]; timeout?: string; disable?: boolean };
  build?: string | { context?: string; target?: string };
  environment?: Env | string[];
  ports?: (string | number | { target: number; published?: string | number })[];
  depends_on?: string[] | Record<string, { condition?: string }>;
  stop_grace_period?: string;
  command?: string | string[];
}

const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, ComposeService> };

/** An image reference with a digest, or a tag other than `latest` (an untagged name is `latest`). */
function isPinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = /:([^/:]+)$/.exec(image)?.[1];
  return tag !== undefined && tag !== 'latest';
}

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

  it.each(SERVICES)('%s environment parses with its config schema and uses the compose services', (service) => {
    const { storage, amqpUrl } = parseConfig(service, composeEnv(service), `compose ${service}`);
    expect(storage.driver).toBe('s3');
    expect(compose.services).toHaveProperty(new URL(amqpUrl).hostname);
    expect(compose.services).toHaveProperty(new URL((storage.driver === 's3' && storage.endpoint) || 'http://missing').hostname);
  });

  it.each(SERVICES)('%s is built from the Dockerfile target of the same name', (service) => {
    const s = composeService(service);
    const target = typeof s.build === 'object' ? s.build.target : undefined;
    expect(target).toBe(service);
    expect(dockerTargets.has(target ?? '')).toBe(true);
    expect(s.image?.split(':')[0]).toBe(imageName(service));
  });

  it.each(SERVICES)('%s waits for a healthy broker and a created bucket', (service) => {
    expect(composeService(service).depends_on).toMatchObject({
      rabbitmq: { condition: 'service_healthy' },
      'minio-init': { condition: 'service_completed_successfully' },
    });
  });

  it('publishes the gateway WS_PORT and HEALTH_PORT on the same host ports', () => {
    const config = parseConfig('gateway', composeEnv('gateway'), 'compose gateway');
    const ports = (composeService('gateway').ports ?? []).map(String);
    expect(ports).toContain(`${config.wsPort}:${config.wsPort}`);
    expect(ports).toContain(`${config.healthPort}:${config.healthPort}`);
  });

  it("sets RabbitMQ's consumer_timeout above the worker's longest job", () => {
    const config = parseConfig('worker', composeEnv('worker'), 'compose worker');
    const args = String(
      (compose.services.rabbitmq as { environment?: Record<string, string> }).environment?.RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS ?? '',
    );
    const timeout = Number(/-rabbit consumer_timeout (\d+)/.exec(args)?.[1] ?? RABBITMQ_DEFAULT_CONSUMER_TIMEOUT_MS);
    expect(timeout).toBeGreaterThan(minimumConsumerTimeoutMs(config));
  });

  it('publishes no worker ports, so it scales', () => {
    expect(composeService('worker').ports ?? []).toEqual([]);
  });

  it('gives the gateway longer than SHUTDOWN_LEAD_SECONDS and its close (the submissions under way, the last deletes) to stop', () => {
    const config = parseConfig('gateway', composeEnv('gateway'), 'compose gateway');
    expect(durationSeconds(composeService('gateway').stop_grace_period ?? '10s')).toBeGreaterThan(
      config.shutdownLeadMs / 1000 + config.publishTimeoutMs / 1000 + 5 + 5,
    );
  });

  it('gives the worker longer than SHUTDOWN_GRACE_SECONDS to stop', () => {
    const config = parseConfig('worker', composeEnv('worker'), 'compose worker');
    expect(durationSeconds(composeService('worker').stop_grace_period ?? '10s')).toBeGreaterThan(config.shutdownGraceMs / 1000);
  });

  it('creates the configured bucket with the configured credentials, idempotently', () => {
    const config = parseConfig('gateway', composeEnv('gateway'), 'compose gateway');
    const minioEnv = composeService('minio').environment as Env;
    expect(config.storage).toMatchObject({ accessKeyId: minioEnv.MINIO_ROOT_USER, secretAccessKey: minioEnv.MINIO_ROOT_PASSWORD });
    const command = [composeService('minio-init').command].flat().join(' ');
    expect(command).toMatch(
      new RegExp(`mc mb --ignore-existing local/${config.storage.driver === 's3' ? config.storage.bucket : 'missing'}(\\s|$)`),
    );
  });

  it('pins every image: a version tag, never latest; MinIO from quay.io at a RELEASE', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      expect({ name, pinned: isPinned(s.image ?? '') }).toEqual({ name, pinned: true });
    }
    for (const service of SERVICES) expect(composeService(service).image).toBe(`${imageName(service)}:${rootPackage.version}`);
    expect(composeService('rabbitmq').image).toMatch(/^rabbitmq:\d+\.\d+\.\d+-management$/);
    expect(composeService('minio').image).toMatch(/^quay\.io\/minio\/minio:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
    expect(composeService('minio-init').image).toMatch(/^quay\.io\/minio\/mc:RELEASE\.\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$/);
  });

  it.each(SERVICES)('%s keeps the image HEALTHCHECK on liveness (/health), or overrides it with one', (service) => {
    const check = composeService(service).healthcheck;
    if (check === undefined) return; // the Dockerfile's, checked above
    expect(check.disable).not.toBe(true);
    expect([check.test].flat().join(' ')).toContain('/health');
  });
});

// ---------------------------------------------------------------- k8s/ (rendered)

const kustomization = parse(read('k8s/kustomization.yaml')) as { resources?: string[] };
const resources = kustomization.resources ?? [];
/** The base as `kubectl apply -k k8s` would send it. */
const rendered = renderKustomization(join(ROOT, 'k8s'));
const loadDocs = (path: string): K8sObject[] => loadYamlObjects(join(ROOT, path));
const exampleSecrets = loadDocs('k8s/secret.example.yaml') as (K8sObject & ISecret)[];
const exampleSecret = exampleSecrets.find((o) => o.metadata.name === 'media-foundry-secrets');
const HPA_FALLBACK = 'worker-hpa-fallback.yaml';

function k8s<T>(kind: string, name: string): T {
  const found = rendered.find((o) => o.kind === kind && o.metadata.name === name);
  if (!found) throw new Error(`the rendered k8s/ base has no ${kind} ${name}`);
  return found as T;
}
const deployment = (service: Service): IDeployment => k8s<IDeployment>('Deployment', service);
const podSpec = (service: Service) => {
  const spec = deployment(service).spec?.template.spec;
  if (!spec) throw new Error(`Deployment ${service} has no pod spec`);
  return spec;
};
const container = (service: Service): IContainer => {
  const c = podSpec(service).containers[0];
  if (!c) throw new Error(`Deployment ${service} has no container`);
  return c;
};
const configMaps = rendered.filter((o) => o.kind === 'ConfigMap') as (K8sObject & IConfigMap)[];

/** The container's environment as the kubelet builds it: envFrom in order, then env on top. */
function containerEnv(c: IContainer): Env {
  const env: Env = {};
  for (const from of c.envFrom ?? []) {
    if (from.configMapRef) {
      const cm = configMaps.find((m) => m.metadata.name === from.configMapRef?.name);
      if (!cm) throw new Error(`container ${c.name}: no ConfigMap ${from.configMapRef.name}`);
      Object.assign(env, cm.data);
    }
    if (from.secretRef) {
      if (!exampleSecret || exampleSecret.metadata.name !== from.secretRef.name)
        throw new Error(`container ${c.name}: secretRef ${from.secretRef.name} is not the Secret of secret.example.yaml`);
      Object.assign(env, exampleSecret.stringData);
    }
  }
  for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
  return env;
}
const serviceConfig = <S extends Service>(service: S): ServiceConfig<S> =>
  parseConfig(service, containerEnv(container(service)), `Deployment ${service}`);

/** A probe or targetPort may name a container port. */
function resolvePort(c: IContainer, port: number | string | undefined): number | undefined {
  if (typeof port === 'number') return port;
  return c.ports?.find((p) => p.name === port)?.containerPort;
}

/** A Kubernetes quantity (`2Gi`, `512Mi`, `8G`, `250m`, `2`) in its base unit (bytes, cores). */
function quantity(q: string | number | undefined): number {
  if (q === undefined) return NaN;
  const m = /^(\d+(?:\.\d+)?)(Ki|Mi|Gi|Ti|k|M|G|T|m)?$/.exec(String(q));
  if (!m) throw new Error(`not a quantity this test reads: ${String(q)}`);
  const factor: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, k: 1e3, M: 1e6, G: 1e9, T: 1e12, m: 1e-3 };
  return Number(m[1]) * (m[2] ? (factor[m[2]] ?? NaN) : 1);
}
const MiB = 2 ** 20;

const probe = (c: IContainer, kind: 'livenessProbe' | 'readinessProbe'): IProbe => {
  const p = c[kind];
  if (!p) throw new Error(`container ${c.name} has no ${kind}`);
  return p;
};

describe('k8s/ base', () => {
  it('lists only resources that exist, and renders', () => {
    expect(resources.length).toBeGreaterThan(0);
    expect(resources.filter((r) => !existsSync(join(ROOT, 'k8s', r)))).toEqual([]);
    expect(rendered.length).toBeGreaterThan(resources.length);
  });

  // The renderer is ours (no kustomize on npm); where a kubectl is installed, its embedded kustomize is the reference.
  (HAS_KUBECTL ? it : it.skip)('renders as `kubectl kustomize k8s` does (its embedded kustomize)', () => {
    expect(byId(rendered)).toEqual(byId(kubectlKustomize(join(ROOT, 'k8s'))));
  });

  it('validates, object by object, against the Kubernetes and KEDA schemas (and so do the files kept out of it)', () => {
    for (const o of [...rendered, ...exampleSecrets, ...loadDocs(`k8s/${HPA_FALLBACK}`)]) expect(() => validateK8sObject(o)).not.toThrow();
    expect(new Set(rendered.map((o) => o.kind))).toEqual(
      new Set(['Namespace', 'ConfigMap', 'Service', 'Deployment', 'PodDisruptionBudget', 'ScaledObject', 'TriggerAuthentication']),
    );
    // everything but the Namespace itself lives in it
    const namespace = rendered.find((o) => o.kind === 'Namespace')?.metadata.name;
    expect(rendered.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== namespace)).toEqual([]);
  });

  it('keeps the example Secret out of the base, so applying it never overwrites real credentials', () => {
    expect(exampleSecret).toBeDefined();
    expect(resources).not.toContain('secret.example.yaml');
    expect(rendered.filter((o) => o.kind === 'Secret')).toEqual([]);
  });

  it('generates the shared ConfigMap (configMapGenerator): its name carries a hash of its data, so a change rolls both Deployments', () => {
    expect(configMaps).toHaveLength(1);
    const name = configMaps[0]!.metadata.name;
    expect(name).toMatch(/^media-foundry-config-[a-z0-9]{10}$/);
    for (const service of SERVICES) expect(container(service).envFrom?.map((f) => f.configMapRef?.name)).toContain(name);
    // no hand-written ConfigMap beside it: that one would change under running pods
    expect(resources.flatMap((r) => loadDocs(`k8s/${r}`)).filter((o) => o.kind === 'ConfigMap')).toEqual([]);
  });

  it('sets only config variables, as strings, in the ConfigMap, the Secret and the Deployments', () => {
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

  it.each(SERVICES)('%s: its full environment parses with its config schema', (service) => {
    expect(serviceConfig(service).storage.driver).toBe('s3');
  });

  it.each(SERVICES)('%s: runs the pinned image of the Dockerfile target and of compose', (service) => {
    const image = container(service).image ?? '';
    expect(isPinned(image)).toBe(true);
    expect(image).toBe(`${imageName(service)}:${rootPackage.version}`);
    expect(dockerTargets.has(service)).toBe(true);
    expect(composeService(service).image).toBe(image);
  });

  it.each(SERVICES)('%s: selector matches its pod labels', (service) => {
    const d = deployment(service);
    expect(d.spec?.template.metadata?.labels).toMatchObject(d.spec?.selector.matchLabels ?? { missing: true });
  });

  it.each(SERVICES)('%s: liveness on GET /health, readiness on GET /ready, both at HEALTH_PORT', (service) => {
    const c = container(service);
    const config = serviceConfig(service);
    expect(probe(c, 'livenessProbe').httpGet?.path).toBe('/health');
    expect(probe(c, 'readinessProbe').httpGet?.path).toBe('/ready');
    for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe].filter((x) => x !== undefined))
      expect(resolvePort(c, p.httpGet?.port)).toBe(config.healthPort);
  });

  it.each(SERVICES)(
    "%s: readiness waits longer than the checks' own timeout, and one failed check never reaches failureThreshold",
    (service) => {
      const ready = probe(container(service), 'readinessProbe');
      // Kubernetes defaults: timeoutSeconds 1, periodSeconds 10, failureThreshold 3
      expect((ready.timeoutSeconds ?? 1) * 1000).toBeGreaterThan(READINESS_CHECK.timeoutMs);
      // a failed check stands until the next one has answered: retryMs, plus up to its timeout
      const oneFailureMs = READINESS_CHECK.retryMs + READINESS_CHECK.timeoutMs;
      expect(((ready.failureThreshold ?? 3) - 1) * (ready.periodSeconds ?? 10) * 1000).toBeGreaterThan(oneFailureMs);
    },
  );

  it.each(SERVICES)('%s: liveness allows for a slow moment (GC, CPU throttling) before it restarts anything', (service) => {
    const live = probe(container(service), 'livenessProbe');
    expect(live.timeoutSeconds ?? 1).toBeGreaterThanOrEqual(3);
    expect((live.failureThreshold ?? 3) * (live.periodSeconds ?? 10)).toBeGreaterThanOrEqual(30);
  });

  it('gateway: its containerPort and Service serve WS_PORT', () => {
    const c = container('gateway');
    const config = serviceConfig('gateway');
    expect(c.ports?.map((p) => p.containerPort)).toContain(config.wsPort);
    const svc = k8s<IService>('Service', 'gateway');
    expect(deployment('gateway').spec?.template.metadata?.labels).toMatchObject(svc.spec?.selector ?? { missing: true });
    const ws = svc.spec?.ports?.find((p) => p.name === 'ws');
    expect(ws?.port).toBe(config.wsPort);
    expect(resolvePort(c, ws?.targetPort ?? ws?.port)).toBe(config.wsPort);
    const health = svc.spec?.ports?.find((p) => p.name === 'health');
    expect(resolvePort(c, health?.targetPort ?? health?.port)).toBe(config.healthPort);
  });
});

// ---------------------------------------------------------------- k8s/: limits that agree

/** What the worker process itself may use beside its ffmpeg processes (Node, input server buffers), MiB. */
const WORKER_HEADROOM_MB = 1024;
/** A job's outputs, budgeted against its inputs (a speed 0.5 doubles a video's length; most operations shrink it). */
const OUTPUTS_PER_INPUT = 2;
/** The gateway's baseline beside its byte budget (measured ~90 MiB), MiB. */
const GATEWAY_BASELINE_MB = 256;
/** Single frames of up to WS_MAX_SIZE the gateway may be receiving at once beyond its budget (uWS holds each whole first). */
const GATEWAY_FRAMES_IN_FLIGHT = 8;

describe('k8s/ limits agree with the config', () => {
  it('worker: every ffmpeg at its FFMPEG_MAX_MEMORY_MB, plus the worker itself, fits the memory limit', () => {
    const config = serviceConfig('worker');
    // 0 means no ceiling: one ffmpeg could then take the whole pod down with both jobs
    expect(config.ffmpegMaxMemoryBytes).toBeGreaterThan(0);
    const limitMb = quantity(container('worker').resources?.limits?.memory) / MiB;
    expect((config.ffmpegMaxMemoryBytes / MiB) * config.maxConcurrentJobs + WORKER_HEADROOM_MB).toBeLessThanOrEqual(limitMb);
  });

  it('worker: TEMP_DIR is on the emptyDir, and the volume and requests.ephemeral-storage hold every running job at its input budget plus outputs', () => {
    const config = serviceConfig('worker');
    const c = container('worker');
    const mount = c.volumeMounts?.find((m) => config.tempDir === m.mountPath || config.tempDir.startsWith(`${m.mountPath}/`));
    const volume = podSpec('worker').volumes?.find((v) => v.name === mount?.name);
    expect(volume?.emptyDir).toBeDefined();
    const needMb = (config.maxConcurrentJobs * config.maxJobInputBytes * (1 + OUTPUTS_PER_INPUT)) / MiB;
    const sizeLimitMb = quantity(volume?.emptyDir?.sizeLimit) / MiB;
    expect(sizeLimitMb).toBeGreaterThanOrEqual(needMb);
    // the node reserves what the volume may legally hold
    expect(quantity(c.resources?.requests?.['ephemeral-storage']) / MiB).toBeGreaterThanOrEqual(sizeLimitMb);
  });

  it('worker: its jobs x ffmpeg threads fit the CPU limit', () => {
    const config = serviceConfig('worker');
    expect(config.ffmpegThreads).toBeGreaterThan(0); // 0 lets ffmpeg count the node's cores, not the limit
    expect(config.maxConcurrentJobs * config.ffmpegThreads).toBeLessThanOrEqual(quantity(container('worker').resources?.limits?.cpu));
  });

  it('gateway: the memory limit holds GATEWAY_BUFFER_BUDGET_MB, the baseline and the frames the budget does not see', () => {
    const config = serviceConfig('gateway');
    const limitMb = quantity(container('gateway').resources?.limits?.memory) / MiB;
    const framesMb = (GATEWAY_FRAMES_IN_FLIGHT * config.wsMaxSizeBytes) / MiB;
    expect(config.gatewayBufferBudgetBytes / MiB + GATEWAY_BASELINE_MB + framesMb).toBeLessThanOrEqual(limitMb);
  });

  it.each(SERVICES)('%s: memory and CPU requested, memory limited', (service) => {
    const r = container(service).resources;
    expect(quantity(r?.requests?.memory)).toBeGreaterThan(0);
    expect(quantity(r?.requests?.cpu)).toBeGreaterThan(0);
    expect(quantity(r?.limits?.memory)).toBeGreaterThanOrEqual(quantity(r?.requests?.memory));
  });

  it('worker: a stopping worker finishes the longest job, and the kubelet waits for that plus the lead time', () => {
    const config = serviceConfig('worker');
    expect(config.shutdownGraceMs).toBeGreaterThanOrEqual(minimumConsumerTimeoutMs(config));
    // the lead time the shared ConfigMap sets (a gateway's variable: the worker reads none)
    const { shutdownLeadMs } = parseConfig('gateway', containerEnv(container('worker')), 'Deployment worker');
    const grace = podSpec('worker').terminationGracePeriodSeconds ?? 30; // the Kubernetes default
    // closing the channels and connections after the jobs: seconds
    expect(grace).toBeGreaterThanOrEqual((config.shutdownGraceMs + shutdownLeadMs) / 1000 + 10);
  });

  it('gateway: the grace period covers the lead time and the close (the gateway waits on no job: SHUTDOWN_GRACE_SECONDS is the worker’s)', () => {
    const config = serviceConfig('gateway');
    expect(config.shutdownLeadMs).toBeGreaterThan(0);
    // the lead time, the submissions under way (a publish's timeout + 5 s), the last deletes (5 s), the channels
    expect(podSpec('gateway').terminationGracePeriodSeconds ?? 30).toBeGreaterThanOrEqual(
      config.shutdownLeadMs / 1000 + config.publishTimeoutMs / 1000 + 5 + 5 + 5,
    );
  });
});

// ---------------------------------------------------------------- k8s/: availability and autoscaling

/** RabbitMQ's management API refuses a larger page (invalid_pagination_parameters). */
const RABBITMQ_MAX_PAGE_SIZE = 500;

describe('k8s/ availability and autoscaling', () => {
  const scaledObject = (): IScaledObject => {
    const found = rendered.filter((o) => o.kind === 'ScaledObject');
    expect(found).toHaveLength(1);
    return found[0] as unknown as IScaledObject;
  };

  it('gateway: the PodDisruptionBudget selects the gateway pods, and only them, lets a drain proceed and evicts unready pods', () => {
    const pdbs = rendered.filter((o) => o.kind === 'PodDisruptionBudget') as unknown as IPodDisruptionBudget[];
    const gatewayLabels = deployment('gateway').spec?.template.metadata?.labels ?? {};
    const pdb = pdbs.find((p) => Object.entries(p.spec?.selector?.matchLabels ?? {}).every(([k, v]) => gatewayLabels[k] === v));
    expect(pdb).toBeDefined();
    expect(Object.keys(pdb?.spec?.selector?.matchLabels ?? {}).length).toBeGreaterThan(0);
    expect(deployment('worker').spec?.template.metadata?.labels).not.toMatchObject(pdb?.spec?.selector?.matchLabels ?? {});
    expect(pdb?.spec?.minAvailable).toBe(1);
    // minAvailable equal to the replicas would block every node drain
    expect(deployment('gateway').spec?.replicas ?? 1).toBeGreaterThan(1);
    // the default (IfHealthyBudget) lets running-but-unready gateways block drains
    expect(pdb?.spec?.unhealthyPodEvictionPolicy).toBe('AlwaysAllow');
  });

  it('worker: the ScaledObject targets the worker Deployment by name', () => {
    const ref = scaledObject().spec.scaleTargetRef;
    expect(ref.name).toBe(deployment('worker').metadata?.name);
    expect(ref.kind ?? 'Deployment').toBe('Deployment');
    expect(ref.apiVersion ?? 'apps/v1').toBe('apps/v1');
    expect(scaledObject().spec).toMatchObject({ minReplicaCount: 1, maxReplicaCount: 20 });
    // replicas left to the autoscaler: applying the base never resets them
    expect(deployment('worker').spec?.replicas).toBeUndefined();
  });

  it("worker: the ScaledObject sums waiting and running jobs over the intake and every tenant queue of the worker's QUEUE_PREFIX", () => {
    const config = serviceConfig('worker');
    expect(configMaps[0]?.data?.QUEUE_PREFIX).toBe(config.queuePrefix);
    const triggers = scaledObject().spec.triggers;
    expect(triggers.map((t) => t.type)).toEqual(['rabbitmq']);
    const metadata = triggers[0]!.metadata as Record<string, string>;
    // only the management API counts unacked (running) jobs and matches queues by regex
    expect(metadata).toMatchObject({ protocol: 'http', mode: 'QueueLength', useRegex: 'true', operation: 'sum' });
    expect(metadata.excludeUnacknowledged ?? 'false').toBe('false');
    const t = topology(config.queuePrefix);
    const pattern = new RegExp(metadata.queueName!);
    for (const queue of [t.jobsQueue, t.tenantQueue('9f86d081884c7d65'), t.tenantQueue('0000000000000000')]) expect(queue).toMatch(pattern);
    for (const queue of [t.deadLetterQueue, t.gatewayReplyQueue('5e2a91c0'), t.sweeperLease, `other.${t.jobsQueue}`, `${t.jobsQueue}.x`])
      expect(queue).not.toMatch(pattern);
    // a worker's share of the backlog is what it runs at once
    expect(Number(metadata.value)).toBe(config.maxConcurrentJobs);
    // KEDA reads one page of matching queues (100 by default) and fails past it: the largest page RabbitMQ serves
    expect(Number(metadata.pageSize)).toBe(RABBITMQ_MAX_PAGE_SIZE);
  });

  it('worker: the ScaledObject reads the management API from a Secret of its own, kept out of the services', () => {
    const trigger = scaledObject().spec.triggers[0];
    expect((trigger?.metadata as Record<string, string>).host).toBeUndefined(); // no credentials in the manifest
    const auth = k8s<ITriggerAuthentication>('TriggerAuthentication', trigger?.authenticationRef?.name ?? '(none)');
    const [ref] = auth.spec.secretTargetRef ?? [];
    expect(ref?.parameter).toBe('host');
    const kedaSecret = exampleSecrets.find((o) => o.metadata.name === ref?.name);
    expect(kedaSecret?.stringData?.[ref!.key]).toMatch(/^http:\/\/[^@]+@[^/]+:15672\//);
    for (const service of SERVICES)
      expect(container(service).envFrom?.map((f) => f.secretRef?.name)).not.toContain(kedaSecret?.metadata.name);
  });

  it('gateway: a rolling update starts a new pod before it stops one', () => {
    const strategy = deployment('gateway').spec?.strategy;
    expect(strategy).toMatchObject({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0 } });
    expect(strategy?.rollingUpdate?.maxSurge).toBeGreaterThanOrEqual(1);
  });

  it(`worker: ${HPA_FALLBACK} is an alternative that targets the worker, kept out of the kustomization`, () => {
    expect(existsSync(join(ROOT, 'k8s', HPA_FALLBACK))).toBe(true);
    expect(resources).not.toContain(HPA_FALLBACK);
    const hpas = loadDocs(`k8s/${HPA_FALLBACK}`).filter(
      (o) => o.kind === 'HorizontalPodAutoscaler',
    ) as unknown as IHorizontalPodAutoscaler[];
    expect(hpas).toHaveLength(1);
    const hpa = hpas[0]!;
    expect(hpa.spec?.scaleTargetRef).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name: deployment('worker').metadata?.name });
    // applied by hand or from an overlay, so it names the base's namespace itself
    expect(hpa.metadata?.namespace).toBe(rendered.find((o) => o.kind === 'Namespace')?.metadata.name);
    expect({ min: hpa.spec?.minReplicas, max: hpa.spec?.maxReplicas }).toEqual({
      min: scaledObject().spec.minReplicaCount,
      max: scaledObject().spec.maxReplicaCount,
    });
    // two autoscalers on one Deployment fight over its replicas
    expect(rendered.filter((o) => o.kind === 'HorizontalPodAutoscaler')).toEqual([]);
  });
});

// ---------------------------------------------------------------- examples/k8s-aws (an overlay of k8s/)

describe('examples/k8s-aws', () => {
  const OVERLAY = 'examples/k8s-aws';
  const aws = renderKustomization(join(ROOT, OVERLAY));
  const find = <T>(kind: string, name: string): T => {
    const found = aws.find((o) => o.kind === kind && o.metadata.name === name);
    if (!found) throw new Error(`${OVERLAY}: no ${kind} ${name}`);
    return found as T;
  };
  const awsDeployment = (service: Service) => find<IDeployment>('Deployment', service);
  const awsPod = (service: Service) => awsDeployment(service).spec!.template.spec!;
  /** The overlay's ConfigMap plus the container's env: what the service parses (the Secret holds only AMQP_URL here). */
  const awsConfig = <S extends Service>(service: S): ServiceConfig<S> => {
    const c = awsPod(service).containers[0]!;
    const env: Env = {};
    for (const from of c.envFrom ?? []) {
      const cm = from.configMapRef && aws.find((o) => o.kind === 'ConfigMap' && o.metadata.name === from.configMapRef?.name);
      if (cm) Object.assign(env, (cm as K8sObject & IConfigMap).data);
    }
    for (const e of c.env ?? []) if (e.value !== undefined) env[e.name] = e.value;
    return parseConfig(service, { ...env, AMQP_URL: 'amqps://user:secret@mq.example.com:5671' }, `${OVERLAY} ${service}`);
  };
  const seconds = (command: string[] | undefined) => (command?.[0] === 'sleep' ? Number(command[1]) : NaN);

  (HAS_KUBECTL ? it : it.skip)('renders as `kubectl kustomize` does', () => {
    expect(byId(aws)).toEqual(byId(kubectlKustomize(join(ROOT, OVERLAY))));
  });

  it('validates against the Kubernetes and KEDA schemas, all in the namespace of the base', () => {
    for (const o of aws) expect(() => validateK8sObject(o)).not.toThrow();
    expect(aws.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== 'media-foundry')).toEqual([]);
  });

  it('runs 3 gateways, rolled one at a time with none missing, and autoscaled workers', () => {
    expect(awsDeployment('gateway').spec?.replicas).toBe(3);
    expect(awsDeployment('gateway').spec?.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxSurge: 1, maxUnavailable: 0 } });
    const scaled = find<IScaledObject>('ScaledObject', 'worker');
    expect(scaled.spec.scaleTargetRef.name).toBe('worker');
    expect(scaled.spec.minReplicaCount).toBe(2);
    expect(scaled.spec.maxReplicaCount).toBe(20);
    // KEDA owns the worker's replica count
    expect(awsDeployment('worker').spec?.replicas).toBeUndefined();
  });

  it('uses AWS S3: no S3_ENDPOINT, no keys, virtual-hosted style, and both services parse that config', () => {
    for (const service of SERVICES) {
      const config = awsConfig(service);
      expect(config.storage).toMatchObject({ driver: 's3', forcePathStyle: false, endpoint: undefined, accessKeyId: undefined });
      expect(config.storage.driver === 's3' && config.storage.bucket).toBeTruthy();
    }
  });

  it('gives both services an IRSA ServiceAccount', () => {
    const sa = find<K8sObject>('ServiceAccount', 'media-foundry');
    expect((sa.metadata.annotations as Record<string, string>)['eks.amazonaws.com/role-arn']).toMatch(/^arn:aws:iam::\d{12}:role\/.+/);
    for (const service of SERVICES) expect(awsPod(service).serviceAccountName).toBe('media-foundry');
  });

  it("gateway: preStop, then the gateway's own lead time and close, fit the grace period", () => {
    const pod = awsPod('gateway');
    const preStop = seconds(pod.containers[0]!.lifecycle?.preStop?.exec?.command);
    expect(preStop).toBeGreaterThan(0);
    const lead = awsConfig('gateway').shutdownLeadMs / 1000;
    const settle = awsConfig('gateway').publishTimeoutMs / 1000 + 5;
    expect(pod.terminationGracePeriodSeconds).toBeGreaterThanOrEqual(preStop + lead + settle + 5 + 5);
    // the base's probes, ports and limits are kept (the patch merged the container by name)
    expect(pod.containers).toHaveLength(1);
    expect(pod.containers[0]!.readinessProbe?.httpGet?.path).toBe('/ready');
  });

  it('puts the gateways behind an AWS NLB and pulls pinned images from a registry', () => {
    const svc = find<IService>('Service', 'gateway');
    expect(svc.spec?.type).toBe('LoadBalancer');
    expect(svc.metadata?.annotations?.['service.beta.kubernetes.io/aws-load-balancer-type']).toBe('external');
    for (const service of SERVICES)
      expect(awsPod(service).containers[0]!.image).toMatch(
        new RegExp(`^\\d{12}\\.dkr\\.ecr\\.[a-z0-9-]+\\.amazonaws\\.com/media-foundry-${service}:\\d+\\.\\d+\\.\\d+$`),
      );
  });

  it('documents, in its README, an IAM action for every S3 call the storage driver makes', () => {
    const readme = read(`${OVERLAY}/README.md`);
    const driver = read('shared/src/node/storage/s3-storage.ts');
    // each SDK command the driver sends, and the IAM action that allows it
    const needs: Record<string, string> = {
      GetObjectCommand: 's3:GetObject',
      HeadObjectCommand: 's3:GetObject',
      PutObjectCommand: 's3:PutObject',
      DeleteObjectCommand: 's3:DeleteObject',
      DeleteObjectsCommand: 's3:DeleteObject',
      ListObjectsV2Command: 's3:ListBucket',
      HeadBucketCommand: 's3:ListBucket',
      ListMultipartUploadsCommand: 's3:ListBucketMultipartUploads',
      AbortMultipartUploadCommand: 's3:AbortMultipartUpload',
    };
    const used = [...new Set(driver.match(/\b[A-Z][A-Za-z0-9]+Command\b/g) ?? [])].filter((c) => c !== 'Command');
    expect(used.filter((c) => !(c in needs))).toEqual([]);
    for (const c of used) expect(readme).toContain(`"${needs[c]}"`);
    // multipart uploads (lib-storage's Upload) are s3:PutObject
    expect(driver).toContain("from '@aws-sdk/lib-storage'");
    expect(readme).toContain('"s3:PutObject"');
  });
});
