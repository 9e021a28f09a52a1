import { createServer, type Server, type Socket, connect } from 'node:net';
import type { AddressInfo } from 'node:net';

/** A TCP proxy on 127.0.0.1 in front of `target`, whose links a test can cut (a network drop, as the client sees it). */
export interface TcpProxy {
  /** `ws://127.0.0.1:<proxy port>` for a `ws://127.0.0.1:<port>` target. */
  url: string;
  /** Links opened so far. */
  connections: number;
  /** Destroys every open link (both sides), as a dropped network would. */
  dropAll(): void;
  /** While true, new links are cut as they open (the network stays down); false lets them through again. */
  refuse(down: boolean): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetUrl: string): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const open = new Set<Socket>();
  const proxy = { connections: 0 } as TcpProxy;
  let refusing = false;
  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    proxy.connections++;
    const upstream = connect(Number(target.port), target.hostname);
    open.add(client).add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  proxy.url = `${target.protocol}//127.0.0.1:${port}`;
  proxy.dropAll = () => {
    for (const s of [...open]) s.destroy();
    open.clear();
  };
  proxy.refuse = (down) => {
    refusing = down;
  };
  proxy.close = async () => {
    proxy.dropAll();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return proxy;
}
