import type { StalenessPolicy, TokenClaims } from '@rescind/revocation-consumer';
import { waitFor } from '../wait-for';
import { TsProcess } from './child-process';
import type { EnforcementPoint, Observation } from './enforcement';

export interface EnforcementPointProcessOptions {
  brokers: string[];
  topic: string;
  maxStalenessMs: number;
  policy?: StalenessPolicy;
  /** Keep the list on disk there (saved every 500 ms and on SIGTERM). */
  persistPath?: string;
}

/**
 * An enforcement point in a process of its own (enforcement-point.main.ts): observable like one
 * in this process, and SIGSTOP-, SIGKILL- and restartable. `start()` resolves once it answers
 * HTTP, which is before its consumer is ready (a cold start is observed from its first moment).
 */
export class EnforcementPointProcess implements EnforcementPoint {
  private constructor(
    readonly name: string,
    private readonly process: TsProcess,
    private readonly url: string,
  ) {}

  static async start(
    name: string,
    options: EnforcementPointProcessOptions,
  ): Promise<EnforcementPointProcess> {
    const child = TsProcess.spawn(name, 'test/support/chaos/enforcement-point.main.ts', {
      CHAOS_EP_BROKERS: options.brokers.join(','),
      CHAOS_EP_TOPIC: options.topic,
      CHAOS_EP_GROUP: `chaos-${name}`,
      CHAOS_EP_MAX_STALENESS_MS: String(options.maxStalenessMs),
      CHAOS_EP_POLICY: options.policy ?? 'fail-closed',
      ...(options.persistPath && { CHAOS_EP_PERSIST_PATH: options.persistPath }),
    });
    try {
      const port = await waitFor(
        `${name} to listen`,
        () => {
          child.assertRunning();
          return /PORT (\d+)/.exec(child.stdout)?.[1];
        },
        { timeoutMs: 60_000, intervalMs: 50 },
      );
      return new EnforcementPointProcess(name, child, `http://127.0.0.1:${port}`);
    } catch (error) {
      await child.kill();
      throw error;
    }
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** One observation; rejects after `timeoutMs` (a SIGSTOPped process answers nothing). */
  async observe(tokens: TokenClaims[], timeoutMs = 2000): Promise<Observation> {
    const response = await fetch(`${this.url}/observe`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ tokens }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    return (await response.json()) as Observation;
  }

  /** Waits until its consumer is ready (caught up with the topic). */
  async ready(timeoutMs = 60_000): Promise<void> {
    await waitFor(
      `${this.name} to be ready`,
      async () => {
        this.process.assertRunning();
        return (await this.observe([])).ready;
      },
      { timeoutMs, intervalMs: 50 },
    );
  }

  pause(): void {
    this.process.pause();
  }

  resume(): void {
    this.process.resume();
  }

  kill(): Promise<void> {
    return this.process.kill();
  }

  /** SIGTERM: the consumer stops and saves its list (with a persist path). */
  stop(): Promise<void> {
    return this.process.stop();
  }
}
