import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as path from 'node:path';
import type { Client } from 'pg';
import { DataSource } from 'typeorm';
import { runCli, UsageError } from '../../apps/revocation-writer/src/admin/admin-commands';
import { CredentialsRepository } from '../../apps/revocation-writer/src/auth/credentials.repository';
import { loadConfig } from '../../apps/revocation-writer/src/config/config';
import {
  dataSourceOptions,
  runMigrations,
} from '../../apps/revocation-writer/src/database/data-source';
import { connectToSchema, createTestSchema, type TestSchema } from '../support/postgres';

const ROOT = path.resolve(__dirname, '../..');

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `rescind-admin` as an operator runs it: its own process, its exit status, its output. */
async function rescindAdmin(args: string[], env: Record<string, string>): Promise<Run> {
  const child = spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      '-r',
      'tsconfig-paths/register',
      'apps/revocation-writer/src/cli.ts',
      ...args,
    ],
    { cwd: ROOT, env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const [status] = (await once(child, 'close')) as [number | null];
  return { status, stdout, stderr };
}

interface Created {
  id: string;
  role: string;
  issuer: string | null;
  token: string;
}

describe('rescind-admin (the admin CLI)', () => {
  let schema: TestSchema;
  let db: Client;
  let dataSource: DataSource;
  let credentials: CredentialsRepository;
  const env = (): Record<string, string> => ({
    DATABASE_URL: schema.url,
    DATABASE_SCHEMA: schema.schema,
  });
  const create = async (...args: string[]): Promise<Created> =>
    JSON.parse(await runCli(['credential', 'create', ...args], env())) as Created;

  beforeAll(async () => {
    schema = await createTestSchema('admincli');
    await runMigrations(loadConfig(env()).database);
    db = await connectToSchema(schema);
    dataSource = new DataSource(dataSourceOptions(loadConfig(env()).database, 1));
    await dataSource.initialize();
    credentials = new CredentialsRepository(dataSource);
  });

  afterAll(async () => {
    await dataSource?.destroy();
    await db?.end();
    await schema?.drop();
  });

  describe('parses strictly', () => {
    it('refuses a mistyped option, naming it and the one it meant, creating nothing (exit 2)', async () => {
      const run = await rescindAdmin(
        [
          'credential',
          'create',
          '--name',
          'typo',
          '--role',
          'hr',
          '--isuer',
          'https://idp.example',
        ],
        env(),
      );
      expect(run.status).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain('unknown option "--isuer" (did you mean --issuer?)');
      expect(run.stderr).toContain('rescind-admin credential create --name NAME --role ROLE');
      const { rowCount } = await db.query(`SELECT 1 FROM api_credential WHERE name = 'typo'`);
      expect(rowCount).toBe(0);
    });

    it.each<[string, string[], string]>([
      [
        'an unknown option',
        ['credential', 'create', '--name', 'x', '--role', 'hr', '--force'],
        'unknown option "--force"',
      ],
      [
        'a repeated option',
        ['credential', 'create', '--name', 'x', '--role', 'hr', '--issuer', 'a', '--issuer=b'],
        '--issuer given 2 times',
      ],
      ['an option without its value', ['credential', 'disable', '--name'], "'--name <value>'"],
      ['an empty value', ['credential', 'disable', '--name='], '--name must not be empty'],
      ['a missing option', ['client', 'bind', '--client-id', 'app'], 'missing --issuer'],
      ['a stray argument', ['credential', 'list', 'all'], "Unexpected argument 'all'"],
      [
        'an unknown role',
        ['credential', 'create', '--name', 'x', '--role', 'root'],
        'unknown role',
      ],
      ['an unknown command', ['credential', 'delete', '--name', 'x'], 'unknown command'],
    ])('refuses %s with a usage error', async (_, args, message) => {
      const refused = runCli(args, env());
      await expect(refused).rejects.toThrow(UsageError);
      await expect(refused).rejects.toThrow(message);
    });

    it('takes --name=VALUE as well as --name VALUE', async () => {
      const created = await create('--name=equals-form', '--role=reader');
      expect(created).toMatchObject({ role: 'reader', issuer: null });
      const { rows } = await db.query(`SELECT role FROM api_credential WHERE name = 'equals-form'`);
      expect(rows).toEqual([{ role: 'reader' }]);
    });
  });

  describe('--help', () => {
    // Nothing listens there: a command that touched the database would fail.
    const noDatabase = {
      DATABASE_URL: 'postgres://postgres@127.0.0.1:1/nowhere',
      DATABASE_SCHEMA: 'never_created',
    };

    it('shows every command without configuration, database or migrations (exit 0)', async () => {
      const run = await rescindAdmin(['--help'], noDatabase);
      expect(run.status).toBe(0);
      for (const command of ['credential create', 'credential list', 'credential rotate']) {
        expect(run.stdout).toContain(command);
      }
    });

    it('shows one command, wherever --help stands', async () => {
      const run = await rescindAdmin(['credential', 'create', '--name', 'x', '--help'], noDatabase);
      expect(run.status).toBe(0);
      expect(run.stdout).toContain('credential create --name NAME --role ROLE [--issuer ISS]');
      expect(run.stdout).not.toContain('client bind');
      expect(await runCli(['credential', 'rotate', '-h'], noDatabase)).toContain(
        'credential rotate --name NAME',
      );
    });
  });

  it('refuses a duplicate credential name with a clear message, not the database error', async () => {
    await create('--name', 'workday', '--role', 'hr');
    const again = runCli(['credential', 'create', '--name', 'workday', '--role', 'idp'], env());
    await expect(again).rejects.toThrow('a credential named "workday" already exists');
    await expect(again).rejects.not.toThrow(/duplicate key|unique constraint/);
    const { rows } = await db.query(`SELECT role FROM api_credential WHERE name = 'workday'`);
    expect(rows).toEqual([{ role: 'hr' }]);
  });

  it('lists every credential without a secret: name, id, role, issuer, created, disabled', async () => {
    const bound = await create(
      '--name',
      'list-bound',
      '--role',
      'idp',
      '--issuer',
      'https://a.example',
    );
    const disabled = await create('--name', 'list-disabled', '--role', 'reader');
    await runCli(['credential', 'disable', '--name', 'list-disabled'], env());

    const output = await runCli(['credential', 'list'], env());
    const listed = output.split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(listed.find((c) => c.name === 'list-bound')).toEqual({
      name: 'list-bound',
      id: bound.id,
      role: 'idp',
      issuer: 'https://a.example',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      disabledAt: null,
    });
    expect(listed.find((c) => c.name === 'list-disabled')).toMatchObject({
      id: disabled.id,
      disabledAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const { rows } = await db.query<{ secret_sha256: string }>(
      `SELECT secret_sha256 FROM api_credential`,
    );
    for (const secret of [bound.token, disabled.token, ...rows.map((r) => r.secret_sha256)]) {
      expect(output).not.toContain(secret.slice(-20));
    }
  });

  it('rotates a secret: the new token is printed once and works, the old one stops working', async () => {
    const old = await create(
      '--name',
      'rotate-me',
      '--role',
      'hr',
      '--issuer',
      'https://a.example',
    );
    expect(await credentials.authenticate(old.token)).toMatchObject({ id: old.id });

    const run = await rescindAdmin(['credential', 'rotate', 'rotate-me'], env());
    expect(run).toMatchObject({ status: 0, stderr: '' });
    const rotated = JSON.parse(run.stdout) as Created & { name: string };
    expect(rotated).toMatchObject({
      id: old.id,
      name: 'rotate-me',
      role: 'hr',
      issuer: 'https://a.example',
    });
    expect(rotated.token).toMatch(new RegExp(`^rsk_${old.id}_[A-Za-z0-9_-]{43}$`));
    expect(rotated.token).not.toBe(old.token);

    expect(await credentials.authenticate(old.token)).toBeUndefined();
    expect(await credentials.authenticate(rotated.token)).toEqual({
      id: old.id,
      name: 'rotate-me',
      role: 'hr',
      issuer: 'https://a.example',
    });
  });

  it('refuses to rotate an unknown or a disabled credential (exit 1)', async () => {
    const unknown = await rescindAdmin(['credential', 'rotate', '--name', 'nobody'], env());
    expect([unknown.status, unknown.stderr]).toEqual([1, 'no credential named "nobody"\n']);
    await create('--name', 'rotate-disabled', '--role', 'hr');
    await runCli(['credential', 'disable', '--name', 'rotate-disabled'], env());
    await expect(runCli(['credential', 'rotate', 'rotate-disabled'], env())).rejects.toThrow(
      'credential "rotate-disabled" is disabled',
    );
  });
});
