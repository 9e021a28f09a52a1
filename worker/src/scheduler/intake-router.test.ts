import { DEFAULT_TENANT } from '@media-foundry/shared';
import { intakeRefusal, intakeTenant } from './intake-router.js';

const json = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8');

describe('intakeTenant', () => {
  it('routes a job to the tenant its message names', () => {
    expect(intakeTenant(json({ job_id: 'j1', operation: 'transcode', tenant: 'acme' }))).toBe('acme');
    expect(intakeTenant(json({ tenant: 'key:3f2a9c0d11e7' }))).toBe('key:3f2a9c0d11e7');
    expect(intakeTenant(json({ tenant: 'Zürich ⚙' }))).toBe('Zürich ⚙');
  });

  it('accepts a tenant name of up to 200 characters', () => {
    const longest = 't'.repeat(200);
    expect(intakeTenant(json({ tenant: longest }))).toBe(longest);
  });

  it('routes a job that names no tenant to the default one', () => {
    expect(DEFAULT_TENANT).toBe('shared');
    expect(intakeTenant(json({ job_id: 'j1', operation: 'transcode' }))).toBe(DEFAULT_TENANT);
    expect(intakeTenant(json({ tenant: null }))).toBe(DEFAULT_TENANT);
  });

  it.each([
    ['an empty name', { tenant: '' }],
    ['a name of 201 characters', { tenant: 't'.repeat(201) }],
    ['a number', { tenant: 42 }],
    ['an object', { tenant: { name: 'acme' } }],
    ['a list', { tenant: ['acme'] }],
    ['a boolean', { tenant: true }],
  ])('routes a job whose tenant is %s to the default tenant', (_label, message) => {
    expect(intakeTenant(json(message))).toBe(DEFAULT_TENANT);
  });

  it.each([
    ['text that is not JSON', Buffer.from('tenant=acme')],
    ['truncated JSON', Buffer.from('{"tenant":"acme"')],
    ['an empty body', Buffer.alloc(0)],
    ['bytes that are not UTF-8', Buffer.from([0xff, 0xfe, 0x00, 0x7b])],
    ['JSON null', Buffer.from('null')],
    ['a JSON string', Buffer.from('"acme"')],
    ['a JSON number', Buffer.from('7')],
    ['a JSON list', Buffer.from('[{"tenant":"acme"}]')],
  ])('routes %s to the default tenant (the worker answers INVALID_JSON or VALIDATION_ERROR there)', (_label, content) => {
    expect(intakeTenant(content)).toBe(DEFAULT_TENANT);
  });
});

describe('intakeRefusal', () => {
  it('refuses delivery_method "url" with VALIDATION_ERROR: only a gateway makes download links', () => {
    const e = intakeRefusal(json({ job_id: 'j1', operation: 'probe', delivery_method: 'url' }));
    expect(e?.code).toBe('VALIDATION_ERROR');
    expect(e?.details).toMatch(/^delivery_method: "url" is for WebSocket clients/);
  });

  it.each([
    ['binary delivery', { job_id: 'j1', delivery_method: 'binary' }],
    ['no delivery_method', { job_id: 'j1' }],
  ])('routes a job with %s', (_label, message) => {
    expect(intakeRefusal(json(message))).toBeNull();
  });

  it('leaves a body that is not JSON to the worker (INVALID_JSON)', () => {
    expect(intakeRefusal(Buffer.from('{"delivery_method":'))).toBeNull();
  });
});
