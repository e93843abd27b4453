// A thin Label Studio REST client for the end-to-end suite (fetch only).
import { readFile } from 'node:fs/promises';
import path from 'node:path';

export interface LsAnswer<T = any> {
  status: number;
  data: T;
  text: string;
}

export type LsAuth = { kind: 'legacy'; token: string } | { kind: 'pat'; refresh: string; access?: string };

export class LabelStudio {
  constructor(
    readonly base: string,
    public auth: LsAuth,
  ) {}

  private async header(): Promise<string> {
    if (this.auth.kind === 'legacy') return `Token ${this.auth.token}`;
    if (!this.auth.access) {
      const r = await fetch(`${this.base}/api/token/refresh/`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ refresh: this.auth.refresh }),
      });
      const body = (await r.json()) as { access?: string };
      if (!r.ok || !body.access) throw new Error(`PAT refresh failed: ${r.status} ${JSON.stringify(body)}`);
      this.auth.access = body.access;
    }
    return `Bearer ${this.auth.access}`;
  }

  async request<T = any>(method: string, p: string, body?: unknown, timeoutMs = 180_000): Promise<LsAnswer<T>> {
    const headers: Record<string, string> = { authorization: await this.header() };
    let payload: BodyInit | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers['content-type'] = 'application/json';
      payload = JSON.stringify(body);
    }
    const r = await fetch(this.base + p, { method, headers, body: payload, signal: AbortSignal.timeout(timeoutMs) });
    const text = await r.text();
    let data: any = text;
    try {
      data = JSON.parse(text);
    } catch {
      /* not JSON */
    }
    return { status: r.status, data, text };
  }

  /** Like request(), but throws unless the status is 2xx. */
  async ok<T = any>(method: string, p: string, body?: unknown, timeoutMs?: number): Promise<T> {
    const a = await this.request<T>(method, p, body, timeoutMs);
    if (a.status < 200 || a.status >= 300) throw new Error(`${method} ${p} -> ${a.status}: ${a.text.slice(0, 500)}`);
    return a.data;
  }

  createProject(title: string, labelConfig: string) {
    return this.ok<{ id: number }>('POST', '/api/projects/', { title, label_config: labelConfig });
  }

  async uploadFile(projectId: number, file: string) {
    const fd = new FormData();
    fd.append('file', new Blob([await readFile(file)], { type: 'image/png' }), path.basename(file));
    return this.ok('POST', `/api/projects/${projectId}/import`, fd);
  }

  importTasks(projectId: number, tasks: unknown[]) {
    return this.ok('POST', `/api/projects/${projectId}/import`, tasks);
  }

  async tasks(projectId: number): Promise<Array<{ id: number; data: Record<string, string> }>> {
    const d = await this.ok(`GET`, `/api/tasks/?project=${projectId}&page_size=1000`);
    return d.tasks ?? d;
  }

  async predictions(projectId: number): Promise<any[]> {
    return this.ok('GET', `/api/predictions/?project=${projectId}`);
  }
}
