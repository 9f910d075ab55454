import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '../../..');

/**
 * A TypeScript entry point of this repository in a Node process of its own, run as
 * `npm run start:*` runs it (ts-node, transpile only, with the tsconfig paths), that dies with
 * the test process (PR_SET_PDEATHSIG through util-linux's setpriv, as the Kafka launcher does):
 * a test that fails half way leaves no process behind.
 */
export class TsProcess {
  private stderrTail = '';
  private stdoutText = '';
  private readonly exit: Promise<unknown>;

  private constructor(
    readonly name: string,
    private readonly child: ChildProcess,
  ) {
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4000);
    });
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdoutText = (this.stdoutText + chunk.toString()).slice(-4000);
    });
    this.exit = once(child, 'exit').catch(() => undefined);
  }

  static spawn(name: string, entry: string, env: Record<string, string>): TsProcess {
    const node = [
      process.execPath,
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
      entry,
    ];
    const [command, ...args] = existsSync('/usr/bin/setpriv')
      ? ['/usr/bin/setpriv', '--pdeathsig', 'KILL', '--', ...node]
      : node;
    const child = spawn(command!, args, {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: process.env.HOME ?? '/tmp',
        TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'),
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new TsProcess(name, child);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get exited(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  get stdout(): string {
    return this.stdoutText;
  }

  /** The last lines it wrote to stderr, for failure messages. */
  get stderr(): string {
    return this.stderrTail;
  }

  /** Throws with its stderr if it exited. */
  assertRunning(): void {
    if (this.exited) {
      throw new Error(
        `${this.name} exited (${this.child.exitCode ?? this.child.signalCode}): ${this.stderrTail}`,
      );
    }
  }

  /** SIGKILL, as a crash: no shutdown hook, no last commit, no goodbye to the group. */
  async kill(): Promise<void> {
    if (!this.exited) {
      this.child.kill('SIGCONT'); // a stopped process must run to die
      this.child.kill('SIGKILL');
      await this.exit;
    }
  }

  /** SIGTERM, and waits for it to exit (SIGKILL after `timeoutMs`). */
  async stop(timeoutMs = 10_000): Promise<void> {
    if (this.exited) {
      return;
    }
    this.child.kill('SIGCONT');
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await this.exit;
    clearTimeout(timer);
  }

  /** SIGSTOP: it keeps its sockets open and answers nothing. */
  pause(): void {
    this.child.kill('SIGSTOP');
  }

  resume(): void {
    this.child.kill('SIGCONT');
  }
}

/** A loopback port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('no TCP port');
  }
  return address.port;
}
