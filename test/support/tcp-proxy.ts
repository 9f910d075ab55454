import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server, to take it "off the network" for a test without
 * stopping it for everybody else: `cut()` drops every connection and refuses new ones,
 * `restore()` lets them through again.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private cutOff = false;
  port = 0;
  /** Connections refused while cut: proof that a client tried during the outage. */
  refused = 0;

  private constructor(targetHost: string, targetPort: number) {
    this.server = createServer((client) => {
      if (this.cutOff) {
        this.refused += 1;
        client.destroy();
        return;
      }
      const upstream = new Socket();
      upstream.connect(targetPort, targetHost);
      this.track(client);
      this.track(upstream);
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async start(targetHost: string, targetPort: number): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    const address = proxy.server.address();
    if (address === null || typeof address === 'string') {
      throw new Error('proxy has no TCP address');
    }
    proxy.port = address.port;
    return proxy;
  }

  cut(): void {
    this.cutOff = true;
    for (const socket of this.sockets) {
      socket.destroy();
    }
  }

  restore(): void {
    this.cutOff = false;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
