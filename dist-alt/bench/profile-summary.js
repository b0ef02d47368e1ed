/**
 * Top self-time functions of a V8 .cpuprofile (from `npm run bench -- --profile`
 * or `node --cpu-prof`): `node dist/bench/profile-summary.js FILE [N]`.
 */
import { readFileSync } from 'node:fs';
const [file, limit = '25'] = process.argv.slice(2);
if (!file)
    throw new Error('usage: profile-summary FILE [N]');
const profile = JSON.parse(readFileSync(file, 'utf8'));
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const self = new Map();
let total = 0;
profile.samples.forEach((id, i) => {
    const frame = byId.get(id).callFrame;
    const where = frame.url ? `${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, '')}:${frame.lineNumber + 1}` : '';
    const key = `${frame.functionName || '(anonymous)'} ${where}`;
    const dt = profile.timeDeltas[i] ?? 0;
    self.set(key, (self.get(key) ?? 0) + dt);
    total += dt;
});
const rows = [...self.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(limit));
for (const [key, us] of rows)
    console.log(`${((100 * us) / total).toFixed(1).padStart(5)}%  ${(us / 1000).toFixed(0).padStart(6)} ms  ${key}`);
console.log(`total ${(total / 1000).toFixed(0)} ms`);
//# sourceMappingURL=profile-summary.js.map