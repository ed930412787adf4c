/** Timestamps arrive as Date from node-postgres and PGlite, as ISO text through JSON: accept both. */
export const toDate = (value: Date | string) => (value instanceof Date ? value : new Date(value));
