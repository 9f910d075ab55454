import { type TopicSpec } from '@rescind/contracts';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  closeSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import * as path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ensureTopics } from '../../apps/revocation-writer/src/topics/ensure-topics';
import { TcpProxy } from '../net/tcp-proxy';

const ROOT = path.resolve(__dirname, '../..');
const POM = path.join(__dirname, 'pom.xml');
const LOG4J = path.join(__dirname, 'log4j2.properties');
/** Any valid KRaft cluster id: each broker is a cluster of its own with its own directory. */
const CLUSTER_ID = 'cmVzY2luZC10ZXN0LWNsdQ';

/** The Apache Kafka version the project runs: `kafka.version` in tools/kafka/pom.xml. */
export function kafkaVersion(): string {
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(POM, 'utf8'));
  if (!match) {
    throw new Error(`${POM} has no <kafka.version>`);
  }
  return match[1]!;
}

function cacheDir(): string {
  return path.join(ROOT, '.cache/kafka', kafkaVersion());
}

/**
 * The broker's jars, resolved from Maven Central by Maven on first use and cached under
 * `.cache/kafka/<version>/libs` (a marker holds the pom's hash: a changed pom resolves again).
 * Returns the directory.
 */
export function ensureKafkaJars(): string {
  const dir = cacheDir();
  const libs = path.join(dir, 'libs');
  const marker = path.join(dir, 'libs.sha256');
  const hash = createHash('sha256').update(readFileSync(POM)).digest('hex');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === hash && existsSync(libs)) {
    return libs;
  }
  mkdirSync(dir, { recursive: true });
  const staging = mkdtempSync(path.join(dir, 'libs-'));
  try {
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        '-Dstyle.color=never',
        '-f',
        POM,
        'dependency:copy-dependencies',
        '-DincludeScope=runtime',
        `-DoutputDirectory=${staging}`,
      ],
      // Maven's output goes to stderr: stdout's first line belongs to `BOOTSTRAP`.
      { stdio: ['ignore', process.stderr, 'inherit'] },
    );
    rmSync(libs, { recursive: true, force: true });
    renameSync(staging, libs);
    writeFileSync(marker, hash);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  return libs;
}

/** A loopback port nobody listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('no TCP port');
  }
  return address.port;
}

function javaArgs(libs: string, heapMb: number, mainClass: string, args: string[]): string[] {
  return [
    `-Xms${Math.min(128, heapMb)}m`,
    `-Xmx${heapMb}m`,
    // Two shared cores: the serial collector's single thread disturbs the tests least.
    '-XX:+UseSerialGC',
    '-Djava.awt.headless=true',
    `-Dlog4j2.configurationFile=${LOG4J}`,
    '-cp',
    path.join(libs, '*'),
    mainClass,
    ...args,
  ];
}

/** The broker dies with the process that started it: PR_SET_PDEATHSIG through util-linux. */
function withParentDeathSignal(command: string, args: string[]): [string, string[]] {
  return existsSync('/usr/bin/setpriv')
    ? ['/usr/bin/setpriv', ['--pdeathsig', 'KILL', '--', command, ...args]]
    : [command, args];
}

/**
 * A formatted, empty KRaft log directory for node 1, made once per Kafka version and copied for
 * every broker: formatting is a JVM start of its own (about a second and a half here).
 */
