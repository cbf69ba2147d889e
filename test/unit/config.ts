import t from 'tap';
import { DEFAULTS, parseCmdline, readConfig, splitCmdline } from '../../src/config';

t.test('the kernel splits on spaces and groups double quotes', async (t) => {
  t.same(splitCmdline('  a=1   b="two words" c  \n'), ['a=1', 'b=two words', 'c']);
  t.same(splitCmdline('"x y"z'), ['x yz']);
  t.same(splitCmdline(''), []);
});

t.test('an empty or foreign command line gives the defaults and no warning', async (t) => {
  const config = parseCmdline('BOOT_IMAGE=/vmlinuz console=ttyS0 root=/dev/vda quiet panic=1');
  t.match(config, { ...DEFAULTS, warnings: [] });
});

t.test('nodeos.* keys fill the config', async (t) => {
  const config = parseCmdline('console=ttyS0 nodeos.hostname=kiosk-1 nodeos.shutdown_timeout=1500 nodeos.loglevel=debug');
  t.equal(config.hostname, 'kiosk-1');
  t.equal(config.shutdownTimeoutMs, 1500);
  t.equal(config.logLevel, 'debug');
  t.same(config.warnings, []);
});

t.test('single and nodeos.single ask for the emergency REPL', async (t) => {
  t.equal(parseCmdline('single').single, true);
  t.equal(parseCmdline('nodeos.single').single, true);
  t.equal(parseCmdline('nodeos.single=1').single, true);
  t.equal(parseCmdline('nodeos.single=0').single, false);
  t.equal(parseCmdline('singles').single, false);
});

t.test('an unknown nodeos.* key is named in a warning and ignored', async (t) => {
  const config = parseCmdline('nodeos.hostnmae=oops nodeos.hostname=ok');
  t.equal(config.hostname, 'ok');
  t.same(config.warnings, ['unknown parameter nodeos.hostnmae (ignored)']);
});

t.test('a bad value keeps the default and says so', async (t) => {
  const config = parseCmdline('nodeos.hostname=-bad- nodeos.shutdown_timeout=5s nodeos.loglevel=loud nodeos.single=maybe');
  t.match(config, DEFAULTS);
  t.equal(config.warnings.length, 4);
  t.match(config.warnings[0], /nodeos.hostname: not a hostname: "-bad-" \(keeping "nodeos"\)/);
  t.match(config.warnings[1], /nodeos.shutdown_timeout: expected milliseconds .* got "5s" \(keeping 5000\)/);
  t.match(config.warnings[2], /nodeos.loglevel: expected one of error, warn, info, debug/);
  t.match(config.warnings[3], /nodeos.single: expected 0 or 1/);
});

t.test('inherited object keys are not parameters', async (t) => {
  t.same(parseCmdline('nodeos.constructor=1 nodeos.toString').warnings, [
    'unknown parameter nodeos.constructor (ignored)',
    'unknown parameter nodeos.toString (ignored)',
  ]);
});

t.test('the config is frozen', async (t) => {
  const config = parseCmdline('nodeos.hostname=a');
  t.ok(Object.isFrozen(config));
  t.ok(Object.isFrozen(config.warnings));
});

t.test('readConfig reads the file, or NODEOS_CMDLINE when set', async (t) => {
  const dir = t.testdir({ cmdline: 'console=ttyS0 nodeos.hostname=fromfile\n' });
  const saved = process.env.NODEOS_CMDLINE;
  t.teardown(() => (saved === undefined ? delete process.env.NODEOS_CMDLINE : (process.env.NODEOS_CMDLINE = saved)));
  delete process.env.NODEOS_CMDLINE;
  t.match(readConfig(`${dir}/cmdline`), { hostname: 'fromfile', ownsKernel: true });
  t.match(readConfig(`${dir}/missing`).warnings, [/cannot read .*missing/]);
  process.env.NODEOS_CMDLINE = 'nodeos.hostname=fromenv';
  t.match(readConfig(`${dir}/cmdline`), { hostname: 'fromenv', ownsKernel: false }, "the host's kernel: its clock and settings are left alone");
});

t.test('users partition, drivers and per-user limits', async (t) => {
  const config = parseCmdline('nodeos.users=PARTUUID=11223344-5566 nodeos.usersfstype=ext4 nodeos.rootwait=3 nodeos.modules=e1000,nls-cp437 nodeos.user_memory_max=256M nodeos.user_pids_max=64');
  t.match(config, { users: 'PARTUUID=11223344-5566', usersFsType: 'ext4', rootwaitS: 3, modules: ['e1000', 'nls-cp437'], userMemoryMax: '256M', userPidsMax: '64', warnings: [] });
  t.equal(parseCmdline('nodeos.users=/dev/vdb1').users, '/dev/vdb1');
  t.equal(parseCmdline('').users, 'LABEL=nodeos-users', 'by default the partition labelled nodeos-users');
  const bad = parseCmdline('nodeos.users=sda1 nodeos.rootwait=-1 nodeos.modules=a;b nodeos.user_memory_max=lots nodeos.user_pids_max=0');
  t.match(bad, DEFAULTS);
  t.equal(bad.warnings.length, 5);
  t.match(bad.warnings[0], /nodeos.users: expected \/dev\/…, LABEL=/);
});

