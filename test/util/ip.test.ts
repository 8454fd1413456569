// The IP module the gateway's SSRF guard, the compiler and the linter share: pure, table-driven.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  cidrContains,
  cidrHas,
  cidrsOverlap,
  classifyIp,
  embeddedIpv4,
  embeddedRanges,
  formatCidr,
  hasHostBits,
  normalizeCidr,
  parseCidr,
  parseIp,
  rangeCovers,
  specialRanges,
  type IpCategory,
} from '../../src/util/ip.js';
import { checkAddress } from '../../src/gateway/ssrf.js';

const ip = (s: string) => {
  const a = parseIp(s);
  assert.ok(a, `parses ${s}`);
  return a;
};
const cidr = (s: string) => {
  const c = parseCidr(s);
  assert.ok(c, `parses ${s}`);
  return c;
};

describe('parseIp', () => {
  it('accepts canonical literals only', () => {
    for (const s of ['0.0.0.0', '1.2.3.4', '255.255.255.255', '::', '::1', 'FE80::1', '2001:db8::1', '::ffff:1.2.3.4', '1:2:3:4:5:6:7:8']) {
      assert.ok(parseIp(s), s);
    }
  });
  it('reads a dotted tail where it stands (::a.b.c.d is compatible, not mapped)', () => {
    assert.equal(ip('::10.0.0.1').toNormalizedString(), '0:0:0:0:0:0:a00:1');
    assert.equal(ip('::ffff:10.0.0.1').toNormalizedString(), '0:0:0:0:0:ffff:a00:1');
    assert.equal(ip('1:2:3:4:5:6:1.2.3.4').toNormalizedString(), '1:2:3:4:5:6:102:304');
    assert.equal(parseIp('1:2:3:4:5:6:7:1.2.3.4'), undefined);
  });
  it('refuses spellings resolvers read differently, zone ids and junk', () => {
    for (const s of [
      '127.1',
      '0x7f.0.0.1',
      '0177.0.0.1',
      '01.2.3.4',
      '2130706433',
      '1.2.3.4 ',
      ' 1.2.3.4',
      '256.1.1.1',
      '1.2.3',
      'fe80::1%eth0',
      '::ffff:127.1',
      '::ffff:0x7f.0.0.1',
      '::ffff:01.2.3.4',
      '1:2:3:4:5:6:7:8:9',
      '1::2::3',
      'example.com',
      '',
    ]) {
      assert.equal(parseIp(s), undefined, s);
    }
  });
});

describe('parseCidr', () => {
  const rows: [string, string | undefined][] = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    ['10.1.2.3/8', '10.0.0.0/8'], // host bits cleared (hasHostBits reports them)
    ['10.0.0.1', '10.0.0.1/32'],
    ['0.0.0.0/0', '0.0.0.0/0'],
    ['FD00:0:0::/8', 'fd00::/8'],
    ['2001:db8::1/32', '2001:db8::/32'],
    ['::1', '::1/128'],
    ['::/0', '::/0'],
    ['::ffff:10.0.0.0/104', '::ffff:a00:0/104'],
    ['10.0.0.0/33', undefined],
    ['::/129', undefined],
    ['10.0.0.0/', undefined],
    ['10.0.0.0/8/8', undefined],
    ['10.0.0.0/-1', undefined],
    ['10.0.0.0/ 8', undefined],
    ['10.0.0.0/0008', undefined],
    ['10.0.0/8', undefined],
    [' 10.0.0.0/8', undefined],
    ['example.com/8', undefined],
  ];
  for (const [input, want] of rows) {
    it(`${JSON.stringify(input)} → ${want ?? 'refused'}`, () => {
      assert.equal(normalizeCidr(input), want);
    });
  }
  it('reports host bits', () => {
    assert.equal(hasHostBits('10.1.2.3/8'), true);
    assert.equal(hasHostBits('10.0.0.0/8'), false);
    assert.equal(hasHostBits('10.0.0.1'), false);
    assert.equal(hasHostBits('fd12::1/16'), true);
    assert.equal(hasHostBits('not-a-cidr'), false);
  });
});

