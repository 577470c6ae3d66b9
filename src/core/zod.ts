/**
 * zod/mini, which the schemas the extension loads at activation are written in (the model, the
 * index entry, the broker protocol, the notebook's choices, consent grants, the sync state). It is
 * the same zod as `import * as z from 'zod'` (v4, one core) with functions in place of methods —
 * `z.optional(s)`, `s.check(z.minLength(1))`, `z.extend(s, {…})` — so a bundle carries only the
 * parts it calls: classic zod's methods keep all of zod in the bundle, about 90 KB of the
 * extension's activation. Classic zod (the server, the sync client, the CLI) takes these schemas
 * in its objects and arrays, but not their methods: compose with `z.object({ ...S.shape, … })`.
 *
 * zod/mini has no issue messages of its own ("Invalid input"); the English ones classic zod gives
 * are set here, so that an issue reads the same whichever zod built the schema, and whichever was
 * loaded first: the messages reach users through the broker's and the local store's errors.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';
