/** The kernel languages get_secret serves, from a kernelspec's `language` ("python", "R"). */
export type HelperLanguage = 'python' | 'r';

export function helperLanguage(language: string | undefined): HelperLanguage | undefined {
  const lower = (language ?? '').trim().toLowerCase();
  if (lower === 'python' || lower === 'python3') return 'python';
  if (lower === 'r') return 'r';
  return undefined;
}
