import { addressProblem, embeddedIPv4, parseAllowlist } from './url-guard.js';

const none = parseAllowlist([]);

describe('addressProblem', () => {
  it.each([
    '127.0.0.1',
    '127.1.2.3',
    '10.0.0.5',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    '::',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '64:ff9b::a9fe:a9fe',
    '2002:7f00:1::1',
  ])('refuses %s', (address) => {
    expect(addressProblem(address, 'evil.example', none)).toMatch(/private or reserved/);
  });

  it.each(['93.184.216.34', '1.1.1.1', '172.32.0.1', '2606:4700:4700::1111', '::ffff:8.8.8.8'])('allows public %s', (address) => {
    expect(addressProblem(address, 'example.com', none)).toBeNull();
  });

  it('lets URL_ALLOWLIST open hosts and networks', () => {
    const allow = parseAllowlist(['media.internal', '10.1.0.0/16', '127.0.0.1', ' ']);
    expect(addressProblem('10.9.9.9', 'Media.Internal', allow)).toBeNull();
    expect(addressProblem('10.1.2.3', 'x', allow)).toBeNull();
    expect(addressProblem('10.2.0.1', 'x', allow)).not.toBeNull();
    expect(addressProblem('127.0.0.1', 'x', allow)).toBeNull();
    expect(addressProblem('::ffff:127.0.0.1', 'x', allow)).toBeNull();
    expect(addressProblem('127.0.0.2', 'x', allow)).not.toBeNull();
  });
});

describe('embeddedIPv4', () => {
  it.each([
    ['::ffff:192.168.0.1', '192.168.0.1'],
    ['::ffff:c0a8:1', '192.168.0.1'],
    ['::7f00:1', '127.0.0.1'],
    ['64:ff9b::7f00:1', '127.0.0.1'],
    ['2002:a00:1::', '10.0.0.1'],
    ['2606:4700::1111', null],
    ['::1', null],
    ['127.0.0.1', null],
  ])('%s → %s', (v6, v4) => {
    expect(embeddedIPv4(v6)).toBe(v4);
  });
});

describe('URL spellings', () => {
  // the WHATWG URL parser (used on every URL input) normalises these to dotted quads before the check
  it.each(['http://2130706433/', 'http://0x7f000001/', 'http://0177.0.0.1/', 'http://127.1/', 'http://[::ffff:127.0.0.1]/'])(
    '%s names a loopback address',
    (url) => {
      const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
      expect(addressProblem(host, host, none)).not.toBeNull();
    },
  );
});
