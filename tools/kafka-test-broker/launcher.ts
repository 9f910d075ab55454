import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { createInterface, type Interface } from 'node:readline';

const ROOT = path.resolve(__dirname, '../..');
// Also used by the demo (tools/demo) and the jest global setup (test/support).
export const BROKER_BINARY = path.join(ROOT, '.cache/kafka-test-broker');

/** Builds tools/kafka-test-broker (make rebuilds only when the source changed). */
export function buildKafkaTestBroker(): void {
  execFileSync('make', ['-s', '-C', path.join(ROOT, 'tools/kafka-test-broker')], {
    stdio: 'inherit',
  });
}

export interface KafkaTestBrokerOptions {
  brokers?: number;
  /** Topics to create up front: name -> partition count. */
  topics?: Record<string, number>;
}

/**
 * Controls one librdkafka mock cluster (a real Kafka wire-protocol implementation) in a child
 * process. Fault commands (down/up/rtt/error) reach it over stdin; the process dies with us.
 */
export class KafkaTestBroker {
  private readonly pending: Array<{ resolve: (line: string) => void; reject: (e: Error) => void }> =
    [];
  private exited = false;

  private constructor(
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly lines: Interface,
    /** bootstrap.servers, e.g. ['127.0.0.1:40291'] */
    readonly brokers: string[],
  ) {
    lines.on('line', (line) => {
      const waiter = this.pending.shift();
      if (!waiter) {
        return;
      }
      if (line.startsWith('OK')) {
        waiter.resolve(line);
      } else {
        waiter.reject(new Error(`kafka-test-broker: ${line}`));
      }
    });
    child.on('exit', () => {
      this.exited = true;
      for (const waiter of this.pending.splice(0)) {
        waiter.reject(new Error('kafka-test-broker exited'));
      }
    });
  }

  static async start(options: KafkaTestBrokerOptions = {}): Promise<KafkaTestBroker> {
    const args = ['--brokers', String(options.brokers ?? 1)];
    for (const [topic, partitions] of Object.entries(options.topics ?? {})) {
      args.push('--topic', `${topic}:${partitions}`);
    }
    const child = spawn(BROKER_BINARY, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout });
    const bootstrap = await new Promise<string>((resolve, reject) => {
      const onExit = (code: number | null): void =>
        reject(new Error(`kafka-test-broker exited with ${code}: ${stderr}`));
      child.once('error', reject);
      child.once('exit', onExit);
      lines.once('line', (line) => {
        child.off('exit', onExit);
        const match = /^BOOTSTRAP (\S+)$/.exec(line);
        if (match) {
          resolve(match[1]!);
        } else {
          reject(new Error(`kafka-test-broker said: ${line}`));
        }
      });
    });
    return new KafkaTestBroker(child, lines, bootstrap.split(','));
  }

  /** Sends one control command and waits for its "OK". */
  command(line: string): Promise<string> {
    if (this.exited) {
      return Promise.reject(new Error('kafka-test-broker is not running'));
    }
    return new Promise((resolve, reject) => {
      this.pending.push({ resolve, reject });
      this.child.stdin.write(`${line}\n`);
    });
  }

  /** Disconnects a broker (default: all) and refuses new connections. */
  async down(brokerId = -1): Promise<void> {
    await this.command(`down ${brokerId}`);
  }

  async up(brokerId = -1): Promise<void> {
    await this.command(`up ${brokerId}`);
  }

  async createTopic(name: string, partitions: number): Promise<void> {
    await this.command(`topic ${name} ${partitions}`);
  }

  async stop(): Promise<void> {
    if (this.exited) {
      return;
    }
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.kill('SIGTERM');
    await exited;
    this.lines.close();
  }
}
