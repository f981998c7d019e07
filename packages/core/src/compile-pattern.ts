import { RegExpParser, RegExpSyntaxError, type AST } from '@eslint-community/regexpp';
import { RE2JS } from 're2js';

/**
 * Manifest `pattern`s come from whoever may publish a manifest and run on every write, in the API,
 * the SDK and the CLI. A backtracking engine (V8's RegExp) takes exponential time on patterns such
 * as `^(a+)+$`, so one value could freeze a process; RE2 (here its pure-JS port re2js) matches in
 * time linear in the input. JSON Schema defines `pattern` as an ECMA-262 regular expression, though,
 * and RE2's syntax differs in the details (`.`, `\s`, `\u`, `[]`, `\p{Script=…}`), so the pattern is
 * parsed as ECMA-262 (regexpp, `u` mode) and re-emitted in RE2 syntax with the same meaning.
 * Whatever RE2 cannot run in linear time — backreferences, lookaround — is refused with its name.
 */

/** A pattern that runs in linear time; `test` is an unanchored search, as JSON Schema defines it. */
export interface LinearPattern {
  readonly source: string;
  test(input: string): boolean;
}

export type CompiledPattern = { ok: true; pattern: LinearPattern } | { ok: false; problem: string };

/** Long enough for any real pattern; compiling a longer one would cost more than a request may. */
export const maxPatternLength = 2_000;

class Unsupported extends Error {}

const hex = (codePoint: number) => `\\x{${codePoint.toString(16)}}`;

/** ECMA-262 WhiteSpace and LineTerminator, what `\s` means there (RE2's `\s` is ASCII only). */
const spaceRanges: Array<[number, number]> = [
  [0x09, 0x0d],
  [0x20, 0x20],
  [0xa0, 0xa0],
  [0x1680, 0x1680],
  [0x2000, 0x200a],
  [0x2028, 0x2029],
  [0x202f, 0x202f],
  [0x205f, 0x205f],
  [0x3000, 0x3000],
  [0xfeff, 0xfeff],
];
const complement = (ranges: Array<[number, number]>): Array<[number, number]> => {
  const out: Array<[number, number]> = [];
  let next = 0;
  for (const [lo, hi] of ranges) {
    if (lo > next) out.push([next, lo - 1]);
    next = hi + 1;
  }
  if (next <= 0x10ffff) out.push([next, 0x10ffff]);
  return out;
};
const rangesText = (ranges: Array<[number, number]>) =>
  ranges.map(([lo, hi]) => (lo === hi ? hex(lo) : `${hex(lo)}-${hex(hi)}`)).join('');
const space = rangesText(spaceRanges);
const nonSpace = rangesText(complement(spaceRanges));
/** ECMA-262 `.` without the `s` flag: anything but a line terminator. */
const dot = `[^${rangesText([
  [0x0a, 0x0a],
  [0x0d, 0x0d],
  [0x2028, 0x2029],
])}]`;

/** A character set as the inside of an RE2 bracket expression. */
const setInClass = (node: AST.EscapeCharacterSet | AST.UnicodePropertyCharacterSet): string => {
  switch (node.kind) {
    case 'digit':
      return node.negate ? '\\D' : '\\d'; // ASCII digits in both, as in ECMA-262 without the i flag
    case 'word':
      return node.negate ? '\\W' : '\\w';
    case 'space':
      return node.negate ? nonSpace : space;
    case 'property': {
      // RE2 knows general categories (`\p{L}`, `\p{Lu}`) and scripts (`\p{Greek}`) by bare name.
      const name =
        node.value === null
          ? node.key
          : ['General_Category', 'gc', 'Script', 'sc'].includes(node.key)
            ? node.value
            : null;
      if (name === null) throw new Unsupported(`the Unicode property ${node.raw}`);
      return `\\${node.negate ? 'P' : 'p'}{${name}}`;
    }
  }
};

const emitClassElement = (node: AST.CharacterClassElement): string => {
  switch (node.type) {
    case 'Character':
      return hex(node.value);
    case 'CharacterClassRange':
      return `${hex(node.min.value)}-${hex(node.max.value)}`;
    case 'CharacterSet':
      return setInClass(node);
    default:
      throw new Unsupported(`the class set operation ${node.raw}`);
  }
};

