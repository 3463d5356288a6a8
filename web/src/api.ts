import { accessToken, authorization, schemeOf, type Credentials, type Scheme } from './credentials';

/** The API refused the request's credentials (or there were none); `scheme` is what it asks for. */
export class UnauthorizedError extends Error {
  constructor(readonly scheme: Scheme) {
    super('missing or invalid credentials');
  }
}

/** Any other failed request: the API's `{ error, detail }`, or the HTTP status. */
export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export type Params = Record<string, string | undefined>;

let credentials: Credentials | undefined;
let onUnauthorized: (scheme: Scheme) => void = () => undefined;

export function setCredentials(c: Credentials | undefined): void {
  credentials = c;
}

/** Called whenever a request is refused for its credentials (the app shows the login step). */
export function whenUnauthorized(listener: (scheme: Scheme) => void): void {
  onUnauthorized = listener;
}

/** Query string of the set parameters only (empty strings are "no filter"). */
export function queryString(params: Params): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') q.append(k, v);
  const s = q.toString();
  return s === '' ? '' : `?${s}`;
}

/**
 * A GET on this origin. `credentials: 'omit'`: the Authorization header is set here, and a browser's
 * own Basic prompt (and cached HTTP credentials) must stay out of the way of the login step.
 */
async function get(path: string, params: Params, signal?: AbortSignal): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json, text/plain' };
  if (credentials !== undefined) headers.authorization = authorization(credentials);
  const response = await fetch(`${path}${queryString(params)}`, {
    headers,
    credentials: 'omit',
    cache: 'no-store',
    signal,
  });
  if (response.status === 401) {
    const error = new UnauthorizedError(schemeOf(response.headers.get('www-authenticate')));
    onUnauthorized(error.scheme);
    throw error;
  }
  return response;
}

async function failure(response: Response): Promise<ApiRequestError> {
  let detail = `${response.status} ${response.statusText}`;
  try {
    const body = (await response.json()) as { error?: string; detail?: string };
    if (typeof body.detail === 'string') detail = body.detail;
  } catch {
    // not JSON: the status says it
  }
  return new ApiRequestError(response.status, detail);
}

export async function getJson<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  const response = await get(path, params, signal);
  if (!response.ok) throw await failure(response);
  return (await response.json()) as T;
}

/** JSON of a response whose error statuses still carry a body to show (`/ready` answers 503 with checks). */
export async function getJsonAnyStatus<T>(path: string, params: Params = {}): Promise<T> {
  const response = await get(path, params);
  return (await response.json()) as T;
}

export async function getText(path: string, params: Params = {}): Promise<string> {
  const response = await get(path, params);
  if (!response.ok) throw await failure(response);
  return response.text();
}

/** Checks credentials against a cheap authenticated route; resolves true when accepted. */
export async function tryCredentials(c: Credentials | undefined): Promise<boolean> {
  const previous = credentials;
  credentials = c;
  try {
    await getJson('openapi.json');
    return true;
  } catch (error) {
    credentials = previous;
    if (error instanceof UnauthorizedError) return false;
    throw error;
  }
}

/** ws(s):// URL of a live endpoint on this origin, with the filters and the access token. */
export function liveUrl(path: string, params: Params): string {
  const url = new URL(`${path}${queryString(params)}`, location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  if (credentials !== undefined) url.searchParams.set('access_token', accessToken(credentials));
  return url.toString();
}