t.test('who may be a user, user namespaces and restart delays', async (t) => {
  t.match(parseCmdline(''), { uidMin: 1000, anyGid: false, userns: false, restartDelayMs: [1000, 60000] });
  t.match(parseCmdline('nodeos.uid_min=500 nodeos.user_gids=any nodeos.userns=1 nodeos.restart_delay=100,400'), { uidMin: 500, anyGid: true, userns: true, restartDelayMs: [100, 400], warnings: [] });
  const bad = parseCmdline('nodeos.uid_min=0 nodeos.user_gids=some nodeos.userns=yes nodeos.restart_delay=500,100');
  t.match(bad, { uidMin: 1000, anyGid: false, userns: false, restartDelayMs: [1000, 60000] });
  t.same(bad.warnings, [
    'nodeos.uid_min: expected a uid (1-60000), got "0" (keeping 1000)',
    'nodeos.user_gids: expected own or any, got "some" (keeping "own")',
    'nodeos.userns: expected 0 or 1, got "yes" (keeping false)',
    'nodeos.restart_delay: expected FIRST,MAX in ms (10 ≤ FIRST ≤ MAX ≤ 3600000), got "500,100" (keeping [1000,60000])',
  ]);
});

t.test('networking parameters: off, static interfaces, DNS, NTP, proxy', async (t) => {
  t.match(parseCmdline(''), { net: 'dhcp', interfaces: {}, dns: [], ntp: [], proxy: '', noProxy: '' });
  const config = parseCmdline(
    'nodeos.net=off nodeos.net.eth0=10.0.0.5/24,gw=10.0.0.1,dns=10.0.0.1,dns=1.1.1.1,mtu=1400 nodeos.net.eth1=dhcp nodeos.net.wlan0=off ' +
      'nodeos.dns=9.9.9.9,2620:fe::fe nodeos.ntp=10.0.2.2:12300,pool.example nodeos.proxy=http://proxy.lan:3128 nodeos.no_proxy=localhost,.lan',
  );
  t.same(config.warnings, []);
  t.equal(config.net, 'off');
  t.same(config.interfaces, {
    eth0: { mode: 'static', address: '10.0.0.5', prefixLength: 24, gateway: '10.0.0.1', dns: ['10.0.0.1', '1.1.1.1'], mtu: 1400 },
    eth1: { mode: 'dhcp' },
    wlan0: { mode: 'off' },
  });
  t.same(config.dns, ['9.9.9.9', '2620:fe::fe']);
  t.same(config.ntp, ['10.0.2.2:12300', 'pool.example']);
  t.equal(parseCmdline('nodeos.ntp=off').ntp, 'off');
  t.equal(config.proxy, 'http://proxy.lan:3128');
  t.equal(config.noProxy, 'localhost,.lan');
});

t.test('bad networking values are named and the default kept', async (t) => {
  const config = parseCmdline(
    'nodeos.net=maybe nodeos.net.eth0=10.0.0.300/24 nodeos.net.eth1=10.0.0.5/24,gw=nope nodeos.net.eth2=10.0.0.5/24,mtu=100 nodeos.dns=8.8.8 nodeos.ntp=a;b nodeos.proxy=socks://x nodeos.net.this-name-is-far-too-long=dhcp',
  );
  t.equal(config.net, 'dhcp');
  t.same(config.interfaces, {});
  t.same(config.dns, []);
  t.same(config.ntp, []);
  t.equal(config.proxy, '');
  t.match(config.warnings, [
    /^nodeos\.net: expected dhcp or off, got "maybe" \(keeping "dhcp"\)$/,
    /^nodeos\.net\.eth0: expected dhcp, off or ADDRESS\/PREFIX.* \(keeping "dhcp"\)$/,
    /^nodeos\.net\.eth1: "gw=nope": expected gw=IPv4, dns=IP or mtu=576-65535/,
    /^nodeos\.net\.eth2: "mtu=100"/,
    /^nodeos\.dns: expected IP addresses/,
    /^nodeos\.ntp: expected off or HOST\[:PORT\]/,
    /^nodeos\.proxy: expected an http:\/\/ or https:\/\/ URL/,
    /^unknown parameter nodeos\.net\.this-name-is-far-too-long/,
  ]);
});

t.test('nodeos.watchdog: seconds or off, 60 by default', async (t) => {
  t.equal(parseCmdline('').watchdog, 60);
  t.equal(parseCmdline('nodeos.watchdog=15').watchdog, 15);
  t.equal(parseCmdline('nodeos.watchdog=off').watchdog, 'off');
  const bad = parseCmdline('nodeos.watchdog=2');
  t.equal(bad.watchdog, 60);
  t.match(bad.warnings, [/nodeos.watchdog: expected seconds \(5-3600\) or off, got "2" \(keeping 60\)/]);
});