function storageTemplate(libs: string): string {
  const template = path.join(cacheDir(), 'storage-template');
  if (existsSync(path.join(template, 'meta.properties'))) {
    return template;
  }
  const work = mkdtempSync(path.join(cacheDir(), 'format-'));
  try {
    const logDir = path.join(work, 'data');
    format(libs, logDir, []);
    if (!existsSync(template)) {
      renameSync(logDir, template);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return template;
}

/** Formats `logDir` as KRaft storage for node 1; `extra` are more StorageTool arguments. */
function format(libs: string, logDir: string, extra: string[]): void {
  const properties = path.join(path.dirname(logDir), 'format.properties');
  writeFileSync(
    properties,
    serverProperties({ logDir, port: 1, controllerPort: 2, advertisedPort: 1 }, {}),
  );
  execFileSync(
    'java',
    javaArgs(libs, 256, 'kafka.tools.StorageTool', [
      'format',
      '--ignore-formatted',
      '-t',
      CLUSTER_ID,
      '-c',
      properties,
      ...extra,
    ]),
    { stdio: ['ignore', 'ignore', 'inherit'] },
  );
  rmSync(properties, { force: true });
}

/** A SCRAM user of a broker's TLS listener, created at format time (`--add-scram`). */
export interface ScramUser {
  mechanism: 'SCRAM-SHA-256' | 'SCRAM-SHA-512';
  username: string;
  password: string;
}

/**
 * A TLS listener (besides the plaintext one), advertised as `localhost:<port>`: `keystore` is a
 * PEM file with the broker's unencrypted PKCS#8 private key and its certificate chain (for the
 * name `localhost`). With `scram`, clients must also authenticate with SASL/SCRAM (SASL_SSL).
 */
export interface TlsListenerOptions {
  keystore: string;
  scram?: ScramUser[];
}

interface TlsListener {
  /** Listener name, also its security protocol: `SSL` or `SASL_SSL`. */
  name: 'SSL' | 'SASL_SSL';
  port: number;
  settings: Record<string, string>;
}

function tlsListener(tls: TlsListenerOptions, port: number): TlsListener {
  const name = tls.scram ? 'SASL_SSL' : 'SSL';
  const prefix = `listener.name.${name.toLowerCase()}`;
  const settings: Record<string, string> = {
    [`${prefix}.ssl.keystore.type`]: 'PEM',
    [`${prefix}.ssl.keystore.location`]: tls.keystore,
  };
  if (tls.scram) {
    const mechanisms = [...new Set(tls.scram.map((u) => u.mechanism))];
    settings[`${prefix}.sasl.enabled.mechanisms`] = mechanisms.join(',');
    for (const mechanism of mechanisms) {
      settings[`${prefix}.${mechanism.toLowerCase()}.sasl.jaas.config`] =
        'org.apache.kafka.common.security.scram.ScramLoginModule required;';
    }
  }
  return { name, port, settings };
}

interface Ports {
  logDir: string;
  port: number;
  controllerPort: number;
  advertisedPort: number;
}

function serverProperties(
  ports: Ports,
  overrides: Record<string, string>,
  tls?: TlsListener,
): string {
  // The TLS listener, if any, listens on 127.0.0.1 and is advertised under the certificate's name.
  const settings: Record<string, string> = {
    'process.roles': 'broker,controller',
    'node.id': '1',
    'controller.quorum.voters': `1@127.0.0.1:${ports.controllerPort}`,
    listeners: [
      `PLAINTEXT://127.0.0.1:${ports.port}`,
      `CONTROLLER://127.0.0.1:${ports.controllerPort}`,
      ...(tls ? [`${tls.name}://127.0.0.1:${tls.port}`] : []),
    ].join(','),
    'advertised.listeners': [
      `PLAINTEXT://127.0.0.1:${ports.advertisedPort}`,
      ...(tls ? [`${tls.name}://localhost:${tls.port}`] : []),
    ].join(','),
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': [
      'PLAINTEXT:PLAINTEXT',
      'CONTROLLER:PLAINTEXT',
      ...(tls ? [`${tls.name}:${tls.name}`] : []),
    ].join(','),
    ...tls?.settings,
    'log.dirs': ports.logDir,
    // One node: internal topics cannot have more replicas than that.
    'offsets.topic.replication.factor': '1',
    'offsets.topic.num.partitions': '6',
    'transaction.state.log.replication.factor': '1',
    'transaction.state.log.min.isr': '1',
    'share.coordinator.state.topic.replication.factor': '1',
    'share.coordinator.state.topic.min.isr': '1',
    // Groups form at once instead of after the 3 s production delay.
    'group.initial.rebalance.delay.ms': '0',
    // As in docker-compose: topics exist only because `topics ensure` created them.
    'auto.create.topics.enable': 'false',
    // The cleaner looks for compactable logs every second (15 s by default), so a test that
    // waits for compaction waits seconds, not minutes; it costs nothing while there is none.
    'log.cleaner.backoff.ms': '1000',
    // After a SIGKILL the restarted controller still holds the old broker registration and
    // refuses the new one until that session expires (9 s by default).
    'broker.session.timeout.ms': '3000',
    'broker.heartbeat.interval.ms': '500',
    'num.network.threads': '2',
    'num.io.threads': '2',
    ...overrides,
  };
  return Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');
}

export interface KafkaBrokerOptions {
  /** Topics to create once the broker answers (the writer's `ensureTopics`). */
  topics?: TopicSpec[];
  /**
   * Put a TCP proxy in front of the broker and advertise the proxy's port, so that every client
   * connection goes through it: `down()`, `up()` and `delay()` then act on the network.
   */
  proxy?: boolean;
  /** Log directory. Default: a new temporary directory, removed by `stop()`. */
  logDir?: string;
  /** Fixed client port (default: a free one). */
  port?: number;
  /** Broker settings on top of the launcher's. */
  config?: Record<string, string>;
  /** A TLS (or, with SCRAM users, SASL_SSL) listener besides the plaintext one. */
  tls?: TlsListenerOptions;
  /** Maximum heap (MiB). Default 512. */
  heapMb?: number;
  /** How long to wait for the broker to answer metadata (ms). Default 60 s. */
  readyTimeoutMs?: number;
}

/**
 * One real Apache Kafka broker (KRaft, combined broker and controller, one node) in a child
 * process on loopback: the broker the tests, the demo, the benchmarks and `npm run dev:broker`
 * run. Faults are real: `kill()` (SIGKILL) and `restart()` on the same log directory, `pause()`
 * and `resume()` (SIGSTOP/SIGCONT), and with `proxy: true` the network between clients and
 * broker (`down()`, `up()`, `delay()`). The broker dies with the process that started it.
 */
export class KafkaBroker {
  private child: ChildProcess | null = null;
  private exit: Promise<void> = Promise.resolve();

  private constructor(
    private readonly libs: string,
    private readonly properties: string,
    readonly logDir: string,
    private readonly ownsLogDir: boolean,
    private readonly proxy: TcpProxy | null,
    /** bootstrap.servers, e.g. ['127.0.0.1:40291'] (the proxy's address with `proxy: true`). */
    readonly brokers: string[],
    /** bootstrap.servers of the TLS listener (`localhost:<port>`), when started with `tls`. */
    readonly tlsBrokers: string[],
    private readonly heapMb: number,
    private readonly readyTimeoutMs: number,
  ) {}

  static async start(options: KafkaBrokerOptions = {}): Promise<KafkaBroker> {
    const libs = ensureKafkaJars();
    const template = storageTemplate(libs);
    const ownsLogDir = options.logDir === undefined;
    const logDir = options.logDir ?? mkdtempSync(path.join(tmpdir(), 'rescind-kafka-'));
    const data = path.join(logDir, 'data');
    if (!existsSync(path.join(data, 'meta.properties'))) {
      if (options.tls?.scram) {
        // SCRAM credentials live in the cluster metadata: they are written when formatting.
        format(
          libs,
          data,
          options.tls.scram.flatMap((u) => [
            '--add-scram',
            `${u.mechanism}=[name=${u.username},password=${u.password}]`,
          ]),
        );
      } else {
        cpSync(template, data, { recursive: true });
      }
    }
    const port = options.port ?? (await freePort());
    const controllerPort = await freePort();
    const proxy = options.proxy ? await TcpProxy.start('127.0.0.1', port) : null;
    const advertisedPort = proxy?.port ?? port;
    const tlsPort = options.tls ? await freePort() : null;
    const properties = path.join(logDir, 'server.properties');
    writeFileSync(
      properties,
      serverProperties(
        { logDir: data, port, controllerPort, advertisedPort },
        options.config ?? {},
        options.tls && tlsPort !== null ? tlsListener(options.tls, tlsPort) : undefined,
      ),
    );
    const broker = new KafkaBroker(
      libs,
      properties,
      logDir,
      ownsLogDir,
      proxy,
      [`127.0.0.1:${advertisedPort}`],
      tlsPort === null ? [] : [`localhost:${tlsPort}`],
      options.heapMb ?? 512,
      options.readyTimeoutMs ?? 60_000,
    );
    try {
      await broker.launch();
      await broker.awaitGroupCoordinator();
      if (options.topics && options.topics.length > 0) {
        await broker.createTopics(options.topics);
      }
    } catch (error) {
      await broker.stop();
      throw error;
    }
    return broker;
  }

  /** The broker's process id, or null while it is not running. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Creates (or sets back to their specs) the given topics. */
  async createTopics(specs: TopicSpec[]): Promise<void> {
    await this.withAdmin((admin) => ensureTopics(admin, specs));
  }

  /** Runs `work` with a connected kafkajs admin client on this broker. */
  async withAdmin<T>(work: (admin: ReturnType<Kafka['admin']>) => Promise<T>): Promise<T> {
    const admin = new Kafka({
      brokers: this.brokers,
      clientId: 'rescind-kafka-launcher',
      logLevel: logLevel.NOTHING,
    }).admin();
    await admin.connect();
    try {
      return await work(admin);
    } finally {
      await admin.disconnect();
    }
  }

  /** SIGKILL, as a crash: nothing is flushed beyond what the broker already wrote. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child) {
      child.kill('SIGCONT'); // a paused process must run to die
      child.kill('SIGKILL');
      await this.exit;
    }
  }

  /** Starts the broker again on the same log directory and ports, and waits until it answers. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** SIGSTOP: the process keeps its connections open but answers nothing. */
  pause(): void {
    this.child?.kill('SIGSTOP');
  }

  resume(): void {
    this.child?.kill('SIGCONT');
  }

  /** Drops every client connection and refuses new ones (needs `proxy: true`). */
  down(): Promise<void> {
    this.requireProxy().cut();
    return Promise.resolve();
  }

  /** Lets client connections through again (needs `proxy: true`). */
  up(): Promise<void> {
    this.requireProxy().restore();
    return Promise.resolve();
  }

  /** Delays every chunk between clients and broker by `ms` (needs `proxy: true`). */
  delay(ms: number): void {
    this.requireProxy().delay(ms);
  }

  /** Client connections refused while `down()`: proof that a client tried during the outage. */
  get refusedConnections(): number {
    return this.requireProxy().refused;
  }

  /**
   * Stops the broker and removes a log directory it created. SIGKILL when the data is thrown
   * away anyway; `graceful` (SIGTERM, controlled shutdown) when the caller keeps the directory.
   */
  async stop(graceful = !this.ownsLogDir): Promise<void> {
    const child = this.child;
    if (child) {
      child.kill('SIGCONT');
      child.kill(graceful ? 'SIGTERM' : 'SIGKILL');
      await this.exit;
    }
    await this.proxy?.stop();
    if (this.ownsLogDir) {
      rmSync(this.logDir, { recursive: true, force: true });
    }
  }

  private requireProxy(): TcpProxy {
    if (!this.proxy) {
      throw new Error('network faults need a broker started with { proxy: true }');
    }
    return this.proxy;
  }

  private async launch(): Promise<void> {
    const log = openSync(path.join(this.logDir, 'broker.log'), 'a');
    const [command, args] = withParentDeathSignal(
      'java',
      javaArgs(this.libs, this.heapMb, 'kafka.Kafka', [this.properties]),
    );
    const child = spawn(command, args, { stdio: ['ignore', log, log] });
    closeSync(log);
    this.child = child;
    let exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
    this.exit = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        exited = { code, signal };
        if (this.child === child) {
          this.child = null;
        }
        resolve();
      });
      child.once('error', () => resolve());
    });
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      if (exited !== null) {
        throw new Error(`Kafka broker exited (${JSON.stringify(exited)}):\n${this.logTail()}`);
      }
      if (await this.answersMetadata()) {
        return;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Kafka broker did not answer within ${this.readyTimeoutMs} ms:\n${this.logTail()}`,
        );
      }
      await sleep(100); // polling a child process until it answers
    }
  }

  /**
   * The first consumer group of a new broker creates `__consumer_offsets`, and until its
   * partitions are loaded every group request answers COORDINATOR_LOAD_IN_PROGRESS. Waiting for
   * that here keeps it out of the first test that joins a group; consumers must still survive it
   * (a coordinator moves or reloads in every real cluster), and the consumer library's tests
   * that start their own broker exercise exactly that.
   */
  private async awaitGroupCoordinator(): Promise<void> {
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      try {
        await this.withAdmin((admin) => admin.describeGroups(['rescind-launcher-warm-up']));
        return;
      } catch (error) {
        if (Date.now() > deadline) {
          throw new Error(`the group coordinator did not load: ${String(error)}`);
        }
        await sleep(100); // polling a child process until it answers
      }
    }
  }

  /** Ready = the broker lists itself in a metadata answer (it has registered with the controller). */
  private async answersMetadata(): Promise<boolean> {
    const admin = new Kafka({
      brokers: this.brokers,
      clientId: 'rescind-kafka-launcher',
      logLevel: logLevel.NOTHING,
      connectionTimeout: 1000,
      retry: { retries: 0 },
    }).admin();
    try {
      await admin.connect();
      const cluster = await admin.describeCluster();
      return cluster.brokers.length > 0 && cluster.controller !== null;
    } catch {
      return false;
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  }

  private logTail(): string {
    try {
      return readFileSync(path.join(this.logDir, 'broker.log'), 'utf8')
        .split('\n')
        .slice(-30)
        .join('\n');
    } catch {
      return '(no broker.log)';
    }
  }
}
