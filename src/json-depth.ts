/**
 * How deeply a JSON value nests, measured without recursion, so that input
 * nested 100,000 levels deep is refused before anything recurses into it
 * (`JSON.stringify`, `structuredClone`, the codec).
 * @module
 */
import { MAX_NESTING_DEPTH } from './codec/json.js';

/**
 * True when `value` has objects or arrays nested more than `max` levels
 * (the value itself, if an object or array, is level 1). Default limit: the
 * codec's `MAX_NESTING_DEPTH`.
 */
export function nestsDeeperThan(value: unknown, max: number = MAX_NESTING_DEPTH): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const stack: [unknown, number][] = [[value, 1]];
  const seen = new Set<object>();
  while (stack.length > 0) {
    const [current, depth] = stack.pop()!;
    if (typeof current !== 'object' || current === null || ArrayBuffer.isView(current)) continue;
    if (depth > max) return true;
    if (seen.has(current)) continue;
    seen.add(current);
    for (const child of Array.isArray(current) ? current : Object.values(current)) {
      if (typeof child === 'object' && child !== null) stack.push([child, depth + 1]);
    }
  }
  return false;
}

export { MAX_NESTING_DEPTH };
