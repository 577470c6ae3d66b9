/**
 * zod/mini, which the schemas of src/core (and of the broker, the sync engine and the extension)
 * are written in. It is the same zod as `import * as z from 'zod'` (v4, one core) with functions
 * in place of methods — `z.optional(s)`, `s.check(z.minLength(1))`, `z.extend(s, {…})` — so that a
 * bundle carries only the parts it calls. Classic zod's methods keep all of zod's core in use, and
 * esbuild puts a file's code where any chunk reaches it: classic zod in any chunk of the
 * extension, even one loaded later, put about 90 KB into what activation reads. The server keeps
 * classic zod; its objects take these schemas as fields, but not their methods.
 *
 * zod/mini's objects check their fields one by one in a generic loop; classic zod's compile, on
 * first use, a function that reads each field by name (`$ZodObjectJIT`). The objects here are
 * zod/mini's with that compiled check: the same core and the same issues, in 1.2 ms for a page
 * of 1,000 changes of the feed instead of 3.1 ms (where a full sync spends most of its parsing).
 *
 * zod/mini has no issue messages of its own ("Invalid input"), and classic zod sets English only
 * when it builds its first schema. English is set here, so that an issue reads the same whichever
 * zod built the schema and whichever ran first: the messages reach users through the broker's,
 * the local store's and the server's errors.
 */
import { $constructor, $ZodObjectJIT, util, type $ZodObjectDef } from 'zod/v4/core';
import * as mini from 'zod/mini';
import { en } from 'zod/locales';

mini.config(en());

export * from 'zod/mini';

// `init` of a zod constructor asserts the instance's type, which TypeScript allows only through
// names declared with a type.
type Init = (inst: mini.ZodMiniObject, def: $ZodObjectDef) => void;
const initCompiled: Init = $ZodObjectJIT.init;
const initMini: Init = mini.ZodMiniType.init;

const ZodMiniObjectJIT: new (def: $ZodObjectDef) => mini.ZodMiniObject = $constructor(
  'ZodMiniObject',
  (inst: mini.ZodMiniObject, def: $ZodObjectDef) => {
    initCompiled(inst, def);
    initMini(inst, def);
    util.installLazyProp(inst, 'shape', (self: mini.ZodMiniObject) => self._zod.def.shape, false);
  },
);

type Params = Parameters<typeof mini.object>[1];
type Shape = $ZodObjectDef['shape'];

/** An object of that shape whose unknown keys `catchall` checks (none: they are dropped). */
function compiled(shape: Shape, params: Params, catchall?: $ZodObjectDef['catchall']) {
  return new ZodMiniObjectJIT({
    type: 'object',
    shape,
    ...(catchall && { catchall }),
    ...util.normalizeParams(params),
  });
}

export const object = ((shape: Shape = {}, params?: Params) =>
  compiled(shape, params)) as typeof mini.object;
export const strictObject = ((shape: Shape, params?: Params) =>
  compiled(shape, params, mini.never())) as typeof mini.strictObject;
export const looseObject = ((shape: Shape, params?: Params) =>
  compiled(shape, params, mini.unknown())) as typeof mini.looseObject;
