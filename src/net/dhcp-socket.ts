// The DHCP client's socket: UDP port 68 on one interface (SO_BINDTODEVICE, so
// every interface has its own and its broadcasts leave through its own link,
// with no address and no route yet), adopted by node:dgram. Whatever arrives
// is decoded here; a malformed packet is dropped with a debug line.
import { dgram } from '../builtins';
import type { Log } from '../log';
import type { Sys } from '../sys';
import { decodeDhcp, encodeDhcp, type DhcpMessage } from './dhcp-packet';

export const CLIENT_PORT = 68;
export const SERVER_PORT = 67;

export interface DhcpSocket {
  /** Resolves once the packet has left (a failure is logged, never thrown). */
  send(msg: DhcpMessage, to: string): Promise<void>;
  close(): void;
}

export function openDhcpSocket(sys: Sys, ifname: string, receive: (msg: DhcpMessage) => void, log: Log): DhcpSocket {
  const socket = dgram().createSocket({ type: 'udp4' });
  socket.on('error', (err) => log.warn(`${ifname}: DHCP socket: ${err.message}`));
  socket.on('message', (packet, from) => {
    let msg: DhcpMessage;
    try {
      msg = decodeDhcp(packet);
    } catch (err) {
      return log.debug(`${ifname}: dropped a malformed DHCP packet from ${from.address}: ${(err as Error).message}`);
    }
    receive(msg);
  });
  socket.bind({ fd: sys.udpBindDevice(ifname, CLIENT_PORT) });
  return {
    send: (msg, to) =>
      new Promise((resolve) =>
        socket.send(encodeDhcp(msg), SERVER_PORT, to, (err) => {
          if (err) log.debug(`${ifname}: DHCP ${msg.type} to ${to}: ${err.message}`);
          resolve();
        }),
      ),
    close: () => socket.close(),
  };
}