const emitAlternatives = (alternatives: AST.Alternative[]) => `(?:${alternatives.map(emitAlternative).join('|')})`;
const emitAlternative = (node: AST.Alternative) => node.elements.map(emitElement).join('');

const emitElement = (node: AST.Element): string => {
  switch (node.type) {
    case 'Character':
      return hex(node.value);
    case 'CharacterSet':
      if (node.kind === 'any') return dot;
      return `[${setInClass(node)}]`;
    case 'CharacterClass': {
      // `[]` matches nothing and `[^]` anything in ECMA-262; RE2 reads a leading `]` as a literal.
      if (node.elements.length === 0) return node.negate ? '[\\x{0}-\\x{10ffff}]' : '[^\\x{0}-\\x{10ffff}]';
      return `[${node.negate ? '^' : ''}${node.elements.map(emitClassElement).join('')}]`;
    }
    case 'ExpressionCharacterClass':
      throw new Unsupported(`the class set operation ${node.raw}`);
    case 'Group':
      if (node.modifiers)
        throw new Unsupported(`the inline modifier ${node.raw.slice(0, node.raw.indexOf(':') + 1)}…)`);
      return emitAlternatives(node.alternatives);
    case 'CapturingGroup':
      return emitAlternatives(node.alternatives); // captures mean nothing to a test
    case 'Quantifier': {
      const { min, max } = node;
      const count =
        min === 0 && max === Infinity
          ? '*'
          : min === 1 && max === Infinity
            ? '+'
            : min === 0 && max === 1
              ? '?'
              : max === Infinity
                ? `{${min},}`
                : min === max
                  ? `{${min}}`
                  : `{${min},${max}}`;
      return `(?:${emitElement(node.element)})${count}${node.greedy ? '' : '?'}`;
    }
    case 'Backreference':
      throw new Unsupported(`a backreference (${node.raw})`);
    case 'Assertion':
      switch (node.kind) {
        case 'start':
          return '^';
        case 'end':
          return '$'; // RE2 without the m flag: end of text only, as in ECMA-262
        case 'word':
          return node.negate ? '\\B' : '\\b'; // ASCII word characters in both
        case 'lookahead':
          throw new Unsupported(`a ${node.negate ? 'negative ' : ''}lookahead (${node.negate ? '?!' : '?='}…)`);
        case 'lookbehind':
          throw new Unsupported(`a ${node.negate ? 'negative ' : ''}lookbehind (${node.negate ? '?<!' : '?<='}…)`);
      }
  }
};

const parser = new RegExpParser({ ecmaVersion: 2025 });

/**
 * Compiles an ECMA-262 pattern (Unicode mode, as `new RegExp(source, 'u')`) to a linear-time
 * matcher, or says in one phrase why it cannot: a syntax error, or the construct RE2 cannot run.
 */
export const compilePattern = (source: string): CompiledPattern => {
  if (source.length > maxPatternLength)
    return { ok: false, problem: `is longer than ${maxPatternLength} characters (${source.length})` };
  let ast: AST.Pattern;
  try {
    ast = parser.parsePattern(source, 0, source.length, { unicode: true });
  } catch (error) {
    const message = error instanceof RegExpSyntaxError ? error.message : String(error);
    return { ok: false, problem: `is not a valid regular expression (${message})` };
  }
  let re2: RE2JS;
  try {
    re2 = RE2JS.compile(emitAlternatives(ast.alternatives));
  } catch (error) {
    if (error instanceof Unsupported)
      return { ok: false, problem: `uses ${error.message}, which has no linear-time match; rewrite it without` };
    // RE2's own limits: repetition counts above 1000, nested repetitions, unknown property names.
    const message = (error as Error).message.replace(/^error parsing regexp: /, '');
    return { ok: false, problem: `cannot run on the linear-time engine (${message})` };
  }
  return { ok: true, pattern: { source, test: (input) => re2.test(input) } };
};
