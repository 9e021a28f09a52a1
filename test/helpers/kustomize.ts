/**
 * Renders a kustomize base the way `kustomize build` does, for the features
 * k8s/kustomization.yaml uses — and refuses any other, so the base cannot
 * grow a feature this renderer would silently ignore. No kustomize build
 * ships on npm (kubectl embeds it; Debian 12's kubectl is too old for
 * `labels`), so the tests render it themselves and, where a kubectl is
 * installed, compare with `kubectl kustomize` (test/deploy.test.ts).
 *
 * Supported: `resources` (YAML files, several documents each, and
 * directories holding a kustomization: an overlay's base), `namespace`,
 * `labels` (pairs, metadata only: no includeSelectors/includeTemplates),
 * `configMapGenerator` with `envs` and `behavior` create/replace/merge (the
 * name gets kustomize's content hash, and every reference from a pod template
 * follows it), `patches` (strategic-merge patch files naming their target by
 * kind and name; lists of named items — containers, env, ports, volumes —
 * merge by name), `replicas`, `images` (newName, newTag, digest).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';

/** A Kubernetes object as YAML gives it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; [key: string]: unknown };
  [key: string]: unknown;
}

interface Kustomization {
  apiVersion?: string;
  kind?: string;
  namespace?: string;
  resources?: string[];
  labels?: { pairs: Record<string, string>; includeSelectors?: boolean; includeTemplates?: boolean }[];
  configMapGenerator?: { name: string; envs?: string[]; behavior?: string; options?: unknown }[];
  images?: { name: string; newName?: string; newTag?: string; digest?: string }[];
  patches?: { path?: string; patch?: string; target?: unknown; options?: unknown }[];
  replicas?: { name: string; count: number }[];
}

const SUPPORTED = new Set([
  'apiVersion',
  'kind',
  'namespace',
  'resources',
  'labels',
  'configMapGenerator',
  'images',
  'patches',
  'replicas',
]);

/** A ConfigMap generator's result before it is named: the name gets the hash of the final data. */
interface Generated {
  name: string;
  data: Record<string, string>;
  namespace?: string;
  labels?: Record<string, string>;
}

/** Kinds that live outside namespaces (of those a base may hold). */
const CLUSTER_SCOPED = new Set([
  'Namespace',
  'ClusterRole',
  'ClusterRoleBinding',
  'CustomResourceDefinition',
  'PriorityClass',
  'StorageClass',
]);

/** Every document of a YAML file, empty ones dropped. */
export function loadYamlObjects(path: string): K8sObject[] {
  return parseAllDocuments(readFileSync(path, 'utf8'))
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((o): o is K8sObject => o !== null);
}

/** Renders the kustomization in `dir`. */
export function renderKustomization(dir: string): K8sObject[] {
  const { objects, generated } = build(dir);
  const renamed = new Map<string, string>();
  for (const gen of generated) {
    const name = `${gen.name}-${configMapHash(gen.data)}`;
    renamed.set(gen.name, name);
    const metadata: K8sObject['metadata'] = { name };
    if (gen.labels) metadata.labels = gen.labels;
    if (gen.namespace) metadata.namespace = gen.namespace;
    objects.push({ apiVersion: 'v1', kind: 'ConfigMap', metadata, data: gen.data });
  }
  for (const o of objects)
    for (const podSpec of podSpecs(o)) {
      for (const c of [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? [])]) {
        for (const from of c.envFrom ?? [])
          if (from.configMapRef) from.configMapRef.name = renamed.get(from.configMapRef.name) ?? from.configMapRef.name;
        for (const e of c.env ?? []) {
          const ref = e.valueFrom?.configMapKeyRef;
          if (ref) ref.name = renamed.get(ref.name) ?? ref.name;
        }
      }
      for (const v of podSpec.volumes ?? []) if (v.configMap) v.configMap.name = renamed.get(v.configMap.name) ?? v.configMap.name;
    }
  return objects;
}

