import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { prometheusContentType } from './metrics-registry.js';

/** Serves `GET /metrics`; resolves with the server once it listens (port 0 picks one). */
export const serveMetrics = async (
  port: number,
  render: () => Promise<string>,
): Promise<{ server: Server; port: number }> => {
  const server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404).end();
      return;
    }
    render().then(
      (body) => response.writeHead(200, { 'content-type': prometheusContentType }).end(body),
      () => response.writeHead(503, { 'content-type': 'text/plain' }).end('# metrics unavailable\n'),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
};
