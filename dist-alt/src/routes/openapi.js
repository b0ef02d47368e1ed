import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
/** Compiled code lives in dist/src/routes/, openapi.yaml at the repository root. */
export const OPENAPI_PATH = fileURLToPath(new URL('../../../openapi.yaml', import.meta.url));
/** Serves the top-level openapi.yaml, read once when the app starts. */
export async function openapiRoutes(app) {
    const document = await readFile(OPENAPI_PATH, 'utf8');
    app.get('/openapi.yaml', async (_request, reply) => {
        reply.type('application/yaml; charset=utf-8');
        return document;
    });
}
//# sourceMappingURL=openapi.js.map