'use strict';
/**
 * Runs first in `npm run check` and `npm run demo`, so that each works on a fresh machine with
 * nothing done before it: installs what it can (npm packages, the Kafka broker's jars) and, for
 * what it cannot, prints ONE line naming what to install and exits 1 at once.
 *
 *   node tools/preflight.js check|demo [--root DIR] [--only step,step]
 *
 * Plain CommonJS with no npm package: it runs before `npm ci`. `--root` (default: this
 * repository) and `--only` exist for tools/preflight.spec.ts.
 */
const { spawnSync } = require('node:child_process');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

/** What a step found missing, with the fix: becomes the one line on stderr. */
class Missing extends Error {}

const DEBIAN_POSTGRES = '/etc/postgresql';

function run(command, args, options = {}) {
  return spawnSync(command, args, { encoding: 'utf8', ...options });
}

/** Node as `engines.node` of package.json asks (`>=X.Y`). */
function node(root) {
  const wanted = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')).engines?.node;
  const match = /^>=\s*(\d+)(?:\.(\d+))?/.exec(wanted ?? '');
  if (!match) {
    return;
  }
  const [major, minor] = process.versions.node.split('.').map(Number);
  const needMajor = Number(match[1]);
  const needMinor = Number(match[2] ?? 0);
  if (major < needMajor || (major === needMajor && minor < needMinor)) {
    throw new Missing(
      `Node ${process.versions.node} is too old, the project needs Node ${wanted} — install Node 20 (https://nodejs.org or your package manager)`,
    );
  }
}

/** Java 17+ for the Apache Kafka broker (tools/kafka). */
function java() {
  const result = run('java', ['-XshowSettings:properties', '-version']);
  if (result.error) {
    throw new Missing(
      'Java is missing, the Kafka broker needs Java 17 or newer — install it (Debian: apt-get install openjdk-17-jre-headless)',
    );
  }
  const version = /java\.specification\.version = (\d+)/.exec(result.stderr)?.[1];
  if (version === undefined || Number(version) < 17) {
    throw new Missing(
      `Java ${version ?? '(unknown version)'} is too old, the Kafka broker needs Java 17 or newer — install it (Debian: apt-get install openjdk-17-jre-headless)`,
    );
  }
}

/** promtool checks the alert rules in deploy/ (a unit spec runs it). */
function promtool() {
  if (run('promtool', ['--version']).error) {
    throw new Missing(
      'promtool is missing, the tests check deploy/ alert rules with it — install it (Debian: apt-get install prometheus)',
    );
  }
}

/** openssl makes the throwaway certificates of the Kafka TLS test. */
function openssl() {
  if (run('openssl', ['version']).error) {
    throw new Missing(
      'openssl is missing, the Kafka TLS test makes certificates with it — install it (Debian: apt-get install openssl)',
    );
  }
}

/**
 * Are the broker's jars cached as tools/kafka/broker.ts `ensureKafkaJars` leaves them
 * (`.cache/kafka/<version>/libs` and a marker holding the pom's hash)? Mirrors its test.
 */
function kafkaJarsCached(root) {
  const pom = fs.readFileSync(path.join(root, 'tools/kafka/pom.xml'));
  const version = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom.toString())?.[1];
  const dir = path.join(root, '.cache/kafka', version ?? 'unknown');
  const marker = path.join(dir, 'libs.sha256');
  const hash = createHash('sha256').update(pom).digest('hex');
  return (
    fs.existsSync(marker) &&
    fs.readFileSync(marker, 'utf8') === hash &&
    fs.existsSync(path.join(dir, 'libs'))
  );
}

/** Maven resolves the broker's jars, only needed while they are not cached. */
function maven(root) {
  if (kafkaJarsCached(root)) {
    return;
  }
  if (run('mvn', ['--version']).error) {
    throw new Missing(
      "Maven is missing, it fetches the Kafka broker's jars into .cache/kafka — install it (Debian: apt-get install maven)",
    );
  }
}

/**
 * What PostgreSQL answers a startup packet for `url` with: `ok` once it is ready for queries (or
 * asks for a password: checking that is pg's business), else the ErrorResponse's fields (`C`
 * SQLSTATE, `M` message). Rejects with the socket's error when nothing answers.
 */
function postgresHello(url, timeoutMs) {
  const user = decodeURIComponent(url.username || 'postgres');
  const database = decodeURIComponent(url.pathname.slice(1) || user);
  const params = Buffer.from(`user\0${user}\0database\0${database}\0\0`);
  const startup = Buffer.alloc(8 + params.length);
  startup.writeInt32BE(startup.length, 0);
  startup.writeInt32BE(196608, 4); // protocol 3.0
  params.copy(startup, 8);
  return new Promise((resolve, reject) => {
    const socket = net.connect({
      host: url.hostname || '127.0.0.1',
      port: Number(url.port || 5432),
    });
    let received = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error('ETIMEDOUT')));
    socket.once('error', reject);
    socket.once('close', () => reject(new Error('closed the connection without an answer')));
    socket.once('connect', () => socket.write(startup));
    const answer = (result) => {
      // Terminate ('X'): polite even when the server is already closing.
      socket.end(Buffer.from([0x58, 0, 0, 0, 4]));
      resolve({ ...result, user, database });
    };
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 5 && received.length >= 1 + received.readInt32BE(1)) {
        const type = String.fromCharCode(received[0]);
        const body = received.subarray(5, 1 + received.readInt32BE(1));
        received = received.subarray(1 + received.readInt32BE(1));
        if (type === 'E') {
          const fields = {};
          for (const field of body.toString('utf8').split('\0')) {
            if (field.length > 1) {
              fields[field[0]] = field.slice(1);
            }
          }
          answer({ ok: false, fields });
          return;
        }
        // ReadyForQuery, or a password asked for (the URL's password is pg's business).
        if (type === 'Z' || (type === 'R' && body.readInt32BE(0) !== 0)) {
          answer({ ok: true });
          return;
        }
      }
    });
  });
}