/** One kustomization's objects and generated ConfigMaps (not yet named), its bases' included. */
function build(dir: string): { objects: K8sObject[]; generated: Generated[] } {
  const k = parse(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization;
  const unsupported = Object.keys(k).filter((key) => !SUPPORTED.has(key));
  if (unsupported.length > 0)
    throw new Error(`kustomization.yaml uses ${unsupported.join(', ')}, which test/helpers/kustomize.ts does not render`);

  const objects: K8sObject[] = [];
  const generated: Generated[] = [];
  for (const resource of k.resources ?? []) {
    const path = join(dir, resource);
    if (statSync(path).isDirectory()) {
      const base = build(path);
      objects.push(...base.objects);
      generated.push(...base.generated);
    } else objects.push(...loadYamlObjects(path));
  }

  // generators of this level: new ones take this level's namespace and labels below, with the objects
  const own: Generated[] = [];
  for (const gen of k.configMapGenerator ?? []) {
    if (gen.options !== undefined) throw new Error(`configMapGenerator ${gen.name}: options are not rendered`);
    const data: Record<string, string> = {};
    for (const env of gen.envs ?? []) Object.assign(data, parseEnvFile(readFileSync(join(dir, env), 'utf8'), env));
    const behavior = gen.behavior ?? 'create';
    const existing = generated.find((g) => g.name === gen.name);
    if (behavior === 'create') {
      if (existing) throw new Error(`configMapGenerator ${gen.name} exists in a base: use behavior replace or merge`);
      own.push({ name: gen.name, data });
    } else if (behavior === 'replace' || behavior === 'merge') {
      if (!existing) throw new Error(`configMapGenerator ${gen.name}: behavior ${behavior} needs one in a base`);
      existing.data = behavior === 'replace' ? data : { ...existing.data, ...data };
    } else throw new Error(`configMapGenerator ${gen.name}: behavior ${behavior} is not rendered`);
  }

  for (const patch of k.patches ?? []) {
    if (!patch.path || patch.patch !== undefined || patch.target !== undefined || patch.options !== undefined)
      throw new Error('only patches given by `path` (strategic merge, targeting by kind and name) are rendered');
    for (const p of loadYamlObjects(join(dir, patch.path))) {
      const target = objects.find((o) => o.kind === p.kind && o.metadata.name === p.metadata.name);
      if (!target) throw new Error(`patch ${patch.path}: no ${p.kind} ${p.metadata.name} to patch`);
      Object.assign(target, strategicMerge(target, p));
    }
  }
  for (const r of k.replicas ?? []) {
    const target = objects.find((o) => ['Deployment', 'StatefulSet', 'ReplicaSet'].includes(o.kind) && o.metadata.name === r.name);
    if (!target) throw new Error(`replicas: no workload ${r.name}`);
    (target.spec as { replicas?: number }).replicas = r.count;
  }

  for (const o of objects) {
    if (k.namespace && !CLUSTER_SCOPED.has(o.kind)) o.metadata.namespace = k.namespace;
    for (const label of k.labels ?? []) {
      if (label.includeSelectors || label.includeTemplates)
        throw new Error('labels with includeSelectors/includeTemplates are not rendered');
      o.metadata.labels = { ...o.metadata.labels, ...label.pairs };
    }
    for (const podSpec of podSpecs(o))
      for (const c of [...(podSpec.containers ?? []), ...(podSpec.initContainers ?? [])]) c.image = setImage(c.image, k.images ?? []);
  }
  for (const gen of [...generated, ...own]) {
    if (k.namespace) gen.namespace = k.namespace;
    for (const label of k.labels ?? []) gen.labels = { ...gen.labels, ...label.pairs };
  }
  return { objects, generated: [...generated, ...own] };
}

/**
 * A strategic merge patch, for what overlays patch: maps merge key by key, a
 * list whose items all have a `name` merges item by item by name (new names
 * appended), any other value replaces; `null` deletes a key.
 */
export function strategicMerge(target: unknown, patch: unknown): unknown {
  if (patch === null) return undefined;
  if (Array.isArray(patch) && Array.isArray(target)) {
    const named = (list: unknown[]) =>
      list.every((i) => typeof i === 'object' && i !== null && typeof (i as { name?: unknown }).name === 'string');
    if (!named(patch) || !named(target)) return patch;
    const merged = target.map((item) => {
      const over = patch.find((p) => (p as { name: string }).name === (item as { name: string }).name);
      return over === undefined ? item : strategicMerge(item, over);
    });
    for (const p of patch) if (!target.some((t) => (t as { name: string }).name === (p as { name: string }).name)) merged.push(p);
    return merged;
  }
  if (typeof patch === 'object' && !Array.isArray(patch) && typeof target === 'object' && target !== null && !Array.isArray(target)) {
    const merged: Record<string, unknown> = { ...(target as Record<string, unknown>) };
    for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
      const next = strategicMerge(merged[key], value);
      if (next === undefined) delete merged[key];
      else merged[key] = next;
    }
    return merged;
  }
  return patch;
}

