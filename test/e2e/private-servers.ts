import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { forEachLine } from '@strata/service-runtime';
import { freePort } from '@strata/testing';

/**
 * Servers a fault spec may stop, restart and wipe, because nobody else uses them: a Kafka broker
 * (infra/kafka/kafka.sh with its own ports and KAFKA_LOCAL_DIR; the jars are shared) and a
 * redis-server, each on free ports in a temp dir. The shared broker on 9092 is never touched.
 */

const repoRoot = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');
const kafkaScript = path.join(repoRoot, 'infra/kafka/kafka.sh');
const run = promisify(execFile);

export interface PrivateKafka extends AsyncDisposable {
  brokers: string[];
  /** Starts the broker (first start formats an empty data folder); resolves once it serves. */
  start(): Promise<void>;
  /** SIGTERM, as `kafka.sh stop` does; resolves once the process is gone. */
  stop(): Promise<void>;
}

export const privateKafka = async (): Promise<PrivateKafka> => {
  const [port, controllerPort] = [await freePort(), await freePort()];
  const dir = await mkdtemp(path.join(tmpdir(), 'strata-kafka-'));
  const env = {
    ...process.env,
    KAFKA_BROKERS: `127.0.0.1:${port}`,
    KAFKA_CONTROLLER_PORT: String(controllerPort),
    KAFKA_LOCAL_DIR: dir,
    KAFKA_START_TIMEOUT: '90',
  };
  const kafkaSh = async (command: 'start' | 'stop') => {
    try {
      await run('bash', [kafkaScript, command], { env, timeout: 120_000 });
    } catch (error) {
      const { stderr } = error as { stderr?: string };
      throw new Error(`kafka.sh ${command} failed: ${stderr ?? String(error)}`);
    }
  };
  return {
    brokers: [`127.0.0.1:${port}`],
    start: () => kafkaSh('start'),
    stop: () => kafkaSh('stop'),
    async [Symbol.asyncDispose]() {
      await kafkaSh('stop');
      await rm(dir, { recursive: true, force: true });
    },
  };
};

export interface PrivateRedis extends AsyncDisposable {
  url: string;
}

/** An empty, non-persistent redis-server on a free port; resolves once it accepts connections. */
export const privateRedis = async (): Promise<PrivateRedis> => {
  const port = await freePort();
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server not ready:\n${output.join('\n')}`)), 10_000);
    child.once(
      'exit',
      (code) => (clearTimeout(timer), reject(new Error(`redis-server exited ${code}: ${output.join('\n')}`))),
    );
    for (const stream of [child.stdout, child.stderr]) {
      forEachLine(stream, (line) => {
        output.push(line);
        if (line.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
  return {
    url: `redis://127.0.0.1:${port}`,
    async [Symbol.asyncDispose]() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
};
