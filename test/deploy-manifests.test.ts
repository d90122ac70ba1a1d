import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { parseServeArgs, SERVE_USAGE } from '../server/main.ts';
import type { ServerConfig } from '../server/config.ts';
import { startServer, type RunningServer } from '../server/start-server.ts';
import { SLOTS_DIR } from './helpers/slot-features.ts';

// The Kubernetes and KServe manifests under deploy/ against the server itself: every argument is
// one `seqserve serve` accepts, the ports are the ones those arguments set, the probe and metrics
// paths are routes the server answers, the grace period covers --shutdown-grace, and the HPA's
// metrics are ones the server exports.

const ROOT = path.resolve(import.meta.dirname, '..');

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; annotations?: Record<string, string>; labels?: Record<string, string> };
  spec: Record<string, unknown>;
}
interface Probe {
  httpGet: { path: string; port: number | string };
}
interface Container {
  name: string;
  image: string;
  command?: string[];
  args: string[];
  ports: { name: string; containerPort: number; protocol?: string }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] } } };
}

function load(folder: string): K8sObject[] {
  const dir = path.join(ROOT, 'deploy', folder);
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .flatMap((file) =>
      parseAllDocuments(readFileSync(path.join(dir, file), 'utf8')).map((doc) => {
        expect(doc.errors, `${folder}/${file}`).toEqual([]);
        const object = doc.toJS() as K8sObject;
        expect(object, `${folder}/${file}`).toMatchObject({ apiVersion: expect.any(String), kind: expect.any(String), metadata: { name: expect.any(String) } });
        return object;
      }),
    );
}

const kserve = load('kserve');
const kube = load('kubernetes');
const one = (objects: K8sObject[], kind: string): K8sObject => {
  const found = objects.filter((o) => o.kind === kind);
  expect(found, kind).toHaveLength(1);
  return found[0];
};
const runtime = one(kserve, 'ServingRuntime');
const isvc = one(kserve, 'InferenceService');
const deployment = one(kube, 'Deployment');
const hpa = one(kube, 'HorizontalPodAutoscaler');
const services = kube.filter((o) => o.kind === 'Service');

const runtimeSpec = runtime.spec as {
  annotations: Record<string, string>;
  supportedModelFormats: { name: string; version: string; autoSelect: boolean }[];
  protocolVersions: string[];
  containers: Container[];
};
const runtimeContainer = runtimeSpec.containers.find((c) => c.name === 'kserve-container')!;
const podSpec = (
  deployment.spec as {
    template: { metadata: { annotations: Record<string, string>; labels: Record<string, string> }; spec: { terminationGracePeriodSeconds: number; containers: Container[] } };
  }
).template;
const deploymentContainer = podSpec.spec.containers[0];
const predictor = (
  isvc.spec as {
    predictor: { terminationGracePeriodSeconds: number; model: { runtime: string; modelFormat: { name: string; version: string }; protocolVersion: string; storageUri: string } };
  }
).predictor;

