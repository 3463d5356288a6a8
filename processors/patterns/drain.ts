import { PatternConfigError } from '../errors';

/**
 * Drain, the online log template miner of He, Zhu, Zheng and Lyu ("Drain: An Online Log Parsing
 * Approach with Fixed Depth Tree", ICWS 2017), with the choices of its reference implementation
 * Drain3 (PyPI `drain3`, `drain3/drain.py` and `masking.py`) so that both give the same clusters and
 * templates on the same lines with the same settings (test/integration/drain3-agreement.test.ts):
 *
 * - a line is masked (regex → `<NAME>`, in order), split on whitespace, and routed down a tree:
 *   root → token count → the first `depth - 2` tokens (a token with a digit, or past `maxChildren`
 *   siblings, goes under the wildcard `<*>`) → a leaf's list of clusters;
 * - in the leaf, the cluster whose template shares the most tokens (wildcards not counted, ties to the
 *   one with more wildcards) wins if that share is ≥ `simTh`; its template then turns every differing
 *   token into `<*>`; else a new cluster starts with the line as its template;
 * - with `maxClusters`, the least recently matched cluster is forgotten when a new one would exceed it
 *   (its id stays in the tree until its leaf is next extended, as in Drain3).
 *
 * Differences, both outside what the agreement test feeds: Python's `str.isdigit` also accepts digits
 * that are not decimal (superscripts); here a digit is a Unicode decimal digit (`\p{Nd}`). Whitespace is
 * Python's `str.split()` set.
 *
 * Mutable by design (mining is incremental: a line costs a walk of `depth` nodes and one leaf's
 * clusters); `snapshot()` / `Drain.restore()` give its whole state as plain JSON for a state store.
 */
export interface DrainSettings {
  /** Tree depth including root and token-count levels, ≥ 3 (Drain3 `depth`, default 4). */
  depth: number;
  /** Similarity threshold 0..1 (Drain3 `sim_th`, default 0.4). */
  simTh: number;
  /** Children per internal node (Drain3 `max_children`, default 100). */
  maxChildren: number;
  /** Clusters kept, least recently matched forgotten first; null = unbounded (Drain3 `max_clusters`). */
  maxClusters: number | null;
  /** Masks applied in order; `pattern` must mean the same in JavaScript and Python `re`. */
  masks: readonly MaskSetting[];
  /** Tokens containing a digit take the wildcard branch of the tree (Drain3 default true). */
  parametrizeNumericTokens: boolean;
  /** Strings replaced by a space before splitting (Drain3 `extra_delimiters`). */
  extraDelimiters: readonly string[];
}

export interface MaskSetting {
  /** Regular expression; every match becomes `<maskWith>`. */
  pattern: string;
  maskWith: string;
}

export const PARAM = '<*>';

/**
 * Masks for the telemetry StackLens sees. Each match may only start where a token starts (a
 * lookbehind refuses a start inside a word), so a hostile line costs linear time: a failed attempt
 * at one start never repeats at the next character (processors/README.md, linear-time text scans).
 */
export const DEFAULT_MASKS: readonly MaskSetting[] = [
  {
    pattern:
      '(?<![A-Za-z0-9-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![A-Za-z0-9-])',
    maskWith: 'UUID',
  },
  { pattern: '(?<![A-Za-z0-9.])[0-9]{1,3}(?:\\.[0-9]{1,3}){3}(?![A-Za-z0-9.])', maskWith: 'IP' },
  { pattern: '(?<![A-Za-z0-9])0[xX][0-9a-fA-F]+(?![A-Za-z0-9])', maskWith: 'HEX' },
  { pattern: '(?<![A-Za-z0-9.])[-+]?[0-9]+(?:\\.[0-9]+)?(?![A-Za-z0-9.])', maskWith: 'NUM' },
];

export const DEFAULT_DRAIN_SETTINGS: DrainSettings = {
  depth: 4,
  simTh: 0.4,
  maxChildren: 100,
  maxClusters: null,
  masks: DEFAULT_MASKS,
  parametrizeNumericTokens: true,
  extraDelimiters: [],
};

/** What one line did to the miner. */
export interface DrainMatch {
  clusterId: number;
  /** The cluster's template after this line. */
  template: string;
  change: 'created' | 'template_changed' | 'none';
  /**
   * For a new cluster, the best share of tokens any candidate cluster had in common with the line
   * (0 when it had no candidate at all); 1 for a match. An anomaly detector's measure of novelty.
   */
  similarity: number;
  /** The cluster forgotten to make room for a new one (with `maxClusters`). */
  evictedClusterId?: number;
}

export interface DrainCluster {
  id: number;
  tokens: string[];
  size: number;
}

interface TreeNode {
  children: Map<string, TreeNode>;
  clusterIds: number[];
}

/** Plain-JSON state: clusters in least-to-most recently matched order, and the tree. */
export interface DrainSnapshot {
  counter: number;
  clusters: [id: number, tokens: string[], size: number][];
  tree: SnapshotNode;
}
export interface SnapshotNode {
  c?: Record<string, SnapshotNode>;
  ids?: number[];
}

