import type { IncomingMessage } from 'node:http';
import { isIP } from 'node:net';
import { BadRequestError, ForbiddenOriginError, MisdirectedRequestError } from '../errors';

/** Which browser origins may open live streams and which Host names a loopback listener answers to. */
export interface RequestPolicy {
  /** Origins (`https://dash.example.com:3000`) allowed besides the API's own; API_ALLOWED_ORIGINS. */
  allowedOrigins: readonly string[];
  /** Host names served on a loopback address besides localhost and IP literals (HTTP_HOST, API_ALLOWED_HOSTS). */
  allowedHosts: readonly string[];
}

/**
 * Every read of request data the HTTP and WebSocket paths share, each throwing an ApiError (a 4xx that
 * names the problem) instead of anything a caller could let escape: the upgrade listener runs outside
 * Express, where an exception is not a 500 but the end of the process.
 */
export interface RequestGuard {
  /** The request target as a URL (parsed once per request); BadRequestError if it is malformed. */
  url(req: IncomingMessage): URL;
  /** MisdirectedRequestError for a Host a loopback listener must not answer to (DNS rebinding). */
  checkHost(req: IncomingMessage): void;
  /** ForbiddenOriginError for a browser page of another origin that is not allowed. */
  checkOrigin(req: IncomingMessage): void;
}

export function createRequestGuard(policy: RequestPolicy): RequestGuard {
  const parsed = new WeakMap<IncomingMessage, URL>();
  const origins = new Set(policy.allowedOrigins.map((o) => o.toLowerCase()));
  const hosts = new Set(policy.allowedHosts.map((h) => h.toLowerCase().replace(/\.$/, '')));
  return {
    url(req) {
      let url = parsed.get(req);
      if (url === undefined) {
        url = parseTarget(req.url ?? '');
        parsed.set(req, url);
      }
      return url;
    },
    checkHost(req) {
      // A DNS-rebinding page reaches only what listens on the victim's loopback interface; elsewhere the
      // Host header is a proxy's business.
      if (!isLoopback(req.socket.localAddress)) return;
      const header = req.headers.host;
      if (header === undefined) return; // HTTP/1.0 without Host: no browser sends that
      const host = parseHost(header);
      if (host === undefined) throw new BadRequestError(`Host header "${clip(header)}" is not a host[:port]`);
      // IP literals cannot be rebound (the browser connects to the address it shows), nor can localhost
      // and *.localhost (RFC 6761: resolved locally, never through DNS).
      if (isIP(host.name) !== 0 || host.name === 'localhost' || host.name.endsWith('.localhost')) return;
      if (hosts.has(host.name)) return;
      throw new MisdirectedRequestError(
        `Host "${clip(host.name)}" is not served on this loopback address; add it to API_ALLOWED_HOSTS ` +
          'if a proxy forwards it here',
      );
    },
    checkOrigin(req) {
      const origin = req.headers.origin;
      if (origin === undefined) return; // not a browser page: curl, servers, native clients
      let url: URL | undefined;
      try {
        url = new URL(origin);
      } catch {
        url = undefined;
      }
      if (url !== undefined && url.origin !== 'null') {
        if (origins.has(url.origin)) return;
        const host = req.headers.host === undefined ? undefined : parseHost(req.headers.host);
        if (host !== undefined && sameHost(url, host)) return;
      }
      throw new ForbiddenOriginError(
        `Origin "${clip(origin)}" may not open live streams: only the API's own origin and API_ALLOWED_ORIGINS may`,
      );
    },
  };
}

function parseTarget(target: string): URL {
  try {
    // Malformed escapes would make Express's own decoding of path parameters fail later with a 500.
    decodeURIComponent(target);
  } catch {
    throw new BadRequestError(
      `request target "${clip(target)}" has malformed percent-encoding ("%" must be followed by two hex digits encoding UTF-8)`,
    );
  }
  // Origin-form (`/path?query`) is appended to a fixed origin rather than resolved against it, so `//x`
  // stays a path instead of becoming a host; absolute-form is accepted as HTTP/1.1 requires.
  const absolute = !target.startsWith('/');
  try {
    const url = new URL(absolute ? target : `http://localhost${target}`);
    if (url.protocol === 'http:' || url.protocol === 'https:') return url;
  } catch {
    // reported below with the same message as a non-HTTP absolute URL
  }
  throw new BadRequestError(`request target "${clip(target)}" is neither a path nor an http(s) URL`);
}

interface Host {
  /** Lower case, without brackets or a trailing dot. */
  name: string;
  port: string | undefined;
}

function parseHost(header: string): Host | undefined {
  const value = header.trim().toLowerCase();
  let name: string;
  let rest: string;
  if (value.startsWith('[')) {
    const end = value.indexOf(']');
    if (end < 0) return undefined;
    name = value.slice(1, end);
    if (isIP(name) !== 6) return undefined;
    rest = value.slice(end + 1);
  } else {
    const colon = value.lastIndexOf(':');
    name = colon < 0 ? value : value.slice(0, colon);
    rest = colon < 0 ? '' : value.slice(colon);
    if (!/^[a-z0-9_.-]{1,253}$/.test(name)) return undefined;
  }
  if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined;
  return { name: name.replace(/\.$/, ''), port: rest === '' ? undefined : rest.slice(1) };
}

const DEFAULT_PORTS: Readonly<Record<string, string>> = { 'http:': '80', 'https:': '443' };

/** Same host and port; a Host without a port (behind a TLS-terminating proxy) matches the default port. */
function sameHost(origin: URL, host: Host): boolean {
  const name = origin.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (name !== host.name) return false;
  if (host.port === undefined) return origin.port === '';
  return (origin.port || DEFAULT_PORTS[origin.protocol]) === host.port;
}

function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  return address === '::1' || address.startsWith('127.') || address.startsWith('::ffff:127.');
}

/** Echoing request data into an error message: keep it short. */
function clip(value: string): string {
  return value.length > 100 ? `${value.slice(0, 100)}…` : value;
}
