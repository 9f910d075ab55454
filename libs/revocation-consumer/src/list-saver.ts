import type { RuleVersion } from '@rescind/rules';
import type { ConsumerLogger } from './options';
import { saveList } from './persistence';

/** What a save writes: the list's versions, and per partition the next offset to read. */
export interface SaveContent {
  versions: Iterable<RuleVersion>;
  offsets: ReadonlyMap<number, bigint>;
}

/** The on-disk copy, as `status().persistence` reports it. */
export interface SaveStatus {
  path: string;
  lastSavedAt: number | null;
  lastSavedRules: number | null;
  lastError: string | null;
}

/**
 * Saves the list to `persistPath`: every `intervalMs` once started, and when asked (on stop).
 * Saves never overlap; failures are logged and reported, and the list stays in memory.
 */
export class ListSaver {
  /** The save in progress, if any. */
  private saving: Promise<void> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private last: { at: number | null; rules: number | null; error: string | null } = {
    at: null,
    rules: null,
    error: null,
  };

  constructor(
    private readonly path: string,
    private readonly topic: string,
    private readonly logger: ConsumerLogger,
  ) {}

  /** Saves every `intervalMs`, skipping a tick while a save is still running. */
  start(intervalMs: number, content: () => SaveContent | undefined): void {
    this.timer = setInterval(() => {
      if (!this.saving) {
        void this.save(content);
      }
    }, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  /**
   * Saves the list and where to resume, after any save in progress. `content` is asked for only
   * then, and answers undefined while there is nothing worth saving (the consumer has not caught
   * up). The file is streamed while events keep being applied: the offsets must be taken before
   * the versions are read, so a restart replays whatever changed during the save.
   */
  async save(content: () => SaveContent | undefined): Promise<void> {
    while (this.saving) {
      await this.saving;
    }
    const taken = content();
    if (!taken) {
      return;
    }
    const save = saveList(this.path, this.topic, taken.versions, taken.offsets).then(
      (rules) => {
        this.last = { at: Date.now(), rules, error: null };
      },
      (error: unknown) => {
        this.last = { ...this.last, error: String(error) };
        // saveList's message names the file and the reason.
        this.logger.warn(error instanceof Error ? error.message : String(error));
      },
    );
    this.saving = save.finally(() => {
      this.saving = null;
    });
    await this.saving;
  }

  status(): SaveStatus {
    return {
      path: this.path,
      lastSavedAt: this.last.at,
      lastSavedRules: this.last.rules,
      lastError: this.last.error,
    };
  }
}
