import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
/** Compiled code lives in dist/src/routes/, the page's files at the repository root. */
export const PUBLIC_DIR = fileURLToPath(new URL('../../../public/', import.meta.url));
/** The page's script, bundled from page/ by `npm run build` (scripts/build-if-changed.js). */
export const PAGE_BUNDLE = fileURLToPath(new URL('../../page/upload.js', import.meta.url));
/** tus-js-client's browser build (a UMD script that defines `window.tus`), served as it ships. */
export const TUS_BROWSER_BUILD = createRequire(import.meta.url).resolve('tus-js-client/dist/tus.min.js');
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
const TUS_SCRIPT_TAG = '<script src="ui/tus.min.js" defer></script>';
const escapeAttribute = (value) => value.replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
/** GET / (the browser upload page) and its stylesheet and scripts, read once at start-up. */
export async function uploadPageRoutes(app, { apiUrl, resumable, builds }) {
    const read = (file) => readFileSync(`${PUBLIC_DIR}${file}`, 'utf8');
    // The mode and whether builds are on travel in data attributes: the CSP allows no inline script to carry it.
    let html = read('index.html')
        .replace('%IGNITE_API_URL%', escapeAttribute(apiUrl))
        .replace('%UPLOAD_MODE%', resumable ? 'resumable' : 'multipart')
        .replace('%BUILDS%', builds ? 'on' : 'off');
    if (!resumable)
        html = html.replace(`  ${TUS_SCRIPT_TAG}\n`, '');
    const assets = new Map([
        ['upload.css', { type: 'text/css; charset=utf-8', body: read('upload.css') }],
        ['upload.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(PAGE_BUNDLE, 'utf8') }],
    ]);
    if (resumable)
        assets.set('tus.min.js', { type: 'text/javascript; charset=utf-8', body: readFileSync(TUS_BROWSER_BUILD, 'utf8') });
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
        const asset = assets.get(request.params.file);
        if (!asset)
            return reply.callNotFound();
        return reply.type(asset.type).send(asset.body);
    });
}
//# sourceMappingURL=upload-page.js.map