/** Limits from the design card. The server may lower or raise the value limit by configuration. */
export const MAX_NAME_LENGTH = 128;
/** A value is at most this many bytes of UTF-8 (for a file: of its base64 text). */
export const MAX_VALUE_BYTES = 65_536;
export const MAX_DESCRIPTION_LENGTH = 1_024;
/** The largest file whose base64 text still fits in {@link MAX_VALUE_BYTES}. */
export const MAX_FILE_BYTES = Math.floor(MAX_VALUE_BYTES / 4) * 3;