/** The Dockerfile's ENTRYPOINT and CMD (JSON form). */
function dockerfile(instruction: 'ENTRYPOINT' | 'CMD'): string[] {
  const line = readFileSync(path.join(ROOT, 'Dockerfile'), 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${instruction} `));
  return JSON.parse(line!.slice(instruction.length + 1)) as string[];
}

/** The server configuration a container's args give, through the server's own parser (strict: an unknown flag throws). */
function serveConfig(container: Container): ServerConfig {
  expect(container.command, 'the image ENTRYPOINT (node bin/seqserve.js) must run the args').toBeUndefined();
  expect(dockerfile('ENTRYPOINT')).toEqual(['node', 'bin/seqserve.js']);
  expect(container.args[0]).toBe('serve');
  expect(SERVE_USAGE.startsWith('seqserve serve ')).toBe(true);
  for (const flag of container.args.filter((a) => a.startsWith('--'))) expect(SERVE_USAGE, `${flag} is not in seqserve serve's usage`).toContain(`  ${flag} `);
  return parseServeArgs(container.args.slice(1));
}

const preStopSeconds = (c: Container): number => {
  const command = c.lifecycle?.preStop?.exec?.command ?? [];
  return command[0] === 'sleep' ? Number(command[1]) : 0;
};

const probePort = (c: Container, probe: Probe): number =>
  typeof probe.httpGet.port === 'number' ? probe.httpGet.port : c.ports.find((p) => p.name === probe.httpGet.port)!.containerPort;

describe.each([
  ['KServe ServingRuntime', runtimeContainer],
  ['Deployment', deploymentContainer],
])('%s container', (_, container) => {
  const config = serveConfig(container);

  it('declares exactly the HTTP and gRPC ports its args set', () => {
    expect(container.ports.map((p) => [p.name, p.containerPort]).sort()).toEqual([
      ['grpc', config.grpcPort],
      ['http', config.httpPort],
    ]);
  });

  it('probes liveness and readiness (and start-up) on the health routes of its HTTP port', () => {
    expect(container.livenessProbe?.httpGet.path).toBe('/v2/health/live');
    expect(container.readinessProbe?.httpGet.path).toBe('/v2/health/ready');
    if (container.startupProbe) expect(container.startupProbe.httpGet.path).toBe('/v2/health/ready');
    for (const probe of [container.livenessProbe!, container.readinessProbe!, ...(container.startupProbe ? [container.startupProbe] : [])])
      expect(probePort(container, probe)).toBe(config.httpPort);
  });
});

describe('KServe', () => {
  const config = serveConfig(runtimeContainer);

  it('runtime: onnx (not auto-selected), Open Inference Protocol over REST and gRPC, KServe ports and model folder', () => {
    expect(runtime.apiVersion).toBe('serving.kserve.io/v1alpha1');
    expect(runtimeSpec.supportedModelFormats).toEqual([{ name: 'onnx', version: '1', autoSelect: false }]);
    expect(runtimeSpec.protocolVersions).toEqual(['v2', 'grpc-v2']);
    expect(config.modelsDir).toBe('/mnt/models');
    expect([config.httpPort, config.grpcPort]).toEqual([8080, 9000]);
  });

  it('runtime: Prometheus annotations point at /metrics on the HTTP port', () => {
    expect(runtimeSpec.annotations).toMatchObject({ 'prometheus.kserve.io/port': String(config.httpPort), 'prometheus.kserve.io/path': '/metrics' });
  });

  it('InferenceService: uses the runtime and a format and protocol it declares, with a storageUri and scraping on', () => {
    expect(isvc.apiVersion).toBe('serving.kserve.io/v1beta1');
    expect(predictor.model.runtime).toBe(runtime.metadata.name);
    expect(runtimeSpec.supportedModelFormats).toContainEqual(expect.objectContaining(predictor.model.modelFormat));
    expect(runtimeSpec.protocolVersions).toContain(predictor.model.protocolVersion);
    expect(predictor.model.storageUri).toMatch(/^[a-z0-9]+:\/\/\S+/);
    expect(isvc.metadata.annotations?.['serving.kserve.io/enable-prometheus-scraping']).toBe('true');
  });

  it('the termination grace covers the preStop sleep and --shutdown-grace, with a margin', () => {
    expect(predictor.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds(runtimeContainer) + config.shutdownGraceSeconds);
  });
});

describe('Kubernetes without KServe', () => {
  const config = serveConfig(deploymentContainer);

  it('Deployment: serves the models baked into the image (the Dockerfile CMD), scrape annotations on its HTTP port', () => {
    const cmd = dockerfile('CMD');
    expect(config.modelsDir).toBe(cmd[cmd.indexOf('--models') + 1]);
    expect(podSpec.metadata.annotations).toMatchObject({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': String(config.httpPort), 'prometheus.io/path': '/metrics' });
  });

  it('the termination grace covers the preStop sleep and --shutdown-grace, with a margin', () => {
    expect(podSpec.spec.terminationGracePeriodSeconds).toBeGreaterThan(preStopSeconds(deploymentContainer) + config.shutdownGraceSeconds);
  });

  it('Services select the pods and reach the container ports by name, gRPC as h2c', () => {
    expect(services.length).toBeGreaterThan(0);
    for (const service of services) {
      const spec = service.spec as { selector: Record<string, string>; ports: { name: string; port: number; targetPort: string; appProtocol?: string }[] };
      expect(podSpec.metadata.labels).toMatchObject(spec.selector);
      for (const port of spec.ports) {
        const target = deploymentContainer.ports.find((p) => p.name === port.targetPort);
        expect(target, `${service.metadata.name} ${port.name}`).toBeDefined();
        expect(port.port).toBe(target!.containerPort);
        if (port.name === 'grpc') expect(port.appProtocol).toBe('kubernetes.io/h2c');
      }
    }
  });

  it('HPA: scales the Deployment on per-pod metrics that the Prometheus adapter rules serve', () => {
    const spec = hpa.spec as {
      scaleTargetRef: { kind: string; name: string };
      minReplicas: number;
      maxReplicas: number;
      metrics: { type: string; pods: { metric: { name: string } } }[];
    };
    expect(spec.scaleTargetRef).toMatchObject({ kind: 'Deployment', name: deployment.metadata.name });
    expect(spec.minReplicas).toBeLessThanOrEqual(spec.maxReplicas);
    const adapter = parseAllDocuments(readFileSync(path.join(ROOT, 'deploy', 'prometheus-adapter', 'values.yaml'), 'utf8'))[0].toJS() as {
      rules: { custom: { seriesQuery: string; name: { as: string } }[] };
    };
    for (const m of spec.metrics) {
      expect(m.type).toBe('Pods');
      const rule = adapter.rules.custom.find((r) => r.name.as === m.pods.metric.name);
      expect(rule, m.pods.metric.name).toBeDefined();
      expect(rule!.seriesQuery).toContain(`${m.pods.metric.name}{namespace!="",pod!=""}`);
    }
  });
});

describe('the server started with the KServe runtime args, on one model folder as /mnt/models', () => {
  let mnt: string;
  let server: RunningServer;
  beforeAll(async () => {
    mnt = path.join(mkdtempSync(path.join(tmpdir(), 'seqserve-deploy-')), 'models');
    cpSync(SLOTS_DIR, mnt, { recursive: true });
    const config = serveConfig(runtimeContainer);
    // the runtime's args, with loopback ephemeral ports, the temporary folder for /mnt/models, and CPU
    server = await startServer(
      { ...config, host: '127.0.0.1', httpPort: 0, grpcPort: 0, modelsDir: mnt, runtime: { ...config.runtime, providers: ['cpu'] } },
      pino({ level: 'silent' }),
    );
  });
  afterAll(async () => {
    await server?.close();
    rmSync(path.dirname(mnt), { recursive: true, force: true });
  });

  it('answers every probe path of every manifest, and the scrape path with the HPA metrics', async () => {
    const paths = new Set<string>();
    for (const c of [runtimeContainer, deploymentContainer]) for (const p of [c.livenessProbe, c.readinessProbe, c.startupProbe]) if (p) paths.add(p.httpGet.path);
    paths.add(runtimeSpec.annotations['prometheus.kserve.io/path']).add(podSpec.metadata.annotations['prometheus.io/path']);
    expect([...paths].sort()).toEqual(['/metrics', '/v2/health/live', '/v2/health/ready']);
    for (const p of paths) expect((await fetch(`http://127.0.0.1:${server.httpPort}${p}`)).status, p).toBe(200);
    const metrics = await (await fetch(`http://127.0.0.1:${server.httpPort}/metrics`)).text();
    for (const m of (hpa.spec as { metrics: { pods: { metric: { name: string } } }[] }).metrics) expect(metrics).toContain(`# TYPE ${m.pods.metric.name} gauge`);
  });

  it('serves the one model of the folder by its manifest name, with its shutdown grace from the args', async () => {
    expect((await fetch(`http://127.0.0.1:${server.httpPort}/v2/models/slots/ready`)).status).toBe(200);
    expect(server.context.config.shutdownGraceSeconds).toBe(30);
  });
});
