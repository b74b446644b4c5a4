import { Agent, request } from 'node:http';

/** A keep-alive HTTP client for load: one socket per concurrent worker, no per-request setup. */
export class HttpLoad {
  private readonly agent: Agent;

  constructor(concurrency: number) {
    this.agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  }

  /** Sends a request and resolves with the status once the body has been read. */
  send(url: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<number> {
    return new Promise((resolve, reject) => {
      const req = request(url, { method: options.method ?? 'GET', headers: options.headers, agent: this.agent }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(options.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
