/** Turns zod issues and scope strings from requests into clear 400/413 errors (never echoing input). */
import * as z from 'zod';
import { assertValueSize, isBase64, nameProblem, ValueTooLarge } from '../core';
import { HttpError } from './httpError';

function describePath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** Parses `input` with `schema`, or throws a 400 naming the first problem and its field. */
export function parseOr400<S extends z.core.$ZodType>(
  schema: S,
  input: unknown,
  what: string,
): z.output<S> {
  const result = z.safeParse(schema, input);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = describePath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const keys = (issue as { keys: string[] }).keys.map((k) => `'${k}'`).join(', ');
    throw new HttpError(400, 'invalid_input', `Unknown field ${keys} in the ${what}.`, {
      field: describePath([...issue.path, (issue as { keys: string[] }).keys[0]!]),
    });
  }
  if (field === '') {
    throw new HttpError(400, 'invalid_input', `The ${what} must be a JSON object.`);
  }
  if (field === 'name' && issue.code !== 'invalid_type') {
    const name = (input as { name?: unknown }).name;
    const problem = typeof name === 'string' ? nameProblem(name) : undefined;
    throw new HttpError(400, 'invalid_name', problem ?? issue.message, { field });
  }
  if (issue.code === 'invalid_type') {
    const expected = (issue as { expected: string }).expected;
    const missing = valueAt(input, issue.path) === undefined;
    throw new HttpError(
      400,
      'invalid_input',
      missing
        ? `The ${what} needs '${field}' (${expected}).`
        : `'${field}' must be ${article(expected)}.`,
      { field },
    );
  }
  throw new HttpError(400, 'invalid_input', `'${field}': ${issue.message}`, { field });
}

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let at = input;
  for (const key of path) {
    if (at === null || typeof at !== 'object') return undefined;
    at = (at as Record<PropertyKey, unknown>)[key];
  }
  return at;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Checks a value's size (413) and, for base64 values, its encoding (400). */
export function checkValue(value: string, encoding: string, limit: number): void {
  try {
    assertValueSize(value, limit);
  } catch (error) {
    if (error instanceof ValueTooLarge) {
      throw new HttpError(413, 'value_too_large', error.message, { field: 'value' });
    }
    throw error;
  }
  if (encoding === 'base64' && !isBase64(value)) {
    throw new HttpError(
      400,
      'invalid_input',
      "The value is not valid base64 (standard alphabet, with padding, no whitespace) but its encoding is 'base64'.",
      { field: 'value' },
    );
  }
}

/** Parses `personal`, `project`, `team`, `project:<id>` or `team:<id>` (the scope query). */
export function parseScopeFilter(
  text: string | undefined,
): { kind: string; id?: string } | undefined {
  if (text === undefined || text === '') return undefined;
  const match = /^(personal|project|team)(?::(.+))?$/.exec(text);
  if (!match || (match[1] === 'personal' && match[2] !== undefined)) {
    throw new HttpError(
      400,
      'invalid_input',
      "'scope' must be personal, project, team, project:<id> or team:<id>.",
      { field: 'scope' },
    );
  }
  return match[2] === undefined ? { kind: match[1]! } : { kind: match[1]!, id: match[2] };
}

/**
 * Refuses strings the server cannot keep as sent: a NUL character (PostgreSQL text cannot hold
 * one) and a lone surrogate (not Unicode: it would come back as U+FFFD). Walks every string and
 * key of `input`; `nulAllowed` names the fields that are stored encrypted (values), where NUL is
 * fine.
 */
export function checkStrings(
  input: unknown,
  what: string,
  nulAllowed: (path: readonly PropertyKey[]) => boolean = () => false,
): void {
  const visit = (at: unknown, path: PropertyKey[]): void => {
    if (typeof at === 'string') {
      checkString(at, path, what, nulAllowed(path));
      return;
    }
    if (at === null || typeof at !== 'object') return;
    for (const [key, child] of Object.entries(at)) {
      checkString(key, path, what, false);
      visit(child, [...path, Array.isArray(at) ? Number(key) : key]);
    }
  };
  visit(input, []);
}

// With the u flag, a surrogate pair is one code point: only unpaired halves match.
const LONE_SURROGATE = /\p{Cs}/u;

function checkString(text: string, path: PropertyKey[], what: string, nulAllowed: boolean): void {
  const field = describePath(path);
  const where = field === '' ? `The ${what}` : `'${field}' in the ${what}`;
  if (!nulAllowed && text.includes('\u0000')) {
    throw new HttpError(
      400,
      'invalid_input',
      `${where} contains a NUL character (\\u0000), which the server cannot store; remove it.`,
      { field },
    );
  }
  if (LONE_SURROGATE.test(text)) {
    throw new HttpError(
      400,
      'invalid_input',
      `${where} contains a lone UTF-16 surrogate (such as \\ud800 without its pair), which is not valid Unicode and would not read back as sent.`,
      { field },
    );
  }
}
