import { createServer, type Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of a real server, to take it "off the network" for a test without
 * stopping it for everybody else: `cut()` drops every connection and refuses new ones,
 * `restore()` lets them through again, `delay(ms)` holds every chunk back in both directions.
 * The Kafka launcher advertises a proxy's port, so Kafka clients really go through it.
 */
export class TcpProxy {
  private readonly sockets = new Set<Socket>();
  private readonly server: Server;
  private cutOff = false;
  private latencyMs = 0;
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
      this.forward(client, upstream);
      this.forward(upstream, client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }

  static async start(targetHost: string, targetPort: number, port = 0): Promise<TcpProxy> {
    const proxy = new TcpProxy(targetHost, targetPort);
    await new Promise<void>((resolve, reject) => {
      proxy.server.once('error', reject);
      proxy.server.listen(port, '127.0.0.1', resolve);
    });
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

  /** Holds every chunk back `ms` milliseconds (0: pass through at once); order is kept. */
  delay(ms: number): void {
    this.latencyMs = ms;
  }

  async stop(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** Copies `from` to `to`, delayed by the current latency, with back-pressure. */
  private forward(from: Socket, to: Socket): void {
    let last = 0; // when the previous chunk is due: later chunks never overtake it
    from.on('data', (chunk: Buffer) => {
      if (this.latencyMs === 0 && last <= Date.now()) {
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
        return;
      }
      last = Math.max(last, Date.now() + this.latencyMs);
      setTimeout(() => to.destroyed || to.write(chunk), last - Date.now());
    });
    from.on('end', () => {
      const wait = Math.max(0, last - Date.now());
      setTimeout(() => to.end(), wait);
    });
  }

  private track(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
  }
}
