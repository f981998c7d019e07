import { type ChildProcess } from 'node:child_process';
import { spawnTied } from '@strata/service-runtime';
import { fileURLToPath } from 'node:url';

const main = fileURLToPath(new URL('../src/main.ts', import.meta.url));

export interface ProjectorProcess {
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  lines: Record<string, unknown>[];
  metricsPort: Promise<number>;
  metrics(): Promise<string>;
  /** Resolves with the exit code. */
  exited: Promise<number | null>;
}

/** Starts `services/projector/src/main.ts` as a real process, with its own environment. */
export const startProjectorProcess = (env: Record<string, string>): ProjectorProcess => {
  const child = spawnTied(process.execPath, ['--conditions=@strata/source', '--import', 'tsx', main], {
    env: {
      ...process.env,
      PROJECTOR_METRICS_PORT: '0',
      PROJECTOR_SESSION_TIMEOUT_MS: '6000',
      PROJECTOR_HEARTBEAT_INTERVAL_MS: '500',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const lines: Record<string, unknown>[] = [];
  let resolvePort: (port: number) => void;
  const metricsPort = new Promise<number>((resolve) => (resolvePort = resolve));
  let buffer = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
      const text = buffer.slice(0, nl);
      buffer = buffer.slice(nl + 1);
      try {
        const line = JSON.parse(text) as Record<string, unknown>;
        lines.push(line);
        if (line.msg === 'projector started') resolvePort(line.metricsPort as number);
      } catch {
        lines.push({ raw: text });
      }
    }
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    lines,
    metricsPort,
    exited,
    async metrics() {
      const response = await fetch(`http://127.0.0.1:${await metricsPort}/metrics`);
      return response.text();
    },
  };
};

/** The value of an unlabelled-but-group metric in Prometheus text. */
export const metricValue = (text: string, name: string): number => {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`));
  return line ? Number(line.split(' ').at(-1)) : NaN;
};
