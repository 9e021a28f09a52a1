/**
 * Each operation's options as a flat list of fields, read from the JSON
 * Schema zod makes of the shared schemas: the CLI builds its flags and help
 * from it, the browser page its form. Browser-safe.
 */
import { type OperationName, operationOptions } from '@media-foundry/shared';
import { z } from 'zod';

export type FieldKind = 'number' | 'integer' | 'boolean' | 'enum' | 'string' | 'json';

export interface OptionField {
  /** The option's wire name (`speed_factor`). */
  name: string;
  kind: FieldKind;
  required: boolean;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  /** For `enum`: the allowed values. */
  values?: (string | number)[];
}

interface JsonSchema {
  type?: string;
  enum?: (string | number)[];
  const?: string | number;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  oneOf?: JsonSchema[];
  anyOf?: JsonSchema[];
}

function fieldOf(name: string, schema: JsonSchema, required: boolean): OptionField {
  const field: OptionField = { name, kind: 'json', required };
  if (schema.default !== undefined) field.default = schema.default;
  const values = schema.enum ?? (schema.const !== undefined ? [schema.const] : undefined);
  if (values) {
    field.kind = 'enum';
    field.values = values;
  } else if (schema.type === 'number' || schema.type === 'integer' || schema.type === 'boolean' || schema.type === 'string')
    field.kind = schema.type;
  const min = schema.minimum ?? schema.exclusiveMinimum;
  const max = schema.maximum ?? schema.exclusiveMaximum;
  // zod writes ±MAX_SAFE_INTEGER for `.int()` alone: no range worth showing
  if (min !== undefined && Math.abs(min) < Number.MAX_SAFE_INTEGER) field.minimum = min;
  if (max !== undefined && Math.abs(max) < Number.MAX_SAFE_INTEGER) field.maximum = max;
  return field;
}

/** The fields of `operation`'s options; variants of a union (subtitles' `mode`) are merged, their tags listed as an enum. */
export function operationFields(operation: OperationName): OptionField[] {
  const root = z.toJSONSchema(operationOptions[operation], { io: 'input', unrepresentable: 'any' }) as JsonSchema;
  const variants = root.oneOf ?? root.anyOf ?? [root];
  const fields = new Map<string, OptionField>();
  for (const variant of variants)
    for (const [name, schema] of Object.entries(variant.properties ?? {})) {
      const field = fieldOf(
        name,
        schema,
        variants.every((v) => v.required?.includes(name) ?? false),
      );
      const known = fields.get(name);
      if (known?.kind === 'enum' && field.kind === 'enum') known.values = [...new Set([...(known.values ?? []), ...(field.values ?? [])])];
      else if (!known) fields.set(name, field);
    }
  return [...fields.values()];
}

/** `number 0.25–10, default 1`: a field's type, range and default in words. */
export function describeField(field: OptionField): string {
  const parts: string[] = [];
  if (field.kind === 'enum') parts.push(`one of ${field.values!.join(', ')}`);
  else if (field.kind === 'json') parts.push('JSON');
  else parts.push(field.kind);
  if (field.minimum !== undefined && field.maximum !== undefined) parts[0] += ` ${field.minimum}–${field.maximum}`;
  else if (field.minimum !== undefined) parts[0] += ` ≥ ${field.minimum}`;
  else if (field.maximum !== undefined) parts[0] += ` ≤ ${field.maximum}`;
  if (field.required) parts.push('required');
  if (field.default !== undefined) parts.push(`default ${JSON.stringify(field.default)}`);
  return parts.join(', ');
}

/** Turns a text value (a flag's, a form's) into the field's type; a value that does not parse is passed on as given, for the schema to name. */
export function parseFieldValue(field: OptionField, text: string): unknown {
  switch (field.kind) {
    case 'number':
    case 'integer': {
      const n = Number(text);
      return text.trim() === '' || Number.isNaN(n) ? text : n;
    }
    case 'boolean':
      return text === 'true' || text === '' ? true : text === 'false' ? false : text;
    case 'enum': {
      const n = Number(text);
      return field.values?.includes(text) ? text : field.values?.includes(n) ? n : text;
    }
    case 'json':
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    default:
      return text;
  }
}
