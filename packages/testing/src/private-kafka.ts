import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { cleanupIfRunnerDies, shellQuote } from './runner-death-cleanup.js';
import { freePort } from './wait.js';

/**
 * A Kafka broker of its own, for fault tests that stop, restart and wipe it: the shared one on
 * 9092 must never be touched. infra/kafka/kafka.sh with free ports and KAFKA_LOCAL_DIR in a temp
 * dir (the jars are shared), so its first start formats an empty data folder, like a new install.
 */

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
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
  // The broker is a daemon, outside the runner's process tree: a runner killed midway still stops it.
  const orphaned = cleanupIfRunnerDies(
    `bash ${shellQuote(kafkaScript)} stop >/dev/null 2>&1; rm -rf ${shellQuote(dir)}`,
    env,
  );
  return {
    brokers: [`127.0.0.1:${port}`],
    start: () => kafkaSh('start'),
    stop: () => kafkaSh('stop'),
    async [Symbol.asyncDispose]() {
      await kafkaSh('stop');
      await rm(dir, { recursive: true, force: true });
      await orphaned.disarm();
    },
  };
};