function postgresStartHint() {
  const versions = fs.existsSync(DEBIAN_POSTGRES) ? fs.readdirSync(DEBIAN_POSTGRES) : [];
  return versions.length > 0
    ? `start it (Debian: pg_ctlcluster ${versions[versions.length - 1]} main start)`
    : 'install and start it (Debian: apt-get install postgresql)';
}

/** PostgreSQL at the URL the command uses, with the database it names. */
async function postgres(_root, mode) {
  const variable = mode === 'check' ? 'TEST_DATABASE_URL' : 'DATABASE_URL';
  const fallback =
    mode === 'check'
      ? 'postgres://postgres@127.0.0.1:5432/test'
      : 'postgres://postgres@127.0.0.1:5432/postgres';
  const url = new URL(process.env[variable] ?? fallback);
  const where = `${url.hostname || '127.0.0.1'}:${url.port || 5432}`;
  let hello;
  try {
    hello = await postgresHello(url, 5000);
  } catch (error) {
    throw new Missing(
      `PostgreSQL is not answering on ${where} (${error.code ?? error.message}) — ${postgresStartHint()} or set ${variable}`,
    );
  }
  if (hello.ok) {
    return;
  }
  if (hello.fields.C === '3D000') {
    throw new Missing(
      `PostgreSQL on ${where} has no database "${hello.database}" — create it (createdb -h ${url.hostname} -p ${url.port || 5432} -U ${hello.user} ${hello.database}) or set ${variable}`,
    );
  }
  throw new Missing(
    `PostgreSQL on ${where} refused user "${hello.user}": ${hello.fields.M ?? 'no reason given'} — fix the user in ${variable} (the project expects postgres with trust auth)`,
  );
}

/** Runs npm (the one running this script under `npm run`, else the one on PATH). */
function npm(root, args) {
  const cli = process.env.npm_execpath;
  const [command, prefix] = cli && /\.c?js$/.test(cli) ? [process.execPath, [cli]] : ['npm', []];
  return spawnSync(command, [...prefix, ...args], { cwd: root, stdio: 'inherit' });
}

/**
 * `npm ci` when node_modules is missing or older than package-lock.json: npm writes
 * node_modules/.package-lock.json at the end of every install.
 */
function packages(root) {
  const lock = path.join(root, 'package-lock.json');
  const installed = path.join(root, 'node_modules/.package-lock.json');
  if (fs.existsSync(installed) && fs.statSync(installed).mtimeMs >= fs.statSync(lock).mtimeMs) {
    return;
  }
  console.error(
    fs.existsSync(installed)
      ? 'rescind: package-lock.json changed since the last install; running npm ci'
      : 'rescind: no node_modules yet; running npm ci',
  );
  const result = npm(root, ['ci', '--no-audit', '--no-fund']);
  if (result.status !== 0) {
    throw new Missing(
      `npm ci failed (${result.error?.code ?? `exit ${result.status}`}) — see npm's output above`,
    );
  }
}

/** The broker's jars from Maven Central (`npm run kafka:fetch`), when not cached yet. */
function kafkaJars(root) {
  if (kafkaJarsCached(root)) {
    return;
  }
  console.error("rescind: fetching the Kafka broker's jars into .cache/kafka (once)");
  const result = npm(root, ['run', '-s', 'kafka:fetch']);
  if (result.status !== 0) {
    throw new Missing(
      "Maven could not fetch the Kafka broker's jars — see Maven's output above (it needs Maven Central)",
    );
  }
}

/**
 * In order: what only a person can install first (so nothing waits a minute for npm before
 * saying Java is missing), then what this script installs itself.
 */
const STEPS = {
  check: { node, java, promtool, openssl, maven, postgres, packages, kafkaJars },
  demo: { node, java, maven, postgres, packages, kafkaJars },
};

function option(args, name) {
  const i = args.indexOf(`--${name}`);
  return i < 0 ? undefined : args[i + 1];
}

async function main(args) {
  const mode = args[0];
  const steps = STEPS[mode];
  if (steps === undefined) {
    throw new Missing(`usage: node tools/preflight.js ${Object.keys(STEPS).join('|')}`);
  }
  const root = path.resolve(option(args, 'root') ?? path.join(__dirname, '..'));
  const only = option(args, 'only')?.split(',');
  const unknown = only?.filter((name) => !(name in steps)) ?? [];
  if (unknown.length > 0) {
    throw new Missing(`no step ${unknown.join(', ')} in ${mode}: ${Object.keys(steps).join(', ')}`);
  }
  for (const [name, step] of Object.entries(steps)) {
    if (only === undefined || only.includes(name)) {
      await step(root, mode);
    }
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`rescind: ${error instanceof Missing ? error.message : String(error)}`);
  process.exit(1);
});
