/**
 * Deepest nesting of objects and arrays a message may have to be archived: the canonical conversion,
 * redaction and the archive writer's JSON.stringify recurse once per level, so a document nested
 * thousands deep (JSON.parse accepts a million) would overflow the stack in the archive's sink and fail
 * its flush for good. 512 is far beyond any real request (an AnyValue level is three JSON levels).
 */
export const MAX_DOCUMENT_DEPTH = 512;
