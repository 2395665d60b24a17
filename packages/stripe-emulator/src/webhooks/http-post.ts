import http from 'node:http';
import https from 'node:https';

/**
 * POSTs webhook deliveries over keep-alive connections that belong to the emulator, so closing it
 * closes them too (`fetch` would leave its sockets in the process-wide pool, alive after close).
 */
export class DeliveryClient {
  private readonly http = new http.Agent({ keepAlive: true });
  private readonly https = new https.Agent({ keepAlive: true });

  /** The receiver's HTTP status; rejects with a readable message when it does not answer in time. */
  post(url: string, headers: Record<string, string>, body: string, timeoutMs: number, signal: AbortSignal): Promise<number> {
    return new Promise((resolve, reject) => {
      let target: URL;
      try {
        target = new URL(url);
      } catch {
        reject(new Error(`invalid URL ${url}`));
        return;
      }
      const secure = target.protocol === 'https:';
      const req = (secure ? https : http).request(
        target,
        {
          method: 'POST',
          agent: secure ? this.https : this.http,
          headers: { ...headers, 'Content-Length': String(Buffer.byteLength(body)) },
          signal,
          timeout: timeoutMs,
        },
        (res) => {
          res.resume();
          res.once('end', () => resolve(res.statusCode ?? 0));
          res.once('error', reject);
        },
      );
      req.once('timeout', () => req.destroy(new Error(`timed out after ${timeoutMs} ms`)));
      req.once('error', reject);
      req.end(body);
    });
  }

  /** Closes every connection (pooled or in use). */
  destroy(): void {
    this.http.destroy();
    this.https.destroy();
  }
}
