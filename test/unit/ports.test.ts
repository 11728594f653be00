import { strict as assert } from 'node:assert';
import { planPortMaps, validateBinding, type PortPlanInput } from '@tsnet/driver/dist/core/ports';

const base: Omit<PortPlanInput, 'bindings'> = {
  containerIPv4: '10.232.1.50',
  containerIPv6: 'fd42:232:1::2',
  hostBindingIPv4: '0.0.0.0',
  hostBindingIPv6: '::',
  ipv6: false,
  portRange: { start: 49153, end: 49160 },
  taken: [],
  bound: [],
};
const b = (Port: number, HostPort: number, HostIP = '', Proto = 6, HostPortEnd = HostPort) => ({ Proto, IP: '', Port, HostIP, HostPort, HostPortEnd });

describe('port planning (driver/core/ports)', () => {
  it('maps the trace\'s bindings: fixed, picked, udp on 127.0.0.1', () => {
    const plan = planPortMaps({ ...base, bindings: [b(95, 0), b(80, 18080), b(81, 18081, '127.0.0.1', 17)] });
    assert.deepEqual(
      plan.map((p) => `${p.proto} ${p.hostIP}:${p.hostPort}->${p.containerIP}:${p.containerPort} ${p.picked}`),
      ['tcp 0.0.0.0:49153->10.232.1.50:95 true', 'tcp 0.0.0.0:18080->10.232.1.50:80 false', 'udp 127.0.0.1:18081->10.232.1.50:81 false'],
    );
  });

  it('publishes on IPv6 too on dual-stack networks, and on a given IPv6 host address only', () => {
    const dual = planPortMaps({ ...base, ipv6: true, bindings: [b(80, 8080)] });
    assert.deepEqual(dual.map((p) => `${p.family} ${p.hostIP} ${p.containerIP}`), ['4 0.0.0.0 10.232.1.50', '6 :: fd42:232:1::2']);
    const v6 = planPortMaps({ ...base, ipv6: true, bindings: [b(80, 8080, 'fd00::1')] });
    assert.deepEqual(v6.map((p) => `${p.family} ${p.hostIP}`), ['6 fd00::1']);
    assert.throws(() => planPortMaps({ ...base, containerIPv6: undefined, bindings: [b(80, 8080, '::1')] }), /no IPv6 address on this network/);
  });

  it('refuses a port another container publishes on an overlapping address', () => {
    const taken = [{ proto: 'tcp' as const, family: 4 as const, hostIP: '127.0.0.1', hostPort: 8080, containerIP: '10.0.0.9', containerPort: 80, picked: false }];
    assert.throws(() => planPortMaps({ ...base, taken, bindings: [b(80, 8080)] }), /another container \(10\.0\.0\.9:80\) already publishes 127\.0\.0\.1:8080\/tcp/);
    assert.equal(planPortMaps({ ...base, taken, bindings: [b(80, 8080, '127.0.0.2')] }).length, 1, 'another address is free');
    assert.equal(planPortMaps({ ...base, taken, bindings: [b(80, 8080, '', 17)] }).length, 1, 'udp is free');
  });

  it('refuses a port a process holds, including a [::] listener for IPv4', () => {
    assert.throws(() => planPortMaps({ ...base, bound: [{ proto: 'tcp', family: 6, address: '::', port: 9000 }], bindings: [b(80, 9000)] }), /a process on the host is already bound to :::9000\/tcp/);
  });

  it('picks around taken ports and fails clearly when the range is full', () => {
    const bound = [49153, 49154].map((port) => ({ proto: 'tcp' as const, family: 4 as const, address: '0.0.0.0', port }));
    assert.equal(planPortMaps({ ...base, bound, bindings: [b(80, 0)] })[0].hostPort, 49155);
    const all = Array.from({ length: 8 }, (_, i) => ({ proto: 'tcp' as const, family: 4 as const, address: '0.0.0.0', port: 49153 + i }));
    assert.throws(() => planPortMaps({ ...base, bound: all, bindings: [b(80, 0)] }), /no free host port for 80\/tcp in 49153-49160/);
  });

  it('takes the first free port of a host range', () => {
    const bound = [{ proto: 'tcp' as const, family: 4 as const, address: '0.0.0.0', port: 8000 }];
    assert.equal(planPortMaps({ ...base, bound, bindings: [b(80, 8000, '', 6, 8005)] })[0].hostPort, 8001);
  });

  it('validates each binding with words', () => {
    assert.throws(() => validateBinding({ Proto: 1, Port: 80 }, 0), /protocol 1 is not supported; use tcp, udp or sctp/);
    assert.throws(() => validateBinding({ Proto: 6, Port: 0 }, 1), /port binding 2: container port 0 must be 1-65535/);
    assert.throws(() => validateBinding({ Proto: 6, Port: 80, HostIP: 'nope' }, 0), /host address "nope" is not an IPv4 or IPv6 address/);
    assert.throws(() => validateBinding({ Proto: 6, Port: 80, HostPort: 90, HostPortEnd: 85 }, 0), /ends before it starts/);
    assert.throws(() => validateBinding('x', 0), /not an object/);
  });
});
