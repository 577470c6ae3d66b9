// Types for scripts/workbenchSettings.mjs.
export const userSettings: Record<string, unknown>;
