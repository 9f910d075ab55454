import { runCli } from './admin-commands';

/** `rescind-admin`: manage API credentials and OAuth clients (see admin-commands.ts). */
runCli(process.argv.slice(2), process.env).then(
  (output) => process.stdout.write(`${output}\n`),
  (error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
