/**
 * URL path templates in gRPC transcoding (`google.api.http`) syntax, e.g.
 * `/v1/{name=operations/**}:cancel`, plus the hardening every operation name
 * goes through before it becomes part of a URL.
 *
 * Grammar (a practical subset of `google/api/http.proto`):
 * ```
 * Template = "/" Segment { "/" Segment } [ ":" Verb ] ;
 * Segment  = LITERAL | Variable ;
 * Variable = "{" IDENT [ "=" Pattern ] "}" ;     // "{name}" means "{name=*}"
 * Pattern  = Part { "/" Part } ;  Part = "*" | "**" | LITERAL ;
 * ```
 * `*` matches one segment, `**` one or more segments (it must be the last part
 * of the template; unlike http.proto it never matches zero segments, so
 * `/v1/{name=operations/**}` and `/v1/{name=operations}` never overlap).
 * Wildcards outside a variable are not supported.
 * @module
 */
import { InvalidOperationError } from '../../errors.js';

/** Longest resource name accepted, in UTF-16 code units. */
const MAX_NAME_LENGTH = 4096;

/** Characters never allowed in a resource name: `?`, `#`, `%`, backslash, whitespace, control and format characters. */
const FORBIDDEN = /[?#%\\\s\p{Cc}\p{Cf}]/u;

/** Characters a literal template segment or verb may consist of. */
const LITERAL = /^[A-Za-z0-9._~-]+$/;

const IDENT = /^[A-Za-z_][A-Za-z0-9_.]*$/;

/**
 * Checks a resource name (an operation name or a collection name) and returns
 * its `/`-separated segments. Rejects (with {@link InvalidOperationError})
 * non-strings, empty names, empty segments (leading, trailing or double `/`),
 * `.` and `..` segments, `?`, `#`, `%`, backslash, whitespace, control or
 * format characters, and unpaired surrogates — anything that could escape a
 * URL template once expanded.
 *
 * @example
 * ```ts
 * splitResourceName('projects/p/operations/42'); // ['projects', 'p', 'operations', '42']
 * splitResourceName('operations/../admin');      // throws InvalidOperationError
 * ```
 */
export function splitResourceName(name: unknown, what = 'operation name'): string[] {
  if (typeof name !== 'string') {
    throw new InvalidOperationError(`${what} must be a string, got ${name === null ? 'null' : typeof name}`);
  }
  const shown = describeName(name);
  if (name.length === 0) throw new InvalidOperationError(`${what} is empty`);
  if (name.length > MAX_NAME_LENGTH) {
    throw new InvalidOperationError(`${what} ${shown} is longer than ${MAX_NAME_LENGTH} characters`);
  }
  if (FORBIDDEN.test(name)) {
    throw new InvalidOperationError(
      `${what} ${shown} contains a character that is not allowed (?, #, %, backslash, whitespace or control characters)`,
    );
  }
  const segments = name.split('/');
  for (const segment of segments) {
    if (segment === '') throw new InvalidOperationError(`${what} ${shown} has an empty path segment`);
    if (segment === '.' || segment === '..') {
      throw new InvalidOperationError(`${what} ${shown} has a "${segment}" path segment`);
    }
    try {
      encodeURIComponent(segment);
    } catch {
      throw new InvalidOperationError(`${what} ${shown} is not well-formed Unicode`);
    }
  }
  return segments;
}

/**
 * A name quoted for an error message: JSON-escaped (control characters stay
 * visible) and cut to 200 characters.
 *
 * @example
 * ```ts
 * describeName('operations/a\nb'); // '"operations/a\\nb"'
 * ```
 */
export function describeName(name: string): string {
  const cut = name.length > 200 ? `${name.slice(0, 200)}…` : name;
  return JSON.stringify(cut);
}

type Part = { kind: 'literal'; value: string } | { kind: 'one' } | { kind: 'rest' };

interface Atom {
  /** Index into `variables`, or -1 for a literal segment outside any variable. */
  variable: number;
  part: Part;
}

/**
 * A compiled URL path template. Build one with {@link PathTemplate.parse}.
 *
 * @example
 * ```ts
 * const t = PathTemplate.parse('/v1/{name=operations/**}:cancel');
 * t.expand({ name: 'operations/a b' }); // throws: whitespace is not allowed
 * t.expand({ name: 'operations/42' });  // '/v1/operations/42:cancel'
 * t.match('/v1/operations/42:cancel');  // { name: 'operations/42' }
 * ```
 */
export class PathTemplate {
  /** The template text as given. */
  readonly template: string;
  /** The custom verb (`cancel` for `…:cancel`), if any. */
  readonly verb: string | undefined;
  /** Names of the template's variables, in order. */
  readonly variables: readonly string[];
  readonly #atoms: readonly Atom[];
  readonly #leadingSlash: boolean;

  private constructor(template: string, atoms: Atom[], variables: string[], verb: string | undefined, leadingSlash: boolean) {
    this.template = template;
    this.#atoms = atoms;
    this.variables = variables;
    this.verb = verb;
    this.#leadingSlash = leadingSlash;
  }

  /**
   * Compiles a template; throws `TypeError` for a template outside the
   * supported grammar. `options.leadingSlash: false` compiles a *name*
   * template such as `projects/_/buckets/{bucket}` (no leading `/`, no verb).
   *
   * @example
   * ```ts
   * const list = PathTemplate.parse('/v3/{name=projects/*}/operations');
   * const name = PathTemplate.parse('projects/_/buckets/{bucket}', { leadingSlash: false });
   * ```
   */
  static parse(template: string, options: { leadingSlash?: boolean } = {}): PathTemplate {
    const leadingSlash = options.leadingSlash ?? true;
    const fail = (why: string): never => {
      throw new TypeError(`invalid path template ${JSON.stringify(template)}: ${why}`);
    };
    if (typeof template !== 'string' || template.length === 0) fail('empty');
    let body = template;
    if (leadingSlash) {
      if (!body.startsWith('/')) fail('must start with "/"');
      body = body.slice(1);
    } else if (body.startsWith('/')) {
      fail('a name template must not start with "/"');
    }
    // The verb follows the last "/" and the last "}".
    let verb: string | undefined;
    const tailStart = Math.max(body.lastIndexOf('/'), body.lastIndexOf('}'));
    const colon = body.indexOf(':', tailStart + 1);
    if (colon >= 0) {
      if (!leadingSlash) fail('a name template has no verb');
      verb = body.slice(colon + 1);
      body = body.slice(0, colon);
      if (!LITERAL.test(verb)) fail(`bad verb ${JSON.stringify(verb)}`);
    }
    // Split on "/" outside braces.
    const segments: string[] = [];
    let depth = 0;
    let current = '';
    for (const ch of body) {
      if (ch === '{') {
        if (depth > 0) fail('nested "{"');
        depth++;
      } else if (ch === '}') {
        if (depth === 0) fail('unbalanced "}"');
        depth--;
      }
      if (ch === '/' && depth === 0) {
        segments.push(current);
        current = '';
      } else {
        current += ch;
      }
    }
    if (depth !== 0) fail('unbalanced "{"');
    segments.push(current);

    const atoms: Atom[] = [];
    const variables: string[] = [];
    const literal = (text: string): Part => {
      if (!LITERAL.test(text) || text === '.' || text === '..') fail(`bad literal segment ${JSON.stringify(text)}`);
      return { kind: 'literal', value: text };
    };
    for (const segment of segments) {
      if (segment === '') fail('empty segment');
      if (segment.startsWith('{')) {
        if (!segment.endsWith('}')) fail(`a variable must be a whole segment: ${JSON.stringify(segment)}`);
        const inner = segment.slice(1, -1);
        const eq = inner.indexOf('=');
        const ident = eq >= 0 ? inner.slice(0, eq) : inner;
        const pattern = eq >= 0 ? inner.slice(eq + 1) : '*';
        if (!IDENT.test(ident)) fail(`bad variable name ${JSON.stringify(ident)}`);
        if (variables.includes(ident)) fail(`variable ${ident} appears twice`);
        const index = variables.push(ident) - 1;
        for (const piece of pattern.split('/')) {
          if (piece === '*') atoms.push({ variable: index, part: { kind: 'one' } });
          else if (piece === '**') atoms.push({ variable: index, part: { kind: 'rest' } });
          else atoms.push({ variable: index, part: literal(piece) });
        }
      } else if (segment.includes('{') || segment.includes('}')) {
        fail(`a variable must be a whole segment: ${JSON.stringify(segment)}`);
      } else if (segment === '*' || segment === '**') {
        fail('wildcards are only supported inside a variable');
      } else {
        atoms.push({ variable: -1, part: literal(segment) });
      }
    }
    const restAt = atoms.findIndex((a) => a.part.kind === 'rest');
    if (restAt >= 0 && restAt !== atoms.length - 1) fail('"**" must be the last part of the template');
    return new PathTemplate(template, atoms, variables, verb, leadingSlash);
  }

  /**
   * Expands the template with `values`, percent-encoding every segment of
   * every variable. Throws {@link InvalidOperationError} when a value fails
   * {@link splitResourceName} or does not match its variable's pattern.
   *
   * @example
   * ```ts
   * PathTemplate.parse('/v1/{name=operations/**}').expand({ name: 'operations/a:b' }); // '/v1/operations/a%3Ab'
   * ```
   */
  expand(values: Readonly<Record<string, string>>): string {
    // In strict mode #bind throws instead of returning undefined.
    const bound = this.#bind(values, true) as string[][];
    return this.#render(bound, true);
  }

  /**
   * Like {@link PathTemplate.expand} but returns `undefined` when a value does
   * not match its pattern (invalid names still throw).
   *
   * @example
   * ```ts
   * PathTemplate.parse('/v1/{name=operations/*}').tryExpand({ name: 'projects/p/operations/1' }); // undefined
   * ```
   */
  tryExpand(values: Readonly<Record<string, string>>): string | undefined {
    const bound = this.#bind(values, false);
    return bound ? this.#render(bound, true) : undefined;
  }

  /**
   * The template filled with `values` without percent-encoding: for name
   * templates, the resource name itself. Same checks as `tryExpand`.
   *
   * @example
   * ```ts
   * PathTemplate.parse('projects/_/buckets/{bucket}', { leadingSlash: false }).format({ bucket: 'b' }); // 'projects/_/buckets/b'
   * ```
   */
  format(values: Readonly<Record<string, string>>): string | undefined {
    const bound = this.#bind(values, false);
    return bound ? this.#render(bound, false) : undefined;
  }

  /**
   * Matches a request path (percent-encoded, without query string) against
   * the template and returns the decoded variable values, or `undefined`.
   * Values that fail {@link splitResourceName} do not match.
   *
   * @example
   * ```ts
   * PathTemplate.parse('/v3/{name=projects/*}/operations').match('/v3/projects/p/operations');
   * // { name: 'projects/p' }
   * ```
   */
  match(path: string): Record<string, string> | undefined {
    if (typeof path !== 'string') return undefined;
    let body = path;
    if (this.#leadingSlash) {
      if (!body.startsWith('/')) return undefined;
      body = body.slice(1);
    }
    const rawSegments = body.split('/');
    const last = rawSegments[rawSegments.length - 1];
    const colon = last.lastIndexOf(':');
    const verb = colon >= 0 ? last.slice(colon + 1) : undefined;
    if (verb !== this.verb) return undefined;
    if (colon >= 0) rawSegments[rawSegments.length - 1] = last.slice(0, colon);
    const decoded: string[] = [];
    for (const raw of rawSegments) {
      let segment: string;
      try {
        segment = decodeURIComponent(raw);
      } catch {
        return undefined;
      }
      if (segment === '' || segment.includes('/')) return undefined;
      decoded.push(segment);
    }
    const collected: string[][] = this.variables.map(() => []);
    let i = 0;
    for (const atom of this.#atoms) {
      const { part } = atom;
      if (part.kind === 'rest') {
        if (i >= decoded.length) return undefined;
        collected[atom.variable].push(...decoded.slice(i));
        i = decoded.length;
        continue;
      }
      if (i >= decoded.length) return undefined;
      const segment = decoded[i++];
      if (part.kind === 'literal' && segment !== part.value) return undefined;
      if (atom.variable >= 0) collected[atom.variable].push(segment);
    }
    if (i !== decoded.length) return undefined;
    const result: Record<string, string> = {};
    for (let v = 0; v < this.variables.length; v++) {
      const value = collected[v].join('/');
      try {
        splitResourceName(value);
      } catch {
        return undefined;
      }
      result[this.variables[v]] = value;
    }
    return result;
  }

  /**
   * Human-readable form for error messages.
   *
   * @example
   * ```ts
   * String(new PathTemplate('/v1/{name=operations/**}')); // '/v1/{name=operations/**}'
   * ```
   */
  toString(): string {
    return this.template;
  }

  /** Checks `values` against each variable's pattern; returns each variable's segments. */
  #bind(values: Readonly<Record<string, string>>, strict: boolean): string[][] | undefined {
    const bound: string[][] = [];
    for (let v = 0; v < this.variables.length; v++) {
      const variable = this.variables[v];
      const value = Object.prototype.hasOwnProperty.call(values, variable) ? values[variable] : undefined;
      if (value === undefined) {
        if (strict) throw new InvalidOperationError(`no value for {${variable}} in ${this.template}`);
        return undefined;
      }
      const segments = splitResourceName(value, variable === 'name' ? 'name' : `{${variable}}`);
      const parts = this.#atoms.filter((a) => a.variable === v).map((a) => a.part);
      if (!matchParts(parts, segments)) {
        if (strict) {
          throw new InvalidOperationError(
            `name ${describeName(value)} does not match {${variable}} of the URL template ${this.template}`,
          );
        }
        return undefined;
      }
      bound.push(segments);
    }
    return bound;
  }

  #render(bound: string[][], encode: boolean): string {
    const out: string[] = [];
    let lastVariable = -1;
    for (const atom of this.#atoms) {
      if (atom.variable < 0) {
        out.push(atom.part.kind === 'literal' ? atom.part.value : '');
      } else if (atom.variable !== lastVariable) {
        const segments = bound[atom.variable];
        out.push(...(encode ? segments.map((s) => encodeURIComponent(s)) : segments));
      }
      lastVariable = atom.variable;
    }
    const path = out.join('/');
    return (this.#leadingSlash ? '/' : '') + path + (this.verb !== undefined ? `:${this.verb}` : '');
  }
}

function matchParts(parts: readonly Part[], segments: readonly string[]): boolean {
  let i = 0;
  for (const part of parts) {
    if (part.kind === 'rest') return i < segments.length;
    if (i >= segments.length) return false;
    const segment = segments[i++];
    if (part.kind === 'literal' && segment !== part.value) return false;
  }
  return i === segments.length;
}

/**
 * Compiles a URL path template (shorthand for {@link PathTemplate.parse}).
 *
 * @example
 * ```ts
 * compileTemplate('/v1/{name=operations/**}').expand({ name: 'operations/1' }); // '/v1/operations/1'
 * ```
 */
export function compileTemplate(template: string): PathTemplate {
  return PathTemplate.parse(template);
}
