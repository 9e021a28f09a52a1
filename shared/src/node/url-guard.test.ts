import { addressProblem, embeddedIPv4, embeddedIPv4s, literalUrlProblem, parseAllowlist } from './url-guard.js';

const none = parseAllowlist([]);

describe('addressProblem', () => {
  it('names the address only when the URL held it: the internal address of a name is not told', () => {
    const none = parseAllowlist([]);
    expect(addressProblem('10.1.2.3', 'db.internal', none)).toBe('db.internal resolves to a private or reserved address');
    expect(addressProblem('10.1.2.3', '10.1.2.3', none)).toBe('10.1.2.3 resolves to 10.1.2.3, a private or reserved address');
    expect(addressProblem('::ffff:10.1.2.3', '[::ffff:10.1.2.3]', none)).toBe(
      '[::ffff:10.1.2.3] resolves to ::ffff:10.1.2.3 (10.1.2.3), a private or reserved address',
    );
  });

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
    // IPv4-translated (::ffff:0:0/96)
    '::ffff:0:127.0.0.1',
    '::ffff:0:7f00:1',
    '::ffff:0:a9fe:a9fe',
    '::ffff:0:192.168.1.1',
    // NAT64, well-known prefix (64:ff9b::/96)
    '64:ff9b::127.0.0.1',
    '64:ff9b::10.0.0.1',
    '64:ff9b::c0a8:101',
    // NAT64, local-use prefix (64:ff9b:1::/48) with a /96 prefix …
    '64:ff9b:1::127.0.0.1',
    '64:ff9b:1:abcd:0:1:a9fe:a9fe',
    '64:ff9b:1::10.1.2.3',
    // … and with a /48 (127.0.0.1 around the u octet) and a /64 (169.254.169.254) one
    '64:ff9b:1:7f00:0:100::',
    '64:ff9b:1:0:a9:fea9:fe00:0',
  ])('refuses %s', (address) => {
    expect(addressProblem(address, 'evil.example', none)).toMatch(/private or reserved/);
  });

  it.each([
    '93.184.216.34',
    '1.1.1.1',
    '172.32.0.1',
    '2606:4700:4700::1111',
    '::ffff:8.8.8.8',
    '::ffff:0:8.8.8.8',
    '64:ff9b::8.8.8.8',
    '64:ff9b:1::8.8.8.8',
    '64:ff9b:1:abcd:0:1:808:808',
  ])('allows public %s', (address) => {
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

describe('embeddedIPv4s', () => {
  it('reads every layout of the local-use NAT64 prefix whose unused bits are zero', () => {
    expect(embeddedIPv4s('64:ff9b:1::8.8.8.8')).toEqual(['8.8.8.8']);
    expect(embeddedIPv4s('64:ff9b:1:7f00:0:100::')).toEqual(['127.0.0.1', '0.0.1.0', '0.1.0.0', '0.0.0.0']);
    expect(embeddedIPv4s('::ffff:0:10.0.0.1')).toEqual(['10.0.0.1']);
    expect(embeddedIPv4s('2606:4700::1111')).toEqual([]);
  });
});

describe('URL spellings', () => {
  // the WHATWG URL parser (used on every URL input) normalises these to dotted quads before the check
  it.each([
    'http://2130706433/',
    'http://0x7f000001/',
    'http://0177.0.0.1/',
    'http://127.1/',
    'http://[::ffff:127.0.0.1]/',
    'http://[::ffff:0:127.0.0.1]/',
    'http://[64:ff9b::127.0.0.1]/',
    'http://[64:ff9b:1::169.254.169.254]/',
  ])('%s names a loopback address', (url) => {
    const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
    expect(addressProblem(host, host, none)).not.toBeNull();
  });
});

describe('literalUrlProblem', () => {
  it.each([
    'http://127.0.0.1/a.mp4',
    'http://10.1.2.3:8080/a.mp4',
    'http://[::1]/a.mp4',
    'http://[::ffff:169.254.169.254]/latest',
    'http://[64:ff9b::a00:1]/a.mp4',
    'http://localhost/a.mp4',
    'http://LOCALHOST./a.mp4',
    'http://media.localhost/a.mp4',
  ])('refuses %s on its face', (url) => {
    expect(literalUrlProblem(url, none)).toMatch(/private or reserved|loopback name/);
  });

  it.each(['https://example.com/a.mp4', 'http://93.184.216.34/a.mp4', 'http://[2606:4700::1111]/a.mp4', 'http://localhost.example.com/a'])(
    'lets %s through to the connect-time check',
    (url) => {
      expect(literalUrlProblem(url, none)).toBeNull();
    },
  );

  it('lets allow-listed literals and names through', () => {
    expect(literalUrlProblem('http://127.0.0.1:9000/a.mp4', parseAllowlist(['127.0.0.1']))).toBeNull();
    expect(literalUrlProblem('http://localhost:9000/a.mp4', parseAllowlist(['localhost']))).toBeNull();
  });
});
