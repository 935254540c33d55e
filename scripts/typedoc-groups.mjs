// @ts-check
/**
 * TypeDoc plugin: puts every exported symbol of the API reference into a
 * group by the source folder it comes from (Core, Transports, REST profiles,
 * Codec, Errors, Testing), so the reference reads by topic instead of as one
 * flat list. A symbol with its own `@group` tag keeps it; one from a file
 * no rule covers stays in its kind's group (Classes, Functions, …). Group
 * order: `groupOrder` in typedoc.json.
 */
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Comment, CommentTag, Converter, ReflectionKind } from 'typedoc';

/** First match wins; paths are relative to src/, with forward slashes. */
const GROUPS = [
  [/^testing\//, 'Testing'],
  [/^errors\.ts$/, 'Errors'],
  [/^codec\//, 'Codec'],
  [/^transports\/rest\/(profiles|template)\.ts$/, 'REST profiles'],
  [/^(transports\/|gax-operation\.ts$)/, 'Transports'],
  [/^(operation|client|pubsub|resume|snapshots|types)\.ts$|^watch\//, 'Core'],
];

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    const src = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'src');
    for (const module of context.project.getReflectionsByKind(ReflectionKind.SomeModule)) {
      if (!('children' in module) || !Array.isArray(module.children)) continue;
      for (const child of module.children) {
        const file = context.getSymbolFromReflection(child)?.declarations?.[0]?.getSourceFile().fileName;
        if (!file) continue;
        const relative = path.relative(src, file).split(path.sep).join('/');
        const group = GROUPS.find(([pattern]) => pattern.test(relative))?.[1];
        if (!group) continue;
        const signature = 'signatures' in child && Array.isArray(child.signatures) ? child.signatures[0] : undefined;
        const target = child.comment ? child : signature?.comment ? signature : child;
        target.comment ??= new Comment();
        if (!target.comment.blockTags.some((tag) => tag.tag === '@group')) {
          target.comment.blockTags.push(new CommentTag('@group', [{ kind: 'text', text: group }]));
        }
      }
    }
  });
}
