/**
 * The Helm chart (deploy/helm/dagctl), for its default values and every example in
 * deploy/helm/dagctl/examples/ (the combinations docs/kubernetes.md shows): `helm lint --strict`,
 * `helm template`, and strict decoding of every rendered document into the Kubernetes, KEDA and
 * Prometheus-operator API types (deploy/validate, KEDA's own trigger and bounds checks included),
 * with every pod template evaluated by Kubernetes' Pod Security Admission checks at "restricted".
 * On top, the chart's promises are checked on the rendered objects: restricted Pod Security on
 * every pod, probes on /healthz and /readyz, a worker termination grace above its --grace, a
 * PodDisruptionBudget and a NetworkPolicy per Deployment, the scheduler's 2 replicas, KEDA
 * triggers that read fields /scale really has from the autoscale-metrics Service, no namespace
 * written into any address (the KEDA URL carries the release's own), and inconsistent values refused.
 * Precondition: helm and k8s-validate (test/deploy/k8s-tools.ts), a built dist/.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { autoscaleDemand } from '../../scheduler/plan/autoscale.js';
import { REPO, requireK8sTools } from './k8s-tools.js';

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: Record<string, unknown> } & Record<string, unknown>;
type Container = { name: string; image: string; args?: string[]; ports?: Array<{ name: string; containerPort: number }>; securityContext?: Record<string, unknown>; livenessProbe?: Probe; readinessProbe?: Probe; startupProbe?: Probe; volumeMounts?: Array<{ name: string; mountPath: string }> };
type Probe = { httpGet?: { path: string; port: string | number } };
type PodSpec = { containers: Container[]; securityContext?: Record<string, unknown>; automountServiceAccountToken?: boolean; terminationGracePeriodSeconds?: number; volumes?: Array<Record<string, unknown> & { name: string }> };

const CHART = `${REPO}deploy/helm/dagctl`;
const NS = 'dagctl-ns-under-test';
const EXAMPLES = readdirSync(`${CHART}/examples`).filter((f) => f.endsWith('.yaml')).sort();

/** What each values file must render, by kind and component. */
const EXPECTED: Record<string, { deployments: string[]; scaledObject: boolean; deadline: boolean; redis: boolean; netpol: boolean; serviceMonitor: boolean }> = {
  '(defaults)': { deployments: ['autoscale', 'worker'], scaledObject: true, deadline: true, redis: true, netpol: true, serviceMonitor: false },
  'minimal.yaml': { deployments: ['autoscale', 'worker'], scaledObject: true, deadline: true, redis: true, netpol: true, serviceMonitor: false },
  'production.yaml': { deployments: ['autoscale', 'scheduler', 'serve', 'ui', 'worker'], scaledObject: true, deadline: true, redis: false, netpol: true, serviceMonitor: true },
  'fixed-workers.yaml': { deployments: ['worker'], scaledObject: false, deadline: false, redis: true, netpol: false, serviceMonitor: false },
  'queue-scaling-only.yaml': { deployments: ['autoscale', 'worker'], scaledObject: true, deadline: false, redis: true, netpol: true, serviceMonitor: false },
};

