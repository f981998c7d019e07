import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '@strata/testing';

/**
 * A Kafka broker a fault spec may stop, restart and wipe, because nobody else uses it:
 * infra/kafka/kafka.sh with its own free ports and KAFKA_LOCAL_DIR in a temp dir (the jars are
 * shared). The shared broker on 9092 is never touched. (A redis-server of a spec's own:
 * packages/sdk/test/own-redis.ts.)
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
