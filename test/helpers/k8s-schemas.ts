/**
 * Validation of Kubernetes objects against the API's own schemas (the
 * OpenAPI definitions compiled by kubernetes-models, and KEDA's CRDs by
 * @kubernetes-models/keda): types, required fields, enums and formats. The
 * schemas allow unknown fields (the API server drops them), so a misspelt
 * optional field passes here; the deploy test checks the fields it relies on
 * by name.
 */
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Namespace } from 'kubernetes-models/v1/Namespace';
import { Secret } from 'kubernetes-models/v1/Secret';
import { Service } from 'kubernetes-models/v1/Service';
import { ServiceAccount } from 'kubernetes-models/v1/ServiceAccount';
import { ScaledObject } from '@kubernetes-models/keda/keda.sh/v1alpha1/ScaledObject';
import { TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1/TriggerAuthentication';
import type { K8sObject } from './kustomize.js';

type Validating = new (data: never) => { validate(): void };

/** The kinds the manifests use, by `apiVersion/kind`; another kind fails validation until it is added here. */
const MODELS: Record<string, Validating> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'v1/ServiceAccount': ServiceAccount,
  'apps/v1/Deployment': Deployment,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

/** Throws, naming the object, when it does not validate (or its kind has no schema here). */
export function validateK8sObject(o: K8sObject): void {
  const id = `${o.apiVersion}/${o.kind}`;
  const Model = MODELS[id];
  if (!Model) throw new Error(`${id} ${o.metadata.name}: no schema for this kind in test/helpers/k8s-schemas.ts`);
  try {
    new Model(o as never).validate();
  } catch (err) {
    throw new Error(`${id} ${o.metadata.name} does not validate: ${(err as Error).message}`, { cause: err });
  }
}
