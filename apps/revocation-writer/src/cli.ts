import { runCli, UsageError } from './admin/admin-commands';

/**
 * `rescind-admin`: manage API credentials and OAuth clients (see admin-commands.ts). Exit status
 * 0 done, 1 failed, 2 wrong command line (with the usage on stderr).
 */
runCli(process.argv.slice(2), process.env).then(
  (output) => process.stdout.write(output === '' ? '' : `${output}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