describe('containment', () => {
  const has: [string, string, boolean][] = [
    ['10.0.0.0/8', '10.0.0.0', true],
    ['10.0.0.0/8', '10.255.255.255', true],
    ['10.0.0.0/8', '11.0.0.0', false],
    ['10.0.0.0/8', '9.255.255.255', false],
    ['172.16.0.0/12', '172.31.255.255', true],
    ['172.16.0.0/12', '172.32.0.0', false],
    ['100.64.0.0/10', '100.127.255.255', true],
    ['100.64.0.0/10', '100.128.0.0', false],
    ['0.0.0.0/0', '255.255.255.255', true],
    ['1.2.3.4/32', '1.2.3.4', true],
    ['1.2.3.4/32', '1.2.3.5', false],
    ['1.2.3.5/31', '1.2.3.4', true], // host bits cleared: 1.2.3.4/31
    ['fc00::/7', 'fdff:ffff::1', true],
    ['fc00::/7', 'fe00::', false],
    ['::/0', '::ffff:1.2.3.4', true],
    ['::/0', '1.2.3.4', false], // families never mix
    ['0.0.0.0/0', '::1', false],
    ['::ffff:0:0/96', '1.2.3.4', false], // containment is literal; rangeCovers reads embeddings
  ];
  for (const [c, a, want] of has) {
    it(`${c} ${want ? 'has' : 'lacks'} ${a}`, () => assert.equal(cidrHas(cidr(c), ip(a)), want));
  }
  const contains: [string, string, boolean, boolean][] = [
    // outer, inner, contains, overlaps
    ['10.0.0.0/8', '10.1.0.0/16', true, true],
    ['10.1.0.0/16', '10.0.0.0/8', false, true],
    ['10.0.0.0/8', '10.0.0.0/8', true, true],
    ['10.0.0.0/8', '11.0.0.0/8', false, false],
    ['0.0.0.0/0', '127.0.0.1/32', true, true],
    ['96.0.0.0/3', '127.0.0.0/8', true, true],
    ['fe80::/10', 'fe80::1/128', true, true],
    ['fe80::/10', 'fec0::/10', false, false],
    ['::/0', '0.0.0.0/0', false, false],
  ];
  for (const [a, b, c, o] of contains) {
    it(`${a} vs ${b}`, () => {
      assert.equal(cidrContains(cidr(a), cidr(b)), c);
      assert.equal(cidrsOverlap(cidr(a), cidr(b)), o);
      assert.equal(cidrsOverlap(cidr(b), cidr(a)), o);
    });
  }
});

