// Hotplug: kernel uevents parsed, applied in order, a lost burst answered by a coldplug.
import t from 'tap';
import { Hotplug, parseUevent } from '../../src/hotplug';
import { memoryLog } from '../fixtures/fake-sys';

const uevent = (head: string, fields: Record<string, string>) => Buffer.from([head, ...Object.entries(fields).map(([k, v]) => `${k}=${v}`), ''].join('\0'));

t.test('a kernel uevent: action, device path, subsystem, modalias, sequence number', async (t) => {
  const add = uevent('add@/devices/pci0000:00/0000:00:05.0', { ACTION: 'add', DEVPATH: '/devices/pci0000:00/0000:00:05.0', SUBSYSTEM: 'pci', MODALIAS: 'pci:v00001AF4d00001005sv00001AF4sd00000004bc00scFFi00', SEQNUM: '1234' });
  t.same(parseUevent(add), { action: 'add', devpath: '/devices/pci0000:00/0000:00:05.0', subsystem: 'pci', modalias: 'pci:v00001AF4d00001005sv00001AF4sd00000004bc00scFFi00', seqnum: 1234 });
  t.same(parseUevent(uevent('remove@/devices/virtual/mem/null', { SUBSYSTEM: 'mem' })), { action: 'remove', devpath: '/devices/virtual/mem/null', subsystem: 'mem' }, 'the header when fields are missing');
  t.equal(parseUevent(Buffer.from('libudev\0\xfe\xed')), undefined, "udev's re-broadcasts are not the kernel's");
});

t.test('listening: coldplug after listening, adds in order, others ignored, a lost burst looked at again, errors kept in, interfaces passed on', async (t) => {
  let deliver: (message: Buffer | null) => void = () => {};
  const calls: string[] = [];
  const sys = {
    ueventListen: (callback: (message: Buffer | null) => void) => {
      calls.push('listen');
      deliver = callback;
      return () => calls.push('stop');
    },
  };
  const loader = {
    coldplug: async () => (calls.push('coldplug'), 0),
    loadAlias: async (alias: string) => {
      calls.push(`load ${alias}`);
      if (alias === 'broken') throw new Error('modules.alias unreadable');
      return alias !== 'known';
    },
  };
  const log = memoryLog();
  const hotplug = new Hotplug(sys, loader, log, () => calls.push('interface'));
  hotplug.start();
  t.same(calls, ['listen', 'coldplug'], 'listening, then the first look');
  deliver(uevent('add@/a', { ACTION: 'add', DEVPATH: '/a', MODALIAS: 'virtio:d00000004v00001AF4' }));
  deliver(uevent('change@/b', { ACTION: 'change', DEVPATH: '/b', MODALIAS: 'x' }));
  deliver(uevent('add@/c', { ACTION: 'add', DEVPATH: '/c' }));
  deliver(uevent('add@/d', { ACTION: 'add', DEVPATH: '/d', MODALIAS: 'known' }));
  deliver(null);
  deliver(uevent('add@/e', { ACTION: 'add', DEVPATH: '/e', MODALIAS: 'broken' }));
  deliver(uevent('add@/devices/virtual/net/eth1', { ACTION: 'add', DEVPATH: '/devices/virtual/net/eth1', SUBSYSTEM: 'net' }));
  hotplug.close();
  await new Promise((resolve) => setImmediate(resolve));
  t.same(calls, ['listen', 'coldplug', 'load virtio:d00000004v00001AF4', 'load known', 'coldplug', 'load broken', 'interface', 'stop']);
  t.same(log.lines, [
    'warn: device events were lost (a burst): looking at every device again',
    'info: /a: driver loaded for virtio:d00000004v00001AF4', // once the load, on the thread pool, is done
    'error: device event: modules.alias unreadable',
  ]);
});

t.test('no uevent socket: said, and boot goes on', async (t) => {
  const log = memoryLog();
  new Hotplug({ ueventListen: () => { throw new Error('EPROTONOSUPPORT'); } }, { coldplug: async () => 0, loadAlias: async () => false }, log).start();
  t.match(log.lines, [/error: cannot listen for new devices \(EPROTONOSUPPORT\): devices plugged in later get no drivers/]);
});
