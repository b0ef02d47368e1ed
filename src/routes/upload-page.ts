import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

/** Compiled code lives in dist/src/routes/, the page's files at the repository root. */
export const PUBLIC_DIR = fileURLToPath(new URL('../../../public/', import.meta.url));

export interface UploadPageOptions {
  /** IGNITE_API_URL, shown in the CreateBuild command after an upload. */
  apiUrl: string;
}

// Everything the page needs comes from this origin; nothing inline, nothing from a CDN.
const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

const escapeAttribute = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** GET / (the browser upload page) and its stylesheet and script, read once at start-up. */
export async function uploadPageRoutes(app: FastifyInstance, { apiUrl }: UploadPageOptions): Promise<void> {
  const read = (file: string) => readFileSync(`${PUBLIC_DIR}${file}`, 'utf8');
  const html = read('index.html').replace('%IGNITE_API_URL%', escapeAttribute(apiUrl));
  const assets = new Map([
    ['upload.css', { type: 'text/css; charset=utf-8', body: read('upload.css') }],
    ['upload.js', { type: 'text/javascript; charset=utf-8', body: read('upload.js') }],
  ]);

  app.addHook('onSend', async (_request, reply) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('cache-control', 'no-cache');
  });

  app.get('/', async (_request, reply) => {
    reply
      .header('content-security-policy', CONTENT_SECURITY_POLICY)
      .header('referrer-policy', 'no-referrer')
      .type('text/html; charset=utf-8');
    return html;
  });

  app.get('/ui/:file', async (request, reply) => {
    const asset = assets.get((request.params as { file: string }).file);
    if (!asset) return reply.callNotFound();
    return reply.type(asset.type).send(asset.body);
  });
}
