import { Inject, type ValueProvider } from '@nestjs/common';
import type { WriterConfig } from './writer-config';

/** A top-level section of the writer's configuration: `rules`, `outbox`, `sources`, … */
export type ConfigSliceName = keyof WriterConfig;

/** The injection token of one section (readable in Nest's "can't resolve" errors). */
export const configSliceToken = (name: ConfigSliceName): string => `WriterConfig.${name}`;

/**
 * Injects one section of the validated configuration, the part a class reads and nothing more
 * (CONTRIBUTING.md, "Inject the slice you use"):
 *
 * @example
 * constructor(@InjectConfig('outbox') private readonly outbox: WriterConfig['outbox']) {}
 */
export const InjectConfig = (name: ConfigSliceName): ReturnType<typeof Inject> =>
  Inject(configSliceToken(name));

/** One value provider per section, for the global config module. */
export function configSliceProviders(config: WriterConfig): ValueProvider[] {
  return (Object.keys(config) as ConfigSliceName[]).map((name) => ({
    provide: configSliceToken(name),
    useValue: config[name],
  }));
}