describe('categories', () => {
  const rows: [string, IpCategory | undefined][] = [
    ['8.8.8.8', undefined],
    ['1.1.1.1', undefined],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['169.254.1.1', 'link_local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['168.63.129.17', undefined],
    ['192.0.0.192', 'metadata'],
    ['10.0.0.1', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['172.32.0.1', undefined],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'cgnat'],
    ['100.63.255.255', undefined],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.254', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['192.0.0.1', 'reserved'],
    ['192.0.0.9', undefined], // PCP anycast: globally reachable in the registry
    ['192.0.0.170', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['192.0.2.1', undefined], // documentation ranges stay open
    ['198.51.100.1', undefined],
    ['203.0.113.1', undefined],
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['fe80::1', 'link_local'],
    ['febf::1', 'link_local'],
    ['fec0::1', 'private'],
    ['fc00::1', 'unique_local'],
    ['fd12:3456::1', 'unique_local'],
    ['fd00:ec2::254', 'metadata'],
    ['ff02::1', 'multicast'],
    ['100::1', 'reserved'],
    ['2001:2::1', 'reserved'],
    ['2001:10::1', 'reserved'],
    ['2001:20::1', 'reserved'],
    ['5f00::1', 'reserved'],
    ['4000::1', 'reserved'], // outside 2000::/3
    ['2001:db8::1', undefined],
    ['3fff::1', undefined],
    ['2001:4860:4860::8888', undefined],
    ['2620:4f:8000::1', undefined],
  ];
  for (const [a, want] of rows) {
    it(`${a} → ${want ?? 'public'}`, () => assert.equal(classifyIp(ip(a)), want));
  }

  it('every table row parses, and a metadata row is never shadowed by a less specific one', () => {
    for (const f of [4, 6] as const) {
      const rows = specialRanges(f);
      assert.ok(rows.length > 10);
      for (let i = 1; i < rows.length; i++) assert.ok(rows[i - 1]!.range.prefix >= rows[i]!.range.prefix, 'most specific first');
      for (const r of rows.filter((x) => x.category === 'metadata')) assert.equal(classifyIp(r.range.ip), 'metadata', r.cidr);
    }
  });
});

describe('IPv4 embedded in IPv6', () => {
  const rows: [string, string[], IpCategory | undefined][] = [
    ['::ffff:127.0.0.1', ['IPv4-mapped:127.0.0.1'], 'loopback'],
    ['::ffff:7f00:1', ['IPv4-mapped:127.0.0.1'], 'loopback'],
    ['::ffff:169.254.169.254', ['IPv4-mapped:169.254.169.254'], 'metadata'],
    ['::ffff:8.8.8.8', ['IPv4-mapped:8.8.8.8'], undefined],
    ['::ffff:0.0.0.0', ['IPv4-mapped:0.0.0.0'], 'unspecified'],
    ['::10.0.0.1', ['IPv4-compatible:10.0.0.1'], 'private'],
    ['::ffff:0:a9fe:a9fe', ['IPv4-translated:169.254.169.254'], 'metadata'],
    ['64:ff9b::7f00:1', ['NAT64:127.0.0.1'], 'loopback'],
    ['64:ff9b::10.1.2.3', ['NAT64:10.1.2.3'], 'private'],
    ['64:ff9b::8.8.8.8', ['NAT64:8.8.8.8'], undefined],
    ['64:ff9b:1::a9fe:a9fe', ['local-use NAT64 /96:169.254.169.254'], 'metadata'],
    ['64:ff9b:1::808:808', ['local-use NAT64 /96:8.8.8.8'], undefined],
    [
      '64:ff9b:1:a9fe:a9:fe00::',
      ['local-use NAT64 /48:169.254.169.254', 'local-use NAT64 /56:254.169.254.0', 'local-use NAT64 /64:169.254.0.0'],
      'metadata',
    ],
    ['2002:7f00:1::', ['6to4:127.0.0.1'], 'loopback'],
    ['2002:a9fe:a9fe::1', ['6to4:169.254.169.254'], 'metadata'],
    ['2002:808:808::1', ['6to4:8.8.8.8'], undefined],
    // RFC 4380's own example: server 65.54.227.120, client 192.0.2.45 (stored inverted)
    ['2001:0:4136:e378:8000:63bf:3fff:fdd2', ['Teredo server:65.54.227.120', 'Teredo client:192.0.2.45'], undefined],
    ['2001:0:7f00:1::1', ['Teredo server:127.0.0.1', 'Teredo client:255.255.255.254'], 'loopback'],
    ['2001:0:808:808:0:0:5601:5601', ['Teredo server:8.8.8.8', 'Teredo client:169.254.169.254'], 'metadata'],
    ['2001:0:808:808:0:0:f5ff:fffe', ['Teredo server:8.8.8.8', 'Teredo client:10.0.0.1'], 'private'],
    ['::', [], 'unspecified'],
    ['::1', [], 'loopback'],
    ['2001:db8::7f00:1', [], undefined],
  ];
  for (const [a, views, want] of rows) {
    it(`${a} → ${views.join(', ') || 'none'}`, () => {
      assert.deepEqual(
        embeddedIpv4(ip(a)).map((e) => `${e.via}:${e.ip.toString()}`),
        views,
      );
      assert.equal(classifyIp(ip(a)), want);
    });
  }

  const ranges: [string, string[]][] = [
    ['::ffff:10.0.0.0/104', ['IPv4-mapped 10.0.0.0/8']],
    ['::ffff:0:0/96', ['IPv4-mapped 0.0.0.0/0']],
    [
      '::/0',
      [
        'IPv4-mapped 0.0.0.0/0',
        'IPv4-compatible 0.0.0.0/0',
        'IPv4-translated 0.0.0.0/0',
        'NAT64 0.0.0.0/0',
        'local-use NAT64 /48 0.0.0.0/0',
        'local-use NAT64 /56 0.0.0.0/0',
        'local-use NAT64 /64 0.0.0.0/0',
        'local-use NAT64 /96 0.0.0.0/0',
        '6to4 0.0.0.0/0',
        'Teredo server 0.0.0.0/0',
        'Teredo client 0.0.0.0/0',
      ],
    ],
    ['2002:a00::/24', ['6to4 10.0.0.0/8']],
    ['64:ff9b::a9fe:a9fe/128', ['NAT64 169.254.169.254/32']],
    ['2001:0:808:808::/64', ['Teredo server 8.8.8.8/32', 'Teredo client 0.0.0.0/0']],
    ['2001:db8::/32', []],
    ['10.0.0.0/8', []],
  ];
  for (const [c, want] of ranges) {
    it(`range ${c} reaches ${want.join(', ') || 'no IPv4'}`, () => {
      assert.deepEqual(
        embeddedRanges(cidr(c)).map((r) => `${r.via} ${formatCidr(r.range)}`),
        want,
      );
    });
  }

  it('an IPv6 range over an embedding block covers the IPv4 range it spells', () => {
    assert.equal(rangeCovers(cidr('::ffff:10.0.0.0/104'), ip('10.9.9.9')), true);
    assert.equal(rangeCovers(cidr('::ffff:10.0.0.0/104'), ip('11.0.0.1')), false);
    assert.equal(rangeCovers(cidr('64:ff9b::a00:0/104'), ip('10.1.1.1')), true);
    assert.equal(rangeCovers(cidr('10.0.0.0/8'), ip('10.1.1.1')), true);
    assert.equal(rangeCovers(cidr('10.0.0.0/8'), ip('::ffff:10.1.1.1')), false);
  });
});

describe('the SSRF decision', () => {
  const allowed = (list: string[]) => list.map(cidr);
  const rows: [string, string[], IpCategory | undefined][] = [
    ['8.8.8.8', [], undefined],
    ['10.1.2.3', [], 'private'],
    ['10.1.2.3', ['10.0.0.0/8'], undefined],
    ['10.1.2.3', ['10.2.0.0/16'], 'private'],
    ['::ffff:10.1.2.3', ['10.0.0.0/8'], undefined], // the IPv4 reading is covered
    ['64:ff9b::a01:203', ['10.0.0.0/8'], undefined],
    ['64:ff9b::a01:203', [], 'private'],
    ['100.64.1.1', ['100.64.0.0/10'], undefined],
    ['100.100.100.200', ['100.64.0.0/10'], 'metadata'], // metadata never, even inside an allowed range
    ['fd12::1', ['fd12::/16'], undefined],
    ['fd00:ec2::254', ['fd00::/8'], 'metadata'],
    ['127.0.0.1', ['127.0.0.0/8'], 'loopback'],
    ['169.254.169.254', ['0.0.0.0/0'], 'metadata'],
    ['169.254.1.1', ['169.254.0.0/16'], 'link_local'],
    ['168.63.129.16', ['0.0.0.0/0'], 'metadata'],
    ['::ffff:127.0.0.1', ['::/0'], 'loopback'],
    ['2002:a9fe:a9fe::', ['::/0', '0.0.0.0/0'], 'metadata'],
    ['2001:0:808:808:0:0:5601:5601', ['::/0'], 'metadata'], // Teredo client reading
    ['2001:0:808:808:0:0:f5ff:fffe', [], 'private'],
    ['2001:0:808:808:0:0:f5ff:fffe', ['10.0.0.0/8'], undefined],
    ['64:ff9b:1::a9fe:a9fe', ['64:ff9b:1::/48'], 'metadata'],
    ['224.0.0.1', ['224.0.0.0/4'], 'multicast'],
    ['255.255.255.255', ['0.0.0.0/0'], 'broadcast'],
    ['240.0.0.1', ['240.0.0.0/4'], undefined], // reserved: allowed_ips may open it
    ['not-an-ip', [], 'unspecified'], // fail closed
    ['fe80::1%eth0', ['fe80::/10'], 'unspecified'],
  ];
  for (const [a, list, want] of rows) {
    it(`${a} with allowed_ips [${list.join(', ')}] → ${want ?? 'allowed'}`, () => {
      assert.equal(checkAddress(a, { allowedIps: allowed(list), allowLoopback: false }), want);
    });
  }
  it('the loopback test hook opens loopback and nothing else', () => {
    assert.equal(checkAddress('127.0.0.1', { allowedIps: [], allowLoopback: true }), undefined);
    assert.equal(checkAddress('::ffff:127.0.0.1', { allowedIps: [], allowLoopback: true }), undefined);
    assert.equal(checkAddress('169.254.169.254', { allowedIps: [], allowLoopback: true }), 'metadata');
    assert.equal(checkAddress('10.0.0.1', { allowedIps: [], allowLoopback: true }), 'private');
  });
});