interface Container {
  image: string;
  envFrom?: { configMapRef?: { name: string } }[];
  env?: { valueFrom?: { configMapKeyRef?: { name: string } } }[];
}
interface PodSpec {
  containers?: Container[];
  initContainers?: Container[];
  volumes?: { configMap?: { name: string } }[];
}

/** The pod specs of workload objects (Deployment, StatefulSet, DaemonSet, Job: spec.template; CronJob: one level deeper). */
function podSpecs(o: K8sObject): PodSpec[] {
  const spec = o.spec as { template?: { spec?: PodSpec }; jobTemplate?: { spec?: { template?: { spec?: PodSpec } } } } | undefined;
  return [spec?.template?.spec, spec?.jobTemplate?.spec?.template?.spec].filter((s): s is PodSpec => s !== undefined);
}

/** Applies the `images` entry whose name matches the image's name (without tag or digest). */
function setImage(image: string, images: NonNullable<Kustomization['images']>): string {
  const at = image.indexOf('@');
  const base = at >= 0 ? image.slice(0, at) : image;
  const colon = base.lastIndexOf(':');
  const hasTag = colon > base.lastIndexOf('/');
  const name = hasTag ? base.slice(0, colon) : base;
  const entry = images.find((i) => i.name === name);
  if (!entry) return image;
  const newName = entry.newName ?? name;
  if (entry.digest) return `${newName}@${entry.digest}`;
  if (entry.newTag) return `${newName}:${entry.newTag}`;
  return `${newName}${image.slice(name.length)}`;
}

/**
 * kustomize's env file: one KEY=value a line, taken as written (no quotes
 * removed, no trailing comments); lines starting with # and blank lines are
 * skipped. A line without `=` would read the builder's own environment: refused.
 */
export function parseEnvFile(text: string, where = 'env file'): Record<string, string> {
  const data: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    if (eq <= 0) throw new Error(`${where}:${i + 1}: not KEY=value`);
    data[line.slice(0, eq)] = line.slice(eq + 1);
  }
  return data;
}

/**
 * kustomize's name suffix for a generated ConfigMap: sha256 of Go's JSON of
 * {data, kind, name} (keys sorted, <>& escaped; no data: ""), its first ten
 * hex digits with 0 1 3 a e spelled g h k m t (sigs.k8s.io/kustomize/api/hasher).
 * The generator hashes the object before it has a name: `name` is "" (as
 * kustomize v5 does; the comparison with `kubectl kustomize` checks it).
 */
export function configMapHash(data: Record<string, string>): string {
  const sorted = Object.fromEntries(Object.entries(data).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  const json = JSON.stringify({ data: Object.keys(sorted).length > 0 ? sorted : '', kind: 'ConfigMap', name: '' }).replace(
    /[<>&\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
  const hex = createHash('sha256').update(json).digest('hex');
  const spelled: Record<string, string> = { '0': 'g', '1': 'h', '3': 'k', a: 'm', e: 't' };
  return [...hex.slice(0, 10)].map((c) => spelled[c] ?? c).join('');
}

/** Whether a kubectl is installed: where one is, its embedded kustomize is the reference our renderer is checked against. */
export const HAS_KUBECTL: boolean = (() => {
  try {
    execFileSync('kubectl', ['version', '--client'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();

/** What `kubectl kustomize <dir>` renders. */
export function kubectlKustomize(dir: string): K8sObject[] {
  return parseAllDocuments(execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8' })).map((d) => d.toJS() as K8sObject);
}

/** Objects by `apiVersion kind namespace/name`, for comparing two renderings whatever their order. */
export function byId(objects: K8sObject[]): Record<string, K8sObject> {
  return Object.fromEntries(objects.map((o) => [`${o.apiVersion} ${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`, o]));
}