/** Python `str.split()` whitespace (differs from JavaScript's `\s`: adds \x1c-\x1f and \x85, lacks \ufeff). */
// eslint-disable-next-line no-control-regex -- \x1c-\x1f are whitespace to Python, whose split Drain3 uses
const WHITESPACE = /[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;
const HAS_DIGIT = /\p{Nd}/u;

export class Drain {
  private readonly maxNodeDepth: number;
  private readonly masks: readonly { regex: RegExp; replacement: string }[];
  private readonly root: TreeNode = node();
  /** Insertion order = recency order (a match moves its cluster to the end), as Drain3's LRU cache. */
  private readonly clusters = new Map<number, DrainCluster>();
  private counter = 0;

  constructor(readonly settings: DrainSettings) {
    validate(settings);
    this.maxNodeDepth = settings.depth - 2;
    this.masks = settings.masks.map((m) => ({
      regex: new RegExp(m.pattern, 'gu'),
      replacement: `<${m.maskWith}>`,
    }));
  }

  get clusterCount(): number {
    return this.clusters.size;
  }

  /** Clusters, least recently matched first. */
  allClusters(): IterableIterator<DrainCluster> {
    return this.clusters.values();
  }

  cluster(id: number): DrainCluster | undefined {
    return this.clusters.get(id);
  }

  mask(line: string): string {
    let masked = line;
    for (const { regex, replacement } of this.masks) masked = masked.replace(regex, replacement);
    return masked;
  }

  tokenize(masked: string): string[] {
    let content = masked;
    for (const delimiter of this.settings.extraDelimiters) content = content.replaceAll(delimiter, ' ');
    const tokens = content.split(WHITESPACE);
    // split leaves '' at either end when the text starts or ends with whitespace (Python's does not)
    if (tokens.length > 0 && tokens[0] === '') tokens.shift();
    if (tokens.length > 0 && tokens[tokens.length - 1] === '') tokens.pop();
    return tokens;
  }

  /** Masks, tokenizes and mines one line. */
  add(line: string): DrainMatch {
    const tokens = this.tokenize(this.mask(line));
    const search = this.treeSearch(tokens);
    if (search.cluster === null) {
      const id = ++this.counter;
      const cluster: DrainCluster = { id, tokens, size: 1 };
      const evicted = this.insertCluster(cluster);
      this.addToTree(cluster);
      const match: DrainMatch = {
        clusterId: id,
        template: tokens.join(' '),
        change: 'created',
        similarity: search.similarity,
      };
      if (evicted !== undefined) match.evictedClusterId = evicted;
      return match;
    }
    const cluster = search.cluster;
    let changed = false;
    for (let i = 0; i < tokens.length; i++) {
      if (cluster.tokens[i] !== tokens[i] && cluster.tokens[i] !== PARAM) {
        if (!changed) cluster.tokens = cluster.tokens.slice();
        cluster.tokens[i] = PARAM;
        changed = true;
      }
    }
    cluster.size++;
    this.clusters.delete(cluster.id);
    this.clusters.set(cluster.id, cluster);
    return {
      clusterId: cluster.id,
      template: cluster.tokens.join(' '),
      change: changed ? 'template_changed' : 'none',
      similarity: 1,
    };
  }

  snapshot(): DrainSnapshot {
    return {
      counter: this.counter,
      clusters: [...this.clusters.values()].map((c) => [c.id, c.tokens, c.size]),
      tree: snapshotNode(this.root),
    };
  }

  /** A miner in the state a snapshot describes. */
  static restore(settings: DrainSettings, snapshot: DrainSnapshot): Drain {
    const drain = new Drain(settings);
    drain.counter = snapshot.counter;
    for (const [id, tokens, size] of snapshot.clusters) drain.clusters.set(id, { id, tokens, size });
    const root = restoreNode(snapshot.tree);
    drain.root.children = root.children;
    drain.root.clusterIds = root.clusterIds;
    return drain;
  }

  /** @returns the id of the cluster forgotten to make room, if any */
  private insertCluster(cluster: DrainCluster): number | undefined {
    const max = this.settings.maxClusters;
    let evicted: number | undefined;
    if (max !== null && this.clusters.size >= max) {
      evicted = this.clusters.keys().next().value;
      if (evicted !== undefined) this.clusters.delete(evicted);
    }
    this.clusters.set(cluster.id, cluster);
    return evicted;
  }

  private treeSearch(tokens: readonly string[]): { cluster: DrainCluster | null; similarity: number } {
    const tokenCount = tokens.length;
    let current = this.root.children.get(String(tokenCount));
    if (current === undefined) return { cluster: null, similarity: 0 };
    if (tokenCount === 0) {
      const id = current.clusterIds[0];
      return { cluster: id === undefined ? null : (this.clusters.get(id) ?? null), similarity: 1 };
    }
    let depth = 1;
    for (const token of tokens) {
      if (depth >= this.maxNodeDepth || depth === tokenCount) break;
      const next: TreeNode | undefined = current.children.get(token) ?? current.children.get(PARAM);
      if (next === undefined) return { cluster: null, similarity: 0 };
      current = next;
      depth++;
    }
    return this.fastMatch(current.clusterIds, tokens);
  }

  private fastMatch(
    clusterIds: readonly number[],
    tokens: readonly string[],
  ): { cluster: DrainCluster | null; similarity: number } {
    let best: DrainCluster | null = null;
    let bestSim = -1;
    let bestParams = -1;
    for (const id of clusterIds) {
      const cluster = this.clusters.get(id);
      if (cluster === undefined) continue;
      const template = cluster.tokens;
      let same = 0;
      let params = 0;
      for (let i = 0; i < template.length; i++) {
        if (template[i] === PARAM) params++;
        else if (template[i] === tokens[i]) same++;
      }
      const sim = template.length === 0 ? 1 : same / template.length;
      if (sim > bestSim || (sim === bestSim && params > bestParams)) {
        bestSim = sim;
        bestParams = params;
        best = cluster;
      }
    }
    if (best !== null && bestSim >= this.settings.simTh) return { cluster: best, similarity: 1 };
    return { cluster: null, similarity: Math.max(bestSim, 0) };
  }

  private addToTree(cluster: DrainCluster): void {
    const tokenCount = cluster.tokens.length;
    const key = String(tokenCount);
    let current = this.root.children.get(key);
    if (current === undefined) this.root.children.set(key, (current = node()));
    if (tokenCount === 0) {
      current.clusterIds = [cluster.id];
      return;
    }
    const { maxChildren, parametrizeNumericTokens } = this.settings;
    let depth = 1;
    for (const token of cluster.tokens) {
      if (depth >= this.maxNodeDepth || depth >= tokenCount) {
        // Drop forgotten clusters before adding the new one.
        current.clusterIds = current.clusterIds.filter((id) => this.clusters.has(id));
        current.clusterIds.push(cluster.id);
        break;
      }
      const children: Map<string, TreeNode> = current.children;
      let next = children.get(token);
      if (next === undefined) {
        if (parametrizeNumericTokens && HAS_DIGIT.test(token)) {
          next = children.get(PARAM) ?? setChild(children, PARAM);
        } else if (children.has(PARAM)) {
          next = children.size < maxChildren ? setChild(children, token) : (children.get(PARAM) as TreeNode);
        } else if (children.size + 1 < maxChildren) {
          next = setChild(children, token);
        } else if (children.size + 1 === maxChildren) {
          next = setChild(children, PARAM);
        } else {
          // Drain3 reads a wildcard child that cannot exist here (KeyError); only reachable with maxChildren < 1.
          next = setChild(children, PARAM);
        }
      }
      current = next;
      depth++;
    }
  }
}

function node(): TreeNode {
  return { children: new Map(), clusterIds: [] };
}

function setChild(children: Map<string, TreeNode>, token: string): TreeNode {
  const child = node();
  children.set(token, child);
  return child;
}

function snapshotNode(n: TreeNode): SnapshotNode {
  const out: SnapshotNode = {};
  if (n.children.size > 0) {
    out.c = {};
    for (const [token, child] of n.children) out.c[token] = snapshotNode(child);
  }
  if (n.clusterIds.length > 0) out.ids = n.clusterIds;
  return out;
}

function restoreNode(s: SnapshotNode): TreeNode {
  const n = node();
  for (const [token, child] of Object.entries(s.c ?? {})) n.children.set(token, restoreNode(child));
  n.clusterIds = [...(s.ids ?? [])];
  return n;
}

function validate(s: DrainSettings): void {
  const problems: string[] = [];
  if (!Number.isInteger(s.depth) || s.depth < 3)
    problems.push(`depth must be an integer ≥ 3 (got ${s.depth})`);
  if (!(s.simTh >= 0 && s.simTh <= 1)) problems.push(`simTh must be within 0..1 (got ${s.simTh})`);
  if (!Number.isInteger(s.maxChildren) || s.maxChildren < 2)
    problems.push(`maxChildren must be an integer ≥ 2 (got ${s.maxChildren})`);
  if (s.maxClusters !== null && (!Number.isInteger(s.maxClusters) || s.maxClusters < 1))
    problems.push(`maxClusters must be a positive integer or null (got ${s.maxClusters})`);
  for (const m of s.masks) {
    // Python's re.sub reads backslashes in the replacement, JavaScript's replace reads `$`: a plain name means the same to both.
    if (!/^[A-Za-z0-9_]{1,64}$/.test(m.maskWith))
      problems.push(`mask name must be 1-64 of A-Z a-z 0-9 _ (got ${JSON.stringify(m.maskWith)})`);
    try {
      new RegExp(m.pattern, 'u');
    } catch (cause) {
      problems.push(`mask ${m.maskWith}: ${(cause as Error).message}`);
    }
  }
  if (problems.length > 0) throw new PatternConfigError(`drain settings: ${problems.join('; ')}`);
}
