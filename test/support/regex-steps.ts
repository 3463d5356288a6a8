import { parseRegExpLiteral, type AST } from '@eslint-community/regexpp';

/**
 * Counts the steps a backtracking regex engine takes to run a global regex over a text (what
 * `text.replace(regex, …)` does: try each start position, resume after each match). V8 does not expose
 * its own count, and timing a regex makes a flaky test; this interpreter walks the regex's syntax tree
 * the way a backtracking matcher does and counts every node it enters, so the same input always costs
 * the same. It models a naive engine (no literal-prefix skipping, no memoization): an upper bound of
 * V8's work, and a pattern that is linear here is linear there.
 *
 * Supports what record-data patterns use: characters, classes, `.`, `\d\w\s`, groups, alternation,
 * greedy and lazy quantifiers, `^ $ \b`, lookahead, single-character lookbehind, back-references and
 * the `i` flag. Anything else throws, so a pattern the counter cannot model is noticed.
 */
export function countRegexSteps(regex: RegExp, text: string): number {
  const ast = parseRegExpLiteral(regex);
  const ignoreCase = ast.flags.ignoreCase;
  const groups = new Map<AST.CapturingGroup, number>();
  const visit = (node: AST.Node): void => {
    if (node.type === 'CapturingGroup') groups.set(node, groups.size);
    if ('alternatives' in node) node.alternatives.forEach((a) => a.elements.forEach(visit));
    if (node.type === 'Quantifier') visit(node.element);
  };
  ast.pattern.alternatives.forEach((a) => a.elements.forEach(visit));
  let captures: ([number, number] | undefined)[] = [];
  let steps = 0;

  type Next = (pos: number) => boolean;

  const isWord = (c: string) => /\w/.test(c);
  const isLineTerminator = (c: string) => c === '\n' || c === '\r' || c === '\u2028' || c === '\u2029';

  function setHas(set: AST.CharacterSet, c: string): boolean {
    let has: boolean;
    switch (set.kind) {
      case 'any':
        return !isLineTerminator(c);
      case 'digit':
        has = c >= '0' && c <= '9';
        break;
      case 'word':
        has = isWord(c);
        break;
      case 'space':
        has = /\s/.test(c);
        break;
      default:
        throw new Error(`countRegexSteps: unsupported character set ${set.raw}`);
    }
    return has !== set.negate;
  }

  function classElementHas(element: AST.CharacterClassElement, code: number, c: string): boolean {
    switch (element.type) {
      case 'Character':
        return element.value === code;
      case 'CharacterClassRange':
        return code >= element.min.value && code <= element.max.value;
      case 'CharacterSet':
        return setHas(element, c);
      default:
        throw new Error(`countRegexSteps: unsupported class element ${element.raw}`);
    }
  }

  function charMatches(node: AST.Character | AST.CharacterClass | AST.CharacterSet, c: string): boolean {
    const variants = ignoreCase ? [c, c.toLowerCase(), c.toUpperCase()] : [c];
    return variants.some((v) => {
      const code = v.codePointAt(0)!;
      if (node.type === 'Character') return node.value === code;
      if (node.type === 'CharacterSet') return setHas(node, v);
      if (node.type !== 'CharacterClass' || node.unicodeSets)
        throw new Error(`countRegexSteps: unsupported class ${node.raw}`);
      return (
        node.elements.some((e) => classElementHas(e as AST.CharacterClassElement, code, v)) !== node.negate
      );
    });
  }

  function wordAt(pos: number): boolean {
    return pos >= 0 && pos < text.length && isWord(text[pos]!);
  }

  function alternatives(alts: readonly AST.Alternative[], pos: number, next: Next): boolean {
    for (const alt of alts) {
      const saved = captures.slice();
      if (sequence(alt.elements, 0, pos, next)) return true;
      captures = saved;
    }
    return false;
  }

  function sequence(elements: readonly AST.Element[], i: number, pos: number, next: Next): boolean {
    if (i === elements.length) return next(pos);
    return element(elements[i]!, pos, (p) => sequence(elements, i + 1, p, next));
  }

  function quantifier(node: AST.Quantifier, n: number, pos: number, next: Next): boolean {
    steps++;
    const more = () =>
      n < node.max &&
      // An iteration that consumed nothing cannot loop again (as in the spec).
      element(node.element, pos, (p) => p !== pos && quantifier(node, n + 1, p, next));
    const stop = () => n >= node.min && next(pos);
    if (n < node.min) return element(node.element, pos, (p) => quantifier(node, n + 1, p, next));
    return node.greedy ? more() || stop() : stop() || more();
  }

  function element(node: AST.Element, pos: number, next: Next): boolean {
    steps++;
    switch (node.type) {
      case 'Character':
      case 'CharacterClass':
      case 'CharacterSet':
        return pos < text.length && charMatches(node, text[pos]!) && next(pos + 1);
      case 'Group':
        return alternatives(node.alternatives, pos, next);
      case 'CapturingGroup': {
        const index = groups.get(node)!;
        return alternatives(node.alternatives, pos, (end) => {
          const saved = captures[index];
          captures[index] = [pos, end];
          if (next(end)) return true;
          captures[index] = saved;
          return false;
        });
      }
      case 'Quantifier':
        return quantifier(node, 0, pos, next);
      case 'Backreference': {
        if (Array.isArray(node.resolved)) throw new Error('countRegexSteps: ambiguous back-reference');
        const span = captures[groups.get(node.resolved as AST.CapturingGroup)!];
        if (span === undefined) return next(pos);
        const captured = text.slice(span[0], span[1]);
        steps += captured.length;
        return text.startsWith(captured, pos) && next(pos + captured.length);
      }
      case 'Assertion':
        return assertion(node, pos) && next(pos);
      default:
        throw new Error(`countRegexSteps: unsupported syntax ${node.raw}`);
    }
  }

  function assertion(node: AST.Assertion, pos: number): boolean {
    switch (node.kind) {
      case 'start':
        return pos === 0;
      case 'end':
        return pos === text.length;
      case 'word':
        return (wordAt(pos - 1) !== wordAt(pos)) !== node.negate;
      case 'lookahead': {
        const saved = captures.slice();
        const found = alternatives(node.alternatives, pos, () => true);
        if (node.negate) captures = saved;
        return found !== node.negate;
      }
      case 'lookbehind': {
        const single = node.alternatives.every(
          (a) =>
            a.elements.length === 1 &&
            ['Character', 'CharacterClass', 'CharacterSet'].includes(a.elements[0]!.type),
        );
        if (!single) throw new Error(`countRegexSteps: only one-character lookbehinds, got ${node.raw}`);
        steps++;
        const found =
          pos > 0 &&
          node.alternatives.some((a) =>
            charMatches(a.elements[0] as AST.Character | AST.CharacterClass, text[pos - 1]!),
          );
        return found !== node.negate;
      }
    }
  }

  let start = 0;
  while (start <= text.length) {
    captures = [];
    let end = -1;
    alternatives(ast.pattern.alternatives, start, (p) => {
      end = p;
      return true;
    });
    steps++;
    start = end === -1 ? start + 1 : Math.max(end, start + 1);
  }
  return steps;
}
