import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the receiver got, as it arrived. */
export interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Hold {
  matches: (request: RecordedRequest) => boolean;
  /** Requests still to hold. */
  left: number;
  release: Promise<void>;
  held: RecordedRequest[];
}

interface JiraIssue {
  key: string;
  /** `description` is wiki markup (API v2) or an ADF document (v3). */
  fields: { labels?: string[]; summary?: string; description?: unknown };
  /** Comment bodies as sent: text (v2) or ADF (v3). */
  comments: unknown[];
}

/**
 * The alert delivery tests' receivers on one real HTTP server (127.0.0.1, a free port), recording every
 * request: a webhook (`/hook`), a Slack incoming webhook (`/slack`), receivers that always answer 500
 * (`/fail500`) or 400 (`/fail400`), and the part of Jira's REST API v2 and v3 delivery uses (`/jira/rest/api/{2,3}/…`:
 * create issue, comment, JQL search by label, list comments), which keeps issues and comments in memory.
 *
 * `hold` keeps the answer to matching requests back until a promise settles; the request has taken effect
 * (an issue is created) by then, as when a receiver's answer is lost.
 */
export class TestReceiver {
  readonly requests: RecordedRequest[] = [];
  readonly issues: JiraIssue[] = [];
  private readonly holds: Hold[] = [];

  private readonly server: Server;
  private port = 0;

  private constructor() {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const url = new URL(request.url ?? '/', 'http://receiver');
        this.handle(
          {
            method: request.method ?? '',
            path: url.pathname,
            query: url.searchParams,
            headers: request.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          },
          response,
        );
      });
    });
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<TestReceiver> {
    const receiver = new TestReceiver();
    await new Promise<void>((resolve) => receiver.server.listen(0, '127.0.0.1', resolve));
    receiver.port = (receiver.server.address() as AddressInfo).port;
    return receiver;
  }

  /** Holds the answers to the next `count` requests that match until `release` settles. */
  hold(matches: (request: RecordedRequest) => boolean, release: Promise<void>, count = 1): RecordedRequest[] {
    const hold: Hold = { matches, left: count, release, held: [] };
    this.holds.push(hold);
    return hold.held;
  }

  to(path: string, method = 'POST'): RecordedRequest[] {
    return this.requests.filter((r) => r.path === path && r.method === method);
  }

  /** Jira comment requests, whatever the issue. */
  jiraComments(): RecordedRequest[] {
    return this.requests.filter(
      (r) => r.method === 'POST' && /^\/jira\/rest\/api\/[23]\/issue\/[^/]+\/comment$/.test(r.path),
    );
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(request: RecordedRequest, response: ServerResponse): void {
    this.requests.push(request);
    const [status, body] = this.answer(request);
    const hold = this.holds.find((h) => h.left > 0 && h.matches(request));
    const send = (): void => {
      if (!response.destroyed) response.writeHead(status, { 'content-type': 'application/json' }).end(body);
    };
    if (hold === undefined) return send();
    hold.left -= 1;
    hold.held.push(request);
    void hold.release.then(send, send);
  }

  private answer(request: RecordedRequest): [number, string] {
    const { method, path } = request;
    if (method === 'POST' && (path === '/hook' || path === '/slack')) return [200, '"ok"'];
    if (path === '/fail500') return [500, '{"error":"receiver is down"}'];
    if (path === '/fail400') return [400, '{"error":"payload refused"}'];
    const version = /^\/jira\/rest\/api\/([23])\//.exec(path)?.[1];
    if (version === undefined) return [404, '{}'];
    if (
      request.headers.authorization !==
      `Basic ${Buffer.from('bot@example.test:jira-token').toString('base64')}`
    )
      return [401, '{"errorMessages":["unauthorized"]}'];
    const rest = path.slice(`/jira/rest/api/${version}/`.length);
    if (method === 'POST' && rest === 'issue') {
      const { fields } = JSON.parse(request.body) as { fields: JiraIssue['fields'] };
      const key = `OPS-${this.issues.length + 1}`;
      this.issues.push({ key, fields, comments: [] });
      return [
        201,
        JSON.stringify({
          id: String(this.issues.length),
          key,
          self: `${this.url}/jira/rest/api/${version}/issue/${key}`,
        }),
      ];
    }
    if (method === 'GET' && rest === 'search/jql') {
      const label = /labels = "([^"]+)"/.exec(request.query.get('jql') ?? '')?.[1];
      const found = this.issues.filter((i) => label !== undefined && i.fields.labels?.includes(label));
      return [200, JSON.stringify({ issues: found.slice(0, 1).map((i) => ({ key: i.key })) })];
    }
    const comment = /^issue\/([^/]+)\/comment$/.exec(rest);
    const issue = this.issues.find((i) => i.key === comment?.[1]);
    if (comment === null || issue === undefined) return [404, '{"errorMessages":["no such issue"]}'];
    if (method === 'POST') {
      issue.comments.push((JSON.parse(request.body) as { body: unknown }).body);
      return [201, JSON.stringify({ id: String(issue.comments.length) })];
    }
    return [200, JSON.stringify({ comments: [...issue.comments].reverse().map((body) => ({ body })) })];
  }
}