function run(cmd: string, args: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
  if (r.error !== undefined) throw r.error;
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

const podSpecOf = (o: Obj): PodSpec => ((o.spec as { template: { spec: PodSpec } }).template.spec);
const argValue = (args: string[], flag: string): string | undefined => args[args.indexOf(flag) + 1];

describe('Helm chart deploy/helm/dagctl (helm lint, helm template, strict decoding)', function () {
  const tools = requireK8sTools(this);
  this.timeout(120_000);

  it('the examples and the docs agree: every example is shown in docs/kubernetes.md, every one shown exists', () => {
    const doc = readFileSync(`${REPO}docs/kubernetes.md`, 'utf8');
    const shown = new Set([...doc.matchAll(/examples\/([a-z0-9-]+\.yaml)/g)].map((m) => m[1]));
    assert.deepEqual([...shown].sort(), EXAMPLES);
    assert.deepEqual(Object.keys(EXPECTED).filter((k) => k !== '(defaults)').sort(), EXAMPLES);
  });

  for (const example of ['(defaults)', ...EXAMPLES]) {
    describe(example, () => {
      const valuesArgs = example === '(defaults)' ? [] : ['-f', `${CHART}/examples/${example}`];
      let docs: Obj[] = [];
      let rendered = '';

      before(() => {
        const t = tools();
        const r = run(t.helm, ['template', 'rel', CHART, '--namespace', NS, ...valuesArgs]);
        assert.equal(r.status, 0, r.stderr);
        rendered = r.stdout;
        docs = parseAllDocuments(rendered).map((d) => d.toJS() as Obj | null).filter((d): d is Obj => d !== null);
      });

      it('helm lint --strict passes', () => {
        const r = run(tools().helm, ['lint', '--strict', CHART, ...valuesArgs]);
        assert.equal(r.status, 0, r.stdout + r.stderr);
      });

      it('every document decodes strictly into the Kubernetes / KEDA / Prometheus-operator types; every pod passes Pod Security "restricted"', () => {
        const r = run(tools().validate, ['--json', '--pod-security', 'restricted'], rendered);
        const results = JSON.parse(r.stdout) as Array<{ kind: string; name: string; error?: string }>;
        assert.deepEqual(results.filter((x) => x.error !== undefined), []);
        assert.equal(r.status, 0, r.stderr);
        assert.equal(results.length, docs.length);
      });

      it('renders the expected objects', () => {
        const exp = EXPECTED[example];
        assert.ok(exp !== undefined);
        const deployments = docs.filter((d) => d.kind === 'Deployment');
        assert.deepEqual(deployments.map((d) => d.metadata.labels?.['app.kubernetes.io/component']).sort(), exp.deployments);
        assert.equal(docs.some((d) => d.kind === 'ScaledObject'), exp.scaledObject);
        assert.equal(docs.some((d) => d.kind === 'StatefulSet' && d.metadata.name === 'rel-dagctl-redis'), exp.redis);
        assert.equal(docs.some((d) => d.kind === 'ServiceMonitor'), exp.serviceMonitor);
        assert.equal(docs.filter((d) => d.kind === 'ServiceAccount').length, 1);
        for (const d of deployments) {
          const name = d.metadata.name;
          assert.ok(docs.some((o) => o.kind === 'Service' && o.metadata.name === name), `Service of ${name}`);
          assert.ok(docs.some((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === name), `PDB of ${name}`);
          assert.equal(docs.some((o) => o.kind === 'NetworkPolicy' && o.metadata.name === name), exp.netpol, `NetworkPolicy of ${name}`);
        }
        const scheduler = deployments.find((d) => d.metadata.name === 'rel-dagctl-scheduler');
        if (scheduler !== undefined) assert.equal(scheduler.spec?.replicas, 2);
      });

      it('every pod runs under restricted Pod Security, with writable /tmp on an emptyDir', () => {
        for (const d of docs.filter((o) => o.kind === 'Deployment' || o.kind === 'StatefulSet')) {
          const pod = podSpecOf(d);
          const where = `${d.kind}/${d.metadata.name}`;
          assert.equal(pod.securityContext?.runAsNonRoot, true, where);
          assert.ok(Number(pod.securityContext?.runAsUser) > 0, where);
          assert.deepEqual(pod.securityContext?.seccompProfile, { type: 'RuntimeDefault' }, where);
          assert.equal(pod.automountServiceAccountToken, false, where);
          assert.ok(!(pod.volumes ?? []).some((v) => 'hostPath' in v), where);
          for (const c of pod.containers) {
            const sc = c.securityContext ?? {};
            assert.equal(sc.readOnlyRootFilesystem, true, `${where} ${c.name}`);
            assert.equal(sc.allowPrivilegeEscalation, false, `${where} ${c.name}`);
            assert.equal(sc.runAsNonRoot, true, `${where} ${c.name}`);
            assert.deepEqual((sc.capabilities as { drop?: string[] } | undefined)?.drop, ['ALL'], `${where} ${c.name}`);
            const tmp = c.volumeMounts?.find((m) => m.mountPath === '/tmp');
            assert.ok(tmp !== undefined, `${where} ${c.name}: /tmp mount`);
            assert.ok('emptyDir' in (pod.volumes?.find((v) => v.name === tmp.name) ?? {}), `${where}: /tmp is an emptyDir`);
          }
        }
      });

      it('dagctl containers: one image, probes on /healthz and /readyz of the --port they serve, DAGCTL_HOME writable', () => {
        for (const d of docs.filter((o) => o.kind === 'Deployment')) {
          const pod = podSpecOf(d);
          const [c] = pod.containers;
          assert.ok(c !== undefined);
          assert.match(c.image, /^ghcr\.io\/dagctl\/dagctl:/);
          const port = c.ports?.find((p) => p.name === 'http')?.containerPort;
          assert.equal(String(port), argValue(c.args ?? [], '--port'), d.metadata.name);
          assert.equal(argValue(c.args ?? [], '--host'), '0.0.0.0');
          assert.deepEqual(c.livenessProbe?.httpGet, { path: '/healthz', port: 'http' });
          assert.deepEqual(c.startupProbe?.httpGet, { path: '/healthz', port: 'http' });
          assert.deepEqual(c.readinessProbe?.httpGet, { path: '/readyz', port: 'http' });
          assert.ok(c.volumeMounts?.some((m) => m.mountPath === '/var/lib/dagctl'));
          if (d.metadata.name === 'rel-dagctl-worker') {
            const grace = /^(\d+)s$/.exec(argValue(c.args ?? [], '--grace') ?? '');
            assert.ok(grace !== null);
            assert.ok((pod.terminationGracePeriodSeconds ?? 30) > Number(grace[1]), 'terminationGracePeriodSeconds above --grace');
          }
        }
      });

      it('no namespace in any address; the KEDA triggers read /scale fields from the autoscale-metrics Service', () => {
        assert.ok(!docs.some((d) => d.metadata.namespace !== undefined));
        assert.ok(!/\.default\.svc|svc\.cluster\.local/.test(rendered));
        const so = docs.find((d) => d.kind === 'ScaledObject');
        const withoutKeda = rendered.replace(/url: "http:\/\/rel-dagctl-autoscale\.dagctl-ns-under-test\.svc:\d+\/scale"/g, '');
        assert.ok(!withoutKeda.includes(NS), 'the namespace appears only in the KEDA operator’s URL');
        if (so === undefined) return;
        const spec = so.spec as { scaleTargetRef: { name: string }; triggers: Array<{ type: string; name: string; metadata: Record<string, string> }> };
        assert.equal(spec.scaleTargetRef.name, 'rel-dagctl-worker');
        const fields = Object.keys(autoscaleDemand({ now: 0, maxSlots: 1, queues: {}, runs: [] }));
        const svc = docs.find((d) => d.kind === 'Service' && d.metadata.name === 'rel-dagctl-autoscale');
        const svcPort = (svc?.spec as { ports: Array<{ port: number }> } | undefined)?.ports[0]?.port;
        const worker = podSpecOf(docs.find((d) => d.metadata.name === 'rel-dagctl-worker' && d.kind === 'Deployment') as Obj).containers[0];
        const concurrency = argValue(worker?.args ?? [], '--concurrency');
        assert.deepEqual(spec.triggers.map((t) => t.metadata.valueLocation), EXPECTED[example]?.deadline ? ['demandSlots'] : ['workJobs']);
        for (const t of spec.triggers) {
          assert.equal(t.type, 'metrics-api');
          assert.ok(fields.includes(t.metadata.valueLocation ?? ''), `${t.metadata.valueLocation} is a field of /scale`);
          assert.equal(t.metadata.url, `http://rel-dagctl-autoscale.${NS}.svc:${svcPort}/scale`);
          assert.equal(t.metadata.targetValue, concurrency);
        }
        const autoscaler = podSpecOf(docs.find((d) => d.metadata.name === 'rel-dagctl-autoscale' && d.kind === 'Deployment') as Obj).containers[0];
        const maxReplicas = (so.spec as { maxReplicaCount: number }).maxReplicaCount;
        assert.equal(argValue(autoscaler?.args ?? [], '--max-slots'), String(maxReplicas * Number(concurrency)));
        assert.equal(argValue(autoscaler?.args ?? [], '--queues'), argValue(worker?.args ?? [], '--queues'));
      });
    });
  }

  it('inconsistent, misspelt and out-of-range values are refused with a message naming the value', () => {
    const cases: Array<[string[], RegExp]> = [
      [['--set', 'redis.existingSecret=r'], /redis\.existingSecret.*not both/],
      [['--set', 'redis.bundled.enabled=false'], /redis\.existingSecret/],
      [['--set', 'ui.enabled=true'], /ui\.token\.existingSecret/],
      [['--set', 'scheduler.enabled=true'], /scheduler\.dags/],
      [['--set', 'serve.enabled=true'], /serve\.views/],
      [['--set', 'worker.autoscaling.minReplicas=5', '--set', 'worker.autoscaling.maxReplicas=2'], /minReplicas/],
      // values.schema.json: a misspelt or out-of-range value is an error, never silently ignored.
      [['--set', 'worker.concurency=3'], /concurency/],
      [['--set', 'worker.concurrency=0'], /concurrency/],
      [['--set', 's3.forcePathStyle=yes'], /forcePathStyle/],
    ];
    for (const [args, message] of cases) {
      const r = run(tools().helm, ['template', 'rel', CHART, ...args]);
      assert.notEqual(r.status, 0, args.join(' '));
      assert.match(r.stderr, message);
    }
  });

  it('k8s-validate rejects unknown fields, duplicate keys, unknown kinds and bad KEDA triggers', () => {
    const bad = [
      'apiVersion: v1\nkind: Service\nmetadata: {name: a}\nspec: {portz: []}',
      'apiVersion: v1\nkind: Service\nmetadata: {name: b, name: c}',
      'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: d}',
      'apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: e}\nspec: {scaleTargetRef: {name: w}, minReplicaCount: 5, maxReplicaCount: 2, triggers: [{type: metrics-api, metadata: {url: "http://x/", valueLocation: a, targetValue: "1"}}]}',
      'apiVersion: keda.sh/v1alpha1\nkind: ScaledObject\nmetadata: {name: f}\nspec: {scaleTargetRef: {name: w}, triggers: [{type: metrics-api, metadata: {url: "http://x/", valueLocaton: a, targetValue: "1"}}]}',
    ];
    const good = 'apiVersion: v1\nkind: ServiceAccount\nmetadata: {name: ok}';
    // Restricted Pod Security: a Deployment whose pod may run as root and keeps its capabilities.
    const rootPod = 'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: g}\nspec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}';
    const r = run(tools().validate, ['--json', '--pod-security', 'restricted'], [...bad, rootPod, good].join('\n---\n'));
    assert.equal(r.status, 1);
    const results = JSON.parse(r.stdout) as Array<{ name: string; error?: string }>;
    assert.deepEqual(results.map((x) => [x.name, x.error !== undefined]), [['a', true], ['', true], ['d', true], ['e', true], ['f', true], ['g', true], ['ok', false]]);
    assert.match(results[5]?.error ?? '', /PodSecurity "restricted".*(runAsNonRoot|allowPrivilegeEscalation|capabilities|seccomp)/);
    // Without --pod-security the same Deployment decodes fine.
    assert.equal(run(tools().validate, [], rootPod).status, 0);
    assert.equal(execFileSync(tools().validate, [], { input: good, encoding: 'utf8' }), 'ok v1 ServiceAccount ok\n');
  });
});
