/** The console's pages, addressed by the URL fragment so that links and reloads work without a server route. */
export type Route =
  | { page: 'alerts' }
  | { page: 'logs'; params: Record<string, string> }
  | { page: 'trace'; traceId: string }
  | { page: 'services' }
  | { page: 'patterns' }
  | { page: 'backtest' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#\/?/, '');
  const q = path.indexOf('?');
  const [name, rest] = q < 0 ? [path, ''] : [path.slice(0, q), path.slice(q + 1)];
  const parts = name.split('/');
  switch (parts[0]) {
    case 'logs':
      return { page: 'logs', params: Object.fromEntries(new URLSearchParams(rest)) };
    case 'trace':
      return { page: 'trace', traceId: decodeURIComponent(parts[1] ?? '') };
    case 'services':
    case 'patterns':
    case 'backtest':
      return { page: parts[0] };
    default:
      return { page: 'alerts' };
  }
}

export function hrefOf(route: Route): string {
  switch (route.page) {
    case 'logs': {
      const q = new URLSearchParams(Object.entries(route.params).filter(([, v]) => v !== '')).toString();
      return `#/logs${q === '' ? '' : `?${q}`}`;
    }
    case 'trace':
      return `#/trace/${encodeURIComponent(route.traceId)}`;
    default:
      return `#/${route.page}`;
  }
}
