/**
 * zod/mini, which the schemas of src/core (and of the broker, the sync engine and the extension)
 * are written in. It is the same zod as `import * as z from 'zod'` (v4, one core) with functions
 * in place of methods — `z.optional(s)`, `s.check(z.minLength(1))`, `z.extend(s, {…})` — so that a
 * bundle carries only the parts it calls. Classic zod's methods keep all of zod's core in use, and
 * esbuild puts a file's code where any chunk reaches it: classic zod in any chunk of the
 * extension, even one loaded later, put about 90 KB into what activation reads. The server keeps
 * classic zod; its objects take these schemas as fields, but not their methods.
 *
 * zod/mini has no issue messages of its own ("Invalid input"), and classic zod sets English only
 * when it builds its first schema. English is set here, so that an issue reads the same whichever
 * zod built the schema and whichever ran first: the messages reach users through the broker's,
 * the local store's and the server's errors.
 */
import { config } from 'zod/mini';
import { en } from 'zod/locales';

config(en());

export * from 'zod/mini';
