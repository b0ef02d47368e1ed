import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';
import { describePlatformFacts, describeSettings } from '../src/config.js';
const DIR = fileURLToPath(new URL('../../deploy/kubernetes/', import.meta.url));
async function manifests() {
    const all = [];
    for (const file of (await readdir(DIR)).filter((f) => /\.ya?ml$/.test(f))) {
        for (const doc of parseAllDocuments(await readFile(join(DIR, file), 'utf8'))) {
            assert.deepEqual(doc.errors, [], `${file}: ${doc.errors.join('; ')}`);
            const value = doc.toJS();
            if (!value)
                continue;
            assert.ok(value['apiVersion'] && value['kind'] && value['metadata']?.name, `${file}: apiVersion, kind and metadata.name`);
            all.push(value);
        }
    }
    return all;
}
const one = (all, kind) => {
    const found = all.filter((m) => m['kind'] === kind);
    assert.equal(found.length, 1, `one ${kind}`);
    return found[0];
};
const matches = (selector, labels) => Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
describe('deploy/kubernetes', () => {
    test('Deployment: probes, resources, preStop pause, termination grace covering pause + drain grace + response timeout, non-root', async () => {
        const deployment = one(await manifests(), 'Deployment');
        assert.equal(deployment['apiVersion'], 'apps/v1');
        const pod = deployment['spec'].template;
        assert.ok(matches(deployment['spec'].selector.matchLabels, pod.metadata.labels), 'the selector matches the pod labels');
        const [container] = pod.spec.containers;
        assert.ok(container);
        const port = container['ports'].find((p) => p['name'] === 'http');
        assert.equal(port?.['containerPort'], 8080);
        assert.equal(container['readinessProbe'].httpGet.path, '/readyz');
        assert.equal(container['livenessProbe'].httpGet.path, '/healthz');
        for (const probe of [container['readinessProbe'], container['livenessProbe']])
            assert.ok([8080, 'http'].includes(probe.httpGet.port));
        assert.ok(container['resources'].requests.cpu && container['resources'].requests.memory, 'requests');
        assert.ok(container['resources'].limits.memory, 'a memory limit');
        const env = Object.fromEntries(container['env'].map((e) => [e['name'], e['value'] ?? e['valueFrom']]));
        const known = new Set([...describeSettings(), ...describePlatformFacts()].map((s) => s.env));
        for (const name of Object.keys(env))
            assert.ok(known.has(name), `${name} is not a setting`);
        // Other replicas forward a resumable upload's requests to the pod holding its call.
        assert.equal(env['POD_IP']?.fieldRef?.fieldPath, 'status.podIP', 'POD_IP from the downward API');
        assert.ok(env['IGNITE_GRPC_TARGET'], 'a real upstream, never the embedded reference upstream on 0.0.0.0');
        const setting = (name) => Number(env[name] ?? describeSettings().find((s) => s.env === name).default);
        const preStop = container['lifecycle'].preStop;
        const pauseSeconds = preStop.sleep?.seconds ?? Number(preStop.exec.command.at(-1));
        assert.ok(pauseSeconds > 0, 'a preStop pause');
        // The one grace rule: the pause, the longer of the grace and the resumable drain, then a half-closed
        // call's answer and the build request after it.
        const ifSetting = (name) => (known.has(name) ? setting(name) : 0);
        const neededMs = pauseSeconds * 1000 + Math.max(setting('SHUTDOWN_GRACE_MS'), setting('RESUMABLE_DRAIN_MS'))
            + setting('UPSTREAM_RESPONSE_TIMEOUT_MS') + ifSetting('BUILD_REQUEST_TIMEOUT_MS');
        // Plus the bridge's own 5 s for cancelled uploads to answer, and a margin.
        assert.ok(pod.spec.terminationGracePeriodSeconds * 1000 >= neededMs + 10_000, `terminationGracePeriodSeconds ${pod.spec.terminationGracePeriodSeconds} must cover the preStop pause, max(SHUTDOWN_GRACE_MS, RESUMABLE_DRAIN_MS), UPSTREAM_RESPONSE_TIMEOUT_MS and BUILD_REQUEST_TIMEOUT_MS (${neededMs} ms) plus a margin`);
        assert.equal(pod.spec.securityContext.runAsNonRoot, true);
    });
    test('Service, HPA and PDB select the Deployment\'s pods; the Ingress streams multi-GB bodies', async () => {
        const all = await manifests();
        const deployment = one(all, 'Deployment');
        const labels = deployment['spec'].template.metadata.labels;
        const services = all.filter((m) => m['kind'] === 'Service' && matches(m['spec'].selector, labels));
        assert.equal(services.length, 1, 'one Service selects the bridge\'s pods');
        const service = services[0];
        const servicePort = service['spec'].ports[0];
        assert.ok(['http', 8080].includes(servicePort['targetPort']));
        assert.equal(servicePort['appProtocol'], 'kubernetes.io/h2c', 'the port is declared h2c, so an ingress that speaks it uses HTTP/2');
        const hpa = one(all, 'HorizontalPodAutoscaler');
        assert.equal(hpa['apiVersion'], 'autoscaling/v2');
        assert.deepEqual(hpa['spec'].scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment['metadata'].name });
        assert.ok(hpa['spec'].minReplicas >= 2 && hpa['spec'].maxReplicas > hpa['spec'].minReplicas);
        assert.ok(hpa['spec'].metrics.length > 0);
        const pdb = one(all, 'PodDisruptionBudget');
        assert.equal(pdb['apiVersion'], 'policy/v1');
        assert.ok(matches(pdb['spec'].selector.matchLabels, labels), 'the PDB selects the pods');
        assert.ok(pdb['spec'].maxUnavailable !== undefined || pdb['spec'].minAvailable !== undefined);
        const ingress = one(all, 'Ingress');
        assert.equal(ingress['apiVersion'], 'networking.k8s.io/v1');
        const annotations = ingress['metadata'].annotations;
        assert.equal(annotations['nginx.ingress.kubernetes.io/proxy-request-buffering'], 'off', 'nginx must not buffer request bodies');
        const bodySize = /^(\d+)([kmg]?)$/i.exec(annotations['nginx.ingress.kubernetes.io/proxy-body-size'] ?? '');
        assert.ok(bodySize, 'proxy-body-size is set');
        const bytes = Number(bodySize[1]) * { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[bodySize[2].toLowerCase()];
        const maxContext = Number(describeSettings().find((s) => s.env === 'MAX_CONTEXT_BYTES').default);
        assert.ok(bytes === 0 || bytes > maxContext, `proxy-body-size ${bytes} must exceed MAX_CONTEXT_BYTES`);
        for (const timeout of ['proxy-read-timeout', 'proxy-send-timeout']) {
            assert.ok(Number(annotations[`nginx.ingress.kubernetes.io/${timeout}`]) * 1000 > 60_000, `${timeout} above the bridge's own timeouts`);
        }
        const backend = ingress['spec'].rules[0].http.paths[0].backend.service;
        assert.equal(backend.name, service['metadata'].name);
        assert.ok([servicePort['name'], servicePort['port']].includes(backend.port.name ?? backend.port.number));
    });
    test('several replicas share one Redis: REDIS_URL from a Secret naming its Service; Redis never evicts, persists, and keeps its data on a volume', async () => {
        const all = await manifests();
        const deployment = one(all, 'Deployment');
        const hpa = one(all, 'HorizontalPodAutoscaler');
        assert.ok(deployment['spec'].replicas > 1 || hpa['spec'].minReplicas > 1, 'this check is about several replicas');
        const [container] = deployment['spec'].template.spec.containers;
        const redisUrl = container['env'].find((e) => e['name'] === 'REDIS_URL');
        assert.ok(redisUrl, 'several replicas need REDIS_URL: Idempotency-Keys and imports in one replica\'s memory are unknown to the others');
        const ref = redisUrl['valueFrom']?.secretKeyRef;
        const secret = ref ? all.find((m) => m['kind'] === 'Secret' && m['metadata'].name === ref.name) : undefined;
        const url = new URL(String(redisUrl['value'] ?? secret?.['stringData']?.[ref?.key]));
        assert.ok(['redis:', 'rediss:'].includes(url.protocol), `REDIS_URL ${url.protocol}`);
        const redis = one(all, 'StatefulSet');
        assert.equal(redis['apiVersion'], 'apps/v1');
        const pod = redis['spec'].template;
        assert.ok(matches(redis['spec'].selector.matchLabels, pod.metadata.labels), 'the selector matches the pod labels');
        const service = all.find((m) => m['kind'] === 'Service' && m['metadata'].name === redis['spec'].serviceName);
        assert.ok(service && matches(service['spec'].selector, pod.metadata.labels), 'the StatefulSet\'s Service selects its pods');
        assert.equal(url.hostname, service['metadata'].name, 'REDIS_URL names that Service');
        assert.ok(service['spec'].ports.some((p) => p['port'] === Number(url.port || 6379)));
        const [server] = pod.spec.containers;
        const args = [...(server['command'] ?? []), ...(server['args'] ?? [])].map(String);
        const option = (name) => args[args.indexOf(`--${name}`) + 1];
        assert.equal(option('maxmemory-policy'), 'noeviction', 'live claims must never be evicted');
        assert.equal(option('appendonly'), 'yes', 'claims and results survive a Redis restart');
        assert.ok(option('maxmemory'), 'a maxmemory below the memory limit: refused writes (503), not an OOM kill');
        const claim = redis['spec'].volumeClaimTemplates?.[0];
        assert.ok(claim?.['spec'].resources.requests.storage, 'a PersistentVolumeClaim template');
        const mount = server['volumeMounts'].find((m) => m['name'] === claim['metadata'].name);
        assert.equal(mount?.['mountPath'], option('dir'), 'Redis writes its files to the volume');
    });
});
//# sourceMappingURL=kubernetes.test.js.map