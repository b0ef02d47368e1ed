import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as the OTLP/HTTP JSON exporter sent it, its attributes flattened. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  /** 1 internal, 2 server, 3 client. */
  kind: number;
  attributes: Record<string, string | number | boolean>;
  links: Array<{ traceId: string; spanId: string }>;
  status: { code?: number; message?: string };
  events: Array<{ name: string; attributes: Record<string, string | number | boolean> }>;
  resource: Record<string, string | number | boolean>;
}

interface AnyValue { stringValue?: string; intValue?: string | number; boolValue?: boolean; doubleValue?: number }
type KeyValues = Array<{ key: string; value: AnyValue }> | undefined;

const flatten = (attributes: KeyValues): Record<string, string | number | boolean> => Object.fromEntries((attributes ?? []).map(({ key, value }) => [
  key, value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : value.boolValue ?? value.doubleValue ?? ''),
]));

/**
 * A collector's OTLP/HTTP receiver on loopback (`POST /v1/traces`): decodes
 * http/json; an http/protobuf request is kept as raw bytes (`protobufBodies`).
 */
export class OtlpReceiver {
  readonly spans: ReceivedSpan[] = [];
  readonly protobufBodies: Buffer[] = [];
  private waiters: Array<() => void> = [];

  private constructor(private readonly server: Server, readonly url: string) {}

  static async start(): Promise<OtlpReceiver> {
    const server = createServer();
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const receiver = new OtlpReceiver(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    server.on('request', (req, res) => {
      const pieces: Buffer[] = [];
      req.on('data', (piece: Buffer) => pieces.push(piece));
      req.on('end', () => {
        const body = Buffer.concat(pieces);
        if (req.url !== '/v1/traces' || req.method !== 'POST') {
          res.writeHead(404).end();
          return;
        }
        if (req.headers['content-type']?.startsWith('application/x-protobuf')) receiver.protobufBodies.push(body);
        else receiver.take(JSON.parse(body.toString('utf8')));
        res.writeHead(200, { 'content-type': String(req.headers['content-type'] ?? 'application/json') }).end(req.headers['content-type']?.includes('json') ? '{}' : '');
        for (const wake of receiver.waiters.splice(0)) wake();
      });
    });
    return receiver;
  }

  /** Resolves with the spans once `ready` says they are all there (the batch processor exports on its schedule). */
  async waitFor<T>(ready: (spans: ReceivedSpan[]) => T | undefined, what: string, timeoutMs = 10_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = ready(this.spans);
      if (found !== undefined) return found;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the collector did not receive ${what} within ${timeoutMs} ms; it has: ${this.spans.map((s) => s.name).join(', ')}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(timer); resolve(); });
      });
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private take(request: { resourceSpans?: Array<{ resource?: { attributes?: KeyValues }; scopeSpans?: Array<{ spans?: Array<Record<string, unknown>> }> }> }): void {
    for (const resourceSpans of request.resourceSpans ?? []) {
      const resource = flatten(resourceSpans.resource?.attributes);
      for (const scope of resourceSpans.scopeSpans ?? []) {
        for (const span of scope.spans ?? []) {
          this.spans.push({
            traceId: span['traceId'] as string,
            spanId: span['spanId'] as string,
            parentSpanId: (span['parentSpanId'] as string | undefined) ?? '',
            name: span['name'] as string,
            kind: span['kind'] as number,
            attributes: flatten(span['attributes'] as KeyValues),
            links: ((span['links'] as Array<{ traceId: string; spanId: string }> | undefined) ?? []).map(({ traceId, spanId }) => ({ traceId, spanId })),
            status: (span['status'] as ReceivedSpan['status'] | undefined) ?? {},
            events: ((span['events'] as Array<{ name: string; attributes?: KeyValues }> | undefined) ?? []).map((e) => ({ name: e.name, attributes: flatten(e.attributes) })),
            resource,
          });
        }
      }
    }
  }
}
