import net from 'node:net';
import { execFileSync } from 'node:child_process';

/** Where the real servers of a test run are. Resolved once by the global setup. */
export interface TestServices {
  /** Superuser URL of the maintenance database; test databases are created through it. */
  databaseUrl: string;
  redisUrl: string;
  kafkaBrokers: string[];
}

const defaults = {
  databaseUrl: 'postgres://postgres@127.0.0.1:5432/postgres',
  redisUrl: 'redis://127.0.0.1:6379',
  kafkaBrokers: '127.0.0.1:9092',
};

const hostPort = (url: string, fallbackPort: number): [string, number] => {
  const parsed = new URL(url);
  return [parsed.hostname.replace(/^\[|\]$/g, ''), Number(parsed.port || fallbackPort)];
};

export const answers = (host: string, port: number, timeoutMs = 1500): Promise<boolean> =>
  new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });

const dockerAnswers = (): boolean => {
  try {
    execFileSync('docker', ['info'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
};

interface ServiceSpec {
  name: string;
  url: string;
  port: number;
  startHint: string;
  container: () => Promise<string>;
}

/**
 * Environment variables first (TEST_DATABASE_URL / DATABASE_URL, REDIS_URL, KAFKA_BROKERS, or the
 * loopback defaults), then testcontainers where a Docker engine answers, otherwise one clear
 * line naming the missing service and the command that starts it.
 */
export const resolveServices = async (env: NodeJS.ProcessEnv = process.env): Promise<TestServices> => {
  const databaseUrl = maintenanceUrl(env.TEST_DATABASE_URL ?? env.DATABASE_URL ?? defaults.databaseUrl);
  const redisUrl = env.REDIS_URL ?? defaults.redisUrl;
  const kafkaBrokers = (env.KAFKA_BROKERS ?? defaults.kafkaBrokers).split(',').map((b) => b.trim());
  const specs: ServiceSpec[] = [
    {
      name: 'PostgreSQL',
      url: databaseUrl,
      port: 5432,
      startHint: 'bash infra/services.sh ensure',
      container: startPostgresContainer,
    },
    {
      name: 'Redis',
      url: redisUrl,
      port: 6379,
      startHint: 'bash infra/services.sh ensure',
      container: startRedisContainer,
    },
    {
      name: 'Kafka',
      url: `kafka://${kafkaBrokers[0] ?? ''}`,
      port: 9092,
      startHint: 'bash infra/kafka/kafka.sh start',
      container: startKafkaContainer,
    },
  ];
  const resolved: string[] = [];
  let docker: boolean | undefined;
  for (const spec of specs) {
    const [host, port] = hostPort(spec.url, spec.port);
    if (await answers(host, port)) {
      resolved.push(spec.url);
      continue;
    }
    docker ??= dockerAnswers();
    if (docker) {
      resolved.push(await spec.container());
      continue;
    }
    throw new Error(
      `${spec.name} does not answer at ${host}:${port} and no Docker engine is available: start it with \`${spec.startHint}\` or set its environment variable`,
    );
  }
  return {
    databaseUrl: resolved[0] ?? databaseUrl,
    redisUrl: resolved[1] ?? redisUrl,
    kafkaBrokers: [(resolved[2] ?? '').replace(/^kafka:\/\//, '')],
  };
};

/** Test databases are created next to the configured one, through the maintenance database. */
const maintenanceUrl = (url: string): string => {
  const parsed = new URL(url);
  parsed.pathname = '/postgres';
  return parsed.toString();
};

// testcontainers is only loaded where Docker exists: the project's own machines have none.
const startPostgresContainer = async (): Promise<string> => {
  const { GenericContainer, Wait } = await import('testcontainers');
  const container = await new GenericContainer('postgres:15')
    .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
    .withExposedPorts(5432)
    .withWaitStrategy(Wait.forLogMessage(/ready to accept connections/, 2))
    .start();
  return `postgres://postgres@${container.getHost()}:${container.getMappedPort(5432)}/postgres`;
};

const startRedisContainer = async (): Promise<string> => {
  const { GenericContainer } = await import('testcontainers');
  const container = await new GenericContainer('redis:7').withExposedPorts(6379).start();
  return `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
};

const startKafkaContainer = async (): Promise<string> => {
  const { GenericContainer, Wait } = await import('testcontainers');
  // Fixed host port: Kafka advertises its listener address, so it must match what clients dial.
  const container = await new GenericContainer('apache/kafka:3.9.1')
    .withExposedPorts({ container: 9092, host: 19092 })
    .withEnvironment({ KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:19092' })
    .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
    .start();
  return `kafka://${container.getHost()}:19092`;
};
