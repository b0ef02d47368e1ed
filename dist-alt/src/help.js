import { describePlatformFacts, describeSettings } from './config.js';
/** `--help`: every setting with its default and meaning. */
export function helpText() {
    const rows = describeSettings();
    const width = Math.max(...rows.map((r) => r.env.length));
    const lines = rows.map((r) => `  ${r.env.padEnd(width)}  ${r.description} (default: ${r.default === '' ? 'unset' : r.default})`);
    return [
        'ignite-upload-bridge: HTTP uploads re-streamed to dodil.ignite.v1.BuildService/UploadBuildContext',
        '',
        'Usage: node dist/src/main.js [--help]',
        '',
        'Settings (environment variables, read once at start-up):',
        ...lines,
        '',
        'Set by the platform (Kubernetes\' downward API), not chosen:',
        ...describePlatformFacts().map((f) => `  ${f.env.padEnd(width)}  ${f.description}`),
        '',
    ].join('\n');
}
//# sourceMappingURL=help.js.map