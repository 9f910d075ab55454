import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ROLES } from '../auth/permissions';

/**
 * The command line of `rescind-admin`: the commands, their options and help, parsed strictly
 * (unknown options and stray arguments refused, a typo answered with the option it meant).
 * Pure: nothing here reads, writes or connects; admin-commands.ts runs what this parses.
 */
/** A mistake in the command line (exit status 2): nothing was read, written or connected to. */
export class UsageError extends Error {}

interface CommandSpec {
  /** The command's synopsis after `rescind-admin`. */
  synopsis: string;
  /** What it does, for `--help`. */
  description: string;
  /** Its options (all take a value), and whether each is required. */
  options: Record<string, { required: boolean }>;
  /** The option a single positional argument may stand for (`credential rotate NAME`). */
  positional?: string;
}

const COMMANDS = {
  'credential create': {
    synopsis: 'credential create --name NAME --role ROLE [--issuer ISS]',
    description: `A bearer API credential; roles: ${ROLES.join(', ')}.
With --issuer it acts for ISS only: every rule it writes is restricted to ISS, and it reads
and reinstates ISS's rules only.`,
    options: { name: { required: true }, role: { required: true }, issuer: { required: false } },
  },
  'credential list': {
    synopsis: 'credential list',
    description: `Every credential, one JSON line each: name, id, role, issuer, createdAt, disabledAt.
Never a secret. When a credential was last used is not recorded.`,
    options: {},
  },
  'credential rotate': {
    synopsis: 'credential rotate --name NAME   (or: credential rotate NAME)',
    description: `A new secret for an enabled credential, printed once. The old token stops working at
once (no grace period): deploy the new one right away, or create a second credential and
disable the first once nothing uses it. Its id, and so the actor in the audit log, stays.`,
    options: { name: { required: true } },
    positional: 'name',
  },
  'credential disable': {
    synopsis: 'credential disable --name NAME',
    description: 'The credential stops working; its name stays taken.',
    options: { name: { required: true } },
  },
  'client create': {
    synopsis: 'client create --client-id ID --name NAME --issuer ISS',
    description: "An OAuth client for RFC 7009 revocation of ISS's tokens issued to client ID.",
    options: {
      'client-id': { required: true },
      name: { required: true },
      issuer: { required: true },
    },
  },
  'client bind': {
    synopsis: 'client bind --client-id ID --issuer ISS',
    description: 'Binds a client registered before clients named their issuer to ISS.',
    options: { 'client-id': { required: true }, issuer: { required: true } },
  },
  'topics ensure': {
    synopsis: 'topics ensure',
    description: `Creates the Kafka topics with their specified partitions and configs, and sets the
configs of existing topics back to the spec. Reads KAFKA_BROKERS, KAFKA_SSL*, KAFKA_SASL*
and the topic names like the writer; needs no database.`,
    options: {},
  },
} satisfies Record<string, CommandSpec>;

type CommandName = keyof typeof COMMANDS;
const COMMAND_NAMES = Object.keys(COMMANDS) as CommandName[];

const indent = (text: string): string => text.replace(/^/gm, '      ');

const FOOTER = `Options take their value as --name VALUE or --name=VALUE; unknown options are refused.
Commands other than "topics ensure" read DATABASE_URL / DATABASE_SCHEMA and apply pending
migrations, like the writer; ISS must be one of ISSUERS when that is set. Secrets are printed
once and stored hashed. Exit status: 0 done, 1 failed, 2 wrong command line.`;

const USAGE = `usage: rescind-admin COMMAND [OPTIONS]   (rescind-admin COMMAND --help for one)
${COMMAND_NAMES.map((name) => `  ${COMMANDS[name].synopsis}\n${indent(COMMANDS[name].description)}`).join('\n')}
${FOOTER}`;

function usageOf(names: readonly CommandName[]): string {
  return `usage:\n${names
    .map(
      (name) => `  rescind-admin ${COMMANDS[name].synopsis}\n${indent(COMMANDS[name].description)}`,
    )
    .join('\n')}\n${FOOTER}`;
}

/** Edit distance, to suggest the option a typo meant. */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}

