import { topicSpecs } from '@rescind/contracts';
import { ensureKafkaJars, KafkaBroker, kafkaVersion } from './broker';

const USAGE = `usage: npm run dev:broker -- [--port N] [--log-dir DIR]
       npm run kafka:fetch   (only resolve and cache the broker's jars)
Starts one Apache Kafka broker (KRaft) on loopback with the project's topics, in the foreground.
The first line of stdout is "BOOTSTRAP <host:port>". --log-dir keeps the data between runs
(default: a temporary directory, removed on exit). Ctrl-C stops it.`;

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i < 0) {
    return undefined;
  }
  const value = args[i + 1];
  if (value === undefined || value.startsWith('--')) {
    throw new Error(`missing value for --${name}\n${USAGE}`);
  }
  return value;
}

async function main(args: string[]): Promise<void> {
  if (args.includes('--help')) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  if (args.includes('--fetch')) {
    process.stdout.write(`Apache Kafka ${kafkaVersion()} jars in ${ensureKafkaJars()}\n`);
    return;
  }
  const port = option(args, 'port');
  const broker = await KafkaBroker.start({
    topics: topicSpecs(),
    port: port === undefined ? undefined : Number(port),
    logDir: option(args, 'log-dir'),
  });
  process.stdout.write(`BOOTSTRAP ${broker.brokers.join(',')}\n`);
  process.stderr.write(`Kafka broker pid ${broker.pid}, log directory ${broker.logDir}\n`);
  const stop = (): void => {
    void broker.stop().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
