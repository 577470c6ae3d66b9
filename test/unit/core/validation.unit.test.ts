import { describe, expect, it } from 'vitest';
import {
  assertValidName,
  assertValueSize,
  descriptionProblem,
  MAX_DESCRIPTION_LENGTH,
  MAX_NAME_LENGTH,
  MAX_VALUE_BYTES,
  NAME_RULE,
  nameProblem,
  SecretName,
  utf8ByteLength,
  ValueTooLarge,
} from '../../../src/core';

describe('secret names', () => {
  it.each(['A', '_', 'OPENAI_API_KEY', 'db_password_2', '_private', 'a'.repeat(MAX_NAME_LENGTH)])(
    'accepts %s',
    (name) => {
      expect(nameProblem(name)).toBeUndefined();
      expect(SecretName.safeParse(name).success).toBe(true);
    },
  );

  it.each([
    ['', 'A name is required.'],
    ['1abc', 'A name cannot start with a digit.'],
    ['my key', 'A name cannot contain a space.'],
    ['my-key', 'A name cannot contain "-".'],
    ['clé', 'A name cannot contain "é".'],
    ['a.b', 'A name cannot contain ".".'],
    [
      'a'.repeat(MAX_NAME_LENGTH + 1),
      `The name is ${MAX_NAME_LENGTH + 1} characters; the limit is ${MAX_NAME_LENGTH}.`,
    ],
  ])('rejects %j with a message that states the rule', (name, start) => {
    const problem = nameProblem(name);
    expect(problem).toMatch(new RegExp(`^${start.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(problem).toContain(NAME_RULE);
    expect(SecretName.safeParse(name).success).toBe(false);
    expect(() => assertValidName(name)).toThrow(expect.objectContaining({ code: 'invalid_name' }));
  });

  it('agrees with the schema on every single character', () => {
    for (let code = 0; code < 0x250; code++) {
      const name = `A${String.fromCharCode(code)}`;
      expect(nameProblem(name) === undefined).toBe(SecretName.safeParse(name).success);
    }
  });
});

describe('value size', () => {
  it('counts UTF-8 bytes, not characters', () => {
    expect(utf8ByteLength('abc')).toBe(3);
    expect(utf8ByteLength('é')).toBe(2);
    expect(utf8ByteLength('€')).toBe(3);
    expect(utf8ByteLength('😀')).toBe(4);
  });

  it('accepts a value of exactly the limit', () => {
    expect(() => assertValueSize('a'.repeat(MAX_VALUE_BYTES))).not.toThrow();
    expect(() =>
      assertValueSize('€'.repeat(MAX_VALUE_BYTES / 4) + 'a'.repeat(MAX_VALUE_BYTES / 4)),
    ).not.toThrow();
  });

  it('rejects one byte over, counting multi-byte characters', () => {
    expect(() => assertValueSize('a'.repeat(MAX_VALUE_BYTES + 1))).toThrow(ValueTooLarge);
    // 21,846 euro signs are 65,538 bytes though only 21,846 characters.
    const euros = '€'.repeat(Math.ceil(MAX_VALUE_BYTES / 3) + 1);
    expect(euros.length).toBeLessThan(MAX_VALUE_BYTES);
    expect(() => assertValueSize(euros)).toThrow(/is 64\.0 KiB; the limit is 64 KiB/);
    const emoji = '😀'.repeat(MAX_VALUE_BYTES / 4) + 'x';
    expect(() => assertValueSize(emoji)).toThrow(
      expect.objectContaining({ code: 'value_too_large' }),
    );
  });

  it('never echoes the value in the error', () => {
    const canary = 'CANARY_' + 'z'.repeat(MAX_VALUE_BYTES);
    try {
      assertValueSize(canary);
      expect.unreachable();
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('CANARY_');
    }
  });

  it('honours a configured limit', () => {
    expect(() => assertValueSize('abcd', 3)).toThrow(/the limit is 3 B/);
  });
});

describe('descriptions', () => {
  it('allows up to the limit', () => {
    expect(descriptionProblem('d'.repeat(MAX_DESCRIPTION_LENGTH))).toBeUndefined();
    expect(descriptionProblem('d'.repeat(MAX_DESCRIPTION_LENGTH + 1))).toMatch(/limit is 1024/);
  });
});
