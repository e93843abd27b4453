// The wiring of docker-compose.yml, docker/nginx.conf and the Dockerfiles,
// checked without a Docker engine.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

const read = (p: string) => readFileSync(new URL(`../../${p}`, import.meta.url), 'utf8');

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  ports?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  healthcheck?: { test: string[] };
  profiles?: string[];
  networks?: Record<string, { aliases?: string[] }>;
  deploy?: { replicas?: string | number; resources?: { reservations?: { devices?: Array<{ driver: string; capabilities: string[] }> } } };
  depends_on?: Record<string, { condition?: string }>;
}

/** "${VAR:-default}" -> default, as compose reads it with VAR unset. */
const withDefaults = (v: string) => v.replace(/\$\{\w+:-([^}]*)\}/g, '$1');

// merge keys (<<) are resolved by the parser
const compose = parse(read('docker-compose.yml'), { merge: true }) as { services: Record<string, Service>; volumes: Record<string, unknown> };
const s = compose.services;

describe('docker-compose.yml', () => {
  it('has Label Studio, the backend (CPU and GPU) and nginx in front', () => {
    expect(Object.keys(s).sort()).toEqual(['backend', 'backend-gpu', 'faceseg', 'label-studio', 'postgres']);
    expect(s['label-studio'].image).toMatch(/^heartexlabs\/label-studio/);
    expect(s.backend.build?.dockerfile).toBe('docker/Dockerfile');
    expect(s['backend-gpu'].build?.dockerfile).toBe('docker/Dockerfile.gpu');
    expect(s.faceseg.image).toMatch(/^nginx/);
  });

  it('publishes 8080 (Label Studio) and 9090 (the backend, through nginx); replicas publish nothing', () => {
    expect(s['label-studio'].ports).toEqual(['8080:8080']);
    expect(s.faceseg.ports).toEqual(['9090:9090']);
    expect(s.backend.ports).toBeUndefined();
    expect(s['backend-gpu'].ports).toBeUndefined();
  });

  it('the backends reach Label Studio by its service name, not localhost', () => {
    for (const name of ['backend', 'backend-gpu']) {
      const env = s[name].environment!;
      const url = new URL(env.LABEL_STUDIO_URL);
      expect(url.hostname).toBe('label-studio');
      expect(Object.keys(s)).toContain(url.hostname);
      expect(url.port).toBe('8080');
      expect(env).toHaveProperty('LABEL_STUDIO_API_KEY');
    }
    expect(s.backend.environment!.EXECUTION_PROVIDER).toBe('cpu');
    expect(s['backend-gpu'].environment!.EXECUTION_PROVIDER).toBe('cuda');
  });

  it('one local-files folder is mounted in Label Studio and in the backends, at the document root both are told', () => {
    const ls = s['label-studio'];
    const root = ls.environment!.LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT;
    expect(ls.environment!.LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED).toBe('true');
    // without both, Label Studio refuses an ML backend on the compose network's private addresses
    expect(ls.environment!.ML_BLOCK_LOCAL_IP).toBe('false');
    expect(ls.environment!.SSRF_PROTECTION_ENABLED).toBe('false');
    // "SOURCE:TARGET[:ro]" where SOURCE may hold a ${VAR:-default}
    const source = (svc: Service) => {
      const v = svc.volumes!.find((x) => x.endsWith(`:${root}`) || x.endsWith(`:${root}:ro`));
      return v?.slice(0, v.lastIndexOf(`:${root}`));
    };
    expect(source(ls)).toBeTruthy();
    for (const name of ['backend', 'backend-gpu']) {
      expect(s[name].environment!.LOCAL_FILES_DOCUMENT_ROOT).toBe(root);
      expect(source(s[name])).toBe(source(ls));
      expect(s[name].volumes).toContain(`${source(ls)}:${root}:ro`);
    }
  });

  it('every replica shares the learning store through the postgres service, not a shared SQLite file', () => {
    const pgEnv = s.postgres.environment!;
    expect(s.postgres.image).toMatch(/^postgres:\d+/);
    expect(s.postgres.ports).toBeUndefined();
    expect(s.postgres.healthcheck!.test).toContain('pg_isready');
    const dataVolume = s.postgres.volumes!.find((v) => v.endsWith(':/var/lib/postgresql/data'))!;
    expect(compose.volumes).toHaveProperty(dataVolume.split(':')[0]);
    for (const name of ['backend', 'backend-gpu']) {
      const raw = s[name].environment!.LEARNING_DB;
      const url = new URL(withDefaults(raw));
      expect(url.protocol).toBe('postgres:');
      expect(url.hostname).toBe('postgres');
      expect(url.port).toBe('5432');
      expect(url.username).toBe(pgEnv.POSTGRES_USER);
      expect(url.pathname).toBe(`/${pgEnv.POSTGRES_DB}`);
      // one password variable for both sides
      expect(raw).toContain(`:${pgEnv.POSTGRES_PASSWORD}@`);
      expect(url.password).toBe(withDefaults(pgEnv.POSTGRES_PASSWORD));
      expect(s[name].depends_on?.postgres?.condition).toBe('service_healthy');
      // nothing but the read-only local files is mounted: no shared SQLite volume
      expect(s[name].volumes!.every((v) => v.endsWith(':ro'))).toBe(true);
    }
  });

  it('every service has a healthcheck', () => {
    for (const [name, svc] of Object.entries(s)) expect(svc.healthcheck?.test, name).toBeTruthy();
    expect(s.backend.healthcheck!.test.join(' ')).toMatch(/127\.0\.0\.1:9090\/health/);
  });

  it('the gpu profile reserves an NVIDIA device; the CPU backend is in the default profile', () => {
    expect(s['backend-gpu'].profiles).toEqual(['gpu']);
    const dev = s['backend-gpu'].deploy!.resources!.reservations!.devices!;
    expect(dev[0]).toMatchObject({ driver: 'nvidia', capabilities: ['gpu'] });
    expect(s.backend.profiles).toBeUndefined();
  });

  it('backends scale to N replicas under one DNS alias that nginx balances over', () => {
    expect(String(s.backend.deploy!.replicas)).toMatch(/BACKEND_REPLICAS|^\d+$/);
    for (const name of ['backend', 'backend-gpu']) expect(s[name].networks!.default.aliases).toContain('faceseg-backend');
    expect(s.faceseg.volumes).toContain('./docker/nginx.conf:/etc/nginx/nginx.conf:ro');
    const nginx = read('docker/nginx.conf');
    expect(nginx).toMatch(/resolver 127\.0\.0\.11/);
    expect(nginx).toMatch(/set \$backend faceseg-backend;/);
    expect(nginx).toMatch(/proxy_pass http:\/\/\$backend:9090;/);
    expect(nginx).toMatch(/listen 9090;/);
    // longer than Label Studio's 100 s /predict timeout
    expect(Number(/proxy_read_timeout (\d+)s/.exec(nginx)![1])).toBeGreaterThan(100);
  });
});

