/** Validation with messages meant for people: the exact rule, and what was wrong. */
import { InvalidInput, ValueTooLarge } from './errors';
import { utf8ByteLength } from './encoding';
import { MAX_DESCRIPTION_LENGTH, MAX_NAME_LENGTH, MAX_VALUE_BYTES } from './limits';
import { NAME_PATTERN, NAME_RULE } from './model';

/** Returns a message describing why `name` is not a valid secret name, or undefined if it is. */
export function nameProblem(name: string): string | undefined {
  if (name.length === 0) return `A name is required. ${NAME_RULE}`;
  if (name.length > MAX_NAME_LENGTH) {
    return `The name is ${name.length} characters; the limit is ${MAX_NAME_LENGTH}. ${NAME_RULE}`;
  }
  if (NAME_PATTERN.test(name)) return undefined;
  if (/^[0-9]/.test(name)) return `A name cannot start with a digit. ${NAME_RULE}`;
  const bad = [...name].find((ch) => !/[A-Za-z0-9_]/.test(ch)) ?? '';
  const shown = bad === ' ' ? 'a space' : JSON.stringify(bad);
  return `A name cannot contain ${shown}. ${NAME_RULE}`;
}

export function assertValidName(name: string): void {
  const problem = nameProblem(name);
  if (problem) throw new InvalidInput(problem, 'invalid_name');
}

/** Throws ValueTooLarge when the value's UTF-8 encoding exceeds the limit. Never echoes the value. */
export function assertValueSize(value: string, limit = MAX_VALUE_BYTES): void {
  // Cheap bound first: UTF-8 needs at most 3 bytes per UTF-16 code unit.
  if (value.length * 3 <= limit) return;
  const bytes = utf8ByteLength(value);
  if (bytes > limit) throw new ValueTooLarge(bytes, limit);
}

export function descriptionProblem(description: string): string | undefined {
  return description.length > MAX_DESCRIPTION_LENGTH
    ? `The description is ${description.length} characters; the limit is ${MAX_DESCRIPTION_LENGTH}.`
    : undefined;
}

export function assertValidDescription(description: string): void {
  const problem = descriptionProblem(description);
  if (problem) throw new InvalidInput(problem);
}
