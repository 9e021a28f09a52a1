import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_VARIABLES, loadGatewayConfig, loadWorkerConfig } from '@media-foundry/shared';
import { ROOT } from './helpers/paths.js';

const text = (name: string) => readFileSync(join(ROOT, name), 'utf8');

describe('.env.example and README', () => {
  const entries = Object.fromEntries(
    text('.env.example')
      .split('\n')
      .filter((line) => /^[A-Z0-9_]+=/.test(line))
      .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]),
  );

  it('lists exactly the variables of the config schema', () => {
    expect(Object.keys(entries).sort()).toEqual([...CONFIG_VARIABLES].sort());
  });

  it('holds values the config schema accepts', () => {
    expect(() => loadGatewayConfig(entries)).not.toThrow();
    expect(() => loadWorkerConfig(entries)).not.toThrow();
  });

  it('documents every variable in the README configuration table', () => {
    const readme = text('README.md');
    for (const name of CONFIG_VARIABLES) expect(readme).toContain(`\`${name}\``);
  });
});