function suggestion(unknown: string, known: readonly string[]): string {
  const name = unknown.replace(/^-+/, '').split('=')[0]!;
  const nearest = known
    .map((option) => ({ option, d: distance(name, option) }))
    .sort((x, y) => x.d - y.d)[0];
  return nearest && nearest.d <= 2 ? ` (did you mean --${nearest.option}?)` : '';
}

type Parsed = { help: string } | { command: CommandName; values: Partial<Record<string, string>> };

/**
 * The command line, parsed strictly (node:util `parseArgs`, `strict: true`): an unknown or
 * mistyped option, a missing or repeated value, or a stray argument is a {@link UsageError}
 * naming it, never ignored. `--help` needs nothing else: no configuration, no database.
 */
export function parseCommandLine(args: readonly string[]): Parsed {
  const [noun, verb, ...rest] = args;
  if (noun === undefined) {
    throw new UsageError(USAGE);
  }
  if (noun === '--help' || noun === '-h' || noun === 'help') {
    return { help: USAGE };
  }
  const ofNoun = COMMAND_NAMES.filter((name) => name.startsWith(`${noun} `));
  if (ofNoun.length === 0) {
    throw new UsageError(
      `${noun.startsWith('-') ? 'unknown option' : 'unknown command'} "${noun}"\n${USAGE}`,
    );
  }
  if (verb === '--help' || verb === '-h') {
    return { help: usageOf(ofNoun) };
  }
  const command = `${noun} ${verb}` as CommandName;
  if (verb === undefined || verb.startsWith('-') || !(command in COMMANDS)) {
    const what =
      verb === undefined || verb.startsWith('-')
        ? `"${noun}" needs a command`
        : `unknown command "${noun} ${verb}"`;
    throw new UsageError(
      `${what}: one of ${ofNoun.map((n) => `"${n}"`).join(', ')}\n${usageOf(ofNoun)}`,
    );
  }
  const spec: CommandSpec = COMMANDS[command];
  const known = Object.keys(spec.options);
  const options: ParseArgsConfig['options'] = {
    ...Object.fromEntries(known.map((name) => [name, { type: 'string', multiple: true }])),
    help: { type: 'boolean', short: 'h' },
  };
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: rest,
      options,
      strict: true,
      allowPositionals: spec.positional !== undefined,
    });
  } catch (error) {
    throw new UsageError(`${command}: ${parseFailure(error, rest, known)}\n${usageOf([command])}`);
  }
  if (parsed.values.help === true) {
    return { help: usageOf([command]) };
  }
  const values: Partial<Record<string, string>> = {};
  for (const name of known) {
    const given = parsed.values[name] as string[] | undefined;
    if (given !== undefined && given.length > 1) {
      throw new UsageError(`${command}: --${name} given ${given.length} times; give it once`);
    }
    values[name] = given?.[0];
  }
  if (spec.positional !== undefined && parsed.positionals.length > 0) {
    if (parsed.positionals.length > 1 || values[spec.positional] !== undefined) {
      throw new UsageError(
        `${command}: give the ${spec.positional} once, as --${spec.positional} or as the argument\n${usageOf([command])}`,
      );
    }
    values[spec.positional] = parsed.positionals[0];
  }
  for (const name of known) {
    if (values[name] === undefined && spec.options[name]!.required) {
      throw new UsageError(`${command}: missing --${name}\n${usageOf([command])}`);
    }
    if (values[name] === '') {
      throw new UsageError(`${command}: --${name} must not be empty`);
    }
  }
  return { command, values };
}

/** `parseArgs`'s complaint, with the unknown option named and, for a typo, the one it meant. */
function parseFailure(error: unknown, args: readonly string[], known: readonly string[]): string {
  const code = (error as { code?: unknown }).code;
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const { tokens } = parseArgs({ args: [...args], strict: false, tokens: true });
    const unknown = tokens.find(
      (token) =>
        token.kind === 'option' &&
        token.name !== 'help' &&
        token.name !== 'h' &&
        !known.includes(token.name),
    );
    if (unknown?.kind === 'option') {
      return `unknown option "${unknown.rawName}"${suggestion(unknown.rawName, known)}`;
    }
  }
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    return error instanceof Error ? error.message.split('.')[0]! : String(error);
  }
  return error instanceof Error ? error.message.replace(/\n/g, ' ') : String(error);
}