describe('Dockerfiles', () => {
  for (const file of ['docker/Dockerfile', 'docker/Dockerfile.gpu']) {
    const text = read(file);
    it(`${file}: builds with npm run build, runs dist as a non-root user, ships the models, has a node HEALTHCHECK`, () => {
      expect(text).toMatch(/RUN npm run build/);
      expect(text).toMatch(/npm ci --omit=dev/);
      expect(text).toMatch(/^USER 1000:1000$/m);
      expect(text).toMatch(/COPY .*models\/manifest\.json models\/\*\.onnx \.\/models\//);
      expect(text).toMatch(/^HEALTHCHECK .*\n\s+CMD \["node", "-e"/m);
      expect(text).toMatch(/ENTRYPOINT \["node", "dist\/backend\/cli\/main\.js"\]/);
      expect(text).toMatch(/EXPOSE 9090/);
    });
  }
  it('the CPU image is node 20 slim (bookworm); the GPU one CUDA 12 + cuDNN with the CUDA provider', () => {
    expect(read('docker/Dockerfile')).toMatch(/node:20-bookworm-slim/);
    const gpu = read('docker/Dockerfile.gpu');
    expect(gpu).toMatch(/nvidia\/cuda:12[\d.]*-cudnn-runtime/);
    // npm ci skips onnxruntime-node's script (allowScripts); the GPU image runs it on purpose
    expect(gpu).toMatch(/ONNXRUNTIME_NODE_INSTALL=cuda12 node node_modules\/onnxruntime-node\/script\/install\.js/);
    expect(read('docker/Dockerfile')).toMatch(/ONNXRUNTIME_NODE_INSTALL=skip npm ci/);
    expect(gpu).toMatch(/EXECUTION_PROVIDER=cuda/);
  });
});

describe('Kubernetes manifests', () => {
  const docs = (p: string) => parseAllDocuments(read(p)).map((d) => d.toJS() as Record<string, any>);
  it('parse, and the Deployment, Service and HPA agree on names and ports; the pods share the store through PostgreSQL', () => {
    const all = ['deployment.yaml', 'deployment-gpu.yaml', 'service.yaml', 'hpa.yaml'].flatMap((f) => docs(`deploy/k8s/${f}`));
    const kinds = all.map((d) => d.kind);
    expect(kinds).toEqual(expect.arrayContaining(['Deployment', 'Service', 'HorizontalPodAutoscaler']));
    const cpu = all.find((d) => d.kind === 'Deployment' && d.metadata.name === 'faceseg')!;
    const gpu = all.find((d) => d.kind === 'Deployment' && d.metadata.name === 'faceseg-gpu')!;
    const svc = all.find((d) => d.kind === 'Service')!;
    const hpa = all.find((d) => d.kind === 'HorizontalPodAutoscaler')!;
    const c = cpu.spec.template.spec.containers[0];
    expect(c.ports[0].containerPort).toBe(9090);
    expect(c.readinessProbe.httpGet.path).toBe('/health');
    expect(svc.spec.ports[0]).toMatchObject({ port: 9090 });
    expect(svc.spec.selector.app).toBe(cpu.spec.template.metadata.labels.app);
    expect(hpa.spec.scaleTargetRef.name).toBe('faceseg');
    expect(hpa.spec.metrics[0].resource.name).toBe('cpu');
    expect(gpu.spec.template.spec.containers[0].resources.limits['nvidia.com/gpu']).toBe(1);
    for (const d of [cpu, gpu]) {
      const env = d.spec.template.spec.containers[0].env as Array<{ name: string; value?: string; valueFrom?: any }>;
      const db = env.find((e) => e.name === 'LEARNING_DB')!;
      // a URL with a password: from the Secret, never in the manifest
      expect(db.value).toBeUndefined();
      expect(db.valueFrom.secretKeyRef).toEqual({ name: 'faceseg', key: 'learning-db' });
      // no volume shared between pods (SQLite over a network volume is not safe)
      expect((d.spec.template.spec.volumes ?? []).filter((v: any) => v.persistentVolumeClaim)).toEqual([]);
    }
    expect(read('docker/README.md')).toMatch(/--from-literal=learning-db=postgres:\/\//);
  });
});
